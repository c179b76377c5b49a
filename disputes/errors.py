"""Domain errors of the disputes app; views and admin actions turn them into messages, never 500s."""

from milestones.errors import MilestoneError


class DisputeError(MilestoneError):
    """An offer, dispute or arbitration action was refused; the message is safe to show to the user.

    A milestone error too: offers and disputes change milestones, and every page that shows one
    already turns milestone errors into messages.
    """


class DisputeRequestReplayed(DisputeError):
    """The same form was sent twice (double click, retry, second tab); the first one counted."""
