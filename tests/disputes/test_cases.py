"""Opening a case (with evidence), answering, escalating and withdrawing; the rest of the contract carries on."""

import datetime as dt
import hashlib
from pathlib import Path

import pytest
import time_machine
from django.conf import settings
from django.core.management import call_command

from disputes.errors import DisputeError
from disputes.models import Dispute, DisputeOutcome, DisputeStatus, EvidenceFile, Offer, OfferStatus
from disputes.services import dispute_escalate, dispute_open, dispute_statement_add, dispute_withdraw, offer_make
from milestones import services
from milestones.errors import DeliverableRejected, MilestoneActionNotAllowed
from milestones.models import Milestone, MilestoneState
from notifications.kinds import NotificationKind
from notifications.models import Notification
from payments.selectors import milestone_money_totals
from tests.disputes.factories import evidence, fresh, open_case
from tests.milestones.factories import deliverable, funded_contract, milestone_in_state

pytestmark = pytest.mark.django_db
S = MilestoneState
START = dt.datetime(2030, 3, 1, 12, 0, tzinfo=dt.UTC)


def test_opening_a_case_with_evidence_pauses_auto_release_and_tells_the_other_party():
    # Given a milestone submitted at START (auto-release after 14 days)
    with time_machine.travel(START, tick=False):
        milestone = milestone_in_state(S.SUBMITTED, amount=40_000)
    contract = milestone.contract
    content = b"\x89PNG\r\n\x1a\n broken layout"

    # When the client disputes it 10 days in, with a screenshot
    with time_machine.travel(START + dt.timedelta(days=10), tick=False):
        case = open_case(milestone=milestone, files=(evidence("screen.png", content),))

    # Then milestone and case changed together: disputed, auto-release stopped, the case keeps the rest
    milestone.refresh_from_db()
    assert milestone.state == S.DISPUTED and milestone.auto_release_at is None
    assert (case.opened_by, case.from_state) == (contract.client, S.SUBMITTED)
    assert case.review_time_remaining == dt.timedelta(days=4)
    assert case.status == DisputeStatus.AWAITING_RESPONSE
    assert case.respond_by == START + dt.timedelta(days=10) + settings.DISPUTE_RESPOND_PERIOD
    # And the evidence is stored privately under a random name with its SHA-256
    stored = EvidenceFile.objects.get(statement__dispute=case)
    assert stored.original_name == "screen.png" and stored.sha256 == hashlib.sha256(content).hexdigest()
    assert "screen" not in stored.file.name and stored.file.name.startswith(f"evidence/{case.pk}/")
    assert Path(settings.MEDIA_ROOT, stored.file.name).read_bytes() == content
    # And the freelancer is told, with a link to the case
    notice = Notification.objects.get(recipient=contract.freelancer, kind=NotificationKind.DISPUTE_OPENED)
    assert (notice.object_type, notice.object_id) == ("dispute", case.pk) and f"/disputes/{case.pk}/" in notice.link


def test_a_refused_evidence_file_opens_nothing():
    milestone = milestone_in_state(S.SUBMITTED)
    with pytest.raises(DeliverableRejected, match="not accepted"):
        open_case(milestone=milestone, files=(evidence("run.exe", b"MZ"),))
    milestone.refresh_from_db()
    assert milestone.state == S.SUBMITTED and milestone.auto_release_at is not None
    assert not Dispute.objects.exists() and not EvidenceFile.objects.exists()


def test_a_case_needs_a_reason_and_a_statement():
    milestone = milestone_in_state(S.FUNDED)
    for reason, statement in (("bored", "x"), ("quality", "  ")):
        with pytest.raises(DisputeError):
            dispute_open(milestone=milestone, actor=milestone.contract.client, reason=reason, statement=statement)
    assert Milestone.objects.get(pk=milestone.pk).state == S.FUNDED and not Dispute.objects.exists()


def test_the_other_partys_statement_answers_the_case_and_either_party_escalates_once():
    case = open_case(by="client")
    contract = case.milestone.contract
    # The opener's own statements don't count as an answer
    dispute_statement_add(dispute=case, actor=contract.client, text="More detail")
    assert fresh(case).status == DisputeStatus.AWAITING_RESPONSE
    # The freelancer's statement with a file does, and the client is told
    dispute_statement_add(dispute=case, actor=contract.freelancer, text="It works here", files=[evidence()])
    case = fresh(case)
    assert (case.status, case.respond_by) == (DisputeStatus.OPEN, None)
    assert Notification.objects.filter(recipient=contract.client, kind=NotificationKind.DISPUTE_ANSWERED).exists()
    # Either party escalates; a second escalation is refused
    dispute_escalate(dispute=case, actor=contract.freelancer)
    assert fresh(case).status == DisputeStatus.IN_ARBITRATION
    with pytest.raises(DisputeError, match="already with an arbitrator"):
        dispute_escalate(dispute=case, actor=contract.client)
    # A stranger can't add to the case
    with pytest.raises(DisputeError, match="Only the client and the freelancer"):
        dispute_statement_add(dispute=case, actor=funded_contract().client, text="Hi")


def test_withdrawing_restores_the_state_and_the_review_time_left_and_only_the_opener_may():
    with time_machine.travel(START, tick=False):
        milestone = milestone_in_state(S.SUBMITTED)
    with time_machine.travel(START + dt.timedelta(days=10), tick=False):
        case = open_case(milestone=milestone, by="freelancer")
    contract = milestone.contract

    # The client (not the opener) is refused
    with pytest.raises(MilestoneActionNotAllowed, match="Only the party who opened"):
        dispute_withdraw(dispute=case, actor=contract.client)

    # When the freelancer withdraws it 20 days later, the review clock resumes with the 4 days left
    with time_machine.travel(START + dt.timedelta(days=30), tick=False):
        dispute_withdraw(dispute=case, actor=contract.freelancer, note="Sorted out on a call")
    milestone.refresh_from_db()
    case = fresh(case)
    assert milestone.state == S.SUBMITTED
    assert milestone.auto_release_at == START + dt.timedelta(days=34)
    assert (case.status, case.outcome) == (DisputeStatus.RESOLVED, DisputeOutcome.WITHDRAWN)
    assert milestone.open_dispute_case is None
    # And a withdrawn case is closed for good
    with pytest.raises(DisputeError, match="already closed"):
        dispute_statement_add(dispute=case, actor=contract.client, text="One more thing")


def test_withdrawing_a_case_opened_on_funded_work_leaves_no_review_clock_and_lapses_its_offers():
    # Given a case on funded work with the client's own offer open (the freelancer has not answered)
    case = open_case(state=S.FUNDED, by="client")
    offer = offer_make(milestone=case.milestone, actor=case.milestone.contract.client, freelancer_amount=0)
    assert fresh(case).status == DisputeStatus.AWAITING_RESPONSE  # the opener's offer is no answer
    # When the client withdraws it
    dispute_withdraw(dispute=case, actor=case.milestone.contract.client)
    # Then the milestone is funded with no review clock, and the case's offer lapsed with it
    milestone = Milestone.objects.get(pk=case.milestone_id)
    assert milestone.state == S.FUNDED and milestone.auto_release_at is None
    assert Offer.objects.get(pk=offer.pk).status == OfferStatus.EXPIRED


def test_a_dispute_on_one_milestone_does_not_block_the_others_of_the_contract():
    # Given a contract with a disputed milestone and three others: approved, funded, submitted
    contract = funded_contract(balance=500_000)
    disputed = milestone_in_state(S.SUBMITTED, contract=contract, amount=40_000)
    open_case(milestone=disputed)
    approved = milestone_in_state(S.APPROVED, contract=contract, amount=10_000)
    funded = milestone_in_state(S.FUNDED, contract=contract, amount=20_000)
    submitted = milestone_in_state(S.SUBMITTED, contract=contract, amount=30_000)
    client, freelancer = contract.client, contract.freelancer

    # When the others are funded, submitted and released as usual
    services.milestone_fund(milestone=approved, actor=client)
    services.milestone_submit(milestone=funded, actor=freelancer, message="Done", files=[deliverable()])
    services.milestone_release(milestone=submitted, actor=client)

    # Then each moved on, and only the disputed one is held
    states = {m.pk: m.state for m in contract.milestones.all()}
    assert states == {disputed.pk: S.DISPUTED, approved.pk: S.FUNDED, funded.pk: S.SUBMITTED, submitted.pk: S.RELEASED}
    assert milestone_money_totals(milestone_ids=[disputed.pk])[disputed.pk].in_escrow == 40_000
    # And a second dispute on another milestone is its own case
    second = open_case(milestone=Milestone.objects.get(pk=funded.pk))
    assert second.pk != disputed.open_dispute_case.pk  # type: ignore[union-attr]
    call_command("ledger_verify")
