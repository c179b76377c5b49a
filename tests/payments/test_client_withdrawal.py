"""A client withdraws unspent balance to their card: client balance -> world through the gateway,
after re-authenticating, refused plainly when the balance does not cover it, and never twice."""

import uuid

import pytest
from django.urls import reverse

from milestones.ledger_checks import ledger_verify
from notifications.models import Notification
from payments.errors import InsufficientFunds, PaymentDeclined, PaymentError
from payments.gateway import gateway_get
from payments.models import ClientWithdrawal, LedgerTransaction, PayoutStatus, TransactionKind
from payments.selectors import client_balance
from payments.services import client_withdraw
from tests.payments.factories import DECLINED_CARD, SUCCESS_CARD, client_with_balance
from tests.users.factories import TEST_PASSWORD

pytestmark = pytest.mark.django_db


def withdraw(user, amount: int, *, card: str = SUCCESS_CARD, key: str | None = None) -> ClientWithdrawal:
    return client_withdraw(
        user=user, amount=amount, currency="USD", card_number=card, idempotency_key=key or uuid.uuid4().hex
    )


def test_a_withdrawal_pays_the_card_and_moves_client_balance_to_the_world():
    # Given a client with 250.00 on their balance
    client = client_with_balance(25_000)

    # When they withdraw 100.00 to the test card
    withdrawal = withdraw(client, 10_000)

    # Then the gateway paid the card, the balance dropped by exactly that, under `client-withdraw:<id>`
    assert withdrawal.status == PayoutStatus.COMPLETED and withdrawal.card_last4 == "4242"
    assert gateway_get().refund_confirm(refund_id=withdrawal.refund_id, amount=10_000, currency="USD")
    assert client_balance(user=client, currency="USD") == 15_000
    assert Notification.objects.get(recipient=client).subject == "$100.00 was withdrawn to your card ending 4242"
    posted = LedgerTransaction.objects.get(idempotency_key=f"client-withdraw:{withdrawal.pk}")
    assert posted.kind == TransactionKind.WITHDRAWAL
    assert sorted((e.account.kind, e.signed_amount) for e in posted.entries.all()) == [
        ("client_balance", -10_000),
        ("world", 10_000),
    ]
    assert ledger_verify().ok


def test_more_than_the_balance_is_refused_and_nothing_moves():
    # Given a client with 50.00
    client = client_with_balance(5_000)

    # When they ask for 50.01
    with pytest.raises(InsufficientFunds, match=r"Your client balance is \$50.00, which does not cover \$50.01"):
        withdraw(client, 5_001)

    # Then nothing was recorded and the balance is whole
    assert not ClientWithdrawal.objects.exists()
    assert client_balance(user=client, currency="USD") == 5_000


@pytest.mark.parametrize("amount", [0, -100])
def test_a_zero_or_negative_amount_is_refused(amount):
    client = client_with_balance(5_000)
    with pytest.raises(PaymentError, match="greater than zero"):
        withdraw(client, amount)
    assert not ClientWithdrawal.objects.exists()


def test_a_replayed_form_pays_the_card_once():
    # Given a client who withdrew 40.00 with one form
    client = client_with_balance(10_000)
    first = withdraw(client, 4_000, key="form-1")

    # When the same form is posted again
    again = withdraw(client, 4_000, key="form-1")

    # Then it is the same withdrawal, marked as a replay, and the money left once
    assert again.pk == first.pk and again.replayed and again.refund_id == first.refund_id
    assert client_balance(user=client, currency="USD") == 6_000
    assert ClientWithdrawal.objects.count() == 1


def test_a_declined_card_puts_the_money_back_and_says_why():
    # Given a client with 80.00
    client = client_with_balance(8_000)

    # When the card refuses the withdrawal
    with pytest.raises(PaymentDeclined, match="declined"):
        withdraw(client, 3_000, card=DECLINED_CARD)

    # Then the balance is whole again through a reversal, and the withdrawal is marked failed
    assert client_balance(user=client, currency="USD") == 8_000
    failed = ClientWithdrawal.objects.get()
    assert failed.status == PayoutStatus.FAILED and "declined" in failed.reason
    assert failed.reversal_transaction.reverses == failed.request_transaction
    assert ledger_verify().ok


# --- The wallet page ---------------------------------------------------------------------------------
def withdraw_to_card_form(amount: str, card: str = SUCCESS_CARD, token: str | None = None) -> dict:
    values = {"amount": amount, "currency": "USD", "card_number": card, "token": token or str(uuid.uuid4())}
    return {f"card-withdraw-{name}": value for name, value in values.items()}


def messages_of(response) -> list[str]:
    return [str(m) for m in response.context["messages"]] if response.context else []


def test_withdrawing_from_the_wallet_asks_for_the_password_again(client):
    # Given a client with 120.00, signed in a while ago
    owner = client_with_balance(12_000)
    client.force_login(owner)

    # When they withdraw 20.00 from the wallet
    response = client.post(reverse("payments:client_withdraw"), withdraw_to_card_form("20.00"))

    # Then they must confirm their password first, and nothing moves until they do
    assert response.status_code == 302 and "/accounts/reauthenticate/" in response["Location"]
    assert client_balance(user=owner, currency="USD") == 12_000
    done = client.post(response["Location"], {"password": TEST_PASSWORD}, follow=True)
    assert "$20.00 was withdrawn to your card ending 4242." in messages_of(done)
    assert client_balance(user=owner, currency="USD") == 10_000


def test_the_wallet_refuses_bad_amounts_plainly_and_a_replay_changes_nothing(client):
    # Given a client with 30.00 who has confirmed their password
    owner = client_with_balance(3_000)
    client.force_login(owner)
    first = client.post(reverse("payments:client_withdraw"), withdraw_to_card_form("abc"))
    client.post(first["Location"], {"password": TEST_PASSWORD})

    # When they post a non-number, then more than their balance
    bad = client.post(reverse("payments:client_withdraw"), withdraw_to_card_form("abc"))
    over = client.post(reverse("payments:client_withdraw"), withdraw_to_card_form("30.01"), follow=True)

    # Then each is refused with a message and the balance is untouched
    assert bad.status_code == 400 and 'id="id_card-withdraw-amount"' in bad.content.decode()
    assert bad.context["client_withdraw_form"].errors["amount"]
    assert any("which does not cover $30.01" in m for m in messages_of(over))
    assert client_balance(user=owner, currency="USD") == 3_000

    # When one form is posted twice
    form = withdraw_to_card_form("10.00", token=str(uuid.uuid4()))
    client.post(reverse("payments:client_withdraw"), form)
    replay = client.post(reverse("payments:client_withdraw"), form, follow=True)

    # Then the second is recognised and the card was paid once
    assert any("already made" in m for m in messages_of(replay))
    assert client_balance(user=owner, currency="USD") == 2_000
