"""Writing the ledger: accounts on first use, balance locks, replays, and the one balanced post.

Every money movement has the same shape, written once in `ledger_post`:

1. replay: a transaction under the same key already exists -> return it (`replayed = True`), or
   raise LedgerIdempotencyConflict if it was made with other parameters;
2. prepare: create any missing account (and do whatever must happen before the locks, such as
   charging a card), then lock every balance row it touches in ONE `SELECT ... FOR UPDATE`
   ordered by account id, so two movements never wait on each other in a cycle;
3. replay again, under the locks: a racing duplicate that committed meanwhile is returned instead
   of moving the money twice;
4. build the legs from the locked balances (refusing, before anything is written, what the
   balances do not cover) and post them as one balanced transaction, each entry linked into its
   account's HMAC chain (`payments.ledger.chain`) while the locks serialise the account.

The database's triggers and CHECKs are the backstop, not the first line.
"""

import hashlib
import json
from collections import defaultdict
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import TypeVar, overload

from django.db import IntegrityError, transaction
from django.db.models import OuterRef, Subquery

from payments.ledger.chain import ChainLink, chain_hmac, chain_key
from payments.ledger.errors import LedgerError, LedgerIdempotencyConflict
from payments.ledger.models import Account, AccountKind, Balance, Entry, EntryDirection, LedgerTransaction

T = TypeVar("T")

IDEMPOTENCY_CONFLICT = (
    "This request was already made with different details, so nothing was changed. "
    "Reload the page to see the current state."
)


# --- Accounts -------------------------------------------------------------------------------
def account_get_or_create(
    *, kind: str, currency: str, user_id: int | None = None, milestone_id: int | None = None
) -> Account:
    """The account (and its zero balance row) for an owner, created on first use.

    Two racing creators: the loser's insert waits on the unique index, fails, and reads the
    winner's row.
    """
    lookup: dict[str, object] = {"kind": kind, "currency": currency}
    if kind == AccountKind.ESCROW:
        lookup = {"kind": kind, "milestone_id": milestone_id}
    elif user_id is not None:
        lookup["user_id"] = user_id
    account = Account.objects.filter(**lookup).first()
    if account is not None:
        return account
    try:
        with transaction.atomic():
            account = Account.objects.create(kind=kind, currency=currency, user_id=user_id, milestone_id=milestone_id)
            Balance.objects.create(account=account, currency=currency, may_go_negative=kind == AccountKind.WORLD)
            return account
    except IntegrityError:
        return Account.objects.get(**lookup)


# --- Legs -----------------------------------------------------------------------------------
@dataclass(frozen=True)
class Leg:
    account: Account
    direction: str
    amount: int


def credit(account: Account, amount: int) -> Leg:
    return Leg(account=account, direction=EntryDirection.CREDIT, amount=amount)


def debit(account: Account, amount: int) -> Leg:
    return Leg(account=account, direction=EntryDirection.DEBIT, amount=amount)


# --- Replays --------------------------------------------------------------------------------
def fingerprint(kind: str, **params: object) -> str:
    """SHA-256 of a movement's parameters: a replay under the same key must bring the same ones."""
    payload = json.dumps({"kind": kind, **params}, sort_keys=True, default=str)
    return hashlib.sha256(payload.encode()).hexdigest()


def _replayed(existing: LedgerTransaction | None, fingerprint: str) -> LedgerTransaction | None:
    if existing is None:
        return None
    if existing.fingerprint != fingerprint:
        raise LedgerIdempotencyConflict(IDEMPOTENCY_CONFLICT)
    existing.replayed = True
    return existing


def replay(*, key: str, fingerprint: str) -> LedgerTransaction | None:
    """The earlier transaction under this key, if its parameters match; None if there is none."""
    return _replayed(LedgerTransaction.objects.filter(idempotency_key=key).first(), fingerprint)


def replay_request(*, request_key: str, fingerprint: str) -> LedgerTransaction | None:
    """The earlier transaction made for this caller's request key (a one-time form token)."""
    return _replayed(LedgerTransaction.objects.filter(request_key=request_key).first(), fingerprint)


# --- Locks ----------------------------------------------------------------------------------
def balances_lock(accounts: Iterable[Account]) -> dict[int, int]:
    """Lock the balance rows of these accounts, always in account-id order; return their amounts."""
    ids = sorted({account.pk for account in accounts})
    rows = Balance.objects.select_for_update().filter(account_id__in=ids).order_by("account_id")
    amounts = dict(rows.values_list("account_id", "amount"))
    if len(amounts) != len(ids):
        raise LedgerError("A ledger account is missing its balance; nothing was changed.")
    return amounts


# What a movement's `accounts` step returns, handed back to its `build` (or `then`) step.
Accounts = Sequence[Account]
# The locked balances, by account id.
Balances = Mapping[int, int]


def locked_once(
    *, replay: Callable[[], T | None], accounts: Callable[[], Accounts], then: Callable[[Accounts, Balances], T]
) -> T:
    """Replay -> lock -> replay -> act: the shape of every movement, whatever it replays.

    `replay` returns the earlier result (or None); `accounts` prepares (creates accounts, charges
    a card, ...) and returns the accounts whose balances to lock; `then` acts under the locks,
    given those accounts and their balances.
    """
    if (earlier := replay()) is not None:
        return earlier
    prepared = accounts()
    balances = balances_lock(prepared)
    if (earlier := replay()) is not None:
        return earlier
    return then(prepared, balances)


# --- Posting --------------------------------------------------------------------------------
@dataclass(frozen=True)
class Posting:
    """What to write once the balances are locked and checked."""

    kind: str
    legs: list[Leg]
    memo: str
    milestone_id: int | None = None
    contract_id: int | None = None
    user_id: int | None = None
    reverses: LedgerTransaction | None = None
    request_key: str | None = None
    external_ref: str = ""


# Runs after a fresh post, under the same locks: (the posted transaction, the accounts, their balances).
After = Callable[[LedgerTransaction, Accounts, Balances], None]


@overload
def ledger_post(
    *,
    key: str,
    fingerprint: str,
    accounts: Callable[[], Accounts],
    build: Callable[[Accounts, Balances], Posting],
    after: After | None = None,
) -> LedgerTransaction: ...


@overload
def ledger_post(
    *,
    key: str,
    fingerprint: str,
    accounts: Callable[[], Accounts],
    build: Callable[[Accounts, Balances], Posting | None],
    after: After | None = None,
) -> LedgerTransaction | None: ...


def ledger_post(
    *,
    key: str,
    fingerprint: str,
    accounts: Callable[[], Accounts],
    build: Callable[[Accounts, Balances], Posting | None],
    after: After | None = None,
) -> LedgerTransaction | None:
    """Post one movement idempotently under `key` (see the module docstring for the shape).

    `accounts` returns the accounts to lock; `build` receives them with their locked balances (by
    account id) and returns what to post, or None when there is nothing to move (then nothing is
    written and None is returned). `after` runs once the transaction is freshly posted (never for
    a replay), still under the locks: for what must be written with it, such as an earnings lot.
    """

    def write(prepared: Accounts, balances: Balances) -> LedgerTransaction | None:
        posting = build(prepared, balances)
        if posting is None:
            return None
        posted = post(key=key, fingerprint=fingerprint, posting=posting)
        if after is not None and not posted.replayed:
            after(posted, prepared, balances)
        return posted

    return locked_once(replay=lambda: replay(key=key, fingerprint=fingerprint), accounts=accounts, then=write)


def post(*, key: str, fingerprint: str, posting: Posting) -> LedgerTransaction:
    """Write one balanced transaction. Callers hold the balance locks and have checked funds.

    Zero legs are dropped. The database applies each entry to its balance and re-checks
    everything; the checks here catch programming errors early, on every database.
    """
    legs = [leg for leg in posting.legs if leg.amount != 0]
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
                kind=posting.kind,
                idempotency_key=key,
                fingerprint=fingerprint,
                request_key=posting.request_key,
                milestone_id=posting.milestone_id,
                contract_id=posting.contract_id,
                user_id=posting.user_id,
                reverses=posting.reverses,
                external_ref=posting.external_ref,
                memo=posting.memo[:300],
            )
            Entry.objects.bulk_create(_chained_entries(posted, legs))
    except IntegrityError:
        # A racing duplicate committed first under the same key: answer as a replay would.
        existing = replay(key=key, fingerprint=fingerprint)
        if existing is None:
            raise
        return existing
    return posted


def chain_heads(accounts: Iterable[Account]) -> dict[int, str]:
    """The HMAC of each account's latest entry ("" before its first), read under its balance lock.

    The callers already hold these locks, so taking them again waits for nothing; taking them
    here keeps each chain linear even for code that skipped them. The heads are read in a second
    statement: under READ COMMITTED, one that waited for a lock sees the entries committed meanwhile.
    """
    ids = list(balances_lock(accounts))
    latest = Entry.objects.filter(account_id=OuterRef("account_id")).order_by("-pk").values("chain_hmac")[:1]
    rows = Balance.objects.filter(account_id__in=ids).annotate(head=Subquery(latest)).values_list("account_id", "head")
    return {account_id: head or "" for account_id, head in rows}


def _chained_entries(posted: LedgerTransaction, legs: Sequence[Leg]) -> list[Entry]:
    key = chain_key()
    heads = chain_heads(leg.account for leg in legs)
    entries = []
    for leg in legs:
        account = leg.account
        link = ChainLink(
            transaction_id=posted.pk,
            kind=posted.kind,
            idempotency_key=posted.idempotency_key,
            fingerprint=posted.fingerprint,
            request_key=posted.request_key,
            milestone_id=posted.milestone_id,
            contract_id=posted.contract_id,
            user_id=posted.user_id,
            reverses_id=posted.reverses_id,
            external_ref=posted.external_ref,
            memo=posted.memo,
            created_at=posted.created_at,
            account_id=account.pk,
            account_kind=account.kind,
            account_currency=account.currency,
            account_user_id=account.user_id,
            account_milestone_id=account.milestone_id,
            direction=leg.direction,
            amount=leg.amount,
            currency=account.currency,
        )
        # Two legs on one account in one transaction chain one after the other, in insert order.
        heads[account.pk] = chain_hmac(key=key, previous=heads.get(account.pk, ""), link=link)
        entries.append(
            Entry(
                transaction=posted,
                account=account,
                direction=leg.direction,
                amount=leg.amount,
                currency=account.currency,
                chain_hmac=heads[account.pk],
            )
        )
    return entries
