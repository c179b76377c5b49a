"""Adding funds: a card charge at the gateway, then world -> client balance."""

from django.conf import settings
from django.db import transaction

from core.money import format_money
from payments.errors import PaymentError
from payments.gateway import gateway_get
from payments.ledger.models import AccountKind, LedgerTransaction, TransactionKind
from payments.ledger.posting import Posting, credit, debit, fingerprint
from payments.services._common import post_once, replay_request, require_currency, require_key, user_account, world
from users.models import User


@transaction.atomic
def deposit(*, user: User, amount: int, currency: str, card_number: str, idempotency_key: str) -> LedgerTransaction:
    """A client adds funds by card: charge the gateway, then world -> client balance.

    The caller's idempotency key (the form's one-time token) is also the gateway's, so a replayed
    form returns the first deposit and never charges the card twice; the ledger key is
    `deposit:<charge id>`. A declined or failed charge raises before anything is written.
    """
    require_currency(currency)
    require_key(idempotency_key)
    if amount <= 0:
        raise PaymentError("The amount must be greater than zero.")
    if amount > settings.MAX_DEPOSIT_MINOR:
        raise PaymentError(f"You can add at most {format_money(settings.MAX_DEPOSIT_MINOR, currency)} at a time.")
    request_key = f"deposit:{user.pk}:{idempotency_key}"
    params = fingerprint("deposit", user=user.pk, amount=amount, currency=currency)
    if earlier := replay_request(request_key=request_key, fingerprint=params):
        return earlier

    charge = gateway_get().charge(
        amount=amount, currency=currency, card_number=card_number, idempotency_key=request_key
    )
    if charge.amount != amount or charge.currency != currency:
        raise PaymentError("The payment provider charged a different amount; nothing was recorded.")
    return post_once(
        key=f"deposit:{charge.charge_id}",
        fingerprint=params,
        accounts=lambda: [world(currency), user_account(AccountKind.CLIENT_BALANCE, user, currency)],
        build=lambda accounts, balances: Posting(
            kind=TransactionKind.DEPOSIT,
            legs=[debit(accounts[0], amount), credit(accounts[1], amount)],
            memo=f"Added funds by card ending {charge.card_last4}",
            user_id=user.pk,
            request_key=request_key,
            external_ref=charge.charge_id,
        ),
    )
