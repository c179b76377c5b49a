"""Real concurrency on PostgreSQL: accepting an offer, an arbitrator's decision, a withdrawal and a second
acceptance race on one case; exactly one wins and the ledger verifies."""

import pytest
from django.core.management import call_command

from disputes.models import Dispute, DisputeStatus
from disputes.services import dispute_decide, dispute_withdraw, offer_accept, offer_make
from milestones.models import Milestone, MilestoneState
from payments.selectors import milestone_money_totals
from tests.disputes.factories import case_in_arbitration
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
