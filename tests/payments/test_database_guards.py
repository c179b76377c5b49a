"""PostgreSQL itself refuses every way of corrupting the ledger with raw SQL.

The zero-sum check is a deferred constraint trigger that runs at COMMIT, and the "no entries on
old transactions" guard compares database transactions, so those tests commit for real
(transactional); the immediate guards run inside the usual rolled-back test transaction, each
attempt in a savepoint. Includes the raw-SQL cases django-hordak accepts.
"""

import pytest
from django.db import IntegrityError, connection, transaction

from milestones.ledger_checks import ledger_verify
from payments.models import AccountKind, Balance, Entry, LedgerTransaction
from tests.payments.factories import deposit_for, funded_milestone
from tests.users.factories import ClientFactory

pytestmark = [pytest.mark.postgres, pytest.mark.django_db]
commits = pytest.mark.django_db(transaction=True)


def sql(statement: str, *params: object) -> list[tuple]:
    """Run one statement in a savepoint, so a refusal leaves the test's transaction usable."""
    with transaction.atomic(), connection.cursor() as cursor:
        cursor.execute(statement, params)
        return cursor.fetchall() if cursor.description else []


def account_id(kind: str, **owner: object) -> int:
    return Balance.objects.get(account__kind=kind, **{f"account__{k}": v for k, v in owner.items()}).account_id


def raw_transaction(key: str, legs: list[tuple[int, str, int]], currency: str = "USD") -> int:
    """Insert a transaction and its entries with plain SQL, as an attacker or a buggy script would."""
    (transaction_id,) = sql(
        "INSERT INTO payments_ledgertransaction (kind, idempotency_key, fingerprint, memo, created_at, external_ref)"
        " VALUES ('deposit', %s, 'raw', 'raw sql', now(), '') RETURNING id",
        key,
    )[0]
    for account, direction, amount in legs:
        sql(
            "INSERT INTO payments_entry (transaction_id, account_id, direction, amount, currency)"
            " VALUES (%s, %s, %s, %s, %s)",
            transaction_id,
            account,
            direction,
            amount,
            currency,
        )
    return transaction_id


def balances() -> dict[int, int]:
    return dict(Balance.objects.values_list("account_id", "amount"))


@pytest.fixture
def ledger():
    """A client with 100.00 on their balance and a milestone with 500.00 in escrow."""
    client = ClientFactory()
    deposit_for(client, 10_000)
    milestone = funded_milestone(50_000)
    world = account_id(AccountKind.WORLD, currency="USD")
    return {
        "client": account_id(AccountKind.CLIENT_BALANCE, user=client),
        "world": world,
        "escrow": account_id(AccountKind.ESCROW, milestone_id=milestone.pk),
        "milestone_client": account_id(AccountKind.CLIENT_BALANCE, user=milestone.contract.client),
    }


@commits
def test_a_balanced_raw_transaction_is_accepted_and_moves_the_balances(ledger):
    # Given the guards, a correct transaction still goes through (so the refusals below mean something)
    before = balances()
    with transaction.atomic():
        raw_transaction("raw-ok", [(ledger["world"], "debit", 500), (ledger["client"], "credit", 500)])
    after = balances()
    assert after[ledger["client"]] == before[ledger["client"]] + 500
    assert after[ledger["world"]] == before[ledger["world"]] - 500


@commits
def test_an_unbalanced_transaction_cannot_commit(ledger):
    before = balances()
    # When credits exceed debits by one cent
    with pytest.raises(IntegrityError, match="does not sum to zero"), transaction.atomic():
        raw_transaction("raw-unbalanced", [(ledger["world"], "debit", 1_000), (ledger["client"], "credit", 1_001)])
    # Then nothing was committed
    assert not LedgerTransaction.objects.filter(idempotency_key="raw-unbalanced").exists()
    assert balances() == before


@commits
def test_a_transaction_with_one_entry_or_none_cannot_commit(ledger):
    # When a transaction with no entries, or a single leg, is committed, it is refused
    with pytest.raises(IntegrityError, match="at least two"), transaction.atomic():
        raw_transaction("raw-empty", [])
    with pytest.raises(IntegrityError, match=r"at least two|does not sum to zero"), transaction.atomic():
        raw_transaction("raw-one-leg", [(ledger["client"], "credit", 1_000)])
    # Then none of them exists
    assert not LedgerTransaction.objects.filter(idempotency_key__startswith="raw-").exists()


def test_entries_cannot_be_updated_or_deleted(ledger):
    # Given a committed entry
    entry = Entry.objects.filter(account_id=ledger["client"]).first()
    # When it is updated or deleted with raw SQL, each is refused
    for statement in (
        "UPDATE payments_entry SET amount = amount + 1 WHERE id = %s",
        "UPDATE payments_entry SET direction = 'debit' WHERE id = %s",
        "DELETE FROM payments_entry WHERE id = %s",
    ):
        with pytest.raises(IntegrityError, match="append-only"):
            sql(statement, entry.pk)
    # Then it is unchanged
    assert Entry.objects.get(pk=entry.pk).amount == entry.amount


def test_escrow_cannot_go_negative(ledger):
    before = balances()
    # When a balanced transaction takes 500.01 out of an escrow holding 500.00
    with pytest.raises(IntegrityError, match="payments_balance_not_negative"), transaction.atomic():
        raw_transaction("raw-overdraw", [(ledger["escrow"], "debit", 50_001), (ledger["client"], "credit", 50_001)])
    assert balances() == before


def test_a_client_balance_cannot_go_negative(ledger):
    # When a balanced transaction takes 100.01 from a 100.00 client balance, the CHECK refuses it
    with pytest.raises(IntegrityError, match="payments_balance_not_negative"), transaction.atomic():
        raw_transaction("raw-overdraw", [(ledger["client"], "debit", 10_001), (ledger["world"], "credit", 10_001)])


def test_a_duplicate_idempotency_key_is_rejected(ledger):
    # Given an existing transaction's key
    key = LedgerTransaction.objects.first().idempotency_key
    # When another transaction reuses it, the unique index refuses it
    with pytest.raises(IntegrityError, match="idempotency_key"), transaction.atomic():
        raw_transaction(key, [(ledger["world"], "debit", 1), (ledger["client"], "credit", 1)])


@pytest.mark.parametrize("amount", [0, -500])
def test_amounts_must_be_positive(ledger, amount):
    # When legs of zero or negative amounts are inserted, the CHECK refuses them
    with pytest.raises(IntegrityError, match="payments_entry_amount_positive"), transaction.atomic():
        raw_transaction("raw-sign", [(ledger["world"], "debit", amount), (ledger["client"], "credit", amount)])


def test_an_entry_in_another_currency_than_its_account_is_rejected(ledger):
    # When EUR legs are posted to USD accounts, they are refused
    with pytest.raises(IntegrityError, match="does not match account"), transaction.atomic():
        raw_transaction(
            "raw-currency", [(ledger["world"], "debit", 100), (ledger["client"], "credit", 100)], currency="EUR"
        )


@commits
def test_old_transactions_cannot_gain_entries_even_balanced_ones(ledger):
    # Given a committed deposit
    old = LedgerTransaction.objects.filter(kind="deposit").first()
    # When someone appends a balanced pair of legs to it later
    with pytest.raises(IntegrityError, match="only be added while"), transaction.atomic():
        for account, direction in ((ledger["world"], "debit"), (ledger["client"], "credit")):
            sql(
                "INSERT INTO payments_entry (transaction_id, account_id, direction, amount, currency)"
                " VALUES (%s, %s, %s, 100, 'USD')",
                old.pk,
                account,
                direction,
            )
    assert old.entries.count() == 2


def test_balances_move_only_with_entries(ledger):
    # When a balance row is written directly, each write is refused
    for statement in (
        "UPDATE payments_balance SET amount = amount + 100000 WHERE account_id = %s",
        "UPDATE payments_balance SET may_go_negative = true WHERE account_id = %s",
        "DELETE FROM payments_balance WHERE account_id = %s",
    ):
        with pytest.raises(IntegrityError, match=r"balances move only|cannot be deleted"):
            sql(statement, ledger["client"])
    # When a balance row is created with money in it, it is refused
    with pytest.raises(IntegrityError, match="starts at zero"):
        sql(
            "INSERT INTO payments_account (kind, currency, created_at) VALUES ('platform_fees', 'GBP', now())"
            " RETURNING id"
        )
        sql(
            "INSERT INTO payments_balance (account_id, currency, amount, may_go_negative)"
            " SELECT id, 'GBP', 500, false FROM payments_account WHERE currency = 'GBP'"
        )


def test_accounts_and_transactions_are_append_only(ledger):
    # When an account or a transaction is changed or deleted, each is refused
    for statement, target in (
        ("UPDATE payments_account SET kind = 'world' WHERE id = %s", ledger["client"]),
        ("DELETE FROM payments_account WHERE id = %s", ledger["client"]),
        (
            "UPDATE payments_ledgertransaction SET idempotency_key = 'renamed' WHERE id = %s",
            LedgerTransaction.objects.first().pk,
        ),
    ):
        with pytest.raises(IntegrityError, match="append-only"):
            sql(statement, target)


# --- The raw SQL django-hordak accepts, measured on this machine; ours refuses each --------
def test_hordak_case_updating_both_entries_by_the_same_amount_is_refused(ledger):
    # Given a committed deposit
    deposit = LedgerTransaction.objects.filter(kind="deposit").first()
    before = balances()
    # When both its entries are raised by the same amount (still zero-sum), it is refused
    with pytest.raises(IntegrityError, match="append-only"):
        sql("UPDATE payments_entry SET amount = amount + 1000000 WHERE transaction_id = %s", deposit.pk)
    # Then no balance moved
    assert balances() == before


def test_hordak_case_deleting_a_whole_transaction_with_its_entries_is_refused(ledger):
    # Given a committed deposit
    deposit = LedgerTransaction.objects.filter(kind="deposit").first()
    # When it is deleted with its entries, it is refused
    with pytest.raises(IntegrityError, match="append-only"), transaction.atomic():
        sql("DELETE FROM payments_entry WHERE transaction_id = %s", deposit.pk)
        sql("DELETE FROM payments_ledgertransaction WHERE id = %s", deposit.pk)
    # Then it is still there
    assert deposit.entries.count() == 2


def test_hordak_case_moving_an_entry_to_another_account_is_refused(ledger):
    # Given a committed entry on the client balance
    entry = Entry.objects.filter(account_id=ledger["client"]).first()
    # When it is moved to the escrow account, it is refused
    with pytest.raises(IntegrityError, match="append-only"):
        sql("UPDATE payments_entry SET account_id = %s WHERE id = %s", ledger["escrow"], entry.pk)
    # Then it stays, and the ledger verifies
    assert Entry.objects.get(pk=entry.pk).account_id == ledger["client"]
    assert ledger_verify().ok
