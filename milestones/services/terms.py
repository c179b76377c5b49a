"""Creating a milestone, agreeing to it or not, and changing its terms."""

from datetime import date
from typing import TYPE_CHECKING

from django.db import transaction
from django_fsm import has_transition_perm

from core.money import format_money
from milestones.errors import MilestoneActionNotAllowed, MilestoneError
from milestones.models import Milestone, MilestoneAction, MilestoneState
from milestones.services.skeleton import (
    milestone_event_record,
    milestone_lock,
    milestone_refuse_replay,
    milestone_transition,
)
from milestones.terms import due_at_from_date, due_date_display
from payments.services import escrow_change
from users.models import User

if TYPE_CHECKING:
    from contracts.models import Contract

# The transitions that close a milestone before any money moved, in the order they are tried.
CLOSING_TRANSITIONS = (MilestoneAction.WITHDRAW, MilestoneAction.DECLINE, MilestoneAction.CANCEL)


@transaction.atomic
def milestone_create(
    *,
    contract: "Contract",
    proposed_by: User,
    title: str,
    deliverables: str,
    amount: int,
    due_date: date,
    position: int | None = None,
    note: str = "",
) -> Milestone:
    """A new milestone in `proposed`; the other party approves it (or an accepted proposal does)."""
    if not contract.is_party(proposed_by):
        raise MilestoneActionNotAllowed("Only the contract's client or freelancer can propose a milestone.")
    if not contract.is_active:
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
        due_date=due_date,
        due_at=due_at_from_date(due_date=due_date, timezone_name=contract.timezone),
        proposed_by=proposed_by,
    )
    milestone_event_record(
        milestone=milestone,
        actor=proposed_by,
        action=MilestoneAction.CREATE,
        to_state=MilestoneState.PROPOSED,
        note=note,
    )
    return milestone


def milestone_approve(
    *,
    milestone: Milestone,
    actor: User,
    note: str = "",
    idempotency_key: str | None = None,
    tell_other_party: bool = True,
) -> Milestone:
    """The party that did not propose the milestone agrees to it."""
    return milestone_transition(
        milestone=milestone,
        actor=actor,
        name=MilestoneAction.APPROVE,
        note=note,
        idempotency_key=idempotency_key,
        tell_other_party=tell_other_party,
    )


def milestone_decline(
    *,
    milestone: Milestone,
    actor: User,
    note: str = "",
    idempotency_key: str | None = None,
    tell_other_party: bool = True,
) -> Milestone:
    """The party that did not propose the milestone says no; it is cancelled."""
    return milestone_transition(
        milestone=milestone,
        actor=actor,
        name=MilestoneAction.DECLINE,
        note=note,
        idempotency_key=idempotency_key,
        tell_other_party=tell_other_party,
    )


def milestone_withdraw(
    *,
    milestone: Milestone,
    actor: User,
    note: str = "",
    idempotency_key: str | None = None,
    tell_other_party: bool = True,
) -> Milestone:
    """The proposer takes back a milestone the other party has not approved yet."""
    return milestone_transition(
        milestone=milestone,
        actor=actor,
        name=MilestoneAction.WITHDRAW,
        note=note,
        idempotency_key=idempotency_key,
        tell_other_party=tell_other_party,
    )


def milestone_cancel(*, milestone: Milestone, actor: User, note: str, idempotency_key: str | None = None) -> Milestone:
    """Either party cancels an approved milestone before it is funded; a note says why."""
    if not note.strip():
        raise MilestoneError("Say why the milestone is cancelled; the other party will see the note.")
    return milestone_transition(
        milestone=milestone, actor=actor, name=MilestoneAction.CANCEL, note=note, idempotency_key=idempotency_key
    )


def milestone_close_unfunded(*, milestone: Milestone, actor: User, note: str) -> Milestone:
    """Close a milestone no money moved for, the way this actor may: withdraw, decline or cancel it.

    Used when a contract ends, whose own notice tells the other party; a milestone no closing
    transition applies to is returned unchanged.
    """
    for name in CLOSING_TRANSITIONS:
        if has_transition_perm(getattr(milestone, name), actor):
            return milestone_transition(milestone=milestone, actor=actor, name=name, note=note, tell_other_party=False)
    return milestone


@transaction.atomic
def milestone_terms_apply(
    *,
    milestone: Milestone,
    actor: User,
    title: str,
    deliverables: str,
    amount: int,
    due_date: date,
    note: str = "",
) -> Milestone:
    """Apply terms both parties agreed to (the contracts app holds the proposal and the approval).

    Only a milestone that holds no money yet (proposed or approved) changes here; a funded
    milestone's amount changes through a change order, which moves the escrow difference.
    """
    locked = milestone_lock(milestone_id=milestone.pk)
    if not locked.is_unfunded:
        label = locked.state_label.lower()
        raise MilestoneActionNotAllowed(f"This milestone is {label}; its terms can no longer change this way.")
    if not locked.contract.is_party(actor):
        raise MilestoneActionNotAllowed("Only the contract's client or freelancer can change a milestone.")
    if amount <= 0:
        raise MilestoneError("The amount must be greater than zero.")
    before = _terms_summary(locked)
    locked.title, locked.deliverables, locked.amount = title, deliverables, amount
    _due_date_set(locked, due_date)
    locked.save(update_fields=["title", "deliverables", "amount", "due_date", "due_at"])
    milestone_event_record(
        milestone=locked,
        actor=actor,
        action=MilestoneAction.CHANGE_TERMS,
        from_state=locked.state,
        to_state=locked.state,
        note=(note + "\n" if note else "") + f"Was: {before}. Now: {_terms_summary(locked)}.",
    )
    return locked


def _due_date_set(milestone: Milestone, due_date: date) -> None:
    """The agreed date and its exact moment in the contract's zone; an unchanged date keeps its moment."""
    if due_date != milestone.due_date:
        milestone.due_date = due_date
        milestone.due_at = due_at_from_date(due_date=due_date, timezone_name=milestone.contract.timezone)


def _terms_summary(milestone: Milestone) -> str:
    money = format_money(milestone.amount, milestone.currency)
    return f"{milestone.title!r}, {money}, due {due_date_display(milestone.due_date)}"


@transaction.atomic
def milestone_change_order_apply(
    *,
    milestone: Milestone,
    actor: User,
    amount: int,
    due_date: date,
    change_number: int,
    note: str = "",
) -> Milestone:
    """Apply a change order both parties agreed to on a milestone whose money is in escrow.

    The contracts app holds the agreement; `actor` is the party who accepted it. The escrow
    difference moves through the ledger (client balance to escrow, or back) under the key
    `change:<milestone>:<n>`, so applying the same change order twice moves money once.
    """
    locked = milestone_lock(milestone_id=milestone.pk)
    key = f"change:{locked.pk}:{change_number}"
    milestone_refuse_replay(idempotency_key=key)
    if not locked.accepts_change_order:
        label = locked.state_label.lower()
        raise MilestoneActionNotAllowed(f"This milestone is {label}; a change order needs a funded milestone.")
    if not locked.contract.is_party(actor):
        raise MilestoneActionNotAllowed("Only the contract's client or freelancer can accept a change order.")
    if amount <= 0:
        raise MilestoneError("The amount must be greater than zero.")
    before = _terms_summary(locked)
    if amount != locked.amount:
        escrow_change(milestone=locked, client=locked.contract.client, new_amount=amount, change_number=change_number)
    locked.amount = amount
    _due_date_set(locked, due_date)
    locked.save(update_fields=["amount", "due_date", "due_at"])
    milestone_event_record(
        milestone=locked,
        actor=actor,
        action=MilestoneAction.CHANGE_ORDER,
        from_state=locked.state,
        to_state=locked.state,
        note=(note + "\n" if note else "")
        + f"Change order #{change_number}. Was: {before}. Now: {_terms_summary(locked)}.",
        idempotency_key=key,
    )
    return locked
