"""The milestone state machine, declared once: each transition with the actor allowed to fire it.

Transitions change state in memory only; the services in `milestones.services` lock the row,
fire the transition, move the money, save and write the audit row in one transaction.
"""

import uuid
from pathlib import PurePosixPath
from typing import Any

from django.conf import settings
from django.db import models
from django_fsm import RETURN_VALUE, ConcurrentTransitionMixin, FSMField, FSMModelMixin, transition


class MilestoneState(models.TextChoices):
    PROPOSED = "proposed", "Proposed"
    APPROVED = "approved", "Approved"
    FUNDED = "funded", "Funded"
    SUBMITTED = "submitted", "Submitted"
    RELEASED = "released", "Released"
    DISPUTED = "disputed", "Disputed"
    REFUNDED = "refunded", "Refunded"
    CANCELLED = "cancelled", "Cancelled"


S = MilestoneState
# States in which the milestone's money sits in escrow.
ESCROW_STATES = (S.FUNDED, S.SUBMITTED, S.DISPUTED)
FINAL_STATES = (S.RELEASED, S.REFUNDED, S.CANCELLED)


# --- Who may fire each transition (django-fsm `permission`: (milestone, user) -> bool) ---
def is_client(milestone: "Milestone", user: Any) -> bool:
    return getattr(user, "pk", None) == milestone.contract.client_id


def is_freelancer(milestone: "Milestone", user: Any) -> bool:
    return getattr(user, "pk", None) == milestone.contract.freelancer_id


def is_party(milestone: "Milestone", user: Any) -> bool:
    return is_client(milestone, user) or is_freelancer(milestone, user)


def is_proposer(milestone: "Milestone", user: Any) -> bool:
    return is_party(milestone, user) and user.pk == milestone.proposed_by_id


def is_other_party(milestone: "Milestone", user: Any) -> bool:
    return is_party(milestone, user) and user.pk != milestone.proposed_by_id


def is_system(milestone: "Milestone", user: Any) -> bool:
    return bool(getattr(user, "is_system_actor", False))


def is_arbitrator(milestone: "Milestone", user: Any) -> bool:
    # Staff arbitrate; an accepted settlement offer resolves as the system actor.
    return (bool(getattr(user, "is_staff", False)) and not is_party(milestone, user)) or is_system(milestone, user)


class Milestone(ConcurrentTransitionMixin, FSMModelMixin, models.Model):
    contract = models.ForeignKey("contracts.Contract", on_delete=models.PROTECT, related_name="milestones")
    position = models.PositiveSmallIntegerField(default=1)
    title = models.CharField(max_length=200)
    deliverables = models.TextField(help_text="Exactly what will be handed over.")
    amount = models.BigIntegerField(help_text="Minor units in the contract's currency.")
    currency = models.CharField(max_length=3)
    due_at = models.DateTimeField()
    state = FSMField(max_length=12, choices=MilestoneState.choices, default=S.PROPOSED, protected=True, db_index=True)
    proposed_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    created_at = models.DateTimeField(auto_now_add=True)
    funded_at = models.DateTimeField(null=True, blank=True)
    submitted_at = models.DateTimeField(null=True, blank=True)
    # Review clock: set on submit; cleared by request_changes, dispute and release.
    auto_release_at = models.DateTimeField(null=True, blank=True, db_index=True)
    # While disputed, the review time that was left, so withdrawing the dispute resumes it.
    review_time_remaining = models.DurationField(null=True, blank=True)
    closed_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["position", "pk"]
        constraints = [
            models.CheckConstraint(condition=models.Q(amount__gt=0), name="milestone_amount_positive"),
            models.CheckConstraint(
                condition=models.Q(auto_release_at__isnull=True) | models.Q(state="submitted"),
                name="milestone_auto_release_only_when_submitted",
            ),
        ]

    def __str__(self) -> str:
        return self.title

    # --- Transitions: state only; services do the rest ---------------------------------
    @transition(field=state, source=S.PROPOSED, target=S.APPROVED, permission=is_other_party)
    def approve(self) -> None:
        """The party that did not propose agrees (an accepted proposal approves its rows)."""

    @transition(field=state, source=S.PROPOSED, target=S.CANCELLED, permission=is_other_party)
    def decline(self) -> None:
        """The other party says no to a proposed milestone."""

    @transition(field=state, source=S.PROPOSED, target=S.CANCELLED, permission=is_proposer)
    def withdraw(self) -> None:
        """The proposer takes a proposed milestone back."""

    @transition(field=state, source=S.APPROVED, target=S.CANCELLED, permission=is_party)
    def cancel(self) -> None:
        """Either party cancels an approved, unfunded milestone, with a note."""

    @transition(field=state, source=S.APPROVED, target=S.FUNDED, permission=is_client)
    def fund(self) -> None:
        """The client moves the amount into escrow."""

    @transition(field=state, source=S.FUNDED, target=S.SUBMITTED, permission=is_freelancer)
    def submit(self) -> None:
        """The freelancer hands over the work; the review clock starts."""

    @transition(field=state, source=S.SUBMITTED, target=S.FUNDED, permission=is_client)
    def request_changes(self) -> None:
        """The client asks for changes (note required); the review clock stops."""

    @transition(field=state, source=[S.FUNDED, S.SUBMITTED], target=S.RELEASED, permission=is_client)
    def release(self) -> None:
        """The client approves and pays: escrow to the freelancer, less the fee."""

    @transition(field=state, source=S.SUBMITTED, target=S.RELEASED, permission=is_system)
    def auto_release(self) -> None:
        """The system releases once the review period passed without an answer."""

    @transition(
        field=state,
        source=[S.FUNDED, S.SUBMITTED],
        target=RETURN_VALUE(S.REFUNDED, S.RELEASED),
        permission=is_freelancer,
    )
    def refund(self, *, partial: bool = False) -> str:
        """The freelancer gives money back: all of it (refunded) or part, the rest released."""
        return S.RELEASED if partial else S.REFUNDED

    @transition(field=state, source=[S.FUNDED, S.SUBMITTED], target=S.DISPUTED, permission=is_party)
    def open_dispute(self) -> None:
        """Either party disputes; the review clock pauses with its remaining time kept."""

    @transition(field=state, source=S.DISPUTED, target=RETURN_VALUE(S.FUNDED, S.SUBMITTED), permission=is_party)
    def withdraw_dispute(self, *, back_to: str) -> str:
        """The party who opened the dispute withdraws it; the milestone returns where it was."""
        return back_to

    @transition(field=state, source=S.DISPUTED, target=RETURN_VALUE(S.RELEASED, S.REFUNDED), permission=is_arbitrator)
    def resolve(self, *, outcome: str) -> str:
        """An arbitrator (or an accepted settlement) decides: released or refunded, a split recorded."""
        return outcome


class MilestoneEvent(models.Model):
    """The audit trail: every state change and every change of terms, with who and when."""

    milestone = models.ForeignKey(Milestone, on_delete=models.PROTECT, related_name="events")
    actor = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    action = models.CharField(max_length=40)
    from_state = models.CharField(max_length=12, blank=True)
    to_state = models.CharField(max_length=12, blank=True)
    note = models.TextField(blank=True)
    # Set from the form's one-time token, so a replayed POST is recognised, not repeated.
    idempotency_key = models.CharField(max_length=120, unique=True, null=True, blank=True)
    at = models.DateTimeField(auto_now_add=True, db_index=True)

    class Meta:
        ordering = ["at", "pk"]

    def __str__(self) -> str:
        return f"{self.action}: {self.from_state or '—'} → {self.to_state or '—'}"

    @property
    def action_label(self) -> str:
        return self.action.replace("_", " ")


class Submission(models.Model):
    """One hand-over of the work; every submission is kept as a numbered revision."""

    milestone = models.ForeignKey(Milestone, on_delete=models.PROTECT, related_name="submissions")
    revision = models.PositiveIntegerField()
    message = models.TextField()
    submitted_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    submitted_at = models.DateTimeField(auto_now_add=True)
    # Filled when the client sends this revision back.
    changes_requested_note = models.TextField(blank=True)
    changes_requested_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-revision"]
        constraints = [models.UniqueConstraint(fields=["milestone", "revision"], name="submission_revision_unique")]

    def __str__(self) -> str:
        return f"{self.milestone} revision {self.revision}"


def deliverable_storage_name(instance: "DeliverableFile", filename: str) -> str:
    """A random name on disk; the uploader's name is display text only and never touches a path."""
    extension = PurePosixPath(filename).suffix.lower()
    return f"deliverables/{instance.submission.milestone_id}/{uuid.uuid4().hex}{extension}"


class DeliverableFile(models.Model):
    """A delivered file: stored privately under a random name, with its size and SHA-256 as proof."""

    submission = models.ForeignKey(Submission, on_delete=models.PROTECT, related_name="files")
    file = models.FileField(upload_to=deliverable_storage_name, max_length=255)
    original_name = models.CharField(max_length=255, help_text="The uploader's file name, shown only as text.")
    size = models.BigIntegerField(help_text="Bytes.")
    sha256 = models.CharField(max_length=64)
    uploaded_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["pk"]
        constraints = [models.CheckConstraint(condition=models.Q(size__gte=0), name="deliverable_size_not_negative")]

    def __str__(self) -> str:
        return self.original_name


class MilestoneReminder(models.Model):
    """A reminder that was sent, keyed by (milestone, kind, deadline) so a second sweep sends nothing.

    The deadline is part of the key: a resubmission or a changed due date sets a new deadline,
    and its reminders are due again.
    """

    class Kind(models.TextChoices):
        REVIEW_7D = "review_7d", "Review: 7 days left"
        REVIEW_3D = "review_3d", "Review: 3 days left"
        REVIEW_1D = "review_1d", "Review: 1 day left"
        DUE_48H = "due_48h", "Due in 48 hours"
        DUE_TODAY = "due_today", "Due within a day"
        OVERDUE = "overdue", "Overdue"

    milestone = models.ForeignKey(Milestone, on_delete=models.PROTECT, related_name="reminders")
    kind = models.CharField(max_length=12, choices=Kind.choices)
    deadline = models.DateTimeField()
    sent_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["sent_at", "pk"]
        constraints = [
            models.UniqueConstraint(fields=["milestone", "kind", "deadline"], name="milestone_reminder_once"),
        ]

    def __str__(self) -> str:
        return f"{self.get_kind_display()} for {self.milestone} ({self.deadline:%Y-%m-%d %H:%M})"
