"""A tamper-evident chain per account: each entry carries an HMAC of its content and of the
previous entry of its account, keyed by a secret the database does not hold (LEDGER_CHAIN_KEY).

Someone who can write to the database but does not know the key cannot edit an entry (or its
transaction or account), insert one, or delete one followed by others on its account without
`ledger_verify` noticing: every later HMAC of that account stops matching. The link is computed
in `posting.post` under the balance locks that already serialise an account's entries.
A chain cannot tell a truncated tail from history that ended there: deleting the latest
transactions of every account they touch is caught by the other checks (gateway records,
milestone history), not by the chain.
"""

import dataclasses
import hashlib
import hmac
import json
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, datetime

from django.conf import settings
from django.core import checks
from django.core.exceptions import ImproperlyConfigured


def chain_key_check(**kwargs: object) -> list[checks.CheckMessage]:
    """System check: without a key the ledger cannot post (production has no default)."""
    if getattr(settings, "LEDGER_CHAIN_KEY", ""):
        return []
    return [
        checks.Error(
            "LEDGER_CHAIN_KEY is not set.",
            hint="Set it in the environment to a long random secret kept outside the database.",
            id="ledger.E001",
        )
    ]


def chain_key() -> bytes:
    key = getattr(settings, "LEDGER_CHAIN_KEY", "")
    if not key:
        raise ImproperlyConfigured("LEDGER_CHAIN_KEY must be set: it keys the ledger's tamper-evident chain.")
    return key.encode()


@dataclass(frozen=True)
class ChainLink:
    """Everything one entry's HMAC covers besides the previous HMAC: the entry, its transaction
    and its account, as stored."""

    transaction_id: int
    kind: str
    idempotency_key: str
    fingerprint: str
    request_key: str | None
    milestone_id: int | None
    contract_id: int | None
    user_id: int | None
    reverses_id: int | None
    external_ref: str
    memo: str
    created_at: datetime
    account_id: int
    account_kind: str
    account_currency: str
    account_user_id: int | None
    account_milestone_id: int | None
    direction: str
    amount: int
    currency: str

    # The order of the columns the verifier reads (see checks.py); the same order as the fields.
    COLUMNS = (
        "transaction_id", "transaction__kind", "transaction__idempotency_key", "transaction__fingerprint",
        "transaction__request_key", "transaction__milestone_id", "transaction__contract_id",
        "transaction__user", "transaction__reverses", "transaction__external_ref", "transaction__memo",
        "transaction__created_at", "account_id", "account__kind", "account__currency", "account__user",
        "account__milestone_id", "direction", "amount", "currency",
    )  # fmt: skip


def chain_hmac(*, key: bytes, previous: str, link: ChainLink) -> str:
    """The HMAC of one entry: its content and the previous entry's HMAC on the same account."""
    fields = [getattr(link, field.name) for field in dataclasses.fields(link)]
    fields = [value.astimezone(UTC).isoformat() if isinstance(value, datetime) else value for value in fields]
    payload = json.dumps([previous, *fields], separators=(",", ":"), ensure_ascii=True)
    return hmac.new(key, payload.encode(), hashlib.sha256).hexdigest()


def chain_verify(*, key: bytes, rows: Iterable[tuple[int, str, ChainLink]]) -> list[tuple[int, int]]:
    """Walk entries (id, stored HMAC, link) ordered by account then id; return (account, entry)
    for every entry whose HMAC does not follow from its predecessor's."""
    broken: list[tuple[int, int]] = []
    account_id, previous = None, ""
    for entry_id, stored, link in rows:
        if link.account_id != account_id:
            account_id, previous = link.account_id, ""
        if not hmac.compare_digest(stored, chain_hmac(key=key, previous=previous, link=link)):
            broken.append((link.account_id, entry_id))
        # The next link is checked against what is stored, so one tampered entry is reported
        # once, with the entry after it, not the whole rest of the chain.
        previous = stored
    return broken
