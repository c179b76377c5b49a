"""Review: sequences of legal actions that must not move money to the wrong person or at the wrong time."""

import pytest
from django.urls import reverse

from milestones import services
from milestones.errors import MilestoneError
from milestones.models import MilestoneState
from payments.selectors import client_balance, earnings_summary, milestone_money_totals
from payments.verification import ledger_verify
from tests.milestones.factories import milestone_in_state

pytestmark = pytest.mark.django_db
S = MilestoneState


def test_a_freelancer_cannot_pay_themselves_a_funded_milestone_by_refunding_a_cent():
    # Given a funded $400 milestone: nothing delivered, nothing approved by the client
    milestone = milestone_in_state(S.FUNDED, amount=40_000)
    contract = milestone.contract
    before = client_balance(user=contract.client, currency="USD")

    # When the freelancer "refunds" $0.01, which would release the other $399.99 to themselves
    with pytest.raises(MilestoneError, match="you can refund all of it"):
        services.milestone_refund(milestone=milestone, actor=contract.freelancer, amount=1, note="")

    # Then nothing moved: the escrow still holds it all and the freelancer earned nothing
    milestone.refresh_from_db()
    assert milestone.state == S.FUNDED
    assert milestone_money_totals(milestone_ids=[milestone.pk])[milestone.pk].in_escrow == 40_000
    assert earnings_summary(user=contract.freelancer, currency="USD").pending == 0
    assert client_balance(user=contract.client, currency="USD") == before

    # And a full refund is still theirs to give
    services.milestone_refund(milestone=milestone, actor=contract.freelancer, amount=40_000, note="")
    assert client_balance(user=contract.client, currency="USD") == before + 40_000
    assert ledger_verify().ok


@pytest.mark.parametrize(
    ("state", "offers_partial"), [(MilestoneState.FUNDED, False), (MilestoneState.SUBMITTED, True)]
)
def test_the_refund_form_offers_a_partial_refund_only_once_work_is_submitted(client, state, offers_partial):
    # Given a milestone in the state, seen by its freelancer
    milestone = milestone_in_state(state)
    client.force_login(milestone.contract.freelancer)
    # When the milestone page renders
    html = client.get(reverse("milestones:detail", args=[milestone.pk])).content.decode()
    # Then the full refund is always offered, the partial one only after submission
    assert "Refund the full amount" in html
    assert ("Refund part; the rest is released to me" in html) is offers_partial
