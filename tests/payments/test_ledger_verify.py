"""`manage.py ledger_verify`: exit 0 on the demo data, non-zero on each kind of deliberate corruption."""

from collections.abc import Callable, Iterator
from contextlib import contextmanager

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError
from django.db import connection

from milestones.ledger_checks import ledger_verify
from milestones.models import Milestone
from payments.demo import DEMO_DEPOSIT_KEY, DEMO_OPENING_BALANCE, demo_balances_ensure
from payments.models import AccountKind, Balance, EarningsLot, Entry, LedgerTransaction
from payments.selectors import client_balance
from tests.payments.factories import deposit_for, funded_milestone, milestone_in_state
from tests.users.factories import ClientFactory, UserFactory
from users.models import User

pytestmark = pytest.mark.django_db


@contextmanager
def guards_off() -> Iterator[None]:
    """Corrupting the ledger on purpose needs the database guards off (PostgreSQL: superuser only)."""
    if connection.vendor != "postgresql":
        yield
        return
    with connection.cursor() as cursor:
        # Run the checks still pending on the healthy data first, as its commit would have.
        cursor.execute("SET CONSTRAINTS ALL IMMEDIATE")
        cursor.execute("SET CONSTRAINTS ALL DEFERRED")
        cursor.execute("SET session_replication_role = replica")  # triggers off; CHECKs stay on
        try:
            yield
        finally:
            cursor.execute("SET session_replication_role = DEFAULT")


def raw(statement: str, *params: object) -> None:
    with guards_off(), connection.cursor() as cursor:
        cursor.execute(statement, params)


def test_the_demo_data_verifies_and_exits_zero(capsys):
    # Given the demo data, loaded twice (it is idempotent)
    call_command("seed_demo")
    call_command("seed_demo")
    # And each demo client got the opening deposit exactly once
    for email in ("client1@example.com", "client2@example.com", "freelancer3@example.com"):
        user = User.objects.get(email=email)
        assert LedgerTransaction.objects.filter(request_key=f"deposit:{user.pk}:{DEMO_DEPOSIT_KEY}").count() == 1
    capsys.readouterr()
    # When the ledger is verified
    call_command("ledger_verify")
    # Then it reports no violation
    out = capsys.readouterr().out
    assert "Ledger OK" in out and "all balances sum to $0.00" in out


def test_the_demo_opening_balance_is_deposited_once_per_client():
    # Given a client and a staff user
    client = ClientFactory()
    users = {"client": client, "admin": UserFactory(is_staff=True)}
    # When the demo balances are ensured twice, then only the client gets one deposit, once
    assert demo_balances_ensure(users=users) == 1
    assert demo_balances_ensure(users=users) == 0
    assert client_balance(user=client, currency="USD") == DEMO_OPENING_BALANCE


def corrupt_balance(ledger: dict) -> None:
    raw("UPDATE payments_balance SET amount = amount + 1 WHERE account_id = %s", ledger["client_account"])


def corrupt_delete_an_entry(ledger: dict) -> None:
    entry = Entry.objects.filter(transaction__kind="deposit").order_by("pk").first()
    raw("DELETE FROM payments_entry WHERE id = %s", entry.pk)


def corrupt_funded_without_escrow(ledger: dict) -> None:
    milestone = milestone_in_state("approved")
    # The tamper being detected: the state forced to funded behind the state machine's back,
    # with no money moved into escrow (the FSM field is protected, so a queryset update).
    Milestone.objects.filter(pk=milestone.pk).update(state="funded")


def corrupt_released_while_escrow_still_holds(ledger: dict) -> None:
    # The tamper being detected: a funded milestone forced to released behind the state
    # machine's back, while its escrow still holds the money (a queryset update, bypassing the FSM).
    Milestone.objects.filter(pk=ledger["funded"].pk).update(state="released")


def corrupt_pending_without_lot(ledger: dict) -> None:
    EarningsLot.objects.filter(pk=ledger["lot"].pk).delete()


@pytest.mark.parametrize(
    ("corrupt", "says"),
    [
        (corrupt_balance, "stored balance"),
        (corrupt_delete_an_entry, "at least two are required"),
        (corrupt_funded_without_escrow, "but its escrow holds $0.00"),
        (corrupt_released_while_escrow_still_holds, "is released but its escrow still holds"),
        (corrupt_pending_without_lot, "unmatured earnings lots add up to 0"),
    ],
)
def test_deliberately_corrupted_data_fails_with_a_non_zero_exit(corrupt: Callable[[dict], None], says, capsys):
    # Given a healthy ledger: a deposit, a funded milestone and a released one
    client = ClientFactory()
    deposit_for(client, 10_000)
    milestone_in_state("released", amount=5_000)
    ledger = {
        "client_account": Balance.objects.get(account__kind=AccountKind.CLIENT_BALANCE, account__user=client).pk,
        "funded": funded_milestone(7_000),
        "lot": EarningsLot.objects.get(),
    }
    call_command("ledger_verify")

    # When it is corrupted
    corrupt(ledger)

    # Then the command names the violation and fails with a CommandError, which manage.py turns
    # into exit status 1 (its returncode)
    with pytest.raises(CommandError, match="Ledger verification failed") as failure:
        call_command("ledger_verify")
    assert failure.value.returncode == 1
    assert says in capsys.readouterr().err


def test_released_plus_refunded_beyond_funded_is_reported():
    # Given a milestone released in full, then a forged refund of the same escrow (guards off)
    milestone = milestone_in_state("released", amount=5_000)
    client = milestone.contract.client
    escrow_account = Balance.objects.get(account__milestone_id=milestone.pk).account
    client_account = Balance.objects.get(account__kind=AccountKind.CLIENT_BALANCE, account__user=client).account
    with guards_off():
        # On SQLite the balance trigger would refuse to take escrow below zero: forge without it.
        if connection.vendor == "sqlite":
            raw("DROP TRIGGER payments_entry_apply")
        forged = LedgerTransaction.objects.create(
            kind="refund", idempotency_key="forged", fingerprint="x", memo="forged", milestone_id=milestone.pk
        )
        Entry.objects.bulk_create(
            [
                Entry(transaction=forged, account=escrow_account, direction="debit", amount=5_000, currency="USD"),
                Entry(transaction=forged, account=client_account, direction="credit", amount=5_000, currency="USD"),
            ]
        )
    # Then verify reports the over-resolution, among the broken balances
    with pytest.raises(CommandError):
        call_command("ledger_verify")
    assert any("exceeds funded" in violation for violation in ledger_verify().violations)
