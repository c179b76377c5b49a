"""Review of the wallet forms: a card number is never shown back; only plain ASCII digits are money."""

import uuid

import pytest
from django.urls import reverse

from payments.models import LedgerTransaction
from tests.factories import ClientFactory
from tests.payments.factories import SUCCESS_CARD

pytestmark = pytest.mark.django_db

TYPED_CARD = "5555 5555 5555 4444"  # not one of the test cards the help text lists


# Full-width one hundred, and one followed by two Arabic-Indic zeros (it reads like "1..").
@pytest.mark.parametrize("amount", ["\uff11\uff10\uff10", "1\u0660\u0660"])
def test_an_amount_in_non_ascii_digits_is_refused_and_charges_nothing(client, amount):
    # Given a client on the wallet page
    client.force_login(ClientFactory())

    # When they add funds with an amount written in look-alike digits
    response = client.post(
        reverse("payments:add_funds"),
        {"add-amount": amount, "add-currency": "USD", "add-card_number": SUCCESS_CARD, "add-token": str(uuid.uuid4())},
    )

    # Then the form is refused on its amount and the card is not charged
    assert response.status_code == 400
    assert not LedgerTransaction.objects.exists()


def test_a_refused_add_funds_form_does_not_write_the_card_number_back_into_the_page(client):
    # Given a client on the wallet page
    client.force_login(ClientFactory())

    # When the add-funds form is refused (a bad amount) after they typed their card number
    response = client.post(
        reverse("payments:add_funds"),
        {"add-amount": "ten", "add-currency": "USD", "add-card_number": TYPED_CARD, "add-token": str(uuid.uuid4())},
    )

    # Then the form comes back with its error, and the card number is nowhere in the page
    assert response.status_code == 400
    html = response.content.decode()
    assert 'name="add-card_number"' in html
    assert TYPED_CARD not in html
    assert not LedgerTransaction.objects.exists()
