"""Domain errors of the milestones app; views turn them into messages, never 500s."""

from core.errors import DomainError


class MilestoneError(DomainError):
    """A milestone action was refused; the message is safe to show to the user."""


class MilestoneActionNotAllowed(MilestoneError):
    """The actor may not fire this transition, or the milestone is no longer in a state that allows it."""


class MilestoneRequestReplayed(MilestoneError):
    """The same form was submitted twice (double click, retry, second tab); the first one counted."""


class DeliverableRejected(MilestoneError):
    """An uploaded file was refused (type, size or name); nothing was stored or changed."""
