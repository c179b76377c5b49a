"""The milestone state machine, declared once: the states, their groups, and each transition
with the actor allowed to fire it (`permission`) and what else must hold (`conditions`).

Transitions change state in memory only; `milestones.services.skeleton` locks the row, fires
the transition, moves the money, saves and writes the audit row in one transaction.
"""

import functools
import uuid
from collections.abc import Callable
from pathlib import PurePosixPath
from typing import TYPE_CHECKING

from django.conf import settings
from django.db import models
from django_fsm import RETURN_VALUE, ConcurrentTransitionMixin, FSMField, FSMModelMixin, transition

from core.models import AuditEvent, StoredFile

if TYPE_CHECKING:
    from disputes.models import Dispute


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

# --- State groups: the one place that lists states together; everything else asks these ---
# Not funded yet: no money has moved, so the terms may still change.
UNFUNDED_STATES = (S.PROPOSED, S.APPROVED)
# The milestone's money sits in escrow; a contract can't end while any milestone is here.
ESCROW_STATES = (S.FUNDED, S.SUBMITTED, S.DISPUTED)
# In escrow and not disputed: release, refund, opening a dispute and change orders start here.
OPEN_ESCROW_STATES = (S.FUNDED, S.SUBMITTED)
# Work is expected: the due date counts, and a past one makes the milestone overdue.
AWAITING_WORK_STATES = (S.APPROVED, S.FUNDED)
# Nothing has been handed over yet: the page counts down to the due date.
BEFORE_SUBMISSION_STATES = (S.PROPOSED, S.APPROVED, S.FUNDED)
# Agreed by both parties and not finished: the freelancer's active work.
ACTIVE_STATES = (S.APPROVED, S.FUNDED, S.SUBMITTED, S.DISPUTED)
# Nothing can happen any more: every timer is stopped and `closed_at` is set.
FINAL_STATES = (S.RELEASED, S.REFUNDED, S.CANCELLED)
# Both parties said yes at some point: counted in the contract's agreed amount.
AGREED_STATES = (*ACTIVE_STATES, S.RELEASED, S.REFUNDED)


class MilestoneAction(models.TextChoices):
    """What a milestone audit row records: each transition, plus the changes that are not transitions.

    The labels are the verbs of the contract's activity timeline ("<actor> approved milestone “X”").
    """

    CREATE = "create", "proposed milestone"
    APPROVE = "approve", "approved milestone"
    DECLINE = "decline", "declined milestone"
    WITHDRAW = "withdraw", "withdrew milestone"
    CANCEL = "cancel", "cancelled milestone"
    FUND = "fund", "funded milestone"
    SUBMIT = "submit", "submitted work for milestone"
    REQUEST_CHANGES = "request_changes", "asked for changes to milestone"
    RELEASE = "release", "released payment for milestone"
    AUTO_RELEASE = "auto_release", "released payment automatically for milestone"
    REFUND = "refund", "refunded milestone"
    OPEN_DISPUTE = "open_dispute", "opened a dispute on milestone"
    WITHDRAW_DISPUTE = "withdraw_dispute", "withdrew the dispute on milestone"
    RESOLVE = "resolve", "resolved the dispute on milestone"
    SETTLE = "settle", "settled milestone by an accepted offer"
    CHANGE_TERMS = "change_terms", "changed the terms of milestone"
    CHANGE_ORDER = "change_order", "applied a change order to milestone"


# --- Who may fire each transition (django-fsm `permission`: (milestone, user) -> bool) ---
# django-fsm types a rule as taking any model; `_rule` lets each one be written for a milestone.
MilestoneRule = Callable[["Milestone", object], bool]


def _rule(rule: MilestoneRule) -> Callable[[models.Model, object], bool]:
    @functools.wraps(rule)
    def check(instance: models.Model, user: object) -> bool:
        assert isinstance(instance, Milestone)
        return rule(instance, user)

    return check


@_rule
def is_client(milestone: "Milestone", user: object) -> bool:
    return getattr(user, "pk", None) == milestone.contract.client_id


@_rule
def is_freelancer(milestone: "Milestone", user: object) -> bool:
    return getattr(user, "pk", None) == milestone.contract.freelancer_id


@_rule
def is_party(milestone: "Milestone", user: object) -> bool:
    return is_client(milestone, user) or is_freelancer(milestone, user)


@_rule
def is_proposer(milestone: "Milestone", user: object) -> bool:
    return is_party(milestone, user) and getattr(user, "pk", None) == milestone.proposed_by_id


@_rule
def is_other_party(milestone: "Milestone", user: object) -> bool:
    return is_party(milestone, user) and getattr(user, "pk", None) != milestone.proposed_by_id


@_rule
def is_dispute_opener(milestone: "Milestone", user: object) -> bool:
    case = milestone.open_dispute_case
    return is_party(milestone, user) and case is not None and getattr(user, "pk", None) == case.opened_by_id


@_rule
def is_system(milestone: "Milestone", user: object) -> bool:
    return bool(getattr(user, "is_system_actor", False))


ARBITRATE_PERMISSION = "disputes.arbitrate"


@_rule
def is_arbitrator(milestone: "Milestone", user: object) -> bool:
    """Staff holding `disputes.arbitrate` who are not a party to this contract (a party never judges their own case)."""
    if not getattr(user, "is_staff", False) or not getattr(user, "is_active", False) or is_party(milestone, user):
        return False
    has_perm = getattr(user, "has_perm", None)
    return bool(has_perm is not None and has_perm(ARBITRATE_PERMISSION))


# --- Conditions (django-fsm `conditions`: (milestone) -> bool) ---------------------------
def contract_is_active(instance: models.Model) -> bool:
    """Money moves into escrow only while the contract runs."""
    assert isinstance(instance, Milestone)
    return instance.contract.is_active


class Milestone(ConcurrentTransitionMixin, FSMModelMixin, models.Model):
    contract = models.ForeignKey("contracts.Contract", on_delete=models.PROTECT, related_name="milestones")
    position = models.PositiveSmallIntegerField(default=1)
    title = models.CharField(max_length=200)
    deliverables = models.TextField(help_text="Exactly what will be handed over.")
    amount = models.BigIntegerField(help_text="Minor units in the contract's currency.")
    currency = models.CharField(max_length=3)
    # The agreed calendar date, read the same by both parties; `due_at` is the exact moment, the end of
    # that date in the contract's zone (milestones.terms.due_at_from_date), for countdowns and reminders.
    due_date = models.DateField()
    due_at = models.DateTimeField()
    state = FSMField(max_length=12, choices=MilestoneState.choices, default=S.PROPOSED, protected=True, db_index=True)
    proposed_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    created_at = models.DateTimeField(auto_now_add=True)
    funded_at = models.DateTimeField(null=True, blank=True)
    submitted_at = models.DateTimeField(null=True, blank=True)
    # Review clock: set on submit; cleared by request_changes, dispute and release. While disputed, the
    # open case (disputes.Dispute) keeps who opened it, the state it came from and the review time left.
    auto_release_at = models.DateTimeField(null=True, blank=True, db_index=True)
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
        indexes = [
            # The dashboards' counts and soonest-due lists: per contract and state, in due order; the
            # proposer rides along so "to approve" (the other party's proposals) is read from the index too.
            models.Index(
                fields=["contract", "state", "due_at"], include=["proposed_by"], name="milestone_contract_state_due"
            ),
        ]

    def __str__(self) -> str:
        return self.title

    # --- Transitions: state only; `milestones.services` does the rest ---------------------
    # Who may fire each one is its `permission`; what else must hold is its `conditions`; the
    # texts, timers and `closed_at` of each live in `milestones.transitions.TRANSITIONS`.
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

    @transition(field=state, source=S.APPROVED, target=S.FUNDED, permission=is_client, conditions=[contract_is_active])
    def fund(self) -> None:
        """The client moves the amount into escrow, while the contract is active."""

    @transition(field=state, source=S.FUNDED, target=S.SUBMITTED, permission=is_freelancer)
    def submit(self) -> None:
        """The freelancer hands over the work; the review clock starts."""

    @transition(field=state, source=S.SUBMITTED, target=S.FUNDED, permission=is_client)
    def request_changes(self) -> None:
        """The client asks for changes (note required); the review clock stops."""

    @transition(field=state, source=OPEN_ESCROW_STATES, target=S.RELEASED, permission=is_client)
    def release(self) -> None:
        """The client approves and pays: escrow to the freelancer, less the fee."""

    @transition(field=state, source=S.SUBMITTED, target=S.RELEASED, permission=is_system)
    def auto_release(self) -> None:
        """The system releases once the review period passed without an answer."""

    # Only the whole escrow: a partial refund would release the rest to the freelancer without the client's
    # review (a 0.01 "refund" paid them everything else); keeping part is a money offer the client accepts.
    @transition(field=state, source=OPEN_ESCROW_STATES, target=S.REFUNDED, permission=is_freelancer)
    def refund(self) -> None:
        """The freelancer gives all of the escrow back to the client."""

    # Money offers (disputes.Offer) divide the escrow: the other party accepts, the system settles.
    @transition(field=state, source=ESCROW_STATES, target=RETURN_VALUE(S.RELEASED, S.REFUNDED), permission=is_system)
    def settle(self, *, freelancer_amount: int) -> str:
        """An accepted offer divides the escrow: released when the freelancer gets anything, else refunded."""
        return S.RELEASED if freelancer_amount > 0 else S.REFUNDED

    @transition(field=state, source=OPEN_ESCROW_STATES, target=S.DISPUTED, permission=is_party)
    def open_dispute(self) -> None:
        """Either party disputes; the review clock pauses and the case keeps its remaining time."""

    @transition(field=state, source=S.DISPUTED, target=RETURN_VALUE(*OPEN_ESCROW_STATES), permission=is_dispute_opener)
    def withdraw_dispute(self) -> str:
        """The party who opened the dispute withdraws it; the milestone returns to where the case says it was."""
        case = self.open_dispute_case
        assert case is not None  # the permission above found it
        return case.from_state

    @transition(field=state, source=S.DISPUTED, target=RETURN_VALUE(S.RELEASED, S.REFUNDED), permission=is_arbitrator)
    def resolve(self, *, freelancer_amount: int) -> str:
        """An arbitrator decides how the escrow is divided: released when the freelancer gets anything."""
        return S.RELEASED if freelancer_amount > 0 else S.REFUNDED

    # --- The dispute case, read through its reverse relation (the disputes app sits above this one) ---
    @property
    def open_dispute_case(self) -> "Dispute | None":
        """The case that holds this milestone in dispute, or None (at most one is open per milestone)."""
        return self.dispute_cases.filter(closed_at__isnull=True).first()

    # --- State groups as booleans, for templates and forms --------------------------------
    @property
    def is_unfunded(self) -> bool:
        return self.state in UNFUNDED_STATES

    @property
    def holds_escrow(self) -> bool:
        return self.state in ESCROW_STATES

    @property
    def is_final(self) -> bool:
        return self.state in FINAL_STATES

    @property
    def awaits_work(self) -> bool:
        return self.state in AWAITING_WORK_STATES

    @property
    def awaits_submission(self) -> bool:
        """Funded, so the freelancer's submission is what comes next."""
        return self.state == S.FUNDED

    @property
    def accepts_change_order(self) -> bool:
        """In escrow and not disputed: its amount and due date change through a change order."""
        return self.state in OPEN_ESCROW_STATES

    @property
    def terms_can_change(self) -> bool:
        """Terms change while unfunded, or once in escrow through a change order."""
        return self.is_unfunded or self.accepts_change_order

    @property
    def state_label(self) -> str:
        return MilestoneState(self.state).label


class MilestoneEvent(AuditEvent):
    """The audit trail: every state change and every change of terms, with who and when."""

    milestone = models.ForeignKey(Milestone, on_delete=models.PROTECT, related_name="events")
    # The milestone's contract (which never changes), so a contract's latest events come from one index
    # however many milestones and events it has. No database constraint: the milestone's own foreign key
    # holds it, and checking this one would take a share lock on the contract row for every event, which
    # deadlocks with the change-order services that lock the contract before its milestones.
    contract = models.ForeignKey(
        "contracts.Contract", on_delete=models.PROTECT, related_name="+", db_index=False, db_constraint=False
    )
    action = models.CharField(max_length=40, choices=MilestoneAction.choices)
    from_state = models.CharField(max_length=12, blank=True)
    to_state = models.CharField(max_length=12, blank=True)
    # The form's one-time token (see core.forms.OneTimeTokenForm), so a replayed POST is refused, not repeated.
    idempotency_key = models.CharField(max_length=120, unique=True, null=True, blank=True)

    class Meta(AuditEvent.Meta):
        indexes = [models.Index(fields=["contract", "-at", "-id"], name="milestone_event_contract_at")]

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


class DeliverableFile(StoredFile):
    """A file delivered with a submission."""

    submission = models.ForeignKey(Submission, on_delete=models.PROTECT, related_name="files")
    file = models.FileField(upload_to=deliverable_storage_name, max_length=255)

    class Meta(StoredFile.Meta):
        constraints = [models.CheckConstraint(condition=models.Q(size__gte=0), name="deliverable_size_not_negative")]


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
