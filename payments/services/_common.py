"""What the money services share: the subject they move money for, accounts, checks, error mapping."""

import functools
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from typing import ParamSpec, Protocol, TypeVar, overload

from django.db import transaction

from core.money import CURRENCY_EXPONENTS, format_money
from payments.errors import IdempotencyConflict, InsufficientFunds, PaymentError
from payments.ledger import posting as ledger
from payments.ledger.errors import LedgerError, LedgerIdempotencyConflict
from payments.ledger.models import AccountKind, LedgerTransaction
from payments.ledger.posting import AccountRef, Accounts, After, Balances, Posting, Refs
from users.models import User

T = TypeVar("T")
P = ParamSpec("P")

MAX_KEY_LENGTH = 100


class EscrowParties(Protocol):
    """The two sides of a contract, by id."""

    @property
    def client_id(self) -> int: ...

    @property
    def freelancer_id(self) -> int: ...


class EscrowSubject(Protocol):
    """What the escrow services need of a milestone (payments does not import the milestones app)."""

    @property
    def pk(self) -> int: ...

    @property
    def currency(self) -> str: ...

    @property
    def title(self) -> str: ...

    @property
    def contract_id(self) -> int: ...

    @property
    def contract(self) -> EscrowParties: ...


# --- Transactions ---------------------------------------------------------------------------
_caller_rolls_back = ContextVar("caller_rolls_back", default=False)


@contextmanager
def within_caller_transaction() -> Iterator[None]:
    """For a caller whose atomic block lets every error of the money services it calls propagate:
    they take no savepoint of their own (two round trips each), since the caller's transaction, or
    its nearest savepoint, rolls back whole anyway. A caller that catches their errors and carries
    on in the same transaction must not use it: their savepoint is what undoes their half-work."""
    token = _caller_rolls_back.set(True)
    try:
        yield
    finally:
        _caller_rolls_back.reset(token)


def money_atomic(service: Callable[P, T]) -> Callable[P, T]:
    """`transaction.atomic`, without a savepoint of its own `within_caller_transaction`."""

    @functools.wraps(service)
    def atomic_service(*args: P.args, **kwargs: P.kwargs) -> T:
        with transaction.atomic(savepoint=not _caller_rolls_back.get()):
            return service(*args, **kwargs)

    return atomic_service


# --- Ledger errors as payment errors --------------------------------------------------------
@contextmanager
def ledger_errors() -> Iterator[None]:
    """The ledger core raises its own errors; callers of payments catch PaymentError (a DomainError)."""
    try:
        yield
    except LedgerIdempotencyConflict as error:
        raise IdempotencyConflict(str(error)) from error
    except LedgerError as error:
        raise PaymentError(str(error)) from error


@overload
def post_once(
    *,
    key: str,
    fingerprint: str,
    accounts: Callable[[], Refs],
    build: Callable[[Accounts, Balances], Posting],
    after: After | None = None,
) -> LedgerTransaction: ...


@overload
def post_once(
    *,
    key: str,
    fingerprint: str,
    accounts: Callable[[], Refs],
    build: Callable[[Accounts, Balances], Posting | None],
    after: After | None = None,
) -> LedgerTransaction | None: ...


def post_once(
    *,
    key: str,
    fingerprint: str,
    accounts: Callable[[], Refs],
    build: Callable[[Accounts, Balances], Posting | None],
    after: After | None = None,
) -> LedgerTransaction | None:
    """`payments.ledger.posting.ledger_post` (replay -> lock -> replay -> post), raising PaymentErrors."""
    with ledger_errors():
        return ledger.ledger_post(key=key, fingerprint=fingerprint, accounts=accounts, build=build, after=after)


def locked_once(
    *, replay: Callable[[], T | None], accounts: Callable[[], Refs], then: Callable[[Accounts, Balances], T]
) -> T:
    """`payments.ledger.posting.locked_once`, raising PaymentErrors."""
    with ledger_errors():
        return ledger.locked_once(replay=replay, accounts=accounts, then=then)


def post(*, key: str, fingerprint: str, posting: Posting) -> LedgerTransaction:
    """`payments.ledger.posting.post`, for a second transaction under locks the caller already holds."""
    with ledger_errors():
        return ledger.post(key=key, fingerprint=fingerprint, posting=posting)


def replay(*, key: str, fingerprint: str) -> LedgerTransaction | None:
    """`payments.ledger.posting.replay`, raising PaymentErrors."""
    with ledger_errors():
        return ledger.replay(key=key, fingerprint=fingerprint)


def replay_request(*, request_key: str, fingerprint: str) -> LedgerTransaction | None:
    """`payments.ledger.posting.replay_request`, raising PaymentErrors."""
    with ledger_errors():
        return ledger.replay_request(request_key=request_key, fingerprint=fingerprint)


# --- Accounts -------------------------------------------------------------------------------
# By owner: the ledger finds (or creates) each one as it locks the balances.
def world(currency: str) -> AccountRef:
    return AccountRef(kind=AccountKind.WORLD, currency=currency)


def fees(currency: str) -> AccountRef:
    return AccountRef(kind=AccountKind.PLATFORM_FEES, currency=currency)


def user_account(kind: str, user: User, currency: str) -> AccountRef:
    return AccountRef(kind=kind, currency=currency, user_id=user.pk)


def escrow(milestone: EscrowSubject) -> AccountRef:
    """The milestone's escrow; the ledger refuses to lock one kept in another currency."""
    return AccountRef(kind=AccountKind.ESCROW, currency=milestone.currency, milestone_id=milestone.pk)


# --- Checks ---------------------------------------------------------------------------------
def require_currency(currency: str) -> None:
    if currency not in CURRENCY_EXPONENTS:
        raise PaymentError(f"{currency} is not a supported currency.")


def require_key(idempotency_key: str) -> None:
    if not idempotency_key or len(idempotency_key) > MAX_KEY_LENGTH:
        raise PaymentError("This form has expired. Reload the page and try again.")


def check_parties(milestone: EscrowSubject, *, client: User | None = None, freelancer: User | None = None) -> None:
    """Money moves only between the milestone's own client and freelancer."""
    contract = milestone.contract
    if client is not None and contract.client_id != client.pk:
        raise PaymentError("Only this contract's client can move its escrow.")
    if freelancer is not None and contract.freelancer_id != freelancer.pk:
        raise PaymentError("Only this contract's freelancer can receive its escrow.")


def insufficient(what: str, have: int, need: int, currency: str) -> InsufficientFunds:
    return InsufficientFunds(
        f"Your {what} is {format_money(have, currency)}, which does not cover {format_money(need, currency)}. "
        "Nothing was changed."
    )


def title(milestone: EscrowSubject) -> str:
    text = str(milestone.title or f"#{milestone.pk}")
    return f"“{text[:80]}”"
