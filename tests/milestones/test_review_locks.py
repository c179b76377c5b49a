"""Review: a milestone row lock must not block rows that merely reference the milestone.

Django's foreign keys are DEFERRABLE INITIALLY DEFERRED: a transaction that inserts a ledger
transaction or an earnings lot pointing at a milestone takes FOR KEY SHARE on that milestone at
commit, while it still holds balance locks. FOR UPDATE blocks KEY SHARE, so a service holding a
milestone FOR UPDATE and waiting for a balance can close a cycle with it; for example: ending a
contract locks its released milestone M1 and waits for M2, held by a release that waits for the
freelancer's pending balance, held by M1's lot maturing, which waits at commit for M1. Services
never change a milestone's key, so FOR NO KEY UPDATE serialises them just the same and lets the
lot commit.
"""

import threading
from collections.abc import Callable
from datetime import timedelta
from typing import Any

import pytest
from django.db import close_old_connections, connection, transaction
from django.utils import timezone

import contracts.services as contract_services
from contracts.services import contract_end
from milestones import services
from milestones.models import MilestoneState
from payments.models import EarningsLot
from payments.services import earnings_mature
from tests.milestones.factories import funded_contract, milestone_in_state

pytestmark = [pytest.mark.postgres, pytest.mark.django_db(transaction=True)]
S = MilestoneState


def while_held(*, hold: Callable[[threading.Event, threading.Event], Any], meanwhile: Callable[[], Any]) -> Any:
    """Run `hold` on a thread until it signals it holds its locks; run `meanwhile` on another; release."""
    locked, done = threading.Event(), threading.Event()
    results: dict[str, Any] = {}

    def run_holder() -> None:
        try:
            results["holder"] = hold(locked, done)
        except Exception as error:  # the error is the result under test
            results["holder"] = error
        finally:
            locked.set()
            connection.close()

    def run_meanwhile() -> None:
        try:
            results["meanwhile"] = meanwhile()
        except Exception as error:  # the error is the result under test
            results["meanwhile"] = error
        finally:
            connection.close()

    holder = threading.Thread(target=run_holder)
    holder.start()
    assert locked.wait(timeout=10)
    other = threading.Thread(target=run_meanwhile)
    other.start()
    other.join(timeout=5)
    finished_while_held = not other.is_alive()
    done.set()
    holder.join(timeout=20)
    other.join(timeout=20)
    close_old_connections()
    return finished_while_held, results


def released_with_lot() -> tuple[Any, EarningsLot]:
    contract = funded_contract()
    released = milestone_in_state(S.RELEASED, contract=contract, amount=30_000)
    return contract, EarningsLot.objects.get(milestone=released)


def test_a_lot_matures_while_a_service_holds_its_milestone():
    # Given a released milestone whose lot is past its hold
    _, lot = released_with_lot()

    # When a milestone service holds that milestone's row lock
    def hold(locked: threading.Event, done: threading.Event) -> None:
        with transaction.atomic():
            services.milestone_lock(milestone_id=lot.milestone_id)
            locked.set()
            done.wait(timeout=10)

    # Then the lot still matures and commits meanwhile, instead of queueing behind the milestone
    finished, results = while_held(
        hold=hold, meanwhile=lambda: earnings_mature(lot=lot, now=timezone.now() + timedelta(days=30))
    )
    assert finished, "maturing a lot waited for the milestone's row lock"
    assert not isinstance(results["meanwhile"], Exception), results


def test_a_lot_matures_while_the_contract_is_being_ended(monkeypatch):
    # Given a contract with a released milestone whose lot is past its hold
    contract, lot = released_with_lot()
    pause: dict[str, threading.Event] = {}
    record = contract_services.contract_event_record

    def paused_record(**kwargs: Any) -> Any:
        pause["locked"].set()
        pause["done"].wait(timeout=10)
        return record(**kwargs)

    monkeypatch.setattr(contract_services, "contract_event_record", paused_record)

    # When the client ends the contract and is paused while it holds every milestone
    def hold(locked: threading.Event, done: threading.Event) -> Any:
        pause.update(locked=locked, done=done)
        return contract_end(contract=contract, actor=contract.client, note="Done")

    # Then the lot matures and commits meanwhile, and the contract still ends
    finished, results = while_held(
        hold=hold, meanwhile=lambda: earnings_mature(lot=lot, now=timezone.now() + timedelta(days=30))
    )
    assert finished, "maturing a lot waited for the contract's end"
    assert not isinstance(results["meanwhile"], Exception), results
    assert not isinstance(results["holder"], Exception), results
