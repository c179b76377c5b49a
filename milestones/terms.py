"""What both parties agree a milestone is, and the rules those terms obey wherever they come from."""

import zoneinfo
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
    # The agreed calendar date; the exact moment follows from the contract's zone (`due_at_from_date`).
    due_date: date


def due_at_from_date(*, due_date: date, timezone_name: str) -> datetime:
    """The one place a due date becomes a moment: the end of that date (23:59:59) in the contract's zone, in UTC.

    Both parties read the date unchanged; countdowns, "overdue" and reminders use this moment.
    """
    local = datetime.combine(due_date, time(23, 59, 59), tzinfo=zoneinfo.ZoneInfo(timezone_name or "UTC"))
    return local.astimezone(UTC)


def due_date_display(due_date: date) -> str:
    """An agreed date as pages and emails print it, the same for every reader: "Fri 11 Dec 2026"."""
    return f"{due_date:%a} {due_date.day} {due_date:%b %Y}"


def milestone_terms_validate(
    *, terms: MilestoneTerms, currency: str, timezone_name: str, agreed_due_date: date | None = None
) -> None:
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
    due_at = due_at_from_date(due_date=terms.due_date, timezone_name=timezone_name)
    if due_at <= timezone.now() and terms.due_date != agreed_due_date:
        raise MilestoneError("The due date must be in the future.")
