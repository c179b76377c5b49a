"""Domain errors of the marketplace app; views turn them into messages, never 500s."""

from core.errors import DomainError


class MarketplaceError(DomainError):
    """A job or proposal action was refused; the message is safe to show to the user."""


class JobError(MarketplaceError):
    """A job can't be posted or changed as asked."""


class ProposalError(MarketplaceError):
    """A proposal can't be sent, changed, withdrawn, declined or accepted as asked."""
