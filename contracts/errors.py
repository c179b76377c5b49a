"""Domain errors of the contracts app; views turn them into messages, never 500s."""

from core.errors import DomainError


class ContractError(DomainError):
    """A contract action was refused; the message is safe to show to the user."""


class ChangeRequestError(ContractError):
    """A change to the contract's milestones can't be proposed or decided as asked."""


class ContractMessageError(ContractError):
    """A message can't be posted to the contract's thread."""
