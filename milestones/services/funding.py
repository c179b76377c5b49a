"""Funding: the client moves approved milestones' amounts into escrow, one or several at once."""

from collections.abc import Sequence
from typing import TYPE_CHECKING

from django.db import transaction

from core.money import format_money
from milestones.errors import MilestoneError
from milestones.models import Milestone, MilestoneAction
from milestones.services.shortfall import card_shortfall_charge
from milestones.services.skeleton import (
    milestone_check_transition,
    milestone_fire,
    milestone_lock,
    milestone_refuse_replay,
)
from payments.selectors import client_balance
from payments.services import escrow_fund
from users.models import User

if TYPE_CHECKING:
    from contracts.models import Contract

FUNDED_HEADLINE = "The client funded this milestone; you can start."


def milestone_fund(
    *, milestone: Milestone, actor: User, card_number: str | None = None, idempotency_key: str | None = None
) -> Milestone:
    """The client moves one approved milestone's amount into escrow (a test card pays any shortfall)."""
    (funded,) = milestone_fund_many(
        milestones=[milestone], actor=actor, card_number=card_number, idempotency_key=idempotency_key
    )
    return funded


def milestone_fund_many(
    *,
    milestones: Sequence[Milestone],
    actor: User,
    card_number: str | None = None,
    idempotency_key: str | None = None,
) -> list[Milestone]:
    """Fund several approved milestones of one contract at once: all of them, or none.

    A card pays the shortfall first, in a transaction of its own: once a card is charged, the
    money is on the client's balance and in the ledger whatever happens next, so a charge is
    never lost when the funding itself is refused (a race, a second tab).
    """
    ids = sorted({m.pk for m in milestones})
    if not ids:
        raise MilestoneError("Choose at least one milestone to fund.")
    if card_number:
        _fund_shortfall_deposit(ids=ids, actor=actor, card_number=card_number, idempotency_key=idempotency_key)
    return _fund_many_locked(ids=ids, actor=actor, idempotency_key=idempotency_key)


def _fund_many_check(*, milestones: Sequence[Milestone], actor: User, keys: dict[int, str | None]) -> "Contract":
    """The skeleton's checks (replay, state, condition, actor) for every milestone, before anything moves."""
    for m in milestones:
        milestone_refuse_replay(idempotency_key=keys[m.pk])
    contract = milestones[0].contract
    if any(m.contract_id != contract.pk for m in milestones):
        raise MilestoneError("Milestones of different contracts are funded separately.")
    for m in milestones:
        milestone_check_transition(milestone=m, name=MilestoneAction.FUND, actor=actor)
    return contract


def _fund_shortfall(*, milestones: Sequence[Milestone], actor: User, currency: str) -> tuple[int, int, int]:
    total = sum(m.amount for m in milestones)
    balance = client_balance(user=actor, currency=currency)
    return total, balance, total - balance


@transaction.atomic
def _fund_shortfall_deposit(*, ids: list[int], actor: User, card_number: str, idempotency_key: str | None) -> None:
    """Charge the card for what the balance lacks, after the same checks funding makes, so a
    request that would be refused anyway charges nothing.

    The milestones are locked as funding locks them, so tabs funding the same milestones take
    turns and only the first charges (see `card_shortfall_charge`).
    """
    current = [milestone_lock(milestone_id=pk) for pk in ids]
    keys = {m.pk: _sub_key(idempotency_key, m.pk, len(ids)) for m in current}
    contract = _fund_many_check(milestones=current, actor=actor, keys=keys)
    card_shortfall_charge(
        actor=actor,
        currency=contract.currency,
        needed=sum(m.amount for m in current),
        paying_for="fund:" + ",".join(f"{m.pk}={m.amount}" for m in current),
        card_number=card_number,
    )


@transaction.atomic
def _fund_many_locked(*, ids: list[int], actor: User, idempotency_key: str | None) -> list[Milestone]:
    """The skeleton for several rows: lock them all (in pk order, so two overlapping requests queue
    instead of deadlocking), check them all, then fire each one."""
    locked = [milestone_lock(milestone_id=pk) for pk in ids]
    keys = {m.pk: _sub_key(idempotency_key, m.pk, len(ids)) for m in locked}
    contract = _fund_many_check(milestones=locked, actor=actor, keys=keys)
    currency = contract.currency
    total, balance, shortfall = _fund_shortfall(milestones=locked, actor=actor, currency=currency)
    if shortfall > 0:
        raise MilestoneError(
            f"Your balance is {format_money(balance, currency)}, {format_money(shortfall, currency)} short of "
            f"{format_money(total, currency)}. Add funds, or pay the difference by card."
        )

    def move_into_escrow(milestone: Milestone) -> str:
        escrow_fund(milestone=milestone, client=actor, amount=milestone.amount, currency=milestone.currency)
        return f"{format_money(milestone.amount, milestone.currency)} moved into escrow."

    return [
        milestone_fire(
            milestone=m,
            actor=actor,
            name=MilestoneAction.FUND,
            idempotency_key=keys[m.pk],
            apply=move_into_escrow,
            headline=lambda _m, _summary: FUNDED_HEADLINE,
        )
        for m in locked
    ]


def _sub_key(idempotency_key: str | None, milestone_id: int, count: int) -> str | None:
    """One form token covers several milestones: each audit row gets its own unique key."""
    if not idempotency_key:
        return None
    return idempotency_key if count == 1 else f"{idempotency_key}:{milestone_id}"
