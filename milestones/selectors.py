"""Reads for the milestones app: what a viewer may see and do, and the timers that are running."""

from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime

from django.db.models import Prefetch, Q, QuerySet
from django.utils import timezone
from django.utils.formats import date_format
from django_fsm import has_transition_perm

from core.humanize import duration_words
from milestones.models import (
    BEFORE_SUBMISSION_STATES,
    DeliverableFile,
    Milestone,
    MilestoneEvent,
    MilestoneState,
    Submission,
)
from milestones.transitions import PAGE_TRANSITIONS, TRANSITIONS, TransitionMeta
from users.models import User


def milestones_visible_to(*, user: User) -> QuerySet[Milestone]:
    """The milestones this user may open: their own contracts' (both sides), or every one for staff."""
    queryset = Milestone.objects.select_related("contract", "contract__client", "contract__freelancer")
    if not user.is_authenticated:
        return queryset.none()
    if user.is_staff:
        return queryset
    return queryset.filter(Q(contract__client=user) | Q(contract__freelancer=user))


def milestone_actions_for(*, milestone: Milestone, user: User) -> list[TransitionMeta]:
    """The page's transitions this viewer may fire now, in page order, as the model declares them."""
    return [meta for meta in PAGE_TRANSITIONS if has_transition_perm(getattr(milestone, meta.name), user)]


def milestone_status_note(*, milestone: Milestone, viewer: User) -> str:
    """What is happening on the milestone when a transition left it waiting (e.g. a dispute), or ""."""
    event = (
        milestone.events.filter(to_state=milestone.state)
        .exclude(to_state="")
        .select_related("actor")
        .order_by("-at", "-pk")
        .first()
    )
    meta = TRANSITIONS.get(event.action) if event is not None else None
    if event is None or meta is None or not meta.underway:
        return ""
    actor = "You" if event.actor_id == viewer.pk else str(event.actor)
    return meta.underway.format(actor=actor, date=date_format(timezone.localtime(event.at), "j M Y"))


def milestone_submissions(*, milestone: Milestone) -> QuerySet[Submission]:
    """Every revision, newest first, with its files."""
    return (
        milestone.submissions.select_related("submitted_by")
        .prefetch_related(Prefetch("files", queryset=DeliverableFile.objects.order_by("pk")))
        .order_by("-revision")
    )


@dataclass(frozen=True)
class LatestEvents:
    """The latest events of a milestone, oldest first, and how many it has in all."""

    events: list[MilestoneEvent]
    total: int

    def __iter__(self) -> Iterator[MilestoneEvent]:
        return iter(self.events)

    @property
    def more(self) -> int:
        return max(0, self.total - len(self.events))


def milestone_history(*, milestone: Milestone) -> QuerySet[MilestoneEvent]:
    """The whole history, oldest first: for the evidence packet and the arbitration desk, which keep the record."""
    return milestone.events.select_related("actor").order_by("at", "pk")


def milestone_history_latest(*, milestone: Milestone, limit: int) -> LatestEvents:
    latest = list(milestone.events.select_related("actor").order_by("-at", "-pk")[:limit])
    latest.reverse()
    return LatestEvents(events=latest, total=milestone.events.count())


def deliverable_for_download(*, user: User, milestone_id: int, file_id: int) -> DeliverableFile:
    """The file, only if it belongs to that milestone and the user is a party or staff (else DoesNotExist)."""
    visible = milestones_visible_to(user=user)
    return DeliverableFile.objects.select_related("submission").get(
        pk=file_id, submission__milestone_id=milestone_id, submission__milestone__in=visible
    )


# --- Timers -----------------------------------------------------------------------------
@dataclass(frozen=True)
class MilestoneTimer:
    """A running deadline shown with a live countdown."""

    kind: str  # "auto_release", "review_paused" or "due"
    label: str  # e.g. "auto-release"
    deadline: datetime | None
    text: str  # rendered on the server; countdown.js keeps it current


def milestone_timers(*, milestone: Milestone, now: datetime | None = None) -> list[MilestoneTimer]:
    now = now or timezone.now()
    timers = []
    if milestone.state == MilestoneState.SUBMITTED and milestone.auto_release_at is not None:
        timers.append(
            MilestoneTimer(
                kind="auto_release",
                label="auto-release",
                deadline=milestone.auto_release_at,
                text=countdown_text(label="auto-release", deadline=milestone.auto_release_at, now=now),
            )
        )
    case = milestone.open_dispute_case if milestone.state == MilestoneState.DISPUTED else None
    if case is not None and case.review_time_remaining is not None:
        timers.append(
            MilestoneTimer(
                kind="review_paused",
                label="review clock",
                deadline=None,
                text=f"review clock paused with {duration_text(case.review_time_remaining.total_seconds())} left",
            )
        )
    if milestone.state in BEFORE_SUBMISSION_STATES:
        timers.append(
            MilestoneTimer(
                kind="due",
                label="due",
                deadline=milestone.due_at,
                text=countdown_text(label="due", deadline=milestone.due_at, now=now),
            )
        )
    return timers


def duration_text(seconds: float) -> str:
    """The two largest units: "13 days 4 hours", "5 hours 10 minutes", "3 minutes", "less than a minute".

    static/js/countdown.js mirrors this so the page reads the same after it ticks.
    """
    return " ".join(duration_words(seconds)) or "less than a minute"


def countdown_text(*, label: str, deadline: datetime, now: datetime) -> str:
    seconds = (deadline - now).total_seconds()
    if seconds >= 0:
        return f"{label} in {duration_text(seconds)}"
    if label == "due":
        return f"overdue by {duration_text(-seconds)}"
    return f"{label} is due now"


def milestone_is_overdue(*, milestone: Milestone, now: datetime | None = None) -> bool:
    """Past its due date while work is still expected (not yet submitted, released or closed)."""
    return milestone.awaits_work and milestone.due_at < (now or timezone.now())
