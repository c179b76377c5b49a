"""The case itself: opening (with the milestone's `open_dispute`), statements, escalation, withdrawal."""

from collections.abc import Sequence
from datetime import datetime, timedelta

from django.conf import settings
from django.core.files import File
from django.db import transaction
from django.utils import timezone

from core.times import moment_display
from disputes.errors import DisputeError
from disputes.models import Dispute, DisputeAction, DisputeOutcome, DisputeReason, DisputeStatus, Offer, OfferStatus
from disputes.services._common import (
    answered_by,
    case_link,
    dispute_lock,
    dispute_refuse_replay,
    event_record,
    other_party,
    require_open,
    require_party,
    status_refresh,
    tell,
)
from disputes.services.evidence import evidence_check, statement_store
from milestones.models import Milestone, MilestoneAction
from milestones.services import CheckedUpload, milestone_lock, milestone_transition
from milestones.transitions import review_time_left
from notifications.kinds import NotificationKind
from users.models import User
from users.selectors import user_system_actor


def dispute_open(
    *,
    milestone: Milestone,
    actor: User,
    reason: str,
    statement: str,
    files: Sequence[File] = (),
    idempotency_key: str | None = None,
) -> Dispute:
    """Either party disputes a funded or submitted milestone: the milestone and its new case, in one transaction.

    Auto-release stops; the case keeps the state the milestone came from and the review time that was
    left; the other party has `DISPUTE_RESPOND_PERIOD` to answer before the case goes to arbitration.
    An offer already open on the milestone becomes part of the case.
    """
    checked: list[CheckedUpload] = []
    opened: list[Dispute] = []
    paused: dict[str, object] = {}

    def validate(locked: Milestone) -> None:
        if reason not in DisputeReason.values:
            raise DisputeError("Choose what the dispute is about.")
        if not statement.strip():
            raise DisputeError("Say what is wrong; the other party and any arbitrator will read it.")
        checked.extend(evidence_check(files=files))
        now = timezone.now()
        paused.update(from_state=locked.state, remaining=review_time_left(locked, now=now), now=now)

    def open_case(locked: Milestone) -> str:
        now = paused["now"]
        assert isinstance(now, datetime)
        remaining = paused["remaining"]
        assert remaining is None or isinstance(remaining, timedelta)
        case = Dispute.objects.create(
            milestone=locked,
            opened_by=actor,
            from_state=str(paused["from_state"]),
            review_time_remaining=remaining,
            reason=reason,
            respond_by=now + settings.DISPUTE_RESPOND_PERIOD,
        )
        Offer.objects.filter(milestone=locked, status=OfferStatus.OPEN).update(dispute=case)
        statement_store(case=case, author=actor, text=statement, checked=checked)
        event_record(case=case, actor=actor, action=DisputeAction.OPEN, note=statement, idempotency_key=idempotency_key)
        status_refresh(case)
        case.save(update_fields=["status"])
        opened.append(case)
        respondent = other_party(milestone=locked, user=actor)
        assert case.respond_by is not None
        tell(
            recipients=[respondent],
            kind=NotificationKind.DISPUTE_OPENED,
            milestone=locked,
            headline=f"{actor} opened a dispute ({case.reason_label.lower()}). Please answer by "
            f"{moment_display(case.respond_by, respondent.timezone)}, or it goes to an arbitrator.",
            details=statement,
            link=case_link(case),
            about=("dispute", case.pk),
        )
        return f"Dispute #{case.pk} opened: {case.reason_label}."

    milestone_transition(
        milestone=milestone,
        actor=actor,
        name=MilestoneAction.OPEN_DISPUTE,
        idempotency_key=idempotency_key,
        validate=validate,
        apply=open_case,
        tell_other_party=False,  # the case's own notice tells the parties
    )
    return opened[0]


def dispute_statement_add(
    *,
    dispute: Dispute,
    actor: User,
    text: str,
    files: Sequence[File] = (),
    idempotency_key: str | None = None,
) -> Dispute:
    """A party adds a statement, evidence files, or both; the other party's first answer meets their deadline."""
    checked = evidence_check(files=files)
    if not text.strip() and not checked:
        raise DisputeError("Write a statement or attach at least one file.")
    with transaction.atomic():
        milestone_lock(milestone_id=dispute.milestone_id)
        dispute_refuse_replay(idempotency_key=idempotency_key)
        case = dispute_lock(dispute_id=dispute.pk)
        require_party(milestone=case.milestone, user=actor)
        require_open(case)
        statement_store(case=case, author=actor, text=text, checked=checked)
        first_answer = answered_by(case, actor)
        event_record(
            case=case,
            actor=actor,
            action=DisputeAction.STATEMENT,
            note=text + (f"\n{len(checked)} file(s) attached." if checked else ""),
            idempotency_key=idempotency_key,
        )
        status_refresh(case)
        case.save(update_fields=["respond_by", "status"])
        tell(
            recipients=[other_party(milestone=case.milestone, user=actor)],
            kind=NotificationKind.DISPUTE_ANSWERED,
            milestone=case.milestone,
            headline=f"{actor} {'answered the dispute' if first_answer else 'added a statement to the dispute'}.",
            details=text,
            link=case_link(case),
            about=("dispute", case.pk),
        )
    return case


def dispute_escalate(*, dispute: Dispute, actor: User, note: str = "", idempotency_key: str | None = None) -> Dispute:
    """Either party asks an arbitrator to decide; offers may still settle the case until then."""
    with transaction.atomic():
        milestone_lock(milestone_id=dispute.milestone_id)
        dispute_refuse_replay(idempotency_key=idempotency_key)
        case = dispute_lock(dispute_id=dispute.pk)
        require_party(milestone=case.milestone, user=actor)
        _escalate(case=case, actor=actor, note=note, idempotency_key=idempotency_key)
        tell(
            recipients=[other_party(milestone=case.milestone, user=actor)],
            kind=NotificationKind.DISPUTE_ESCALATED,
            milestone=case.milestone,
            headline=f"{actor} asked an arbitrator to decide the dispute.",
            details=note,
            link=case_link(case),
            about=("dispute", case.pk),
        )
    return case


def dispute_no_response_escalate(*, dispute: Dispute, now: datetime) -> Dispute:
    """The respond-by deadline passed unanswered: the case goes to arbitration as the system, marked "no response".

    Runs on a case the sweep has already locked (with its milestone) in the current transaction.
    """
    if dispute.status != DisputeStatus.AWAITING_RESPONSE or dispute.respond_by is None or dispute.respond_by > now:
        raise DisputeError("This case is not waiting for an answer past its deadline.")
    dispute.no_response = True
    _escalate(case=dispute, actor=user_system_actor(), note="", no_response=True)
    contract = dispute.milestone.contract
    tell(
        recipients=[contract.client, contract.freelancer],
        kind=NotificationKind.DISPUTE_ESCALATED,
        milestone=dispute.milestone,
        headline="The dispute went to arbitration: the other party did not answer by the deadline.",
        link=case_link(dispute),
        about=("dispute", dispute.pk),
    )
    return dispute


def _escalate(
    *, case: Dispute, actor: User, note: str, no_response: bool = False, idempotency_key: str | None = None
) -> None:
    require_open(case)
    if case.in_arbitration:
        raise DisputeError("This case is already with an arbitrator; nothing was changed.")
    case.escalated_at = timezone.now()
    case.respond_by = None
    status_refresh(case)
    case.save(update_fields=["escalated_at", "respond_by", "no_response", "status"])
    event_record(
        case=case,
        actor=actor,
        action=DisputeAction.NO_RESPONSE if no_response else DisputeAction.ESCALATE,
        note=note,
        idempotency_key=idempotency_key,
    )


def dispute_withdraw(*, dispute: Dispute, actor: User, note: str = "", idempotency_key: str | None = None) -> Dispute:
    """The opener withdraws: the milestone returns to the state it came from, its review clock to the time left.

    Offers that belong to the case lapse with it.
    """
    closed: list[Dispute] = []

    def validate(locked: Milestone) -> None:
        case = dispute_lock(dispute_id=dispute.pk)
        require_open(case)
        closed.append(case)

    def close_case(locked: Milestone) -> str:
        case = closed[0]
        case.outcome = DisputeOutcome.WITHDRAWN
        case.closed_at = timezone.now()
        # The case's offers lapse with it: the milestone goes back to where it was, with nothing pending.
        Offer.objects.filter(dispute=case, status=OfferStatus.OPEN).update(
            status=OfferStatus.EXPIRED, answered_at=case.closed_at
        )
        status_refresh(case)
        case.save(update_fields=["outcome", "closed_at", "status"])
        event_record(case=case, actor=actor, action=DisputeAction.WITHDRAW, note=note, idempotency_key=idempotency_key)
        tell(
            recipients=[other_party(milestone=locked, user=actor)],
            kind=NotificationKind.DISPUTE_WITHDRAWN,
            milestone=locked,
            headline=f"{actor} withdrew the dispute; the milestone is {locked.state_label.lower()} again.",
            details=note,
            link=case_link(case),
            about=("dispute", case.pk),
        )
        return f"Dispute #{case.pk} withdrawn."

    milestone_transition(
        milestone=dispute.milestone,
        actor=actor,
        name=MilestoneAction.WITHDRAW_DISPUTE,
        note=note,
        idempotency_key=idempotency_key,
        validate=validate,
        apply=close_case,
        tell_other_party=False,  # the case's own notice tells the parties
    )
    return closed[0]
