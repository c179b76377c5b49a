"""Writing the ledger: accounts on first use, balance locks, replays, and the one balanced post.

Every money movement has the same shape, written once in `ledger_post`:

1. prepare: name the accounts it touches (`AccountRef`s; and do whatever must happen before the
   locks, such as charging a card);
2. lock: create any missing account, then lock every balance row it touches in ONE
   `SELECT ... FOR UPDATE` ordered by account id, so two movements never wait on each other in a
   cycle;
3. replay, under the locks: a transaction under the same key already exists (a replay, or a racing
   duplicate that committed meanwhile) -> return it (`replayed = True`), or raise
   LedgerIdempotencyConflict if it was made with other parameters;
4. build the legs from the locked balances (refusing, before anything is written, what the
   balances do not cover) and post them as one balanced transaction, each entry linked into its
   account's HMAC chain (`payments.ledger.chain`) while the locks serialise the account.

On PostgreSQL steps 2-3 are one round trip (`payments_post_lock`, migration 0004) and step 4 one
more (`payments_post_insert`); elsewhere (SQLite) the ORM does the same in more statements.
The database's triggers and CHECKs are the backstop, not the first line.
"""

import hashlib
import json
from collections import defaultdict
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import TypeVar, overload

from django.db import IntegrityError, connection, transaction
from django.db.models import OuterRef, Subquery
from django.utils import timezone

from payments.ledger.chain import ChainLink, chain_hmac, chain_key
from payments.ledger.errors import LedgerError, LedgerIdempotencyConflict
from payments.ledger.models import Account, AccountKind, Balance, Entry, EntryDirection, LedgerTransaction

T = TypeVar("T")

IDEMPOTENCY_CONFLICT = (
    "This request was already made with different details, so nothing was changed. "
    "Reload the page to see the current state."
)


# --- Accounts -------------------------------------------------------------------------------
@dataclass(frozen=True)
class AccountRef:
    """An account by its owner, found (or created on first use) when the balances are locked."""

    kind: str
    currency: str
    user_id: int | None = None
    milestone_id: int | None = None


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


def _ref_of(account: Account) -> AccountRef:
    return AccountRef(
        kind=account.kind, currency=account.currency, user_id=account.user_id, milestone_id=account.milestone_id
    )


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


@dataclass(frozen=True)
class Locked:
    """What the locks gave: the accounts (in the order asked for), their balances and, under a key,
    whether a transaction already exists (`earlier_id`) or the id the new one will have."""

    accounts: list[Account]
    balances: dict[int, int]
    # PostgreSQL only (None elsewhere): each account's chain head, read under its lock.
    heads: dict[int, str] | None = None
    earlier_id: int | None = None
    earlier_fingerprint: str = ""
    transaction_id: int | None = None
    earlier: LedgerTransaction | None = field(default=None, compare=False)

    def new_id_for(self, legs: Sequence[Leg]) -> int | None:
        """The reserved transaction id, if these locks (and chain heads) cover every leg's account."""
        if self.heads is None or any(leg.account.pk not in self.heads for leg in legs):
            return None
        return self.transaction_id

    def replayed(self, fingerprint: str) -> LedgerTransaction | None:
        """The transaction already under the key, if its parameters match (read only for a replay)."""
        if self.earlier is not None:
            return _replayed(self.earlier, fingerprint)
        if self.earlier_id is None:
            return None
        if self.earlier_fingerprint != fingerprint:
            raise LedgerIdempotencyConflict(IDEMPOTENCY_CONFLICT)
        return _replayed(LedgerTransaction.objects.get(pk=self.earlier_id), fingerprint)


def _uses_functions() -> bool:
    return connection.vendor == "postgresql"


def ledger_lock(*, refs: Sequence[AccountRef], key: str | None = None) -> Locked:
    """Find or create the accounts, lock their balances in id order and look for a transaction under `key`."""
    if not _uses_functions():
        accounts = [
            account_get_or_create(
                kind=ref.kind, currency=ref.currency, user_id=ref.user_id, milestone_id=ref.milestone_id
            )
            for ref in refs
        ]
        balances = balances_lock(accounts)
        earlier = LedgerTransaction.objects.filter(idempotency_key=key).first() if key else None
        locked = Locked(accounts=accounts, balances=balances, earlier=earlier)
    else:
        with connection.cursor() as cursor:
            cursor.execute(
                "SELECT * FROM payments_post_lock(%s::text[], %s::text[], %s::bigint[], %s::bigint[], %s::text)",
                [
                    [ref.kind for ref in refs],
                    [ref.currency for ref in refs],
                    [ref.user_id for ref in refs],
                    [ref.milestone_id for ref in refs],
                    key,
                ],
            )
            ids, currencies, created, amounts, heads, earlier_id, earlier_fingerprint, new_id = cursor.fetchone()
        accounts = []
        for ref, pk, currency, created_at in zip(refs, ids, currencies, created, strict=True):
            account = Account(
                id=pk,
                kind=ref.kind,
                currency=currency,
                user_id=ref.user_id,
                milestone_id=ref.milestone_id,
                created_at=created_at,
            )
            account._state.adding, account._state.db = False, connection.alias
            accounts.append(account)
        locked = Locked(
            accounts=accounts,
            balances=dict(zip(ids, amounts, strict=True)),
            heads=dict(zip(ids, heads, strict=True)),
            earlier_id=earlier_id,
            earlier_fingerprint=earlier_fingerprint or "",
            transaction_id=new_id,
        )
    for ref, account in zip(refs, locked.accounts, strict=True):
        # An escrow is found by its milestone alone: its currency must still be the milestone's.
        if account.currency != ref.currency:
            raise LedgerError(f"The {ref.kind} account is kept in {account.currency}, not {ref.currency}.")
    return locked


# What a movement's `accounts` step returns: the accounts to lock, by owner.
Refs = Sequence[AccountRef]
# The locked accounts, in the order of the refs, handed to its `build` (or `then`) step.
Accounts = Sequence[Account]
# The locked balances, by account id.
Balances = Mapping[int, int]


def locked_once(
    *, replay: Callable[[], T | None], accounts: Callable[[], Refs], then: Callable[[Accounts, Balances], T]
) -> T:
    """Replay -> lock -> replay -> act: the shape of a movement whose replay is not a ledger key.

    `replay` returns the earlier result (or None); `accounts` prepares (charges a card, ...) and
    returns the accounts whose balances to lock; `then` acts under the locks, given those accounts
    and their balances.
    """
    if (earlier := replay()) is not None:
        return earlier
    locked = ledger_lock(refs=accounts())
    if (earlier := replay()) is not None:
        return earlier
    return then(locked.accounts, locked.balances)


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
    accounts: Callable[[], Refs],
    build: Callable[[Accounts, Balances], Posting],
    after: After | None = None,
) -> LedgerTransaction: ...


@overload
def ledger_post(
    *,
    key: str,
    fingerprint: str,
    accounts: Callable[[], Refs],
    build: Callable[[Accounts, Balances], Posting | None],
    after: After | None = None,
) -> LedgerTransaction | None: ...


def ledger_post(
    *,
    key: str,
    fingerprint: str,
    accounts: Callable[[], Refs],
    build: Callable[[Accounts, Balances], Posting | None],
    after: After | None = None,
) -> LedgerTransaction | None:
    """Post one movement idempotently under `key` (see the module docstring for the shape).

    `accounts` returns the accounts to lock; `build` receives them with their locked balances (by
    account id) and returns what to post, or None when there is nothing to move (then nothing is
    written and None is returned). `after` runs once the transaction is freshly posted (never for
    a replay), still under the locks: for what must be written with it, such as an earnings lot.
    A movement that must not prepare twice (charge a card) checks `replay` itself first.
    """
    locked = ledger_lock(refs=accounts(), key=key)
    if (earlier := locked.replayed(fingerprint)) is not None:
        return earlier
    posting = build(locked.accounts, locked.balances)
    if posting is None:
        return None
    posted = post(key=key, fingerprint=fingerprint, posting=posting, locked=locked)
    if after is not None and not posted.replayed:
        after(posted, locked.accounts, locked.balances)
    return posted


def post(*, key: str, fingerprint: str, posting: Posting, locked: Locked | None = None) -> LedgerTransaction:
    """Write one balanced transaction. Callers hold the balance locks and have checked funds.

    `locked` is what `ledger_lock` answered for these accounts under this key, when nothing was
    posted since; without it the locks are taken (again) here. Zero legs are dropped. The database
    applies each entry to its balance and re-checks everything; the checks here catch programming
    errors early, on every database.
    """
    legs = [leg for leg in posting.legs if leg.amount != 0]
    if len(legs) < 2 or any(leg.amount < 0 for leg in legs):
        raise ValueError(f"A transaction needs two or more positive legs, got {legs!r}.")
    net: dict[str, int] = defaultdict(int)
    for leg in legs:
        net[leg.account.currency] += leg.amount if leg.direction == EntryDirection.CREDIT else -leg.amount
    if any(net.values()):
        raise ValueError(f"Unbalanced transaction {key}: {dict(net)}.")
    posted = LedgerTransaction(
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
    if _uses_functions():
        return _post_in_database(posted=posted, legs=legs, locked=locked)
    try:
        with transaction.atomic():
            posted.save(force_insert=True)
            Entry.objects.bulk_create(_chained_entries(posted, legs, chain_heads(leg.account for leg in legs)))
    except IntegrityError:
        # A racing duplicate committed first under the same key: answer as a replay would.
        existing = replay(key=key, fingerprint=fingerprint)
        if existing is None:
            raise
        return existing
    return posted


def _post_in_database(*, posted: LedgerTransaction, legs: Sequence[Leg], locked: Locked | None) -> LedgerTransaction:
    """PostgreSQL: the transaction and its entries in one call, their HMACs computed here."""
    key, fingerprint = posted.idempotency_key, posted.fingerprint
    if locked is None or locked.new_id_for(legs) is None:
        locked = ledger_lock(refs=[_ref_of(leg.account) for leg in legs], key=key)
        if (earlier := locked.replayed(fingerprint)) is not None:
            return earlier
    transaction_id = locked.new_id_for(legs)
    if transaction_id is None or locked.heads is None:
        raise LedgerError("The ledger could not reserve this transaction; nothing was changed.")
    posted.pk, posted.created_at = transaction_id, timezone.now()
    entries = _chained_entries(posted, legs, dict(locked.heads))
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT payments_post_insert(%s::bigint, %s::text, %s::text, %s::text, %s::text, %s::bigint, %s::bigint,"
            " %s::bigint, %s::bigint, %s::text, %s::text, %s::timestamptz,"
            " %s::bigint[], %s::text[], %s::bigint[], %s::text[], %s::text[])",
            [
                posted.pk,
                posted.kind,
                key,
                fingerprint,
                posted.request_key,
                posted.milestone_id,
                posted.contract_id,
                posted.user_id,
                posted.reverses_id,
                posted.external_ref,
                posted.memo,
                posted.created_at,
                [entry.account_id for entry in entries],
                [entry.direction for entry in entries],
                [entry.amount for entry in entries],
                [entry.currency for entry in entries],
                [entry.chain_hmac for entry in entries],
            ],
        )
        (inserted,) = cursor.fetchone()
    if not inserted:
        # A racing duplicate committed first: answer as a replay would.
        existing = replay(key=key, fingerprint=fingerprint)
        if existing is None:
            raise IntegrityError(f"Ledger transaction {key} conflicts with one under another key.")
        return existing
    posted._state.adding, posted._state.db = False, connection.alias
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


def _chained_entries(posted: LedgerTransaction, legs: Sequence[Leg], heads: dict[int, str]) -> list[Entry]:
    """The entries of `posted`, each with its HMAC linked to `heads` (advanced here, leg by leg)."""
    key = chain_key()
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
