"""Arbitration: an arbitrator decides how a case's escrow is divided; above a threshold a second one approves.

Only staff holding `disputes.arbitrate` who are not a party to the contract decide (the milestone's
`resolve` transition declares it). A decision on a milestone above `DISPUTE_SECOND_APPROVAL_ABOVE_MINOR`
is recorded and waits: no money moves until a different arbitrator approves it (four eyes).
Running a decision again changes nothing: a decided case is closed, a waiting one says so.
"""

from django.conf import settings
from django.db import transaction
from django.utils import timezone

from core.money import format_money
from disputes.errors import DisputeError
from disputes.models import Dispute, DisputeAction
from disputes.services._common import case_link, dispute_lock, event_record, require_open, tell
from disputes.services.offers import case_resolve
from milestones.models import Milestone, MilestoneAction
from milestones.services import milestone_check_transition, milestone_escrow_divide, milestone_lock
from milestones.services.skeleton import milestone_fire
from notifications.kinds import NotificationKind
from users.models import User


def dispute_needs_second_approval(*, dispute: Dispute) -> bool:
    return dispute.milestone.amount > settings.DISPUTE_SECOND_APPROVAL_ABOVE_MINOR


@transaction.atomic
def dispute_decide(*, dispute: Dispute, arbitrator: User, freelancer_amount: int, decision: str) -> Dispute:
    """Decide a case in arbitration: release (all to the freelancer), refund (none) or split; `decision` says why."""
    locked = milestone_lock(milestone_id=dispute.milestone_id)
    milestone_check_transition(milestone=locked, name=MilestoneAction.RESOLVE, actor=arbitrator)
    case = dispute_lock(dispute_id=dispute.pk)
    require_open(case)
    if case.awaits_second_approval:
        raise DisputeError(
            f"{case.arbitrator} already decided this case; it waits for a second arbitrator's approval. "
            "Nothing was changed."
        )
    if not case.in_arbitration:
        raise DisputeError("This case is not in arbitration: the parties may still settle it between them.")
    if not decision.strip():
        raise DisputeError("Write the decision: both parties read it.")
    if not 0 <= freelancer_amount <= locked.amount:
        raise DisputeError(
            f"The freelancer's part must be between {format_money(0, locked.currency)} and "
            f"{format_money(locked.amount, locked.currency)}."
        )
    case.arbitrator, case.decision, case.freelancer_amount = arbitrator, decision, freelancer_amount
    case.decided_at = timezone.now()
    if dispute_needs_second_approval(dispute=case):
        case.save(update_fields=["arbitrator", "decision", "freelancer_amount", "decided_at"])
        event_record(case=case, actor=arbitrator, action=DisputeAction.DECISION_PROPOSED, note=decision)
        return case
    return _resolve(milestone=locked, case=case, actor=arbitrator)


@transaction.atomic
def dispute_decision_approve(*, dispute: Dispute, approver: User) -> Dispute:
    """A second, different arbitrator approves a waiting decision; the money moves now."""
    locked = milestone_lock(milestone_id=dispute.milestone_id)
    milestone_check_transition(milestone=locked, name=MilestoneAction.RESOLVE, actor=approver)
    case = dispute_lock(dispute_id=dispute.pk)
    require_open(case)
    if not case.awaits_second_approval:
        raise DisputeError("No decision on this case waits for approval; nothing was changed.")
    if case.arbitrator_id == approver.pk:
        raise DisputeError("A second, different arbitrator must approve this decision.")
    case.second_approver = approver
    return _resolve(milestone=locked, case=case, actor=approver)


def _resolve(*, milestone: Milestone, case: Dispute, actor: User) -> Dispute:
    """Fire `resolve` on the locked, checked milestone, divide the escrow and close the case, in one transaction."""
    amount = case.freelancer_amount
    assert amount is not None

    def divide(locked: Milestone) -> str:
        summary = milestone_escrow_divide(milestone=locked, freelancer_amount=amount)
        case_resolve(case=case, freelancer_amount=amount, now=timezone.now())
        event_record(case=case, actor=actor, action=DisputeAction.DECIDED, note=f"{summary}\n{case.decision}")
        contract = locked.contract
        tell(
            recipients=[contract.client, contract.freelancer],
            kind=NotificationKind.DISPUTE_DECIDED,
            milestone=locked,
            headline=f"The arbitrator decided the dispute: {summary}",
            details=case.decision,
            link=case_link(case),
            about=("dispute", case.pk),
        )
        return f"Decided: {summary}"

    milestone_fire(
        milestone=milestone,
        actor=actor,
        name=MilestoneAction.RESOLVE,
        note=case.decision,
        arguments=lambda _locked: {"freelancer_amount": amount},
        apply=divide,
        tell_other_party=False,  # the case's own notice tells the parties
    )
    return case
