"""Disputes: either party opens one, the opener may withdraw it, an arbitrator resolves it."""

from core.money import format_money
from milestones.errors import MilestoneError
from milestones.models import Milestone, MilestoneAction, MilestoneState
from milestones.services.skeleton import milestone_transition
from payments.services import escrow_refund, escrow_release, escrow_split
from users.models import User


def milestone_open_dispute(
    *, milestone: Milestone, actor: User, reason: str, idempotency_key: str | None = None
) -> Milestone:
    """Either party disputes; the review clock pauses and keeps the time that was left."""

    def validate(locked: Milestone) -> None:
        if not reason.strip():
            raise MilestoneError("Say what the dispute is about; the other party and the arbitrator will read it.")

    return milestone_transition(
        milestone=milestone,
        actor=actor,
        name=MilestoneAction.OPEN_DISPUTE,
        note=reason,
        idempotency_key=idempotency_key,
        validate=validate,
        headline=lambda _m, _s: f"{actor} opened a dispute: {reason}",
    )


def milestone_withdraw_dispute(
    *, milestone: Milestone, actor: User, note: str = "", idempotency_key: str | None = None
) -> Milestone:
    """The party who opened the dispute withdraws it; the milestone and its review clock resume."""
    return milestone_transition(
        milestone=milestone,
        actor=actor,
        name=MilestoneAction.WITHDRAW_DISPUTE,
        note=note,
        idempotency_key=idempotency_key,
        headline=lambda _m, _s: "The dispute was withdrawn.",
    )


def milestone_resolve(
    *,
    milestone: Milestone,
    actor: User,
    freelancer_amount: int,
    note: str,
    idempotency_key: str | None = None,
) -> Milestone:
    """An arbitrator (or an accepted settlement, as the system) decides how the escrow is split."""

    def validate(locked: Milestone) -> None:
        currency = locked.currency
        if not 0 <= freelancer_amount <= locked.amount:
            raise MilestoneError(
                f"The freelancer's share must be between {format_money(0, currency)} and "
                f"{format_money(locked.amount, currency)}."
            )
        if not note.strip():
            raise MilestoneError("Give the reasons for the decision; both parties will read them.")

    def outcome(locked: Milestone) -> dict[str, str]:
        refunded = freelancer_amount == 0
        return {"outcome": MilestoneState.REFUNDED if refunded else MilestoneState.RELEASED}

    def settle(locked: Milestone) -> str:
        contract, currency = locked.contract, locked.currency
        if freelancer_amount == locked.amount:
            escrow_release(milestone=locked, client=contract.client, freelancer=contract.freelancer)
        elif freelancer_amount == 0:
            escrow_refund(milestone=locked, client=contract.client)
        else:
            escrow_split(
                milestone=locked,
                client=contract.client,
                freelancer=contract.freelancer,
                freelancer_amount=freelancer_amount,
            )
        return (
            f"Dispute resolved: {format_money(freelancer_amount, currency)} to the freelancer, "
            f"{format_money(locked.amount - freelancer_amount, currency)} back to the client."
        )

    return milestone_transition(
        milestone=milestone,
        actor=actor,
        name=MilestoneAction.RESOLVE,
        note=note,
        idempotency_key=idempotency_key,
        validate=validate,
        arguments=outcome,
        apply=settle,
        headline=lambda _m, summary: summary,
    )
