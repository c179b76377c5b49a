"""What both parties agree a milestone is, and the rules those terms obey wherever they come from."""

from dataclasses import dataclass
from datetime import UTC, date, datetime, time

from django.conf import settings
from django.utils import timezone

from core.money import format_money
from milestones.errors import MilestoneError


@dataclass(frozen=True)
class MilestoneTerms:
    """What both parties agree a milestone is: the same shape for proposals and change requests."""

    title: str
    deliverables: str
    amount: int
    due_at: datetime


def due_at_from_date(*, due_date: date) -> datetime:
    """A milestone due on a date is due at the end of that day, UTC; each viewer sees it in their zone."""
    return datetime.combine(due_date, time(23, 59, 59), tzinfo=UTC)


def milestone_terms_validate(*, terms: MilestoneTerms, currency: str, agreed_due_at: datetime | None = None) -> None:
    """The rules every milestone's terms obey, wherever they come from (proposal or change request)."""
    if not terms.title.strip():
        raise MilestoneError("Give the milestone a title.")
    if not terms.deliverables.strip():
        raise MilestoneError("Say exactly what will be handed over for this milestone.")
    if terms.amount <= 0:
        raise MilestoneError("The amount must be greater than zero.")
    if terms.amount > settings.MILESTONE_MAX_AMOUNT_MINOR:
        maximum = format_money(settings.MILESTONE_MAX_AMOUNT_MINOR, currency)
        raise MilestoneError(f"A milestone's amount may be at most {maximum}.")
    # A due date already agreed may stay as it is even once passed; a new one must lie ahead.
    if terms.due_at <= timezone.now() and terms.due_at != agreed_due_at:
        raise MilestoneError("The due date must be in the future.")
