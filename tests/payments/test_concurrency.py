"""Real races on PostgreSQL: threads with their own connections hit the services at the same moment.

django-hordak, measured on this machine: 16 threads that each check a 100.00 balance covers 10.00
and then move 10.00 let all 16 through and ended at -60.00. Ours lets exactly 10 through and
ends at 0.00, with the services' row locks, and even without them (the database CHECK).
"""

import threading
import time
from collections import Counter
from collections.abc import Callable
from datetime import timedelta
from typing import Any

import pytest
from django.db import IntegrityError, close_old_connections, connection, transaction
from django.utils import timezone

from milestones.ledger_checks import ledger_verify
from payments.errors import EscrowEmpty, InsufficientFunds, PaymentError
from payments.ledger.posting import Posting, account_get_or_create, credit, debit, post
from payments.models import AccountKind, Balance, EarningsLot, LedgerTransaction, Payout, PayoutStatus, TransactionKind
from payments.selectors import client_balance, milestone_money_totals
from payments.services import (
    earnings_mature,
    escrow_fund,
    escrow_refund,
    escrow_release,
    escrow_split,
    payout_complete,
    payout_request,
)
from payments.verification import payments_verify
from tests.contracts.factories import ContractFactory
from tests.payments.factories import deposit_for, funded_milestone, milestone_in_state, with_payout_destination

pytestmark = [pytest.mark.postgres, pytest.mark.django_db(transaction=True)]


def race(workers: list[Callable[[], Any]]) -> list[Any]:
    """Start every worker at the same instant, each on its own thread and connection.

    Returns each worker's result, or the exception it raised.
    """
    barrier = threading.Barrier(len(workers))
    results: list[Any] = [None] * len(workers)

    def run(index: int, work: Callable[[], Any]) -> None:
        try:
            barrier.wait(timeout=10)
            results[index] = work()
        except Exception as error:  # the error is the result under test
            results[index] = error
        finally:
            connection.close()

    threads = [threading.Thread(target=run, args=(i, work)) for i, work in enumerate(workers)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=30)
    assert not any(thread.is_alive() for thread in threads), "a worker hung (deadlock?)"
    close_old_connections()
    return results


def test_sixteen_funds_against_a_100_balance_let_exactly_ten_through():
    # Given a client with 100.00 and sixteen approved milestones of 10.00 on one contract
    contract = ContractFactory()
    client = contract.client
    deposit_for(client, 10_000)
    milestones = [milestone_in_state("approved", contract=contract, amount=1_000) for _ in range(16)]

    # When sixteen threads each check the balance covers 10.00 and fund one milestone, at once
    def fund(milestone):
        return lambda: escrow_fund(milestone=milestone, client=client, amount=1_000, currency="USD")

    results = race([fund(m) for m in milestones])

    # Then exactly ten succeed, six are told the balance is too low, and the balance ends at 0.00
    outcome = Counter(type(result).__name__ for result in results)
    assert outcome == {"LedgerTransaction": 10, "InsufficientFunds": 6}, outcome
    assert client_balance(user=client, currency="USD") == 0
    # And the ledger adds up (its own checks: the escrow service was raced directly, so the
    # milestones' states did not move)
    assert payments_verify().ok


def test_even_code_that_skips_the_locks_cannot_overdraw_thanks_to_the_database():
    # Given 100.00, and sixteen writers that read the balance WITHOUT a lock (hordak's pattern)
    client_account_owner = ContractFactory().client
    deposit_for(client_account_owner, 10_000)
    client_account = account_get_or_create(
        kind=AccountKind.CLIENT_BALANCE, currency="USD", user_id=client_account_owner.pk
    )
    fees = account_get_or_create(kind=AccountKind.PLATFORM_FEES, currency="USD")

    everyone_checked = threading.Barrier(16)

    def unlocked_transfer(n: int) -> Callable[[], Any]:
        @transaction.atomic
        def work() -> Any:
            seen = Balance.objects.get(account=client_account).amount  # no FOR UPDATE
            if seen < 1_000:
                raise InsufficientFunds("too low")
            everyone_checked.wait(timeout=10)  # all sixteen saw 100.00 before anyone moves money
            return post(
                key=f"unlocked:{n}",
                fingerprint="x",
                posting=Posting(
                    kind=TransactionKind.FEE,
                    legs=[debit(client_account, 1_000), credit(fees, 1_000)],
                    memo="check-then-act without a lock",
                ),
            )

        return work

    results = race([unlocked_transfer(n) for n in range(16)])

    # Then the CHECK on the balance row stops every overdraft: ten through, 0.00 left, never negative
    succeeded = [r for r in results if isinstance(r, LedgerTransaction)]
    refused = [r for r in results if isinstance(r, IntegrityError) and "payments_balance_not_negative" in str(r)]
    assert (len(succeeded), len(refused)) == (10, 6), results
    assert client_balance(user=client_account_owner, currency="USD") == 0
    assert ledger_verify().ok


def test_release_refund_and_split_race_on_one_milestone_and_exactly_one_wins():
    # Given one funded milestone of 500.00
    milestone = funded_milestone(50_000)
    client, freelancer = milestone.contract.client, milestone.contract.freelancer
    attempts = {
        "release": lambda: escrow_release(milestone=milestone, client=client, freelancer=freelancer),
        "refund": lambda: escrow_refund(milestone=milestone, client=client),
        "split": lambda: escrow_split(
            milestone=milestone, client=client, freelancer=freelancer, freelancer_amount=20_000
        ),
    }
    kinds = ["release", "refund", "split", "release", "refund", "split", "release", "refund"]

    # When eight threads release, refund and split it at the same moment
    results = race([attempts[kind] for kind in kinds])

    # Then one transaction took the escrow; its own kind's replays got that same transaction back,
    # and everyone else was told the escrow is empty
    moved = LedgerTransaction.objects.filter(
        milestone_id=milestone.pk, kind__in=[TransactionKind.RELEASE, TransactionKind.REFUND, TransactionKind.SPLIT]
    )
    assert moved.count() == 1
    winner = moved.get()
    for kind, result in zip(kinds, results, strict=True):
        if kind == winner.kind:
            assert isinstance(result, LedgerTransaction) and result.pk == winner.pk, result
        else:
            assert isinstance(result, EscrowEmpty), result
    # And the ledger adds up: the escrow was taken once, never more than was funded
    assert payments_verify().ok
    money = milestone_money_totals(milestone_ids=[milestone.pk])[milestone.pk]
    assert (money.in_escrow, money.released + money.refunded) == (0, 50_000), money


def test_eight_funds_of_one_approved_milestone_move_the_money_once():
    # Given an approved milestone and a client with enough for it three times over
    milestone = milestone_in_state("approved", amount=30_000)
    client = milestone.contract.client
    deposit_for(client, 90_000)

    # When eight threads fund it at once (a double click times eight)
    results = race(
        [lambda: escrow_fund(milestone=milestone, client=client, amount=30_000, currency="USD") for _ in range(8)]
    )

    # Then there is one fund transaction, every thread got it back, and the client paid once
    assert all(isinstance(result, LedgerTransaction) for result in results), results
    assert len({result.pk for result in results}) == 1
    assert sum(not result.replayed for result in results) == 1
    assert client_balance(user=client, currency="USD") == 60_000
    assert payments_verify().ok


def test_crossing_transfers_in_opposite_orders_never_deadlock():
    # Given two milestones of the same client, funded, so each release touches the shared fee account
    first, second = funded_milestone(10_000), funded_milestone(10_000)
    releases = [
        lambda m=m: escrow_release(milestone=m, client=m.contract.client, freelancer=m.contract.freelancer)
        for m in (first, second, second, first)
    ]
    refunds = [lambda m=m: escrow_refund(milestone=m, client=m.contract.client) for m in (second, first)]
    # When releases and refunds of both run at once, locking overlapping balance rows
    results = race(releases + refunds)
    # Then each milestone's escrow was taken exactly once and nobody hit a deadlock
    assert not any(isinstance(result, Exception) and not isinstance(result, PaymentError) for result in results)
    for milestone in (first, second):
        moved = LedgerTransaction.objects.filter(milestone_id=milestone.pk, kind__in=["release", "refund"])
        assert moved.count() == 1
    assert payments_verify().ok


# Services that lock a ledger row must not lock a user row with it.
#
# Django makes foreign keys DEFERRABLE INITIALLY DEFERRED, so every transaction that inserts a
# ledger transaction, a lot or a payout takes FOR KEY SHARE on the user row at commit, after it
# has locked balance rows. A service that holds the user row FOR UPDATE (what `select_for_update`
# with `select_related` does unless `of=("self",)`) and then waits for one of those balance rows
# closes a cycle: PostgreSQL kills one side with a deadlock error, a 500 for a staff member or a user.
def interleave(*, holder: Callable[[], Any], locker: Callable[[], Any]) -> dict[str, Any]:
    """Run `holder` in a transaction that stays open until `locker` (another thread) is waiting, then commit.

    Returns each side's result or the exception it raised.
    """
    results: dict[str, Any] = {}
    held, locker_started = threading.Event(), threading.Event()

    def run_holder() -> None:
        try:
            with transaction.atomic():
                results["holder"] = holder()
                held.set()
                locker_started.wait(timeout=10)
                time.sleep(0.5)  # the locker takes its first locks and blocks on ours
        except Exception as error:  # the error is the result under test
            results["holder"] = error
        finally:
            held.set()
            connection.close()

    def run_locker() -> None:
        try:
            held.wait(timeout=10)
            locker_started.set()
            results["locker"] = locker()
        except Exception as error:  # the error is the result under test
            results["locker"] = error
        finally:
            connection.close()

    threads = [threading.Thread(target=run_holder), threading.Thread(target=run_locker)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=30)
    assert not any(thread.is_alive() for thread in threads), "a worker hung"
    close_old_connections()
    return results


def released_lot() -> tuple[Any, EarningsLot]:
    milestone = milestone_in_state("released", amount=50_000)
    with_payout_destination(milestone.contract.freelancer)
    return milestone.contract, EarningsLot.objects.get(milestone_id=milestone.pk)


def test_a_lot_maturing_while_the_same_freelancer_is_paid_again_does_not_deadlock():
    # Given a freelancer with a lot past its hold, and a second funded milestone on the same contract
    contract, lot = released_lot()
    freelancer = contract.freelancer
    second = funded_milestone(20_000, contract=contract)
    later = timezone.now() + timedelta(days=30)

    # When the second release holds the freelancer's pending balance while the lot matures
    results = interleave(
        holder=lambda: escrow_release(milestone=second, client=contract.client, freelancer=freelancer),
        locker=lambda: earnings_mature(lot=lot, now=later),
    )

    # Then both succeed, one after the other, and the ledger adds up
    assert not isinstance(results["holder"], Exception), results
    assert not isinstance(results["locker"], Exception), results
    assert payments_verify().ok


def test_a_payout_completed_while_the_user_requests_another_does_not_deadlock():
    # Given a freelancer with 90.00 available and a withdrawal of 40.00 in flight
    contract, lot = released_lot()
    freelancer = contract.freelancer
    earnings_mature(lot=lot, now=timezone.now() + timedelta(days=30))
    first = payout_request(user=freelancer, amount=4_000, currency="USD", idempotency_key="first")

    # When the user requests a second withdrawal while staff mark the first one paid
    results = interleave(
        holder=lambda: payout_request(user=freelancer, amount=1_000, currency="USD", idempotency_key="second"),
        locker=lambda: payout_complete(payout=first),
    )

    # Then both succeed and the ledger adds up
    assert not isinstance(results["holder"], Exception), results
    assert not isinstance(results["locker"], Exception), results
    assert Payout.objects.get(pk=first.pk).status == PayoutStatus.COMPLETED
    assert Payout.objects.filter(user=freelancer, idempotency_key="second").exists()
    assert ledger_verify().ok
