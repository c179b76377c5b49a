"""Real concurrency on PostgreSQL: release, disputes and refund racing on one milestone; exactly one wins."""

import threading
from collections.abc import Callable
from datetime import timedelta
from typing import Any

import pytest
from django.core.management import call_command
from django.db import close_old_connections, connection, transaction
from django.utils import timezone

import contracts.services as contract_services
from contracts.services import contract_end
from disputes.services import dispute_open
from milestones import services
from milestones.errors import MilestoneError
from milestones.models import Milestone, MilestoneState
from payments.errors import PaymentError
from payments.gateway import ChargeResult, DemoCardGateway
from payments.models import EarningsLot
from payments.selectors import client_balance, milestone_money_totals
from payments.services import earnings_mature
from tests.milestones.factories import funded_contract, milestone_in_state

pytestmark = [pytest.mark.postgres, pytest.mark.django_db(transaction=True)]
S = MilestoneState


def _race(calls: list[Callable[[], object]]) -> tuple[list[str], list[Exception]]:
    """Start every call at the same moment, each on its own thread and database connection."""
    barrier = threading.Barrier(len(calls))
    wins: list[str] = []
    losses: list[Exception] = []
    lock = threading.Lock()

    def run(name: str, call: Callable[[], object]) -> None:
        try:
            barrier.wait()
            call()
            with lock:
                wins.append(name)
        except (MilestoneError, PaymentError) as error:
            with lock:
                losses.append(error)
        finally:
            connection.close()

    threads = [threading.Thread(target=run, args=(f"{i}:{c.__name__}", c)) for i, c in enumerate(calls)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    return wins, losses


@pytest.mark.parametrize("start_state", [S.FUNDED, S.SUBMITTED])
def test_release_dispute_and_refund_race_and_exactly_one_wins(start_state):
    # Given a funded or submitted $500 milestone
    milestone = milestone_in_state(start_state, amount=50_000)
    client, freelancer = milestone.contract.client, milestone.contract.freelancer

    def release() -> Milestone:
        return services.milestone_release(milestone=milestone, actor=client)

    def open_dispute() -> object:
        return dispute_open(milestone=milestone, actor=freelancer, reason="scope", statement="Scope")

    def refund() -> Milestone:
        return services.milestone_refund(milestone=milestone, actor=freelancer, note="")

    def client_dispute() -> object:
        return dispute_open(milestone=milestone, actor=client, reason="quality", statement="Quality")

    # When two of each fire at once from eight threads
    wins, losses = _race([release, open_dispute, refund, client_dispute] * 2)

    # Then exactly one won; every other got a domain error (a message, never a 500)
    assert len(wins) == 1, (wins, losses)
    assert len(losses) == 7
    assert all("already" in str(error) for error in losses), [str(e) for e in losses]

    # And the state, the history and the money all tell the same single story
    milestone.refresh_from_db()
    winner = wins[0].split(":")[1]
    expected_state = {"release": S.RELEASED, "open_dispute": S.DISPUTED, "refund": S.REFUNDED}
    expected_state["client_dispute"] = S.DISPUTED
    assert milestone.state == expected_state[winner]
    # And a disputed winner has exactly one case
    assert milestone.dispute_cases.count() == (1 if milestone.state == S.DISPUTED else 0)
    assert milestone.events.exclude(action__in=["create", "approve", "fund", "submit"]).count() == 1
    totals = milestone_money_totals(milestone_ids=[milestone.pk])[milestone.pk]
    assert totals.funded == 50_000
    assert totals.released + totals.refunded + totals.in_escrow == 50_000
    call_command("ledger_verify")


def test_two_tabs_funding_the_same_milestones_fund_them_once():
    # Given two approved milestones and two simultaneous "fund several" posts with different tokens
    first = milestone_in_state(S.APPROVED, amount=20_000)
    second = milestone_in_state(S.APPROVED, contract=first.contract, amount=20_000)
    client = first.contract.client

    def fund_both(key: str) -> Callable[[], object]:
        def fund_many() -> object:
            return services.milestone_fund_many(milestones=[second, first], actor=client, idempotency_key=key)

        return fund_many

    wins, losses = _race([fund_both("tab-a"), fund_both("tab-b"), fund_both("tab-c")])

    assert len(wins) == 1 and len(losses) == 2
    totals = milestone_money_totals(milestone_ids=[first.pk, second.pk])
    assert totals[first.pk].in_escrow == totals[second.pk].in_escrow == 20_000
    call_command("ledger_verify")


# --- Row locks that must not block rows referencing the milestone ----------------------------------------
# Django's foreign keys are DEFERRABLE INITIALLY DEFERRED: a transaction that inserts a ledger
# transaction or an earnings lot pointing at a milestone takes FOR KEY SHARE on that milestone at
# commit, while it still holds balance locks. FOR UPDATE blocks KEY SHARE, so a service holding a
# milestone FOR UPDATE and waiting for a balance can close a cycle with it; for example: ending a
# contract locks its released milestone M1 and waits for M2, held by a release that waits for the
# freelancer's pending balance, held by M1's lot maturing, which waits at commit for M1. Services
# never change a milestone's key, so FOR NO KEY UPDATE serialises them just the same and lets the
# lot commit.
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
    return contract, EarningsLot.objects.get(milestone_id=released.pk)


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


class CountingGateway(DemoCardGateway):
    """The test gateway, remembering each distinct charge it made (a retried key is the same charge)."""

    charges: dict[str, int] = {}
    lock = threading.Lock()

    def charge(self, *, amount: int, currency: str, card_number: str, idempotency_key: str) -> ChargeResult:
        result = super().charge(
            amount=amount, currency=currency, card_number=card_number, idempotency_key=idempotency_key
        )
        with self.lock:
            self.charges[result.charge_id] = result.amount
        return result


def test_three_tabs_funding_one_milestone_by_card_charge_the_shortfall_once(settings):
    # Given a $300 approved milestone and a client with $100 on their balance
    milestone = milestone_in_state(S.APPROVED, contract=funded_contract(balance=10_000), amount=30_000)
    client = milestone.contract.client
    settings.PAYMENT_GATEWAY = f"{__name__}.CountingGateway"
    CountingGateway.charges = {}

    def fund_by_card(tab: str) -> Callable[[], object]:
        def fund() -> object:
            return services.milestone_fund(
                milestone=milestone, actor=client, card_number="4242424242424242", idempotency_key=tab
            )

        return fund

    # When three tabs fund it by card at the same moment
    wins, losses = _race([fund_by_card("tab-a"), fund_by_card("tab-b"), fund_by_card("tab-c")])

    # Then the card was charged once, for the $200 shortfall, and the milestone funded once
    assert list(CountingGateway.charges.values()) == [20_000]
    assert len(wins) == 1 and len(losses) == 2, (wins, losses)
    assert Milestone.objects.get(pk=milestone.pk).state == S.FUNDED
    assert milestone_money_totals(milestone_ids=[milestone.pk])[milestone.pk].funded == 30_000
    # And nothing is left over on the balance: $100 + $200 charged, less $300 in escrow
    assert client_balance(user=client, currency="USD") == 0
    call_command("ledger_verify")


def test_three_tabs_funding_several_milestones_by_card_charge_the_shortfall_once(settings):
    # Given two approved milestones of $200 and $100 and a client with nothing on their balance
    first = milestone_in_state(S.APPROVED, contract=funded_contract(balance=0), amount=20_000)
    second = milestone_in_state(S.APPROVED, contract=first.contract, amount=10_000)
    client = first.contract.client
    settings.PAYMENT_GATEWAY = f"{__name__}.CountingGateway"
    CountingGateway.charges = {}

    def fund_both_by_card(tab: str) -> Callable[[], object]:
        def fund_many() -> object:
            return services.milestone_fund_many(
                milestones=[first, second], actor=client, card_number="4242424242424242", idempotency_key=tab
            )

        return fund_many

    # When three tabs of the contract's fund page submit both at once
    wins, losses = _race([fund_both_by_card("tab-a"), fund_both_by_card("tab-b"), fund_both_by_card("tab-c")])

    # Then one $300 charge, both funded once, nothing left over
    assert list(CountingGateway.charges.values()) == [30_000]
    assert len(wins) == 1 and len(losses) == 2, (wins, losses)
    totals = milestone_money_totals(milestone_ids=[first.pk, second.pk])
    assert (totals[first.pk].funded, totals[second.pk].funded) == (20_000, 10_000)
    assert client_balance(user=client, currency="USD") == 0
    call_command("ledger_verify")


def test_three_tabs_releasing_with_a_bonus_by_card_charge_the_bonus_shortfall_once(settings):
    # Given a submitted milestone and a client whose balance is empty
    milestone = milestone_in_state(S.SUBMITTED, contract=funded_contract(balance=50_000), amount=50_000)
    client = milestone.contract.client
    assert client_balance(user=client, currency="USD") == 0
    settings.PAYMENT_GATEWAY = f"{__name__}.CountingGateway"
    CountingGateway.charges = {}

    def release_with_bonus(tab: str) -> Callable[[], object]:
        def release() -> object:
            return services.milestone_release(
                milestone=milestone, actor=client, bonus=2_500, card_number="4242424242424242", idempotency_key=tab
            )

        return release

    # When three tabs release it with a $25 bonus paid by card at once
    wins, losses = _race([release_with_bonus("tab-a"), release_with_bonus("tab-b"), release_with_bonus("tab-c")])

    # Then the card paid the bonus once, the milestone was released once, and nothing is left over
    assert list(CountingGateway.charges.values()) == [2_500]
    assert len(wins) == 1 and len(losses) == 2, (wins, losses)
    assert milestone_money_totals(milestone_ids=[milestone.pk])[milestone.pk].bonus == 2_500
    assert client_balance(user=client, currency="USD") == 0
    call_command("ledger_verify")
