"""Real concurrency on PostgreSQL: accepting an offer, an arbitrator's decision, a withdrawal and a second
acceptance race on one case; exactly one wins and the ledger verifies."""

import datetime as dt

import pytest
from django.core.management import call_command
from django.utils import timezone

from disputes.models import Dispute, DisputeEvent, DisputeStatus, Offer, OfferStatus
from disputes.services import (
    dispute_decide,
    dispute_withdraw,
    disputes_unanswered_escalate,
    offer_accept,
    offer_make,
    offers_expire_due,
)
from milestones.models import Milestone, MilestoneState
from payments.selectors import milestone_money_totals
from tests.disputes.factories import case_in_arbitration, open_case
from tests.milestones.factories import arbitrator_user
from tests.milestones.test_races import _race

pytestmark = [pytest.mark.postgres, pytest.mark.django_db(transaction=True)]
S = MilestoneState


def test_accept_decide_withdraw_and_a_second_accept_race_and_exactly_one_wins():
    # Given a $500 case in arbitration, opened by the client, with the freelancer's 60/40 offer open
    case = case_in_arbitration(amount=50_000)
    contract = case.milestone.contract
    offer = offer_make(milestone=case.milestone, actor=contract.freelancer, freelancer_amount=30_000)
    arbitrator = arbitrator_user()

    def accept() -> object:
        return offer_accept(offer=offer, actor=contract.client)

    def decide() -> object:
        return dispute_decide(dispute=case, arbitrator=arbitrator, freelancer_amount=10_000, decision="Mostly missing")

    def withdraw() -> object:
        return dispute_withdraw(dispute=case, actor=contract.client)

    def accept_again() -> object:
        return offer_accept(offer=offer, actor=contract.client)

    # When all four fire at once, twice over, from eight threads
    wins, losses = _race([accept, decide, withdraw, accept_again] * 2)

    # Then exactly one won; every other got a domain error
    assert len(wins) == 1, (wins, losses)
    assert len(losses) == 7
    # And the milestone, the case and the money tell the winner's story
    milestone = Milestone.objects.get(pk=case.milestone_id)
    case = Dispute.objects.get(pk=case.pk)
    winner = wins[0].split(":")[1]
    totals = milestone_money_totals(milestone_ids=[milestone.pk])[milestone.pk]
    if winner in ("accept", "accept_again"):
        assert (milestone.state, case.outcome, case.freelancer_amount) == (S.RELEASED, "split", 30_000)
        assert totals.refunded == 20_000
    elif winner == "decide":
        assert (milestone.state, case.outcome, case.arbitrator) == (S.RELEASED, "split", arbitrator)
        assert totals.refunded == 40_000
    else:
        assert (milestone.state, case.outcome) == (S.SUBMITTED, "withdrawn")
        assert totals.in_escrow == 50_000
    assert case.status == DisputeStatus.RESOLVED
    assert milestone.events.filter(action__in=["settle", "resolve", "withdraw_dispute"]).count() == 1
    assert totals.released + totals.refunded + totals.in_escrow == 50_000
    call_command("ledger_verify")


def test_two_sweeps_at_once_move_each_unanswered_case_and_expire_each_offer_once():
    # Given four unanswered cases, each with an open offer, all past their deadlines
    cases = [open_case(amount=10_000) for _ in range(4)]
    for case in cases:
        offer_make(milestone=case.milestone, actor=case.milestone.contract.client, freelancer_amount=0)
    later = timezone.now() + dt.timedelta(days=30)
    moved: list[int] = []
    expired: list[int] = []

    def sweep() -> object:
        moved.append(disputes_unanswered_escalate(now=later))
        expired.append(offers_expire_due(now=later))
        return None

    # When two workers sweep at the same moment
    wins, losses = _race([sweep, sweep])

    # Then each case went to arbitration once and each offer expired once
    assert len(wins) == 2 and not losses
    assert sum(moved) == 4 and sum(expired) == 4
    for case in cases:
        assert DisputeEvent.objects.filter(dispute=case, action="no_response").count() == 1
        assert Dispute.objects.get(pk=case.pk).status == DisputeStatus.IN_ARBITRATION
    assert not Offer.objects.filter(status=OfferStatus.OPEN).exists()
    call_command("ledger_verify")
