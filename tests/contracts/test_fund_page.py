"""The fund-several-milestones page: where a funding lands and what the page ticks for the client."""

import re

import pytest
from django.urls import reverse

from milestones.models import Milestone, MilestoneState
from tests.milestones.factories import funded_contract, milestone_in_state

pytestmark = pytest.mark.django_db
S = MilestoneState


def _ticked(html: str) -> list[str]:
    return re.findall(r'<input type="checkbox" name="milestones" value="(\d+)"[^>]*\schecked', html)


def test_after_funding_the_client_lands_on_the_contract_page_with_a_confirmation(client):
    # Given a contract with two approved milestones and a client with enough balance
    contract = funded_contract(balance=100_000)
    first, second = (milestone_in_state(S.APPROVED, contract=contract, amount=30_000) for _ in range(2))
    url = reverse("contracts:fund_milestones", args=[contract.pk])
    client.force_login(contract.client)
    token = client.get(url).context["form"]["form_token"].value()

    # When the client funds the first one
    response = client.post(url, {"form_token": token, "milestones": [first.pk]}, follow=True)

    # Then they are on the contract page with the confirmation, and the second milestone was not funded
    assert response.redirect_chain[-1][0] == reverse("contracts:detail", args=[contract.pk])
    assert "1 milestone funded: $300.00 is held in escrow." in [str(m) for m in response.context["messages"]]
    assert Milestone.objects.get(pk=second.pk).state == S.APPROVED


def test_a_fresh_fund_page_ticks_no_milestone(client):
    # Given a contract with two approved milestones
    contract = funded_contract(balance=100_000)
    for _ in range(2):
        milestone_in_state(S.APPROVED, contract=contract, amount=30_000)
    client.force_login(contract.client)

    # When the client opens the fund page
    page = client.get(reverse("contracts:fund_milestones", args=[contract.pk]))

    # Then nothing is ticked and the total is zero
    assert page.status_code == 200
    assert _ticked(page.content.decode()) == []
    assert page.context["selected_total"] == 0


def test_a_refused_fund_form_re_shows_only_what_the_client_ticked(client):
    # Given a contract with two approved milestones
    contract = funded_contract(balance=100_000)
    first, _second = (milestone_in_state(S.APPROVED, contract=contract, amount=30_000) for _ in range(2))
    client.force_login(contract.client)

    # When the form is refused (a bad card number) with only the first ticked
    response = client.post(
        reverse("contracts:fund_milestones", args=[contract.pk]),
        {"form_token": "tampered", "milestones": [first.pk], "card_number": "12"},
    )

    # Then the page comes back with exactly that one ticked
    assert response.status_code == 400
    assert _ticked(response.content.decode()) == [str(first.pk)]
