"""Withdrawals: available earnings -> payouts in flight, then completed (-> world) or failed (back)."""

from django.conf import settings
from django.db import transaction
from django.utils import timezone

from core.links import absolute_url
from core.money import format_money
from notifications.kinds import NotificationKind
from notifications.services import notify
from payments.errors import IdempotencyConflict, PaymentError, PayoutStateError
from payments.ledger.models import AccountKind, TransactionKind
from payments.ledger.posting import Accounts, Balances, Posting, Refs, credit, debit, fingerprint
from payments.models import Payout, PayoutDestination, PayoutStatus
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

NO_DESTINATION = "Add a payout destination first (below, under “Payout destination”); nothing was withdrawn."


@transaction.atomic
def payout_destination_set(*, user: User, account_holder: str, account_label: str) -> PayoutDestination:
    """Record where the user's payouts go (replacing any earlier one); only the label's last four are kept."""
    holder = " ".join((account_holder or "").split())
    label = "".join((account_label or "").split())
    if not holder:
        raise PaymentError("Enter the account holder's name.")
    if len(label) < 4:
        raise PaymentError("Enter the account label (at least 4 characters).")
    destination, _ = PayoutDestination.objects.update_or_create(
        user=user, defaults={"account_holder": holder[:200], "account_last4": label[-4:], "updated_at": timezone.now()}
    )
    return destination


@transaction.atomic
def payout_request(*, user: User, amount: int, currency: str, idempotency_key: str) -> Payout:
    """Available earnings -> payouts in flight, to be completed or failed by staff (or a provider)."""
    require_currency(currency)
    require_key(idempotency_key)
    if amount <= 0:
        raise PaymentError("The amount must be greater than zero.")
    if amount > settings.MAX_PAYOUT_MINOR:
        raise PaymentError(f"You can withdraw at most {format_money(settings.MAX_PAYOUT_MINOR, currency)} at a time.")

    def earlier() -> Payout | None:
        found = Payout.objects.filter(user=user, idempotency_key=idempotency_key).first()
        if found is not None and (found.amount, found.currency) != (amount, currency):
            raise IdempotencyConflict("This withdrawal form was already used for a different amount; nothing changed.")
        if found is not None:
            found.replayed = True
        return found

    def request(accounts: Accounts, balances: Balances) -> Payout:
        available, in_flight = accounts
        if balances[available.pk] < amount:
            raise insufficient("available balance", balances[available.pk], amount, currency)
        destination = PayoutDestination.objects.filter(user=user).first()
        if destination is None:
            raise PaymentError(NO_DESTINATION)
        payout = Payout.objects.create(
            user=user,
            amount=amount,
            currency=currency,
            idempotency_key=idempotency_key,
            destination_label=destination.label,
        )
        payout.request_transaction = post(
            key=f"payout:{payout.pk}:request",
            fingerprint=fingerprint("payout-request", payout=payout.pk, amount=amount, currency=currency),
            posting=Posting(
                kind=TransactionKind.PAYOUT,
                legs=[debit(available, amount), credit(in_flight, amount)],
                memo=f"Withdrawal #{payout.pk} requested",
                user_id=user.pk,
            ),
        )
        payout.save(update_fields=["request_transaction"])
        return payout

    return locked_once(
        replay=earlier,
        accounts=lambda: [
            user_account(AccountKind.AVAILABLE_EARNINGS, user, currency),
            user_account(AccountKind.PAYOUTS_IN_FLIGHT, user, currency),
        ],
        then=request,
    )


def _payout_settle(*, payout: Payout, to_status: str, reason: str, actor: User | None) -> Payout:
    # A person settling a withdrawal must be staff, and not its owner; None is the provider's callback.
    if actor is not None and (not actor.is_staff or actor.pk == payout.user_id):
        raise PayoutStateError("Only staff other than its owner can mark a withdrawal paid or failed.")
    # `of=("self",)`: lock the payout, not the user row (see earnings_mature: that would deadlock).
    locked = Payout.objects.select_for_update(of=("self",)).select_related("user").get(pk=payout.pk)
    if locked.status == to_status:
        return locked
    if locked.status != PayoutStatus.REQUESTED:
        raise PayoutStateError(f"Withdrawal #{locked.pk} is already {locked.get_status_display().lower()}.")
    owner, currency = locked.user, locked.currency
    completed = to_status == PayoutStatus.COMPLETED
    step = "complete" if completed else "fail"

    def accounts() -> Refs:
        in_flight = user_account(AccountKind.PAYOUTS_IN_FLIGHT, owner, currency)
        destination = world(currency) if completed else user_account(AccountKind.AVAILABLE_EARNINGS, owner, currency)
        return [in_flight, destination]

    locked.settle_transaction = post_once(
        key=f"payout:{locked.pk}:{step}",
        fingerprint=fingerprint(f"payout-{step}", payout=locked.pk),
        accounts=accounts,
        build=lambda accounts, balances: Posting(
            kind=TransactionKind.PAYOUT if completed else TransactionKind.REVERSAL,
            legs=[debit(accounts[0], locked.amount), credit(accounts[1], locked.amount)],
            memo=f"Withdrawal #{locked.pk} paid out" if completed else f"Withdrawal #{locked.pk} failed: {reason}",
            user_id=owner.pk,
            reverses=None if completed else locked.request_transaction,
        ),
    )
    locked.status, locked.reason = to_status, reason
    locked.settled_at, locked.settled_by = timezone.now(), actor
    locked.save(update_fields=["settle_transaction", "status", "reason", "settled_at", "settled_by"])
    _payout_notify(locked)
    return locked


@transaction.atomic
def payout_complete(*, payout: Payout, actor: User | None = None) -> Payout:
    """The money reached the user's bank: payouts in flight -> world. Idempotent."""
    return _payout_settle(payout=payout, to_status=PayoutStatus.COMPLETED, reason="", actor=actor)


@transaction.atomic
def payout_fail(*, payout: Payout, reason: str, actor: User | None = None) -> Payout:
    """The bank refused the payout: payouts in flight -> back to available earnings. Idempotent."""
    reason = (reason or "").strip()[:300]
    if not reason:
        raise PaymentError("Say why the withdrawal failed; the user will see the reason.")
    return _payout_settle(payout=payout, to_status=PayoutStatus.FAILED, reason=reason, actor=actor)


def _payout_notify(payout: Payout) -> None:
    """Tell the user how their withdrawal ended (emailed after commit)."""
    amount = format_money(payout.amount, payout.currency)
    if payout.status == PayoutStatus.COMPLETED:
        subject, body = f"Your withdrawal of {amount} was paid", "The money is on its way to your bank."
    else:
        subject = f"Your withdrawal of {amount} failed"
        body = f"Reason: {payout.reason}\nThe money is back in your available earnings."
    notify(
        recipients=[payout.user],
        kind=NotificationKind.PAYOUT,
        subject=subject,
        body=body,
        link=absolute_url("payments:wallet"),
        about=("payout", payout.pk),
    )
