"""Tampering with raw SQL that the database guards let through (or that someone with the guards off
could do) is reported by `ledger_verify`: money from nowhere, a state with no ledger history, a
lot made available early, and any edited, inserted or deleted entry (the HMAC chain)."""

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError
from django.db import connection

from milestones.ledger_checks import ledger_verify
from payments.ledger.models import Account, AccountKind, Entry, LedgerTransaction
from payments.models import EarningsLot
from tests.payments.factories import client_with_balance, deposit_for, milestone_in_state
from tests.payments.test_ledger_verify import guards_off, raw
from tests.users.factories import ClientFactory

pytestmark = [pytest.mark.postgres, pytest.mark.django_db]


def sql(statement: str, *params: object) -> list[tuple]:
    with connection.cursor() as cursor:
        cursor.execute(statement, params)
        return cursor.fetchall() if cursor.description else []


def violations() -> list[str]:
    report = ledger_verify()
    return report.violations


def balanced_raw_deposit(*, client_account: int, world_account: int, amount: int, external_ref: str) -> int:
    """world -> client balance, inserted with raw SQL: the guards accept it, it sums to zero."""
    (txn,) = sql(
        "INSERT INTO payments_ledgertransaction (kind, idempotency_key, fingerprint, memo, created_at, external_ref)"
        " VALUES ('deposit', %s, 'raw', 'Added funds by card', now(), %s) RETURNING id",
        f"deposit:{external_ref}",
        external_ref,
    )[0]
    for account, direction in ((world_account, "debit"), (client_account, "credit")):
        sql(
            "INSERT INTO payments_entry (transaction_id, account_id, direction, amount, currency)"
            " VALUES (%s, %s, %s, %s, 'USD')",
            txn,
            account,
            direction,
            amount,
        )
    return txn


def accounts_of(client) -> tuple[int, int]:
    client_account = Account.objects.get(kind=AccountKind.CLIENT_BALANCE, user=client).pk
    world_account = Account.objects.get(kind=AccountKind.WORLD, currency="USD").pk
    return client_account, world_account


@pytest.mark.parametrize("external_ref", ["", "ch_test_" + "0" * 48])
def test_a_balanced_raw_deposit_with_no_gateway_charge_is_reported(external_ref):
    # Given a healthy ledger
    client = client_with_balance(10_000)
    assert ledger_verify().ok
    client_account, world_account = accounts_of(client)

    # When 500.00 is inserted from the world onto the client's balance, balanced, with no charge
    txn = balanced_raw_deposit(
        client_account=client_account, world_account=world_account, amount=50_000, external_ref=external_ref
    )

    # Then the reconciliation with the gateway names it
    found = violations()
    assert any(f"Transaction #{txn} (deposit)" in v and ("no such charge" in v or "no gateway" in v) for v in found)
    with pytest.raises(CommandError, match="Ledger verification failed"):
        call_command("ledger_verify")


def test_a_real_charge_counted_twice_is_reported():
    # Given a real deposit, and a raw copy of it under another key with the same charge id
    client = ClientFactory()
    deposit = deposit_for(client, 2_000)
    client_account, world_account = accounts_of(client)
    sql(
        "INSERT INTO payments_ledgertransaction (kind, idempotency_key, fingerprint, memo, created_at, external_ref)"
        " VALUES ('deposit', 'copy', 'raw', 'copy', now(), %s) RETURNING id",
        deposit.external_ref,
    )
    (copy,) = LedgerTransaction.objects.filter(idempotency_key="copy").values_list("pk", flat=True)
    for account, direction in ((world_account, "debit"), (client_account, "credit")):
        sql(
            "INSERT INTO payments_entry (transaction_id, account_id, direction, amount, currency)"
            " VALUES (%s, %s, %s, 2000, 'USD')",
            copy,
            account,
            direction,
        )

    # Then the charge is reported as counted twice
    assert f"Gateway charge {deposit.external_ref} was counted 2 times." in violations()


def test_a_milestone_set_from_approved_to_released_with_no_entries_is_reported():
    # Given an approved milestone, never funded
    milestone = milestone_in_state("approved", amount=30_000)
    assert ledger_verify().ok

    # When its state is set to released with raw SQL (no escrow, no release)
    sql("UPDATE milestones_milestone SET state = 'released' WHERE id = %s", milestone.pk)

    # Then its history contradicts its state
    found = violations()
    assert f"Milestone #{milestone.pk} is released but was funded 0 times in the ledger, not once." in found
    assert any(f"Milestone #{milestone.pk} is released but the ledger has 0 release or split" in v for v in found)


def test_a_refunded_milestone_set_back_to_approved_is_reported():
    # Given a refunded milestone (funded, then refunded) whose state is set back to approved with raw SQL
    milestone = milestone_in_state("refunded", amount=30_000)
    sql("UPDATE milestones_milestone SET state = 'approved' WHERE id = %s", milestone.pk)

    # Then a milestone that never held escrow is found with a ledger history
    assert any(f"Milestone #{milestone.pk} is approved, so it never held escrow" in v for v in violations())


def test_a_lot_made_available_early_is_reported(settings):
    # Given a released milestone whose earnings lot becomes available after the hold
    milestone_in_state("released", amount=10_000)
    lot = EarningsLot.objects.get()
    assert ledger_verify().ok

    # When its available_at is moved into the past
    sql("UPDATE payments_earningslot SET available_at = now() - interval '1 day' WHERE id = %s", lot.pk)

    # Then the lot is named
    assert any(f"Earnings lot #{lot.pk} becomes available at" in v for v in violations())


# --- The HMAC chain -----------------------------------------------------------------------------------
def chain_broken_at() -> set[int]:
    """The entries ledger_verify says break a chain."""
    found = set()
    for violation in violations():
        if "breaks the account's HMAC chain" in violation:
            found.add(int(violation.split("entry #")[1].split()[0]))
    return found


@pytest.fixture
def three_deposits():
    """A client with three deposits: three entries on their balance, in order."""
    client = client_with_balance(1_000)
    deposit_for(client, 2_000)
    deposit_for(client, 3_000)
    assert ledger_verify().ok
    client_account, _ = accounts_of(client)
    return list(Entry.objects.filter(account_id=client_account).order_by("pk"))


def test_an_edited_entry_breaks_the_chain(three_deposits):
    # When the middle deposit's two legs and the balances are rewritten with the guards off
    middle = three_deposits[1]
    with guards_off():
        for entry in Entry.objects.filter(transaction_id=middle.transaction_id):
            raw("UPDATE payments_entry SET amount = 9000 WHERE id = %s", entry.pk)
            change = 7_000 if entry.direction == "credit" else -7_000
            raw("UPDATE payments_balance SET amount = amount + %s WHERE account_id = %s", change, entry.account_id)

    # Then the balances still add up, but the chain names the edited entries
    assert middle.pk in chain_broken_at()
    assert not any("stored balance" in v for v in violations())


def test_an_inserted_entry_breaks_the_chain(three_deposits):
    # When a forged transaction with made-up HMACs is inserted, balanced (the guards accept it)
    first = three_deposits[0]
    (txn,) = sql(
        "INSERT INTO payments_ledgertransaction (kind, idempotency_key, fingerprint, memo, created_at, external_ref)"
        " VALUES ('fee', 'forged', 'raw', 'forged', now(), '') RETURNING id"
    )[0]
    fees = Account.objects.create(kind=AccountKind.PLATFORM_FEES, currency="USD")
    sql(
        "INSERT INTO payments_balance (account_id, currency, amount, may_go_negative) VALUES (%s, 'USD', 0, false)",
        fees.pk,
    )
    sql(
        "INSERT INTO payments_entry (transaction_id, account_id, direction, amount, currency, chain_hmac)"
        " VALUES (%s, %s, 'debit', 500, 'USD', %s), (%s, %s, 'credit', 500, 'USD', %s) RETURNING id",
        txn, first.account_id, "f" * 64, txn, fees.pk, "f" * 64,
    )  # fmt: skip

    # Then both forged entries are named
    forged = set(Entry.objects.filter(transaction_id=txn).values_list("pk", flat=True))
    assert forged <= chain_broken_at()


def test_a_deleted_entry_breaks_the_chain(three_deposits):
    # When the middle deposit is deleted with the guards off, and the balances corrected to match
    middle = three_deposits[1]
    with guards_off():
        for entry in Entry.objects.filter(transaction_id=middle.transaction_id):
            change = -entry.amount if entry.direction == "credit" else entry.amount
            raw("UPDATE payments_balance SET amount = amount + %s WHERE account_id = %s", change, entry.account_id)
        raw("DELETE FROM payments_entry WHERE transaction_id = %s", middle.transaction_id)
        raw("DELETE FROM payments_ledgertransaction WHERE id = %s", middle.transaction_id)

    # Then every balance still adds up, but the next entry on the client's balance no longer follows
    assert not any("stored balance" in v for v in violations())
    assert three_deposits[2].pk in chain_broken_at()
