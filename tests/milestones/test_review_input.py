"""Review of the milestone forms' input: a refused form never shows the card number back."""

import pytest
from django.urls import reverse

from milestones.models import MilestoneState as S
from tests.milestones.factories import funded_contract, milestone_in_state

pytestmark = pytest.mark.django_db

TYPED_CARD = "5555555555554444"  # not one of the test cards the help text lists


def test_a_refused_fund_form_does_not_write_the_card_number_back_into_the_page(client):
    # Given an approved milestone whose client has no balance, so the fund form asks for a card
    milestone = milestone_in_state(S.APPROVED, contract=funded_contract(balance=0))
    client.force_login(milestone.contract.client)

    # When the fund form is refused (its one-time token was tampered with) after the card was typed
    response = client.post(
        reverse("milestones:fund", args=[milestone.pk]), {"fund-token": "tampered", "fund-card_number": TYPED_CARD}
    )

    # Then the page comes back with the error and without the card number
    assert response.status_code == 400
    html = response.content.decode()
    assert 'name="fund-card_number"' in html and TYPED_CARD not in html


def test_a_refused_fund_many_form_does_not_write_the_card_number_back_into_the_page(client):
    # Given an approved milestone on the client's fund-several page
    milestone = milestone_in_state(S.APPROVED)
    client.force_login(milestone.contract.client)

    # When the form is refused (no milestone chosen) after the card was typed
    response = client.post(
        reverse("contracts:fund_milestones", args=[milestone.contract.pk]),
        {"token": "tampered", "card_number": TYPED_CARD},
    )

    # Then the page comes back with the error and without the card number
    assert response.status_code == 400
    html = response.content.decode()
    assert 'name="card_number"' in html and TYPED_CARD not in html
