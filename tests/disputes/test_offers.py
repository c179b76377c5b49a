"""Money offers before and during a dispute: accepting divides the escrow at once; decline, counter, one open."""

import pytest
from django.core.management import call_command
from django.urls import reverse

from disputes.errors import DisputeError
from disputes.models import DisputeOutcome, DisputeStatus, Offer, OfferStatus
from disputes.services import offer_accept, offer_decline, offer_make, offer_withdraw
from milestones.errors import MilestoneActionNotAllowed, MilestoneError
from milestones.models import Milestone, MilestoneState
from notifications.kinds import NotificationKind, kind_is_money
from notifications.models import Notification
from payments.selectors import client_balance, earnings_summary, milestone_money_totals
from tests.disputes.factories import fresh, open_case
from tests.milestones.factories import deliverable, milestone_in_state
from users.selectors import user_system_actor

pytestmark = pytest.mark.django_db
S = MilestoneState


def _money(milestone: Milestone):
    return milestone_money_totals(milestone_ids=[milestone.pk])[milestone.pk]


def test_the_client_accepts_a_freelancers_split_and_the_ledger_divides_the_escrow_at_once():
    # Given a submitted $400 milestone and the freelancer's offer to keep $240 (60/40)
    milestone = milestone_in_state(S.SUBMITTED, amount=40_000)
    contract = milestone.contract
    before = client_balance(user=contract.client, currency="USD")
    offer = offer_make(milestone=milestone, actor=contract.freelancer, freelancer_amount=24_000, message="60/40?")
    assert Notification.objects.get(recipient=contract.client, kind=NotificationKind.OFFER_MADE)

    # When the client accepts it
    offer_accept(offer=offer, actor=contract.client)

    # Then the milestone is settled (released) as the system actor, and the ledger split it in one go
    milestone.refresh_from_db()
    assert milestone.state == S.RELEASED
    settle = milestone.events.get(action="settle")
    assert settle.actor == user_system_actor()
    assert f"{contract.client} accepted the offer by {contract.freelancer}" in settle.note
    assert client_balance(user=contract.client, currency="USD") == before + 16_000
    assert earnings_summary(user=contract.freelancer, currency="USD").pending == 24_000 - 2_400  # less the 10% fee
    assert _money(milestone).in_escrow == 0
    assert Offer.objects.get(pk=offer.pk).status == OfferStatus.ACCEPTED
    # And the freelancer is told by a money notice (always emailed)
    notice = Notification.objects.get(recipient=contract.freelancer, kind=NotificationKind.OFFER_ACCEPTED)
    assert kind_is_money(notice.kind) and notice.object_type == "offer" and notice.object_id == offer.pk
    call_command("ledger_verify")


def test_a_clients_full_refund_request_is_an_offer_the_freelancer_accepts_or_declines():
    # Given a funded $400 milestone and the client's request for everything back
    milestone = milestone_in_state(S.FUNDED, amount=40_000)
    contract = milestone.contract
    request = offer_make(milestone=milestone, actor=contract.client, freelancer_amount=0, message="Please refund")

    # When the freelancer declines it, nothing moves, and the client may make another one
    offer_decline(offer=request, actor=contract.freelancer, note="The work is nearly done")
    assert _money(milestone).in_escrow == 40_000
    assert Notification.objects.filter(recipient=contract.client, kind=NotificationKind.OFFER_DECLINED).exists()
    again = offer_make(milestone=milestone, actor=contract.client, freelancer_amount=0)

    # When the freelancer accepts the second one, the client has it all back and the milestone is refunded
    offer_accept(offer=again, actor=contract.freelancer)
    milestone.refresh_from_db()
    assert milestone.state == S.REFUNDED
    assert _money(milestone).refunded == 40_000
    call_command("ledger_verify")


def test_only_one_offer_is_open_and_only_the_other_party_answers_it():
    milestone = milestone_in_state(S.SUBMITTED, amount=40_000)
    contract = milestone.contract
    offer = offer_make(milestone=milestone, actor=contract.freelancer, freelancer_amount=30_000)

    # A second open offer is refused, by either party
    for party in (contract.client, contract.freelancer):
        with pytest.raises(DisputeError, match="already open"):
            offer_make(milestone=milestone, actor=party, freelancer_amount=1)
    # The maker can neither accept nor decline their own offer
    with pytest.raises(DisputeError, match="other party accepts"):
        offer_accept(offer=offer, actor=contract.freelancer)
    with pytest.raises(DisputeError, match="other party declines"):
        offer_decline(offer=offer, actor=contract.freelancer)
    assert _money(milestone).in_escrow == 40_000

    # A counter closes the offer and opens the counter, made by the other party
    counter = offer_make(milestone=milestone, actor=contract.client, freelancer_amount=20_000, counter_to=offer)
    assert Offer.objects.get(pk=offer.pk).status == OfferStatus.COUNTERED
    assert counter.is_open and counter.counter_to_id == offer.pk
    # The maker of the counter may withdraw it; then nothing is open
    offer_withdraw(offer=counter, actor=contract.client)
    assert not Offer.objects.filter(milestone=milestone, status=OfferStatus.OPEN).exists()


@pytest.mark.parametrize("amount", [-1, 40_001])
def test_an_offer_stays_within_the_escrow(amount):
    milestone = milestone_in_state(S.FUNDED, amount=40_000)
    with pytest.raises(DisputeError, match="between"):
        offer_make(milestone=milestone, actor=milestone.contract.client, freelancer_amount=amount)
    assert not Offer.objects.exists()


def test_offers_need_money_in_escrow_and_an_accepted_offer_settles_only_once():
    approved = milestone_in_state(S.APPROVED)
    with pytest.raises(DisputeError, match="held in escrow"):
        offer_make(milestone=approved, actor=approved.contract.client, freelancer_amount=0)
    milestone = milestone_in_state(S.SUBMITTED, amount=40_000)
    contract = milestone.contract
    offer = offer_make(milestone=milestone, actor=contract.freelancer, freelancer_amount=10_000)
    offer_accept(offer=offer, actor=contract.client)
    # A second tab accepting again is refused and moves nothing
    with pytest.raises(MilestoneActionNotAllowed, match="already"):
        offer_accept(offer=offer, actor=contract.client)
    assert _money(milestone).released == 10_000 and _money(milestone).refunded == 30_000


def test_accepting_during_a_dispute_resolves_the_case_with_the_split():
    # Given a case opened by the client, and the freelancer's 60/40 offer made on the dispute page
    case = open_case(amount=40_000)
    contract = case.milestone.contract
    offer = offer_make(milestone=case.milestone, actor=contract.freelancer, freelancer_amount=24_000)
    case = fresh(case)
    # Then the offer answered the case and the parties are negotiating
    assert case.status == DisputeStatus.NEGOTIATING and case.respond_by is None
    assert offer.dispute_id == case.pk

    # When the client accepts it
    offer_accept(offer=offer, actor=contract.client)

    # Then the milestone is released with the split and the case is resolved as split, with the amount
    case = fresh(case)
    assert case.milestone.state == S.RELEASED
    assert (case.status, case.outcome, case.freelancer_amount) == (DisputeStatus.RESOLVED, DisputeOutcome.SPLIT, 24_000)
    assert case.closed_at is not None and case.arbitrator is None
    assert list(case.events.values_list("action", flat=True)) == ["open", "offer_made", "offer_accepted"]
    call_command("ledger_verify")


# --- The 0.01 self-payment hole, measured on main ---------------------------------------------------------
def test_a_freelancer_cannot_pay_themselves_by_refunding_a_cent_of_a_one_byte_submission(client):
    # Given a funded $400 milestone the freelancer "submitted" with a 1-byte file
    milestone = milestone_in_state(S.FUNDED, amount=40_000)
    contract = milestone.contract
    from milestones import services

    services.milestone_submit(
        milestone=milestone, actor=contract.freelancer, message="done", files=[deliverable("x.txt", b"x")]
    )
    before = client_balance(user=contract.client, currency="USD")

    # When the freelancer posts the old partial refund of 0.01 to the refund action
    client.force_login(contract.freelancer)
    page = client.get(reverse("milestones:detail", args=[milestone.pk]))
    token = next(str(form["form_token"].value()) for spec, form in page.context["actions"] if spec.name == "refund")
    client.post(
        reverse("milestones:refund", args=[milestone.pk]),
        {"refund-form_token": token, "refund-kind": "partial", "refund-amount": "0.01"},
    )

    # Then nothing was released to them: a refund gives everything back to the client
    milestone.refresh_from_db()
    assert milestone.state == S.REFUNDED
    assert earnings_summary(user=contract.freelancer, currency="USD").pending == 0
    assert client_balance(user=contract.client, currency="USD") == before + 40_000
    call_command("ledger_verify")


def test_keeping_all_but_a_cent_is_an_offer_that_moves_nothing_until_the_client_accepts():
    # Given a submitted $400 milestone and the freelancer's "refund $0.01, release the rest" as an offer
    milestone = milestone_in_state(S.SUBMITTED, amount=40_000)
    contract = milestone.contract
    offer = offer_make(milestone=milestone, actor=contract.freelancer, freelancer_amount=39_999)

    # Then the freelancer cannot accept it for the client, by the service or by posting the form
    with pytest.raises(MilestoneError):
        offer_accept(offer=offer, actor=contract.freelancer)
    # And no refund service takes an amount any more
    from milestones import services

    with pytest.raises(TypeError):
        services.milestone_refund(milestone=milestone, actor=contract.freelancer, amount=1)  # type: ignore[call-arg]
    milestone.refresh_from_db()
    assert milestone.state == S.SUBMITTED and _money(milestone).in_escrow == 40_000
    assert earnings_summary(user=contract.freelancer, currency="USD").pending == 0
