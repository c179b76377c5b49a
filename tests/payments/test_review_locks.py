"""Review: services that lock a ledger row must not lock a user row with it.

Django makes foreign keys DEFERRABLE INITIALLY DEFERRED, so every transaction that inserts a
ledger transaction, a lot or a payout takes FOR KEY SHARE on the user row at commit, after it
has locked balance rows. A service that holds the user row FOR UPDATE (what `select_for_update`
with `select_related` does unless `of=("self",)`) and then waits for one of those balance rows
closes a cycle: PostgreSQL kills one side with a deadlock error, a 500 for a staff member or a user.
"""

import threading
import time
from collections.abc import Callable
from datetime import timedelta
from typing import Any

import pytest
from django.db import close_old_connections, connection, transaction
from django.utils import timezone

from payments.models import EarningsLot, Payout, PayoutStatus
from payments.services import earnings_mature, escrow_release, payout_complete, payout_request
from payments.verification import ledger_verify
from tests.payments.factories import funded_milestone, milestone_state_set

pytestmark = [pytest.mark.postgres, pytest.mark.django_db(transaction=True)]


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
    milestone = funded_milestone(50_000)
    contract = milestone.contract
    escrow_release(milestone=milestone, client=contract.client, freelancer=contract.freelancer)
    milestone_state_set(milestone, "released")
    return contract, EarningsLot.objects.get(milestone=milestone)


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
    milestone_state_set(second, "released")
    assert ledger_verify().ok


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
