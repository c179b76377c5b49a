"""The arbitration desk in Django admin, driven with the test client: decisions, idempotence, who may decide."""

import datetime as dt

import pytest
from django.contrib.auth.models import Permission
from django.core.management import call_command
from django.urls import reverse
from django.utils import timezone

from contracts.models import Contract
from disputes.models import DisputeOutcome, DisputeStatus
from disputes.services import dispute_statement_add, disputes_unanswered_escalate
from milestones.models import MilestoneState
from notifications.kinds import NotificationKind, kind_is_money
from notifications.models import Notification
from payments.ledger.models import LedgerTransaction, TransactionKind
from payments.selectors import client_balance, milestone_money_totals
from tests.disputes.factories import case_in_arbitration, evidence, fresh, open_case
from tests.milestones.factories import arbitrator_user, funded_contract, milestone_in_state, staff_user
from tests.users.factories import UserFactory

pytestmark = pytest.mark.django_db
S = MilestoneState


@pytest.fixture
def login(client):
    def as_user(user):
        # The shared user factory gives staff an authenticator app, which admin requires (users.middleware).
        client.force_login(user)
        return client

    return as_user


def _decide(client, case, kind: str, **data):
    return client.post(reverse("admin:disputes_dispute_decide", args=[case.pk, kind]), data, follow=True)


def _splits(case) -> int:
    return LedgerTransaction.objects.filter(milestone_id=case.milestone_id, kind=TransactionKind.SPLIT).count()


def _messages(response) -> list[str]:
    return [str(m) for m in response.context["messages"]]


def test_the_split_action_posts_exactly_one_split_and_running_it_again_changes_nothing(login):
    # Given a $400 case in arbitration and an arbitrator
    case = case_in_arbitration(amount=40_000)
    contract = case.milestone.contract
    client = login(arbitrator_user())
    before = client_balance(user=contract.client, currency="USD")

    # When they split it: $250 to the freelancer, with a written decision
    response = _decide(client, case, "split", freelancer_amount="250", decision="Most of it was delivered.")

    # Then exactly one split was posted, the case is resolved with the arbitrator recorded
    assert "Decided: the escrow was divided and both parties were told." in _messages(response)
    assert _splits(case) == 1
    case = fresh(case)
    assert (case.status, case.outcome, case.freelancer_amount) == (DisputeStatus.RESOLVED, DisputeOutcome.SPLIT, 25_000)
    assert case.arbitrator is not None and case.decision == "Most of it was delivered."
    assert case.milestone.state == S.RELEASED
    assert client_balance(user=contract.client, currency="USD") == before + 15_000
    # And both parties got the decision as a money notice
    for party in (contract.client, contract.freelancer):
        notice = Notification.objects.get(recipient=party, kind=NotificationKind.DISPUTE_DECIDED)
        assert "Most of it was delivered." in notice.body and kind_is_money(notice.kind)
        assert (notice.object_type, notice.object_id) == ("dispute", case.pk)

    # When the same split (or any decision) is posted again
    again = _decide(client, case, "split", freelancer_amount="100", decision="Changed my mind")
    refund = _decide(client, case, "refund", decision="Or this")

    # Then nothing changed
    assert any("Nothing was changed" in m for m in _messages(again) + _messages(refund))
    assert _splits(case) == 1
    assert fresh(case).freelancer_amount == 25_000
    assert client_balance(user=contract.client, currency="USD") == before + 15_000
    call_command("ledger_verify")


def test_a_decision_needs_its_text_and_a_split_its_amount(login):
    case = case_in_arbitration(amount=40_000)
    client = login(arbitrator_user())
    response = client.post(reverse("admin:disputes_dispute_decide", args=[case.pk, "split"]), {"decision": ""})
    assert response.status_code == 200 and "This field is required." in response.content.decode()
    response = client.post(
        reverse("admin:disputes_dispute_decide", args=[case.pk, "split"]),
        {"freelancer_amount": "400.01", "decision": "x"},
    )
    assert "at most $400.00" in response.content.decode()
    assert fresh(case).is_open and _splits(case) == 0


def test_release_and_refund_decide_all_or_nothing(login):
    released, refunded = case_in_arbitration(amount=40_000), case_in_arbitration(amount=40_000)
    client = login(arbitrator_user())
    _decide(client, released, "release", decision="Delivered as agreed.")
    _decide(client, refunded, "refund", decision="Nothing usable was delivered.")
    assert (fresh(released).outcome, fresh(released).milestone.state) == (DisputeOutcome.RELEASED, S.RELEASED)
    assert (fresh(refunded).outcome, fresh(refunded).milestone.state) == (DisputeOutcome.REFUNDED, S.REFUNDED)
    call_command("ledger_verify")


def test_staff_without_the_permission_look_but_cannot_decide(login):
    # Given a case and a staff member without disputes.arbitrate
    case = case_in_arbitration(amount=40_000)
    client = login(staff_user())

    # Then they see the queue and the case, without decision buttons
    assert client.get(reverse("admin:disputes_dispute_changelist")).status_code == 200
    page = client.get(reverse("admin:disputes_dispute_change", args=[case.pk]))
    assert page.status_code == 200 and "Split…" not in page.content.decode()
    # And posting a decision is refused and changes nothing
    response = client.post(
        reverse("admin:disputes_dispute_decide", args=[case.pk, "split"]), {"freelancer_amount": "100", "decision": "x"}
    )
    assert response.status_code == 403
    assert fresh(case).is_open and _splits(case) == 0


def test_a_staff_member_who_is_a_party_can_never_arbitrate_the_contract(login):
    # Given a contract whose client is staff holding the arbitrate permission
    arbitrating_client = arbitrator_user()
    contract = funded_contract(client=arbitrating_client)
    case = case_in_arbitration(milestone=milestone_in_state(S.SUBMITTED, contract=contract, amount=40_000))
    client = login(arbitrating_client)

    # When they try to refund their own dispute to themselves
    response = _decide(client, case, "refund", decision="I win")

    # Then it is refused and nothing moved
    assert any("Only an arbitrator who is not a party" in m for m in _messages(response))
    assert fresh(case).is_open and fresh(case).arbitrator is None
    assert milestone_money_totals(milestone_ids=[case.milestone_id])[case.milestone_id].in_escrow == 40_000


def test_a_large_decision_waits_for_a_second_different_arbitrator(login, settings):
    # Given a $6,000 case (above the $5,000 threshold) and two arbitrators
    settings.DISPUTE_SECOND_APPROVAL_ABOVE_MINOR = 500_000
    case = case_in_arbitration(amount=600_000, state=S.SUBMITTED)
    first, second = arbitrator_user(), arbitrator_user()
    contract = case.milestone.contract

    # When the first splits it, the decision is recorded but no money moves
    response = _decide(login(first), case, "split", freelancer_amount="3000", decision="Half each.")
    assert any("second arbitrator approves" in m for m in _messages(response))
    assert fresh(case).awaits_second_approval and _splits(case) == 0
    assert not Notification.objects.filter(kind=NotificationKind.DISPUTE_DECIDED).exists()
    # And the same arbitrator can neither approve it nor decide again
    approve_url = reverse("admin:disputes_dispute_approve", args=[case.pk])
    response = login(first).post(approve_url, follow=True)
    assert any("second, different arbitrator" in m for m in _messages(response))
    response = _decide(login(first), case, "release", decision="All of it")
    assert any("waits for a second arbitrator" in m for m in _messages(response))
    assert _splits(case) == 0

    # When the second approves, the split is posted once and both are recorded
    login(second).post(approve_url, follow=True)
    case = fresh(case)
    assert _splits(case) == 1
    assert (case.arbitrator, case.second_approver, case.outcome) == (first, second, DisputeOutcome.SPLIT)
    assert Notification.objects.filter(recipient=contract.client, kind=NotificationKind.DISPUTE_DECIDED).exists()
    # And approving again changes nothing
    login(second).post(approve_url, follow=True)
    assert _splits(case) == 1
    call_command("ledger_verify")


def test_a_case_not_in_arbitration_is_left_to_the_parties(login):
    case = open_case(amount=40_000)
    response = _decide(login(arbitrator_user()), case, "release", decision="Too early")
    assert any("not in arbitration" in m for m in _messages(response))
    assert fresh(case).is_open


def test_the_queue_filters_and_searches_and_the_case_page_shows_files_with_hashes(login):
    # Given a case with evidence that went to arbitration unanswered, and a larger case still awaiting an answer
    marked = open_case(amount=40_000, files=(evidence("proof.png"),))
    other = open_case(amount=700_000)
    dispute_statement_add(dispute=other, actor=other.milestone.contract.freelancer, text="Answered")
    assert disputes_unanswered_escalate(now=timezone.now() + dt.timedelta(days=6)) == 1
    client = login(UserFactory(is_staff=True, is_superuser=True))
    url = reverse("admin:disputes_dispute_changelist")

    def listed(**query) -> set[int]:
        return {case.pk for case in client.get(url, query).context["cl"].result_list}

    # Then the filters narrow the queue and search finds parties, contracts and milestones
    assert listed(status="in_arbitration") == {marked.pk}
    assert listed(no_response__exact="1") == {marked.pk}
    assert listed(amount="more") == {other.pk}
    assert listed(age="1") == {marked.pk, other.pk}
    assert listed(reason="quality") == {marked.pk, other.pk}
    assert listed(q=marked.milestone.contract.client.email) == {marked.pk}
    assert listed(q=other.milestone.title) == {other.pk}
    Contract.objects.filter(pk=marked.milestone.contract_id).update(title="Bakery website rebuild")
    assert listed(q="bakery website") == {marked.pk}
    # And the case page shows the evidence and the submissions with links and hashes
    html = client.get(reverse("admin:disputes_dispute_change", args=[marked.pk])).content.decode()
    stored = marked.statements.get().files.get()
    assert reverse("disputes:evidence_download", args=[marked.pk, stored.pk]) in html and stored.sha256 in html
    deliverable = marked.milestone.submissions.get().files.get()
    assert (
        deliverable.sha256 in html
        and reverse("milestones:file_download", args=[marked.milestone_id, deliverable.pk]) in html
    )


def test_the_permission_is_declared_on_the_model():
    assert Permission.objects.filter(content_type__app_label="disputes", codename="arbitrate").exists()
