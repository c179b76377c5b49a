"""What a notice is about; one kind per event a user is told of, and which kinds are about money."""

from django.db import models


class NotificationKind(models.TextChoices):
    JOB_PROPOSAL_RECEIVED = "proposal_received", "A proposal on your job"
    PROPOSAL_ACCEPTED = "proposal_accepted", "Your proposal was accepted"
    PROPOSAL_DECLINED = "proposal_declined", "Your proposal was declined"
    CONTRACT_MESSAGE = "contract_message", "A message on a contract"
    CHANGE_PROPOSED = "change_proposed", "A change was proposed"
    CHANGE_ACCEPTED = "change_accepted", "Your change was accepted"
    CHANGE_DECLINED = "change_declined", "Your change was declined"
    CONTRACT_ENDED = "contract_ended", "A contract ended"
    MILESTONE_CHANGED = "milestone_changed", "A milestone moved on"
    MILESTONE_MONEY = "milestone_money", "Money moved on a milestone"
    REVIEW_REMINDER = "review_reminder", "A submission waits for your review"
    DUE_REMINDER = "due_reminder", "A milestone is due"
    PAYOUT = "payout", "A payout was settled"
    OFFER_MADE = "offer_made", "An offer to divide the escrow of a milestone"
    OFFER_ACCEPTED = "offer_accepted", "Your offer was accepted and the escrow divided"
    OFFER_DECLINED = "offer_declined", "Your offer was declined"
    OFFER_EXPIRED = "offer_expired", "An offer expired unanswered"
    DISPUTE_OPENED = "dispute_opened", "A dispute was opened"
    DISPUTE_ANSWERED = "dispute_answered", "A statement on a dispute"
    DISPUTE_ESCALATED = "dispute_escalated", "A dispute went to arbitration"
    DISPUTE_WITHDRAWN = "dispute_withdrawn", "A dispute was withdrawn"
    DISPUTE_DECIDED = "dispute_decided", "An arbitrator decided a dispute"


# Kinds that move or promise money: always emailed at once, whatever the user's preferences.
MONEY_KINDS: frozenset[NotificationKind] = frozenset(
    {
        NotificationKind.MILESTONE_MONEY,
        NotificationKind.PAYOUT,
        NotificationKind.OFFER_ACCEPTED,
        NotificationKind.DISPUTE_DECIDED,
    }
)


def kind_is_money(kind: str) -> bool:
    return kind in MONEY_KINDS
