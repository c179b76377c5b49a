"""Every change to a milestone: atomic, row-locked, audited, side effects after commit."""

from datetime import datetime

from django.db import transaction
from django.utils import timezone
from django_fsm import can_proceed, has_transition_perm

from contracts.models import Contract
from marketplace.models import User
from milestones.errors import MilestoneActionNotAllowed, MilestoneError, MilestoneRequestReplayed
from milestones.models import Milestone, MilestoneEvent, MilestoneState
from payments.money import format_money


def milestone_lock(*, milestone_id: int) -> Milestone:
    """Re-read the milestone under a row lock; callers run inside a transaction."""
    return Milestone.objects.select_for_update().select_related("contract").get(pk=milestone_id)


def milestone_event_record(
    *,
    milestone: Milestone,
    actor: User,
    action: str,
    from_state: str = "",
    to_state: str = "",
    note: str = "",
    idempotency_key: str | None = None,
) -> MilestoneEvent:
    return MilestoneEvent.objects.create(
        milestone=milestone,
        actor=actor,
        action=action,
        from_state=from_state,
        to_state=to_state,
        note=note,
        idempotency_key=idempotency_key,
    )


def milestone_refuse_replay(*, idempotency_key: str | None) -> None:
    """A form's one-time key that was already used means this POST is a replay: refuse it."""
    if idempotency_key and MilestoneEvent.objects.filter(idempotency_key=idempotency_key).exists():
        raise MilestoneRequestReplayed("That request was already handled; nothing was done twice.")


def milestone_check_transition(*, milestone: Milestone, transition_name: str, actor: User) -> None:
    """Refuse the wrong state first (the common race outcome), then the wrong actor."""
    method = getattr(milestone, transition_name)
    if not can_proceed(method, check_conditions=False):
        label = MilestoneState(milestone.state).label.lower()
        raise MilestoneActionNotAllowed(f"This milestone is already {label}, so it can't be {_past(transition_name)}.")
    if not has_transition_perm(method, actor):
        raise MilestoneActionNotAllowed("Your account can't do that on this milestone.")


def _past(transition_name: str) -> str:
    return {
        "approve": "approved",
        "decline": "declined",
        "withdraw": "withdrawn",
        "cancel": "cancelled",
        "fund": "funded",
        "submit": "submitted",
        "request_changes": "sent back for changes",
        "release": "released",
        "auto_release": "released automatically",
        "refund": "refunded",
        "open_dispute": "disputed",
        "withdraw_dispute": "taken out of dispute",
        "resolve": "resolved",
    }.get(transition_name, transition_name.replace("_", " "))


@transaction.atomic
def milestone_create(
    *,
    contract: Contract,
    proposed_by: User,
    title: str,
    deliverables: str,
    amount: int,
    due_at: datetime,
    position: int | None = None,
    note: str = "",
) -> Milestone:
    """A new milestone in `proposed`; the other party approves it (or an accepted proposal does)."""
    if not contract.is_party(proposed_by):
        raise MilestoneActionNotAllowed("Only the contract's client or freelancer can propose a milestone.")
    if contract.status != Contract.Status.ACTIVE:
        raise MilestoneError("This contract has ended; no milestones can be added.")
    if amount <= 0:
        raise MilestoneError("The amount must be greater than zero.")
    if position is None:
        position = (contract.milestones.order_by("-position").values_list("position", flat=True).first() or 0) + 1
    milestone = Milestone.objects.create(
        contract=contract,
        position=position,
        title=title,
        deliverables=deliverables,
        amount=amount,
        currency=contract.currency,
        due_at=due_at,
        proposed_by=proposed_by,
    )
    milestone_event_record(
        milestone=milestone, actor=proposed_by, action="create", to_state=MilestoneState.PROPOSED, note=note
    )
    return milestone


def _fire_simple_transition(
    *, milestone: Milestone, actor: User, transition_name: str, note: str, idempotency_key: str | None
) -> Milestone:
    """Lock, check, fire, save, audit: the shape of every transition that moves no money."""
    locked = milestone_lock(milestone_id=milestone.pk)
    milestone_refuse_replay(idempotency_key=idempotency_key)
    milestone_check_transition(milestone=locked, transition_name=transition_name, actor=actor)
    from_state = locked.state
    getattr(locked, transition_name)()
    if locked.state in (MilestoneState.CANCELLED,):
        locked.closed_at = timezone.now()
    locked.save()
    milestone_event_record(
        milestone=locked,
        actor=actor,
        action=transition_name,
        from_state=from_state,
        to_state=locked.state,
        note=note,
        idempotency_key=idempotency_key,
    )
    return locked


@transaction.atomic
def milestone_approve(
    *, milestone: Milestone, actor: User, note: str = "", idempotency_key: str | None = None
) -> Milestone:
    """The party that did not propose the milestone agrees to it."""
    return _fire_simple_transition(
        milestone=milestone, actor=actor, transition_name="approve", note=note, idempotency_key=idempotency_key
    )


@transaction.atomic
def milestone_decline(
    *, milestone: Milestone, actor: User, note: str = "", idempotency_key: str | None = None
) -> Milestone:
    """The party that did not propose the milestone says no; it is cancelled."""
    return _fire_simple_transition(
        milestone=milestone, actor=actor, transition_name="decline", note=note, idempotency_key=idempotency_key
    )


@transaction.atomic
def milestone_withdraw(
    *, milestone: Milestone, actor: User, note: str = "", idempotency_key: str | None = None
) -> Milestone:
    """The proposer takes back a milestone the other party has not approved yet."""
    return _fire_simple_transition(
        milestone=milestone, actor=actor, transition_name="withdraw", note=note, idempotency_key=idempotency_key
    )


@transaction.atomic
def milestone_cancel(*, milestone: Milestone, actor: User, note: str, idempotency_key: str | None = None) -> Milestone:
    """Either party cancels an approved milestone before it is funded; a note says why."""
    if not note.strip():
        raise MilestoneError("Say why the milestone is cancelled; the other party will see the note.")
    return _fire_simple_transition(
        milestone=milestone, actor=actor, transition_name="cancel", note=note, idempotency_key=idempotency_key
    )


@transaction.atomic
def milestone_terms_apply(
    *,
    milestone: Milestone,
    actor: User,
    title: str,
    deliverables: str,
    amount: int,
    due_at: datetime,
    note: str = "",
) -> Milestone:
    """Apply terms both parties agreed to (the contracts app holds the proposal and the approval).

    Only a milestone that holds no money yet (proposed or approved) changes here; a funded
    milestone's amount changes through a change order, which moves the escrow difference.
    """
    locked = milestone_lock(milestone_id=milestone.pk)
    if locked.state not in (MilestoneState.PROPOSED, MilestoneState.APPROVED):
        label = MilestoneState(locked.state).label.lower()
        raise MilestoneActionNotAllowed(f"This milestone is {label}; its terms can no longer change this way.")
    if not locked.contract.is_party(actor):
        raise MilestoneActionNotAllowed("Only the contract's client or freelancer can change a milestone.")
    if amount <= 0:
        raise MilestoneError("The amount must be greater than zero.")
    before = _terms_summary(locked)
    locked.title, locked.deliverables, locked.amount, locked.due_at = title, deliverables, amount, due_at
    locked.save(update_fields=["title", "deliverables", "amount", "due_at"])
    milestone_event_record(
        milestone=locked,
        actor=actor,
        action="change_terms",
        from_state=locked.state,
        to_state=locked.state,
        note=(note + "\n" if note else "") + f"Was: {before}. Now: {_terms_summary(locked)}.",
    )
    return locked


def _terms_summary(milestone: Milestone) -> str:
    return f"{milestone.title!r}, {format_money(milestone.amount, milestone.currency)}, due {milestone.due_at:%Y-%m-%d}"
