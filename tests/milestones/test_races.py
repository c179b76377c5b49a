"""Real concurrency on PostgreSQL: release, dispute and refund racing on one milestone; exactly one wins."""

import threading
from collections.abc import Callable

import pytest
from django.core.management import call_command
from django.db import connection

from milestones import services
from milestones.errors import MilestoneError
from milestones.models import Milestone, MilestoneState
from payments.errors import PaymentError
from payments.selectors import milestone_money_totals
from tests.milestones.factories import milestone_in_state

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

    def open_dispute() -> Milestone:
        return services.milestone_open_dispute(milestone=milestone, actor=freelancer, reason="Scope")

    def refund() -> Milestone:
        return services.milestone_refund(milestone=milestone, actor=freelancer, note="")

    def partial_refund() -> Milestone:
        return services.milestone_refund(milestone=milestone, actor=freelancer, amount=10_000, note="")

    # When two of each fire at once from eight threads (a partial refund needs submitted work)
    fourth = partial_refund if start_state == S.SUBMITTED else refund
    wins, losses = _race([release, open_dispute, refund, fourth] * 2)

    # Then exactly one won; every other got a domain error (a message, never a 500)
    assert len(wins) == 1, (wins, losses)
    assert len(losses) == 7
    assert all("already" in str(error) for error in losses), [str(e) for e in losses]

    # And the state, the history and the money all tell the same single story
    milestone.refresh_from_db()
    winner = wins[0].split(":")[1]
    expected_state = {"release": S.RELEASED, "open_dispute": S.DISPUTED, "refund": S.REFUNDED}
    expected_state["partial_refund"] = S.RELEASED
    assert milestone.state == expected_state[winner]
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
