"""Every change to a milestone: atomic, row-locked, audited, side effects after commit."""

from datetime import datetime

from django.db import transaction
from django_fsm import can_proceed, has_transition_perm

from contracts.models import Contract
from marketplace.models import User
from milestones.errors import MilestoneActionNotAllowed, MilestoneError
from milestones.models import Milestone, MilestoneEvent, MilestoneState


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


@transaction.atomic
def milestone_approve(*, milestone: Milestone, actor: User, note: str = "") -> Milestone:
    """The party that did not propose the milestone agrees to it."""
    locked = milestone_lock(milestone_id=milestone.pk)
    milestone_check_transition(milestone=locked, transition_name="approve", actor=actor)
    from_state = locked.state
    locked.approve()
    locked.save()
    milestone_event_record(
        milestone=locked, actor=actor, action="approve", from_state=from_state, to_state=locked.state, note=note
    )
    return locked
