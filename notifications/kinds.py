"""What a notice is about; one kind per event a user is told of, and which kinds are about money.

Each kind has its own email templates, `notifications/email/kinds/<value>.txt` and `.html`
(a test checks every kind has both). The field's choices are `kind_choices`, a callable, so a
new kind needs no migration.
"""

from django.db import models


class NotificationKind(models.TextChoices):
    # Jobs and proposals
    JOB_PROPOSAL_RECEIVED = "proposal_received", "A proposal on your job"
    PROPOSAL_ACCEPTED = "proposal_accepted", "Your proposal was accepted"
    PROPOSAL_DECLINED = "proposal_declined", "Your proposal was declined"
    # Contracts
    CONTRACT_MESSAGE = "contract_message", "A message on a contract"
    CHANGE_PROPOSED = "change_proposed", "A change was proposed"
    CHANGE_ACCEPTED = "change_accepted", "Your change was accepted"
    CHANGE_ORDER_ACCEPTED = "change_order_accepted", "Your change order was accepted (money moved)"
    CHANGE_DECLINED = "change_declined", "Your change was declined"
    CONTRACT_ENDED = "contract_ended", "A contract ended"
    # Milestones: one kind per transition, named in milestones.transitions.TRANSITIONS
    MILESTONE_PROPOSED = "milestone_proposed", "A new milestone was proposed"
    MILESTONE_APPROVED = "milestone_approved", "A milestone was approved"
    MILESTONE_DECLINED = "milestone_declined", "A milestone you proposed was declined"
    MILESTONE_WITHDRAWN = "milestone_withdrawn", "A proposed milestone was withdrawn"
    MILESTONE_CANCELLED = "milestone_cancelled", "A milestone was cancelled"
    MILESTONE_FUNDED = "milestone_funded", "A milestone was funded"
    MILESTONE_SUBMITTED = "milestone_submitted", "Work was submitted for your review"
    MILESTONE_CHANGES_REQUESTED = "milestone_changes_requested", "The client asked for changes"
    MILESTONE_RELEASED = "milestone_released", "A payment was released"
    MILESTONE_AUTO_RELEASED = "milestone_auto_released", "A payment was released automatically"
    MILESTONE_REFUNDED = "milestone_refunded", "A milestone was refunded"
    # Timers
    REVIEW_REMINDER = "review_reminder", "A submission waits for your review before it is released automatically"
    DUE_REMINDER = "due_reminder", "A milestone is due"
    # Payouts
    PAYOUT = "payout", "A withdrawal was paid or failed"
    # Offers and disputes (the dispute transitions of a milestone are told with these kinds)
    OFFER_MADE = "offer_made", "An offer to divide the escrow of a milestone"
    OFFER_ACCEPTED = "offer_accepted", "Your offer was accepted and the escrow divided"
    OFFER_DECLINED = "offer_declined", "Your offer was declined"
    OFFER_EXPIRED = "offer_expired", "An offer expired unanswered"
    DISPUTE_OPENED = "dispute_opened", "A dispute was opened"
    DISPUTE_ANSWERED = "dispute_answered", "A statement on a dispute"
    DISPUTE_ESCALATED = "dispute_escalated", "A dispute went to arbitration"
    DISPUTE_WITHDRAWN = "dispute_withdrawn", "A dispute was withdrawn"
    DISPUTE_DECIDED = "dispute_decided", "An arbitrator decided a dispute"
    # Reputation
    FEEDBACK_REQUESTED = "feedback_requested", "Feedback is asked for after a contract"
    FEEDBACK_PUBLISHED = "feedback_published", "Feedback on a contract was published"


# Kinds that move or promise money: always emailed at once, whatever the user's preferences.
# A review reminder promises money: left alone, the payment is released automatically.
MONEY_KINDS: frozenset[NotificationKind] = frozenset(
    {
        NotificationKind.CHANGE_ORDER_ACCEPTED,
        NotificationKind.MILESTONE_FUNDED,
        NotificationKind.MILESTONE_RELEASED,
        NotificationKind.MILESTONE_AUTO_RELEASED,
        NotificationKind.MILESTONE_REFUNDED,
        NotificationKind.REVIEW_REMINDER,
        NotificationKind.PAYOUT,
        NotificationKind.OFFER_ACCEPTED,
        NotificationKind.DISPUTE_DECIDED,
    }
)


def kind_is_money(kind: str) -> bool:
    return kind in MONEY_KINDS


def kind_choices() -> list[tuple[str, str]]:
    """The model fields' choices: a callable, so migrations refer to it instead of copying the list."""
    return list(NotificationKind.choices)
