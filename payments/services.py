"""Every way money moves. The only writers of the ledger.

Each service:
- is atomic and works nested inside a caller's transaction (the milestone services lock the
  milestone row first, then call these);
- creates any missing account first, then locks every balance row it touches in one
  SELECT ... FOR UPDATE ordered by account id, so two services never wait on each other in a cycle;
- is idempotent on its key: a replay with the same key and parameters returns the original
  transaction (with `replayed = True`), the same key with other parameters raises
  IdempotencyConflict, and the key is checked again after the locks, so a racing duplicate
  returns the winner's transaction instead of moving money twice;
- checks funds under the lock and raises a domain error before touching anything; the
  database's CHECK on balances is the backstop, not the first line.
"""

import hashlib
import json
import logging
from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from django.conf import settings
from django.core.mail import send_mail
from django.db import IntegrityError, transaction
from django.utils import timezone

from core.money import CURRENCY_EXPONENTS, format_money
from payments.errors import (
    EarningsNotYetAvailable,
    EscrowEmpty,
    IdempotencyConflict,
    InsufficientFunds,
    PaymentError,
    PayoutStateError,
)
from payments.fees import platform_fee_split
from payments.gateway import gateway_get
from payments.models import (
    Account,
    AccountKind,
    Balance,
    EarningsLot,
    Entry,
    EntryDirection,
    LedgerTransaction,
    Payout,
    PayoutStatus,
    TransactionKind,
)

logger = logging.getLogger(__name__)

MAX_KEY_LENGTH = 100


# --- Accounts -------------------------------------------------------------------------------
def account_get_or_create(*, kind: str, currency: str, user: Any = None, milestone: Any = None) -> Account:
    """The account (and its zero balance row) for an owner, created on first use.

    Two racing creators: the loser's insert waits on the unique index, fails, and reads the
    winner's row.
    """
    lookup: dict[str, Any] = {"kind": kind, "currency": currency}
    if kind == AccountKind.ESCROW:
        lookup = {"kind": kind, "milestone": milestone}
    elif user is not None:
        lookup["user"] = user
    account = Account.objects.filter(**lookup).first()
    if account is not None:
        return account
    try:
        with transaction.atomic():
            account = Account.objects.create(kind=kind, currency=currency, user=user, milestone=milestone)
            Balance.objects.create(account=account, currency=currency, may_go_negative=kind == AccountKind.WORLD)
            return account
    except IntegrityError:
        return Account.objects.get(**lookup)


def _world(currency: str) -> Account:
    return account_get_or_create(kind=AccountKind.WORLD, currency=currency)


def _fees(currency: str) -> Account:
    return account_get_or_create(kind=AccountKind.PLATFORM_FEES, currency=currency)


def _user_account(kind: str, user: Any, currency: str) -> Account:
    return account_get_or_create(kind=kind, currency=currency, user=user)


def _escrow(milestone: Any) -> Account:
    account = account_get_or_create(kind=AccountKind.ESCROW, currency=milestone.currency, milestone=milestone)
    if account.currency != milestone.currency:
        raise PaymentError("This milestone's currency does not match its escrow account.")
    return account


# --- Posting --------------------------------------------------------------------------------
@dataclass(frozen=True)
class Leg:
    account: Account
    direction: str
    amount: int


def _credit(account: Account, amount: int) -> Leg:
    return Leg(account=account, direction=EntryDirection.CREDIT, amount=amount)


def _debit(account: Account, amount: int) -> Leg:
    return Leg(account=account, direction=EntryDirection.DEBIT, amount=amount)


def _fingerprint(kind: str, **params: Any) -> str:
    payload = json.dumps({"kind": kind, **params}, sort_keys=True, default=str)
    return hashlib.sha256(payload.encode()).hexdigest()


def _replay(*, key: str, fingerprint: str) -> LedgerTransaction | None:
    """The earlier transaction under this key, if its parameters match; None if there is none."""
    existing = LedgerTransaction.objects.filter(idempotency_key=key).first()
    if existing is None:
        return None
    if existing.fingerprint != fingerprint:
        raise IdempotencyConflict(
            "This request was already made with different details, so nothing was changed. "
            "Reload the page to see the current state."
        )
    existing.replayed = True
    return existing


def _balances_lock(accounts: Iterable[Account]) -> dict[int, int]:
    """Lock the balance rows of these accounts, always in account-id order; return their amounts."""
    ids = sorted({account.pk for account in accounts})
    rows = Balance.objects.select_for_update().filter(account_id__in=ids).order_by("account_id")
    amounts = dict(rows.values_list("account_id", "amount"))
    if len(amounts) != len(ids):
        raise PaymentError("A ledger account is missing its balance; nothing was changed.")
    return amounts


def _post(
    *,
    kind: str,
    key: str,
    fingerprint: str,
    legs: list[Leg],
    memo: str,
    milestone: Any = None,
    user: Any = None,
    reverses: LedgerTransaction | None = None,
    request_key: str | None = None,
    external_ref: str = "",
) -> LedgerTransaction:
    """Write one balanced transaction. Callers hold the balance locks and have checked funds.

    Zero legs are dropped. The database applies each entry to its balance and re-checks
    everything; the checks here catch programming errors early, on every database.
    """
    legs = [leg for leg in legs if leg.amount != 0]
    if len(legs) < 2 or any(leg.amount < 0 for leg in legs):
        raise ValueError(f"A transaction needs two or more positive legs, got {legs!r}.")
    net: dict[str, int] = defaultdict(int)
    for leg in legs:
        net[leg.account.currency] += leg.amount if leg.direction == EntryDirection.CREDIT else -leg.amount
    if any(net.values()):
        raise ValueError(f"Unbalanced transaction {key}: {dict(net)}.")
    try:
        with transaction.atomic():
            posted = LedgerTransaction.objects.create(
                kind=kind,
                idempotency_key=key,
                fingerprint=fingerprint,
                request_key=request_key,
                milestone=milestone,
                contract_id=getattr(milestone, "contract_id", None),
                user=user,
                reverses=reverses,
                external_ref=external_ref,
                memo=memo[:300],
            )
            Entry.objects.bulk_create(
                Entry(
                    transaction=posted,
                    account=leg.account,
                    direction=leg.direction,
                    amount=leg.amount,
                    currency=leg.account.currency,
                )
                for leg in legs
            )
    except IntegrityError:
        # A racing duplicate committed first under the same key: answer as a replay would.
        existing = _replay(key=key, fingerprint=fingerprint)
        if existing is None:
            raise
        return existing
    return posted


def _require_currency(currency: str) -> None:
    if currency not in CURRENCY_EXPONENTS:
        raise PaymentError(f"{currency} is not a supported currency.")


def _require_key(idempotency_key: str) -> None:
    if not idempotency_key or len(idempotency_key) > MAX_KEY_LENGTH:
        raise PaymentError("This form has expired. Reload the page and try again.")


def _title(milestone: Any) -> str:
    title = str(getattr(milestone, "title", "") or f"#{milestone.pk}")
    return f"“{title[:80]}”"


def _check_parties(milestone: Any, *, client: Any = None, freelancer: Any = None) -> None:
    """Money moves only between the milestone's own client and freelancer."""
    contract = milestone.contract
    if client is not None and contract.client_id != client.pk:
        raise PaymentError("Only this contract's client can move its escrow.")
    if freelancer is not None and contract.freelancer_id != freelancer.pk:
        raise PaymentError("Only this contract's freelancer can receive its escrow.")


def _insufficient(what: str, have: int, need: int, currency: str) -> InsufficientFunds:
    return InsufficientFunds(
        f"Your {what} is {format_money(have, currency)}, which does not cover {format_money(need, currency)}. "
        "Nothing was changed."
    )


# --- Deposits -------------------------------------------------------------------------------
@transaction.atomic
def deposit(*, user: Any, amount: int, currency: str, card_number: str, idempotency_key: str) -> LedgerTransaction:
    """A client adds funds by card: charge the gateway, then world -> client balance.

    The caller's idempotency key (the form's one-time token) is also the gateway's, so a replayed
    form returns the first deposit and never charges the card twice; the ledger key is
    `deposit:<charge id>`. A declined or failed charge raises before anything is written.
    """
    _require_currency(currency)
    _require_key(idempotency_key)
    if amount <= 0:
        raise PaymentError("The amount must be greater than zero.")
    if amount > settings.MAX_DEPOSIT_MINOR:
        raise PaymentError(f"You can add at most {format_money(settings.MAX_DEPOSIT_MINOR, currency)} at a time.")
    request_key = f"deposit:{user.pk}:{idempotency_key}"
    fingerprint = _fingerprint("deposit", user=user.pk, amount=amount, currency=currency)
    earlier = LedgerTransaction.objects.filter(request_key=request_key).first()
    if earlier is not None:
        return _replay(key=earlier.idempotency_key, fingerprint=fingerprint) or earlier

    charge = gateway_get().charge(
        amount=amount, currency=currency, card_number=card_number, idempotency_key=request_key
    )
    if charge.amount != amount or charge.currency != currency:
        raise PaymentError("The payment provider charged a different amount; nothing was recorded.")
    key = f"deposit:{charge.charge_id}"
    world, client_balance = _world(currency), _user_account(AccountKind.CLIENT_BALANCE, user, currency)
    _balances_lock([world, client_balance])
    if replay := _replay(key=key, fingerprint=fingerprint):
        return replay
    return _post(
        kind=TransactionKind.DEPOSIT,
        key=key,
        fingerprint=fingerprint,
        legs=[_debit(world, amount), _credit(client_balance, amount)],
        memo=f"Added funds by card ending {charge.card_last4}",
        user=user,
        request_key=request_key,
        external_ref=charge.charge_id,
    )


# --- Escrow ---------------------------------------------------------------------------------
@transaction.atomic
def escrow_fund(
    *, milestone: Any, client: Any, amount: int, currency: str, card_number: str | None = None
) -> LedgerTransaction:
    """Client balance -> the milestone's escrow (or, with `card_number`, a direct card charge).

    Key `fund:<milestone>`. Raises InsufficientFunds when the client balance is too low.
    """
    _require_currency(currency)
    if currency != milestone.currency:
        raise PaymentError(f"This milestone is paid in {milestone.currency}, not {currency}.")
    if amount <= 0:
        raise PaymentError("The amount must be greater than zero.")
    _check_parties(milestone, client=client)
    key = f"fund:{milestone.pk}"
    source_name = "card" if card_number else "balance"
    fingerprint = _fingerprint(
        "fund", milestone=milestone.pk, client=client.pk, amount=amount, currency=currency, source=source_name
    )
    if replay := _replay(key=key, fingerprint=fingerprint):
        return replay
    escrow = _escrow(milestone)
    external_ref = ""
    if card_number:
        charge = gateway_get().charge(
            amount=amount, currency=currency, card_number=card_number, idempotency_key=f"{key}:{client.pk}"
        )
        source, external_ref = _world(currency), charge.charge_id
        memo = f"Escrow for milestone {_title(milestone)}, charged to card ending {charge.card_last4}"
    else:
        source = _user_account(AccountKind.CLIENT_BALANCE, client, currency)
        memo = f"Escrow for milestone {_title(milestone)}"
    balances = _balances_lock([source, escrow])
    if replay := _replay(key=key, fingerprint=fingerprint):
        return replay
    if not card_number and balances[source.pk] < amount:
        raise _insufficient("balance", balances[source.pk], amount, currency)
    return _post(
        kind=TransactionKind.FUND,
        key=key,
        fingerprint=fingerprint,
        legs=[_debit(source, amount), _credit(escrow, amount)],
        memo=memo,
        milestone=milestone,
        user=client,
        external_ref=external_ref,
    )


def _lot_create(
    *, freelancer: Any, source: LedgerTransaction, milestone: Any, amount: int, currency: str
) -> EarningsLot | None:
    if amount <= 0 or source.replayed:
        return None
    hold = timedelta(days=settings.EARNINGS_HOLD_DAYS)
    return EarningsLot.objects.create(
        freelancer=freelancer,
        source_transaction=source,
        milestone=milestone,
        amount=amount,
        currency=currency,
        available_at=source.created_at + hold,
    )


@transaction.atomic
def escrow_release(*, milestone: Any, client: Any, freelancer: Any, bonus: int = 0) -> LedgerTransaction:
    """The whole escrow -> the freelancer's pending earnings less the fee, the fee -> fee revenue.

    Key `release:<milestone>`. A bonus moves in a second transaction (key `bonus:<milestone>`,
    same database transaction) from the client balance to pending earnings; the platform fee
    applies to the bonus too, computed on it alone (as Upwork does). Each transaction creates an
    earnings lot that becomes available after EARNINGS_HOLD_DAYS. Returns the release.
    """
    if bonus < 0:
        raise PaymentError("A bonus cannot be negative.")
    _check_parties(milestone, client=client, freelancer=freelancer)
    key = f"release:{milestone.pk}"
    fingerprint = _fingerprint(
        "release", milestone=milestone.pk, client=client.pk, freelancer=freelancer.pk, bonus=bonus
    )
    if replay := _replay(key=key, fingerprint=fingerprint):
        return replay
    currency = milestone.currency
    escrow = _escrow(milestone)
    pending = _user_account(AccountKind.PENDING_EARNINGS, freelancer, currency)
    fees = _fees(currency)
    client_balance = _user_account(AccountKind.CLIENT_BALANCE, client, currency) if bonus else None
    balances = _balances_lock([escrow, pending, fees, *([client_balance] if client_balance else [])])
    if replay := _replay(key=key, fingerprint=fingerprint):
        return replay
    held = balances[escrow.pk]
    if held <= 0:
        raise EscrowEmpty("Nothing is held in escrow for this milestone; it was already released or refunded.")
    if client_balance is not None and balances[client_balance.pk] < bonus:
        raise _insufficient("balance", balances[client_balance.pk], bonus, currency)

    split = platform_fee_split(amount=held)
    release = _post(
        kind=TransactionKind.RELEASE,
        key=key,
        fingerprint=fingerprint,
        legs=[_debit(escrow, held), _credit(pending, split.share), _credit(fees, split.fee)],
        memo=f"Payment for milestone {_title(milestone)}: {format_money(held, currency)} "
        f"less platform fee {format_money(split.fee, currency)}",
        milestone=milestone,
        user=freelancer,
    )
    _lot_create(freelancer=freelancer, source=release, milestone=milestone, amount=split.share, currency=currency)
    if client_balance is not None:
        bonus_split = platform_fee_split(amount=bonus)
        bonus_txn = _post(
            kind=TransactionKind.BONUS,
            key=f"bonus:{milestone.pk}",
            fingerprint=fingerprint,
            legs=[
                _debit(client_balance, bonus),
                _credit(pending, bonus_split.share),
                _credit(fees, bonus_split.fee),
            ],
            memo=f"Bonus for milestone {_title(milestone)}: {format_money(bonus, currency)} "
            f"less platform fee {format_money(bonus_split.fee, currency)}",
            milestone=milestone,
            user=freelancer,
        )
        _lot_create(
            freelancer=freelancer, source=bonus_txn, milestone=milestone, amount=bonus_split.share, currency=currency
        )
    return release


@transaction.atomic
def escrow_refund(*, milestone: Any, client: Any, amount: int | None = None) -> LedgerTransaction:
    """Escrow -> the client balance: all of it (amount None) or part. Key `refund:<milestone>`."""
    _check_parties(milestone, client=client)
    if amount is not None and amount <= 0:
        raise PaymentError("The refund must be greater than zero.")
    key = f"refund:{milestone.pk}"
    fingerprint = _fingerprint("refund", milestone=milestone.pk, client=client.pk, amount=amount)
    if replay := _replay(key=key, fingerprint=fingerprint):
        return replay
    currency = milestone.currency
    escrow = _escrow(milestone)
    client_balance = _user_account(AccountKind.CLIENT_BALANCE, client, currency)
    balances = _balances_lock([escrow, client_balance])
    if replay := _replay(key=key, fingerprint=fingerprint):
        return replay
    held = balances[escrow.pk]
    if held <= 0:
        raise EscrowEmpty("Nothing is held in escrow for this milestone; it was already released or refunded.")
    refund = held if amount is None else amount
    if refund > held:
        raise EscrowEmpty(
            f"Only {format_money(held, currency)} is held in escrow, so {format_money(refund, currency)} "
            "cannot be refunded."
        )
    return _post(
        kind=TransactionKind.REFUND,
        key=key,
        fingerprint=fingerprint,
        legs=[_debit(escrow, refund), _credit(client_balance, refund)],
        memo=f"Refund from milestone {_title(milestone)}",
        milestone=milestone,
        user=client,
    )


@transaction.atomic
def escrow_split(*, milestone: Any, client: Any, freelancer: Any, freelancer_amount: int) -> LedgerTransaction:
    """One transaction: `freelancer_amount` to the freelancer (less the fee), the rest to the client.

    Key `split:<milestone>`. `freelancer_amount` may be anything from 0 to the whole escrow.
    """
    _check_parties(milestone, client=client, freelancer=freelancer)
    if freelancer_amount < 0:
        raise PaymentError("The freelancer's part cannot be negative.")
    key = f"split:{milestone.pk}"
    fingerprint = _fingerprint(
        "split", milestone=milestone.pk, client=client.pk, freelancer=freelancer.pk, amount=freelancer_amount
    )
    if replay := _replay(key=key, fingerprint=fingerprint):
        return replay
    currency = milestone.currency
    escrow = _escrow(milestone)
    pending = _user_account(AccountKind.PENDING_EARNINGS, freelancer, currency)
    fees = _fees(currency)
    client_balance = _user_account(AccountKind.CLIENT_BALANCE, client, currency)
    balances = _balances_lock([escrow, pending, fees, client_balance])
    if replay := _replay(key=key, fingerprint=fingerprint):
        return replay
    held = balances[escrow.pk]
    if held <= 0:
        raise EscrowEmpty("Nothing is held in escrow for this milestone; it was already released or refunded.")
    if freelancer_amount > held:
        raise EscrowEmpty(
            f"Only {format_money(held, currency)} is held in escrow, so the freelancer cannot receive "
            f"{format_money(freelancer_amount, currency)}."
        )
    split = platform_fee_split(amount=freelancer_amount)
    back = held - freelancer_amount
    posted = _post(
        kind=TransactionKind.SPLIT,
        key=key,
        fingerprint=fingerprint,
        legs=[
            _debit(escrow, held),
            _credit(pending, split.share),
            _credit(fees, split.fee),
            _credit(client_balance, back),
        ],
        memo=f"Split of milestone {_title(milestone)}: {format_money(freelancer_amount, currency)} to the "
        f"freelancer (less fee {format_money(split.fee, currency)}), {format_money(back, currency)} to the client",
        milestone=milestone,
        user=freelancer,
    )
    _lot_create(freelancer=freelancer, source=posted, milestone=milestone, amount=split.share, currency=currency)
    return posted


@transaction.atomic
def escrow_change(*, milestone: Any, client: Any, new_amount: int, change_number: int) -> LedgerTransaction | None:
    """A change order on a funded milestone: move the difference between escrow and `new_amount`.

    Increase: client balance -> escrow; decrease: escrow -> client balance. Key
    `change:<milestone>:<n>`. Returns None when the escrow already holds `new_amount`.
    """
    _check_parties(milestone, client=client)
    if new_amount <= 0:
        raise PaymentError("The new amount must be greater than zero.")
    key = f"change:{milestone.pk}:{change_number}"
    fingerprint = _fingerprint("change", milestone=milestone.pk, client=client.pk, new_amount=new_amount)
    if replay := _replay(key=key, fingerprint=fingerprint):
        return replay
    currency = milestone.currency
    escrow = _escrow(milestone)
    client_balance = _user_account(AccountKind.CLIENT_BALANCE, client, currency)
    balances = _balances_lock([escrow, client_balance])
    if replay := _replay(key=key, fingerprint=fingerprint):
        return replay
    held = balances[escrow.pk]
    if held <= 0:
        raise EscrowEmpty("This milestone holds nothing in escrow, so its amount cannot change this way.")
    difference = new_amount - held
    if difference == 0:
        return None
    if difference > 0 and balances[client_balance.pk] < difference:
        raise _insufficient("balance", balances[client_balance.pk], difference, currency)
    legs = (
        [_debit(client_balance, difference), _credit(escrow, difference)]
        if difference > 0
        else [_debit(escrow, -difference), _credit(client_balance, -difference)]
    )
    return _post(
        kind=TransactionKind.CHANGE,
        key=key,
        fingerprint=fingerprint,
        legs=legs,
        memo=f"Change order {change_number} on milestone {_title(milestone)}: escrow "
        f"{format_money(held, currency)} → {format_money(new_amount, currency)}",
        milestone=milestone,
        user=client,
    )


# --- Earnings -------------------------------------------------------------------------------
@transaction.atomic
def earnings_mature(*, lot: EarningsLot, now: datetime | None = None) -> LedgerTransaction:
    """Pending -> available for one lot once its hold has passed. Key `mature:<lot>`."""
    now = now or timezone.now()
    # `of=("self",)`: the freelancer's user row is read, not locked. Locking it would deadlock with
    # any release to them, which takes FOR KEY SHARE on it at commit while holding their balances.
    locked = EarningsLot.objects.select_for_update(of=("self",)).select_related("freelancer").get(pk=lot.pk)
    if locked.matured_transaction_id is not None:
        matured = LedgerTransaction.objects.get(pk=locked.matured_transaction_id)
        matured.replayed = True
        return matured
    if locked.available_at > now:
        raise EarningsNotYetAvailable(
            f"These earnings become available on {timezone.localtime(locked.available_at):%Y-%m-%d %H:%M}."
        )
    key = f"mature:{locked.pk}"
    fingerprint = _fingerprint("mature", lot=locked.pk, amount=locked.amount)
    pending = _user_account(AccountKind.PENDING_EARNINGS, locked.freelancer, locked.currency)
    available = _user_account(AccountKind.AVAILABLE_EARNINGS, locked.freelancer, locked.currency)
    _balances_lock([pending, available])
    matured = _post(
        kind=TransactionKind.MATURE,
        key=key,
        fingerprint=fingerprint,
        legs=[_debit(pending, locked.amount), _credit(available, locked.amount)],
        memo=f"Earnings available after the {settings.EARNINGS_HOLD_DAYS}-day hold",
        milestone=locked.milestone,
        user=locked.freelancer,
    )
    locked.matured_transaction, locked.matured_at = matured, now
    locked.save(update_fields=["matured_transaction", "matured_at"])
    lot.matured_transaction, lot.matured_at = matured, now
    return matured


def earnings_mature_due(*, now: datetime | None = None, limit: int = 1000) -> int:
    """Sweep: mature every due lot, each in its own transaction; returns how many matured.

    Not atomic as a whole on purpose: one bad lot must not hold back the others, and overlapping
    sweeps skip the lots another one is working on (`skip_locked`).
    """
    now = now or timezone.now()
    due = EarningsLot.objects.filter(matured_transaction__isnull=True, available_at__lte=now)
    matured = 0
    for lot_id in list(due.order_by("available_at", "pk").values_list("pk", flat=True)[:limit]):
        try:
            with transaction.atomic():
                lot = (
                    EarningsLot.objects.select_for_update(skip_locked=True)
                    .filter(pk=lot_id, matured_transaction__isnull=True)
                    .first()
                )
                if lot is None:
                    continue
                earnings_mature(lot=lot, now=now)
                matured += 1
        except PaymentError:
            logger.exception("Earnings lot %s could not mature", lot_id)
    return matured


# --- Payouts --------------------------------------------------------------------------------
@transaction.atomic
def payout_request(*, user: Any, amount: int, currency: str, idempotency_key: str) -> Payout:
    """Available earnings -> payouts in flight, to be completed or failed by staff (or a provider)."""
    _require_currency(currency)
    _require_key(idempotency_key)
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

    if (found := earlier()) is not None:
        return found
    available = _user_account(AccountKind.AVAILABLE_EARNINGS, user, currency)
    in_flight = _user_account(AccountKind.PAYOUTS_IN_FLIGHT, user, currency)
    balances = _balances_lock([available, in_flight])
    if (found := earlier()) is not None:
        return found
    if balances[available.pk] < amount:
        raise _insufficient("available balance", balances[available.pk], amount, currency)
    payout = Payout.objects.create(user=user, amount=amount, currency=currency, idempotency_key=idempotency_key)
    payout.request_transaction = _post(
        kind=TransactionKind.PAYOUT,
        key=f"payout:{payout.pk}:request",
        fingerprint=_fingerprint("payout-request", payout=payout.pk, amount=amount, currency=currency),
        legs=[_debit(available, amount), _credit(in_flight, amount)],
        memo=f"Withdrawal #{payout.pk} requested",
        user=user,
    )
    payout.save(update_fields=["request_transaction"])
    return payout


def _payout_settle(*, payout: Payout, to_status: str, reason: str, actor: Any) -> Payout:
    # A person settling a withdrawal must be staff, and not its owner; None is the provider's callback.
    if actor is not None and (not getattr(actor, "is_staff", False) or actor.pk == payout.user_id):
        raise PayoutStateError("Only staff other than its owner can mark a withdrawal paid or failed.")
    # `of=("self",)`: lock the payout, not the user row (see earnings_mature: that would deadlock).
    locked = Payout.objects.select_for_update(of=("self",)).select_related("user").get(pk=payout.pk)
    if locked.status == to_status:
        return locked
    if locked.status != PayoutStatus.REQUESTED:
        raise PayoutStateError(f"Withdrawal #{locked.pk} is already {locked.get_status_display().lower()}.")
    in_flight = _user_account(AccountKind.PAYOUTS_IN_FLIGHT, locked.user, locked.currency)
    if to_status == PayoutStatus.COMPLETED:
        destination = _world(locked.currency)
        kind, step, memo = TransactionKind.PAYOUT, "complete", f"Withdrawal #{locked.pk} paid out"
    else:
        destination = _user_account(AccountKind.AVAILABLE_EARNINGS, locked.user, locked.currency)
        kind, step, memo = TransactionKind.REVERSAL, "fail", f"Withdrawal #{locked.pk} failed: {reason}"
    _balances_lock([in_flight, destination])
    locked.settle_transaction = _post(
        kind=kind,
        key=f"payout:{locked.pk}:{step}",
        fingerprint=_fingerprint(f"payout-{step}", payout=locked.pk),
        legs=[_debit(in_flight, locked.amount), _credit(destination, locked.amount)],
        memo=memo,
        user=locked.user,
        reverses=locked.request_transaction if step == "fail" else None,
    )
    locked.status, locked.reason = to_status, reason
    locked.settled_at, locked.settled_by = timezone.now(), actor
    locked.save(update_fields=["settle_transaction", "status", "reason", "settled_at", "settled_by"])
    transaction.on_commit(lambda: _payout_notify(payout_id=locked.pk))
    return locked


@transaction.atomic
def payout_complete(*, payout: Payout, actor: Any = None) -> Payout:
    """The money reached the user's bank: payouts in flight -> world. Idempotent."""
    return _payout_settle(payout=payout, to_status=PayoutStatus.COMPLETED, reason="", actor=actor)


@transaction.atomic
def payout_fail(*, payout: Payout, reason: str, actor: Any = None) -> Payout:
    """The bank refused the payout: payouts in flight -> back to available earnings. Idempotent."""
    reason = (reason or "").strip()[:300]
    if not reason:
        raise PaymentError("Say why the withdrawal failed; the user will see the reason.")
    return _payout_settle(payout=payout, to_status=PayoutStatus.FAILED, reason=reason, actor=actor)


def _payout_notify(*, payout_id: int) -> None:
    """After commit: tell the user how their withdrawal ended."""
    payout = Payout.objects.select_related("user").get(pk=payout_id)
    amount = format_money(payout.amount, payout.currency)
    if payout.status == PayoutStatus.COMPLETED:
        subject, body = f"Your withdrawal of {amount} was paid", "The money is on its way to your bank."
    else:
        subject = f"Your withdrawal of {amount} failed"
        body = f"Reason: {payout.reason}\nThe money is back in your available earnings."
    send_mail(
        subject=f"[Milestone] {subject}",
        message=f"{body}\n\nSee your wallet: {settings.SITE_URL}/wallet/",
        from_email=None,
        recipient_list=[payout.user.email],
        fail_silently=True,
    )
