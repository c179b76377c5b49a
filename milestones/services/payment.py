"""Paying out: release (by the client or, once the review period ends, by the system), refunds, dividing the escrow."""

from datetime import datetime

from django.conf import settings
from django.db import transaction
from django.utils import timezone

from core.durations import duration_display
from core.money import format_money
from milestones.errors import MilestoneActionNotAllowed, MilestoneError
from milestones.models import Milestone, MilestoneAction
from milestones.services.shortfall import card_shortfall_charge
from milestones.services.skeleton import (
    milestone_check_transition,
    milestone_lock,
    milestone_refuse_replay,
    milestone_transition,
)
from payments.services import escrow_refund, escrow_release, escrow_split
from users.models import User
from users.selectors import user_system_actor


def _summary_as_headline(milestone: Milestone, summary: str) -> str:
    return summary


def milestone_release(
    *,
    milestone: Milestone,
    actor: User,
    bonus: int = 0,
    note: str = "",
    card_number: str | None = None,
    idempotency_key: str | None = None,
) -> Milestone:
    """The client approves and pays: the full amount (plus an optional bonus) to the freelancer, less the fee.

    A card pays what the balance lacks for the bonus, as funding does: first, in a transaction of its own (a
    charge is never lost when the release is refused), after the release's own checks, keyed by the form.
    """
    if card_number and bonus > 0:
        _bonus_shortfall_deposit(
            milestone=milestone, actor=actor, bonus=bonus, card_number=card_number, idempotency_key=idempotency_key
        )

    def validate(locked: Milestone) -> None:
        if bonus < 0:
            raise MilestoneError("A bonus can't be negative.")

    def pay(locked: Milestone) -> str:
        contract = locked.contract
        escrow_release(milestone=locked, client=contract.client, freelancer=contract.freelancer, bonus=bonus)
        return f"Released {format_money(locked.amount, locked.currency)}" + (
            f" with a bonus of {format_money(bonus, locked.currency)}." if bonus else "."
        )

    return milestone_transition(
        milestone=milestone,
        actor=actor,
        name=MilestoneAction.RELEASE,
        note=note,
        idempotency_key=idempotency_key,
        validate=validate,
        apply=pay,
        headline=_summary_as_headline,
    )


@transaction.atomic
def _bonus_shortfall_deposit(
    *, milestone: Milestone, actor: User, bonus: int, card_number: str, idempotency_key: str | None
) -> None:
    """Charge the card for exactly what the balance lacks for the bonus; a release that would be refused anyway
    (a replayed form, the wrong state or person) charges nothing. The milestone is locked as the release locks
    it, so several tabs releasing it take turns and only the first charges (see `card_shortfall_charge`)."""
    current = milestone_lock(milestone_id=milestone.pk)
    milestone_refuse_replay(idempotency_key=idempotency_key)
    milestone_check_transition(milestone=current, name=MilestoneAction.RELEASE, actor=actor)
    card_shortfall_charge(
        actor=actor,
        currency=current.currency,
        needed=bonus,
        paying_for=f"bonus:{current.pk}={bonus}",
        card_number=card_number,
    )


def milestone_auto_release(*, milestone: Milestone, now: datetime | None = None) -> Milestone:
    """Release as the system once the review period has passed without an answer from the client."""
    now = now or timezone.now()

    def validate(locked: Milestone) -> None:
        if locked.auto_release_at is None or locked.auto_release_at > now:
            raise MilestoneActionNotAllowed("The review period of this milestone has not ended yet.")

    def pay(locked: Milestone) -> str:
        contract = locked.contract
        escrow_release(milestone=locked, client=contract.client, freelancer=contract.freelancer)
        return (
            f"Released {format_money(locked.amount, locked.currency)} automatically: "
            f"the review period ({duration_display(settings.MILESTONE_REVIEW_PERIOD)}) ended without an answer."
        )

    return milestone_transition(
        milestone=milestone,
        actor=user_system_actor(),
        name=MilestoneAction.AUTO_RELEASE,
        validate=validate,
        apply=pay,
        headline=_summary_as_headline,
    )


def milestone_refund(
    *, milestone: Milestone, actor: User, note: str = "", idempotency_key: str | None = None
) -> Milestone:
    """The freelancer gives the whole escrow back to the client, at once.

    Keeping part of it is a money offer the client accepts (the disputes app), never a refund the
    freelancer makes alone: that would release the rest to them without the client's review.
    """

    def pay_back(locked: Milestone) -> str:
        escrow_refund(milestone=locked, client=locked.contract.client)
        return f"Refunded {format_money(locked.amount, locked.currency)} to the client."

    return milestone_transition(
        milestone=milestone,
        actor=actor,
        name=MilestoneAction.REFUND,
        note=note,
        idempotency_key=idempotency_key,
        apply=pay_back,
        headline=_summary_as_headline,
    )


def milestone_escrow_divide(*, milestone: Milestone, freelancer_amount: int) -> str:
    """Move a locked milestone's escrow as an accepted offer or a decision says; returns the summary.

    The whole escrow to the freelancer is a release (less the fee), none of it a refund, anything
    between one split transaction. Callers fire `settle` or `resolve` in the same transaction.
    """
    contract, currency = milestone.contract, milestone.currency
    if not 0 <= freelancer_amount <= milestone.amount:
        raise MilestoneError(
            f"The freelancer's part must be between {format_money(0, currency)} and "
            f"{format_money(milestone.amount, currency)}."
        )
    if freelancer_amount == milestone.amount:
        escrow_release(milestone=milestone, client=contract.client, freelancer=contract.freelancer)
    elif freelancer_amount == 0:
        escrow_refund(milestone=milestone, client=contract.client)
    else:
        escrow_split(
            milestone=milestone,
            client=contract.client,
            freelancer=contract.freelancer,
            freelancer_amount=freelancer_amount,
        )
    return (
        f"{format_money(freelancer_amount, currency)} to the freelancer, "
        f"{format_money(milestone.amount - freelancer_amount, currency)} back to the client."
    )
