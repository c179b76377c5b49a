"""Wallet pages: each user sees only their own money; bad input and replays change nothing."""

import csv
import datetime as dt
import io
import uuid

import pytest
from django.urls import reverse

from payments.models import LedgerTransaction, Payout
from payments.selectors import client_balance
from payments.services import escrow_release
from payments.views import csv_cell_defuse
from tests.payments.factories import (
    DECLINED_CARD,
    NETWORK_ERROR_CARD,
    SUCCESS_CARD,
    deposit_for,
    funded_milestone,
    with_payout_destination,
)
from tests.users.factories import TEST_PASSWORD, ClientFactory, FreelancerFactory

pytestmark = pytest.mark.django_db


def add_funds_form(amount: str = "250.00", card: str = SUCCESS_CARD, **fields: str) -> dict:
    values = {"amount": amount, "currency": "USD", "card_number": card, "token": str(uuid.uuid4()), **fields}
    return {f"add-{name}": value for name, value in values.items()}


def withdraw_form(amount: str, **fields: str) -> dict:
    values = {"amount": amount, "currency": "USD", "token": str(uuid.uuid4()), **fields}
    return {f"withdraw-{name}": value for name, value in values.items()}


def messages_of(response) -> list[str]:
    return [str(m) for m in response.context["messages"]] if response.context else []


@pytest.mark.parametrize("name", ["payments:wallet", "payments:statement", "payments:statement_csv"])
def test_pages_need_a_login(client, name):
    # When an anonymous visitor opens a wallet page, then they are sent to log in
    response = client.get(reverse(name))
    assert response.status_code == 302 and "/accounts/login/" in response["Location"]


def test_the_wallet_shows_the_balance_and_the_add_funds_form(client):
    # Given a client with 123.45
    user = ClientFactory()
    deposit_for(user, 12_345)
    client.force_login(user)
    # When they open their wallet
    response = client.get(reverse("payments:wallet"))
    # Then they see the balance and the add funds form with its one-time token
    assert response.status_code == 200
    html = response.content.decode()
    assert 'data-testid="client-balance-USD">$123.45<' in html
    assert "Add funds" in html and "4242 4242 4242 4242" in html
    assert 'name="add-token"' in html


def test_adding_funds_with_the_success_card_credits_the_balance(client):
    # Given a signed-in client
    user = ClientFactory()
    client.force_login(user)
    # When they add 250.00 with the card that succeeds
    response = client.post(reverse("payments:add_funds"), add_funds_form("250.00"), follow=True)
    # Then the balance holds it and the page says so
    assert client_balance(user=user, currency="USD") == 25_000
    assert "$250.00 was added to your balance." in messages_of(response)


def test_a_replayed_add_funds_post_charges_once_and_says_so(client):
    # Given one add funds form
    user = ClientFactory()
    client.force_login(user)
    form = add_funds_form("10.00")
    # When it is posted twice
    client.post(reverse("payments:add_funds"), form)
    response = client.post(reverse("payments:add_funds"), form, follow=True)
    # Then the card was charged once and the page says so
    assert client_balance(user=user, currency="USD") == 1_000
    assert any("already recorded" in message for message in messages_of(response))


@pytest.mark.parametrize(("card", "says"), [(DECLINED_CARD, "declined"), (NETWORK_ERROR_CARD, "could not be reached")])
def test_a_declined_or_failed_card_moves_nothing_and_says_why(client, card, says):
    # Given a client with 5.00
    user = ClientFactory()
    deposit_for(user, 500)
    client.force_login(user)
    # When the card is declined or the gateway is down
    response = client.post(reverse("payments:add_funds"), add_funds_form("99.00", card=card), follow=True)
    # Then the balance is unchanged and the page says why
    assert client_balance(user=user, currency="USD") == 500
    assert any(says in message for message in messages_of(response))


@pytest.mark.parametrize(
    ("form", "says"),
    [
        (add_funds_form("-5"), "must be positive"),
        (add_funds_form("1.234"), "at most 2 decimal places"),
        (add_funds_form("20000"), "at most $10,000.00"),
        (add_funds_form("abc"), "Enter an amount like"),
        (add_funds_form(token="not-a-uuid"), "This form has expired"),
        (add_funds_form(currency="XYZ"), "Select a valid choice"),
    ],
)
def test_bad_add_funds_input_is_refused_with_a_message_and_changes_nothing(client, form, says):
    # Given a signed-in client
    user = ClientFactory()
    client.force_login(user)
    # When the form is invalid
    response = client.post(reverse("payments:add_funds"), form)
    # Then the page says what is wrong and nothing was written
    assert response.status_code == 400
    assert says in response.content.decode()
    assert LedgerTransaction.objects.count() == 0


def test_state_changes_are_post_only_and_need_csrf(client):
    from django.test import Client

    user = ClientFactory()
    client.force_login(user)
    # When the actions are requested by GET, or POSTed without a CSRF token, they are refused
    assert client.get(reverse("payments:add_funds")).status_code == 405
    assert client.get(reverse("payments:withdraw")).status_code == 405
    strict = Client(enforce_csrf_checks=True)
    strict.force_login(user)
    assert strict.post(reverse("payments:add_funds"), add_funds_form()).status_code == 403
    # Then nothing was written
    assert LedgerTransaction.objects.count() == 0


def freelancer_with_available_earnings(settings) -> object:
    settings.EARNINGS_HOLD_PERIOD = dt.timedelta(0)
    milestone = funded_milestone(10_000)
    escrow_release(milestone=milestone, client=milestone.contract.client, freelancer=milestone.contract.freelancer)
    from payments.services import earnings_mature_due

    earnings_mature_due()
    return with_payout_destination(milestone.contract.freelancer)


def test_withdraw_asks_for_the_password_again_then_carries_on(client, settings):
    # Given a freelancer with 90.00 available, signed in a while ago
    freelancer = freelancer_with_available_earnings(settings)
    client.force_login(freelancer)
    # When they ask to withdraw 50.00
    response = client.post(reverse("payments:withdraw"), withdraw_form("50"))
    # Then they are asked for their password first, and nothing moved yet
    assert response.status_code == 302 and "/accounts/reauthenticate/" in response["Location"]
    assert Payout.objects.count() == 0
    # When they confirm it, the withdrawal they asked for goes through
    response = client.post(response["Location"], {"password": TEST_PASSWORD}, follow=True)
    assert any("Withdrawal of $50.00 requested" in m for m in messages_of(response))
    assert list(Payout.objects.values_list("amount", flat=True)) == [5_000]


def test_withdraw_replays_and_refusals_change_nothing(client, settings):
    freelancer = freelancer_with_available_earnings(settings)
    client.force_login(freelancer)
    first = withdraw_form("50")
    client.post(client.post(reverse("payments:withdraw"), first)["Location"], {"password": TEST_PASSWORD})
    # When the same form is posted again, and then more than is available
    again = client.post(reverse("payments:withdraw"), first, follow=True)
    too_much = withdraw_form("41")
    refused = client.post(reverse("payments:withdraw"), too_much, follow=True)
    # Then the replay is recognised, the overdraft refused, and one payout of 50.00 exists
    assert any("already requested" in m for m in messages_of(again))
    assert any("does not cover" in m for m in messages_of(refused))
    assert list(Payout.objects.values_list("amount", flat=True)) == [5_000]
    html = refused.content.decode()
    assert 'data-testid="earnings-in-flight-USD">$50.00<' in html
    assert 'data-testid="earnings-available-USD">$40.00<' in html


def test_the_statement_and_csv_hold_only_the_user_s_own_money(client):
    # Given two clients with deposits, one of whom funded a milestone
    milestone = funded_milestone(3_000, extra_balance=1_000)
    me = milestone.contract.client
    stranger = ClientFactory()
    deposit_for(stranger, 777)
    client.force_login(me)
    # When I read my statement and export it
    page = client.get(reverse("payments:statement")).content.decode()
    export = client.get(reverse("payments:statement_csv"))
    # Then both show my two movements, never the stranger's
    assert "$7.77" not in page and "+$40.00" in page and "\u2212$30.00" in page
    assert export["Content-Disposition"].startswith('attachment; filename="milestone-statement-')
    assert export["Cache-Control"] == "private, no-store"
    rows = list(csv.reader(io.StringIO(b"".join(export.streaming_content).decode())))
    assert rows[0] == ["date", "transaction", "kind", "description", "account", "currency", "amount"]
    assert [(row[2], row[6]) for row in rows[1:]] == [("fund", "-30.00"), ("deposit", "40.00")]


@pytest.mark.parametrize(
    ("text", "cell"),
    [("=HYPERLINK(evil)", "'=HYPERLINK(evil)"), ("+1", "'+1"), ("-1", "'-1"), ("@x", "'@x"), ("Deposit", "Deposit")],
)
def test_csv_cells_that_a_spreadsheet_would_run_as_formulas_are_defused(text, cell):
    # Memos quote user-chosen milestone titles; a cell must never start a formula.
    assert csv_cell_defuse(text) == cell


def test_the_statement_paginates(client):
    # Given 51 deposits
    user = ClientFactory()
    for _ in range(51):
        deposit_for(user, 100)
    client.force_login(user)
    # When the statement is read
    first = client.get(reverse("payments:statement")).content.decode()
    second = client.get(reverse("payments:statement") + "?page=2").content.decode()
    # Then it has two pages, and a nonsense page number still answers
    assert "Page 1 of 2" in first and "Page 2 of 2" in second
    assert client.get(reverse("payments:statement") + "?page=banana").status_code == 200


def test_a_freelancer_sees_pending_earnings_with_their_dates(client):
    # Given a released payment still in its hold
    milestone = funded_milestone(10_000, title="Logo design")
    escrow_release(milestone=milestone, client=milestone.contract.client, freelancer=milestone.contract.freelancer)
    client.force_login(milestone.contract.freelancer)
    # When the freelancer opens the wallet
    html = client.get(reverse("payments:wallet")).content.decode()
    # Then they see it pending, with its milestone and date
    assert 'data-testid="earnings-pending-USD">$90.00<' in html
    assert "Logo design" in html and "Available from" in html


def test_the_nav_links_to_the_wallet_when_signed_in(client):
    client.force_login(FreelancerFactory())
    # Then the navigation links to the wallet
    assert f'href="{reverse("payments:wallet")}"' in client.get(reverse("payments:wallet")).content.decode()


# A card number is never shown back; only plain ASCII digits are money.
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


def test_withdraw_says_when_earnings_become_available_before_asking_for_anything(client, settings):
    # Given a freelancer whose only earnings are still pending (released today, held for days)
    settings.EARNINGS_HOLD_PERIOD = dt.timedelta(days=5)
    milestone = funded_milestone(10_000)
    escrow_release(milestone=milestone, client=milestone.contract.client, freelancer=milestone.contract.freelancer)
    client.force_login(milestone.contract.freelancer)

    # When they open the wallet
    html = client.get(reverse("payments:wallet")).content.decode()

    # Then it says nothing is available yet and when the next earnings are, and offers no withdraw form
    assert 'data-testid="withdraw-nothing-available"' in html and "become available on" in html
    assert 'name="withdraw-amount"' not in html


def test_a_payout_needs_a_destination_which_is_saved_masked_and_shown_on_the_payout(client, settings):
    # Given a freelancer with 90.00 available and no payout destination
    settings.EARNINGS_HOLD_PERIOD = dt.timedelta(0)
    milestone = funded_milestone(10_000)
    freelancer = milestone.contract.freelancer
    escrow_release(milestone=milestone, client=milestone.contract.client, freelancer=freelancer)
    from payments.services import earnings_mature_due

    earnings_mature_due()
    client.force_login(freelancer)
    reauth = {"password": TEST_PASSWORD}

    # When they open the wallet, and post a withdrawal anyway
    html = client.get(reverse("payments:wallet")).content.decode()
    response = client.post(reverse("payments:withdraw"), withdraw_form("50"))
    refused = client.post(response["Location"], reauth, follow=True)

    # Then the amount available is shown, no withdraw form is offered, and the withdrawal is refused plainly
    assert 'data-testid="withdraw-available"' in html and "$90.00" in html
    assert 'data-testid="withdraw-needs-destination"' in html and 'name="withdraw-amount"' not in html
    assert any("Add a payout destination first" in m for m in messages_of(refused))
    assert Payout.objects.count() == 0

    # When they save a destination (after confirming their password) and withdraw
    saved = client.post(
        reverse("payments:payout_destination"),
        {"destination-account_holder": "Ada Lovelace", "destination-account_label": "ACME-ACCOUNT-1234"},
        follow=True,
    )
    client.post(reverse("payments:withdraw"), withdraw_form("50"), follow=True)

    # Then the destination shows masked, never in full, and the payout carries it
    page = saved.content.decode()
    assert "Ada Lovelace, •••• 1234" in page and "ACME-ACCOUNT-1234" not in page
    payout = Payout.objects.get()
    assert (payout.amount, payout.destination_label) == (5_000, "Ada Lovelace, •••• 1234")
    wallet = client.get(reverse("payments:wallet")).content.decode()
    assert "<td>Ada Lovelace, •••• 1234</td>" in wallet


def test_saving_a_payout_destination_asks_for_the_password_again(client):
    # Given a freelancer signed in a while ago
    freelancer = FreelancerFactory()
    client.force_login(freelancer)
    data = {"destination-account_holder": "Ada Lovelace", "destination-account_label": "ACC-9876"}

    # When they save a destination
    response = client.post(reverse("payments:payout_destination"), data)

    # Then they are asked for their password first, and nothing is saved until they confirm
    assert response.status_code == 302 and "/accounts/reauthenticate/" in response["Location"]
    from payments.models import PayoutDestination

    assert not PayoutDestination.objects.filter(user=freelancer).exists()
    client.post(response["Location"], {"password": TEST_PASSWORD}, follow=True)
    assert PayoutDestination.objects.get(user=freelancer).masked == "•••• 9876"
