"""A client withdraws unspent balance to their card: client balance -> world, paid by the gateway.

Three steps, so no lock is held while the gateway is called and no money leaves before the
balance is known to cover it:
1. reserve (one transaction): under the balance locks, check the balance, record the withdrawal
   and post client balance -> world under `client-withdraw:<id>`;
2. pay: the gateway refunds the amount to the card, idempotently on the same key;
3. settle (one transaction): completed with the gateway's refund id, or, if the gateway refused,
   failed with a reversal world -> client balance under `client-withdraw:<id>:reversal`.
A replay of the same form returns the withdrawal; one left requested (the process stopped between
steps) is paid on the replay under the same gateway key, so the card is never paid twice.
Call it outside any transaction, as the view does: each step must commit on its own.
"""

from django.conf import settings
from django.db import transaction
from django.utils import timezone

from core.links import absolute_url
from core.money import format_money
from notifications.kinds import NotificationKind
from notifications.services import notify
from payments.errors import IdempotencyConflict, PaymentDeclined, PaymentError, PaymentGatewayUnavailable
from payments.gateway import RefundResult, card_number_normalize, gateway_get
from payments.ledger.models import AccountKind, TransactionKind
from payments.ledger.posting import Accounts, Balances, Posting, credit, debit, fingerprint
from payments.models import ClientWithdrawal, PayoutStatus
from payments.services._common import (
    insufficient,
    locked_once,
    post,
    post_once,
    require_currency,
    require_key,
    user_account,
    world,
)
from users.models import User


def client_withdraw(
    *, user: User, amount: int, currency: str, card_number: str, idempotency_key: str
) -> ClientWithdrawal:
    """Pay `amount` of the user's client balance back to their card. Raises PaymentError (the
    balance does not cover it, the card was refused) with nothing moved."""
    require_currency(currency)
    require_key(idempotency_key)
    if amount <= 0:
        raise PaymentError("The amount must be greater than zero.")
    if amount > settings.MAX_PAYOUT_MINOR:
        raise PaymentError(f"You can withdraw at most {format_money(settings.MAX_PAYOUT_MINOR, currency)} at a time.")
    card_last4 = card_number_normalize(card_number)[-4:]
    withdrawal = _client_withdrawal_reserve(
        user=user, amount=amount, currency=currency, card_last4=card_last4, idempotency_key=idempotency_key
    )
    if withdrawal.status != PayoutStatus.REQUESTED:
        return withdrawal
    try:
        refund = gateway_get().refund_to_card(
            amount=amount,
            currency=currency,
            card_number=card_number,
            idempotency_key=f"client-withdraw:{withdrawal.pk}",
        )
    except (PaymentDeclined, PaymentGatewayUnavailable) as error:
        _client_withdrawal_fail(withdrawal=withdrawal, reason=str(error))
        raise
    return _client_withdrawal_complete(withdrawal=withdrawal, refund=refund)


@transaction.atomic
def _client_withdrawal_reserve(
    *, user: User, amount: int, currency: str, card_last4: str, idempotency_key: str
) -> ClientWithdrawal:
    def earlier() -> ClientWithdrawal | None:
        found = ClientWithdrawal.objects.filter(user=user, idempotency_key=idempotency_key).first()
        if found is not None and (found.amount, found.currency) != (amount, currency):
            raise IdempotencyConflict("This withdrawal form was already used for a different amount; nothing changed.")
        if found is not None:
            found.replayed = True
        return found

    def reserve(accounts: Accounts, balances: Balances) -> ClientWithdrawal:
        balance, outside = accounts
        if balances[balance.pk] < amount:
            raise insufficient("client balance", balances[balance.pk], amount, currency)
        withdrawal = ClientWithdrawal.objects.create(
            user=user, amount=amount, currency=currency, idempotency_key=idempotency_key, card_last4=card_last4
        )
        withdrawal.request_transaction = post(
            key=f"client-withdraw:{withdrawal.pk}",
            fingerprint=fingerprint("client-withdraw", withdrawal=withdrawal.pk, amount=amount, currency=currency),
            posting=Posting(
                kind=TransactionKind.WITHDRAWAL,
                legs=[debit(balance, amount), credit(outside, amount)],
                memo=f"Withdrawn to card ending {card_last4}",
                user_id=user.pk,
            ),
        )
        withdrawal.save(update_fields=["request_transaction"])
        return withdrawal

    return locked_once(
        replay=earlier,
        accounts=lambda: [user_account(AccountKind.CLIENT_BALANCE, user, currency), world(currency)],
        then=reserve,
    )


def _client_withdrawal_lock(withdrawal: ClientWithdrawal) -> ClientWithdrawal:
    # `of=("self",)`: the withdrawal row only, never the user's (see payouts).
    return ClientWithdrawal.objects.select_for_update(of=("self",)).get(pk=withdrawal.pk)


@transaction.atomic
def _client_withdrawal_complete(*, withdrawal: ClientWithdrawal, refund: RefundResult) -> ClientWithdrawal:
    locked = _client_withdrawal_lock(withdrawal)
    if locked.status == PayoutStatus.REQUESTED:
        if (refund.amount, refund.currency) != (locked.amount, locked.currency):
            raise PaymentError("The payment provider paid a different amount; the withdrawal was left for staff.")
        locked.status, locked.refund_id, locked.settled_at = PayoutStatus.COMPLETED, refund.refund_id, timezone.now()
        locked.save(update_fields=["status", "refund_id", "settled_at"])
        # Money left the account: always worth an email, so a withdrawal nobody asked for is noticed.
        notify(
            recipients=[locked.user],
            kind=NotificationKind.PAYOUT,
            subject=f"{format_money(locked.amount, locked.currency)} was withdrawn to your card ending "
            f"{locked.card_last4}",
            body="If you did not ask for this, change your password and contact support.",
            link=absolute_url("payments:wallet"),
        )
    locked.replayed = withdrawal.replayed
    return locked


@transaction.atomic
def _client_withdrawal_fail(*, withdrawal: ClientWithdrawal, reason: str) -> ClientWithdrawal:
    locked = _client_withdrawal_lock(withdrawal)
    if locked.status != PayoutStatus.REQUESTED:
        return locked
    owner, currency = locked.user, locked.currency
    locked.reversal_transaction = post_once(
        key=f"client-withdraw:{locked.pk}:reversal",
        fingerprint=fingerprint("client-withdraw-reversal", withdrawal=locked.pk),
        accounts=lambda: [world(currency), user_account(AccountKind.CLIENT_BALANCE, owner, currency)],
        build=lambda accounts, balances: Posting(
            kind=TransactionKind.REVERSAL,
            legs=[debit(accounts[0], locked.amount), credit(accounts[1], locked.amount)],
            memo=f"Withdrawal to card ending {locked.card_last4} refused; back on the balance",
            user_id=owner.pk,
            reverses=locked.request_transaction,
        ),
    )
    locked.status, locked.reason, locked.settled_at = PayoutStatus.FAILED, reason[:300], timezone.now()
    locked.save(update_fields=["reversal_transaction", "status", "reason", "settled_at"])
    return locked
