"""Timers: the beat sweeps that release on time and send reminders. Deadlines live on the rows.

Each row is claimed with skip_locked in its own transaction, so overlapping sweeps (two
workers, a slow run) never act on one row twice; each action goes through the same service
a person's action uses.
"""

import functools
import logging
import operator
import zoneinfo
from collections.abc import Sequence
from datetime import datetime, timedelta

from django.conf import settings
from django.db import models, transaction
from django.utils import timezone

from core.links import absolute_url
from core.money import format_money
from milestones.errors import MilestoneError
from milestones.models import Milestone, MilestoneReminder, MilestoneState
from milestones.selectors import duration_text
from milestones.services.payment import milestone_auto_release
from milestones.terms import due_date_display
from notifications.kinds import NotificationKind
from notifications.services import notify
from payments.errors import PaymentError
from users.models import User

logger = logging.getLogger(__name__)

Windows = tuple[tuple[str, timedelta], ...]


def review_reminder_windows() -> Windows:
    """The three review reminders (settings, longest first: 7, 3 and 1 days by default), most urgent first:
    a late sweep sends the one that applies now, not all three at once. The stored kinds name the
    default offsets; they stay the same when a demo shortens them."""
    first, second, last = settings.MILESTONE_REVIEW_REMINDERS
    K = MilestoneReminder.Kind
    return ((K.REVIEW_1D, last), (K.REVIEW_3D, second), (K.REVIEW_7D, first))


def due_reminder_windows() -> Windows:
    """Overdue, then the two reminders before the due moment (48 and 24 hours by default), most urgent first."""
    early, late = settings.MILESTONE_DUE_REMINDERS
    K = MilestoneReminder.Kind
    return ((K.OVERDUE, timedelta(0)), (K.DUE_TODAY, late), (K.DUE_48H, early))


def _reminder_kind(*, deadline: datetime, now: datetime, windows: Windows) -> str | None:
    remaining = deadline - now
    for kind, window in windows:
        if remaining <= window:
            return kind
    return None


def _reminder_already_sent(*, now: datetime, windows: Windows) -> models.Q:
    """Due-date candidates whose current reminder (the kind `_reminder_kind` would pick now) is recorded."""
    already: list[models.Q] = []
    earlier = None
    for kind, window in windows:
        in_window = models.Q(due_at__lte=now + window)
        if earlier is not None:
            in_window &= models.Q(due_at__gt=now + earlier)
        recorded = models.Exists(
            MilestoneReminder.objects.filter(
                milestone=models.OuterRef("pk"), kind=kind, deadline=models.OuterRef("due_at")
            )
        )
        already.append(in_window & models.Q(recorded))
        earlier = window
    return functools.reduce(operator.or_, already)


def _claim(*, milestone_id: int, **conditions: object) -> Milestone | None:
    """Lock one row for this sweep, or None when another worker holds it or it no longer qualifies."""
    return (
        Milestone.objects.select_for_update(skip_locked=True, of=("self",), no_key=True)
        .select_related("contract__client", "contract__freelancer")
        .filter(pk=milestone_id, **conditions)
        .first()
    )


def milestone_auto_release_due(*, now: datetime | None = None, limit: int = 200) -> int:
    """Release, as the system, every submitted milestone whose review period has ended; returns how many."""
    now = now or timezone.now()
    due_ids = list(
        Milestone.objects.filter(state=MilestoneState.SUBMITTED, auto_release_at__lte=now)
        .order_by("auto_release_at", "pk")
        .values_list("pk", flat=True)[:limit]
    )
    released = 0
    for milestone_id in due_ids:
        with transaction.atomic():
            claimed = _claim(milestone_id=milestone_id, state=MilestoneState.SUBMITTED, auto_release_at__lte=now)
            if claimed is None:
                continue
            try:
                milestone_auto_release(milestone=claimed, now=now)
            except (MilestoneError, PaymentError):
                # One broken row must not stop the others; it stays due and is logged for staff.
                logger.exception("Auto-release of milestone %s failed; it will be retried", milestone_id)
                continue
            released += 1
    return released


def milestone_review_reminders_send(*, now: datetime | None = None, limit: int = 500) -> int:
    """Remind the client 7, 3 and 1 days (`MILESTONE_REVIEW_REMINDERS`) before a submission is released
    automatically."""
    now = now or timezone.now()
    windows = review_reminder_windows()
    longest = windows[-1][1]
    candidate_ids = list(
        Milestone.objects.filter(
            state=MilestoneState.SUBMITTED, auto_release_at__gt=now, auto_release_at__lte=now + longest
        )
        .order_by("auto_release_at", "pk")
        .values_list("pk", flat=True)[:limit]
    )
    sent = 0
    for milestone_id in candidate_ids:
        with transaction.atomic():
            claimed = _claim(milestone_id=milestone_id, state=MilestoneState.SUBMITTED, auto_release_at__gt=now)
            if claimed is None or claimed.auto_release_at is None:
                continue
            deadline = claimed.auto_release_at
            kind = _reminder_kind(deadline=deadline, now=now, windows=windows)
            if kind is None or not _reminder_record(milestone=claimed, kind=kind, deadline=deadline):
                continue
            _reminder_notify(
                recipients=[claimed.contract.client],
                kind=NotificationKind.REVIEW_REMINDER,
                subject=f"{claimed.title}: review by {{deadline}} or it is released automatically",
                body=(
                    "Work on this milestone is waiting for your review. Release the payment, or request changes,\n"
                    "by {deadline} ({remaining} from now). If you do neither, "
                    f"{format_money(claimed.amount, claimed.currency)} is released to "
                    f"{claimed.contract.freelancer} automatically.\n"
                ),
                milestone=claimed,
                deadline=deadline,
                now=now,
            )
            sent += 1
    return sent


def milestone_due_reminders_send(*, now: datetime | None = None, limit: int = 500) -> int:
    """Remind about funded work 48 and 24 hours (`MILESTONE_DUE_REMINDERS`) before it is due, and once overdue."""
    now = now or timezone.now()
    windows = due_reminder_windows()
    longest = windows[-1][1]
    candidate_ids = list(
        # Work is due while the freelancer holds funded work; a submitted milestone waits on the client.
        Milestone.objects.filter(state=MilestoneState.FUNDED, due_at__lte=now + longest)
        # Skip the ones already sent the reminder that applies now, so a batch never fills with them
        # (an overdue milestone, say, stays in range forever) and later ones wait.
        .exclude(_reminder_already_sent(now=now, windows=windows))
        .order_by("due_at", "pk")
        .values_list("pk", flat=True)[:limit]
    )
    sent = 0
    for milestone_id in candidate_ids:
        with transaction.atomic():
            claimed = _claim(milestone_id=milestone_id, state=MilestoneState.FUNDED)
            if claimed is None:
                continue
            deadline = claimed.due_at
            kind = _reminder_kind(deadline=deadline, now=now, windows=windows)
            if kind is None or not _reminder_record(milestone=claimed, kind=kind, deadline=deadline):
                continue
            contract = claimed.contract
            overdue = kind == MilestoneReminder.Kind.OVERDUE
            _reminder_notify(
                kind=NotificationKind.DUE_REMINDER,
                # Overdue work concerns both parties; before that, only the freelancer needs a nudge.
                recipients=[contract.freelancer, contract.client] if overdue else [contract.freelancer],
                subject=f"{claimed.title}: {'overdue since' if overdue else 'due'} {{deadline}}",
                body=(
                    "This milestone was due {deadline} and is overdue by {remaining}.\n"
                    if overdue
                    else "This milestone is due {deadline}, in {remaining}.\n"
                )
                # The agreed date reads the same to both parties; the moment above is its end in the contract's zone.
                + f"Agreed due date: {due_date_display(claimed.due_date)} (dates are in {contract.timezone}).\n",
                milestone=claimed,
                deadline=deadline,
                now=now,
            )
            sent += 1
    return sent


def _reminder_record(*, milestone: Milestone, kind: str, deadline: datetime) -> bool:
    """Record the reminder; False when it was already sent for this deadline."""
    _, created = MilestoneReminder.objects.get_or_create(milestone=milestone, kind=kind, deadline=deadline)
    return created


def _reminder_notify(
    *,
    recipients: Sequence[User],
    kind: NotificationKind,
    subject: str,
    body: str,
    milestone: Milestone,
    deadline: datetime,
    now: datetime,
) -> None:
    """One email per recipient, with the deadline in their own time zone, sent once the reminder is recorded."""
    remaining = duration_text(abs((deadline - now).total_seconds()))
    for user in recipients:
        local = timezone.localtime(deadline, zoneinfo.ZoneInfo(user.timezone or "UTC"))
        when = f"{local:%a %d %b %Y, %H:%M} ({user.timezone or 'UTC'})"
        # Not str.format: titles and names are user text and may hold braces.
        text = body.replace("{deadline}", when).replace("{remaining}", remaining)
        notify(
            recipients=[user],
            kind=kind,
            subject=subject.replace("{deadline}", when),
            body=f"{text}\nMilestone: {milestone.title}\nContract: {milestone.contract.title}",
            link=absolute_url("milestones:detail", milestone.pk),
            about=("milestone", milestone.pk),
        )
