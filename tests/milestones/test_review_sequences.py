"""Review: random sequences of legal milestone actions never break a ledger invariant.

Hypothesis drives fund, submit, request changes, release (with bonus), full and partial refunds,
disputes (open, withdraw, resolve with any split), change orders and the auto-release sweep on
a few milestones of one contract, and checks after every step that `ledger_verify` finds
nothing and that every refused action left the milestone and the money untouched.
"""

import datetime as dt
from typing import Any

import pytest
import time_machine
from django.db import transaction
from django.utils import timezone
from hypothesis import HealthCheck, settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, invariant, rule, run_state_machine_as_test

from milestones import services
from milestones.errors import MilestoneError
from milestones.models import Milestone, MilestoneState
from payments.errors import PaymentError
from payments.selectors import milestone_money_totals
from payments.verification import ledger_verify
from tests.milestones.factories import deliverable, funded_contract, milestone_in_state, staff_user

S = MilestoneState
START = dt.datetime(2030, 1, 1, 9, 0, tzinfo=dt.UTC)
AMOUNTS = st.integers(min_value=1, max_value=60_000)


class MilestoneMachine(RuleBasedStateMachine):
    def __init__(self) -> None:
        super().__init__()
        self._atomic = transaction.atomic()
        self._atomic.__enter__()
        self._traveller = time_machine.travel(START, tick=False)
        self._clock = self._traveller.start()
        self.contract = funded_contract(balance=300_000)
        self.client, self.freelancer = self.contract.client, self.contract.freelancer
        self.staff = staff_user()
        self.milestones = [milestone_in_state(S.APPROVED, contract=self.contract, amount=a) for a in (20_000, 35_000)]
        self.change_number = 0

    def teardown(self) -> None:
        self._traveller.stop()
        transaction.set_rollback(True)
        self._atomic.__exit__(None, None, None)

    def _try(self, index: int, action: Any) -> None:
        milestone = Milestone.objects.get(pk=self.milestones[index % len(self.milestones)].pk)
        before = (milestone.state, milestone.amount, milestone_money_totals(milestone_ids=[milestone.pk])[milestone.pk])
        try:
            with transaction.atomic():
                action(milestone)
        except (MilestoneError, PaymentError):
            milestone.refresh_from_db()
            after = (
                milestone.state,
                milestone.amount,
                milestone_money_totals(milestone_ids=[milestone.pk])[milestone.pk],
            )
            assert after == before, "a refused action changed something"

    @rule(i=st.integers(0, 1))
    def fund(self, i: int) -> None:
        self._try(i, lambda m: services.milestone_fund(milestone=m, actor=self.client))

    @rule(i=st.integers(0, 1))
    def submit(self, i: int) -> None:
        self._try(
            i,
            lambda m: services.milestone_submit(
                milestone=m, actor=self.freelancer, message="Done", files=[deliverable()]
            ),
        )

    @rule(i=st.integers(0, 1))
    def request_changes(self, i: int) -> None:
        self._try(i, lambda m: services.milestone_request_changes(milestone=m, actor=self.client, note="Fix it"))

    @rule(i=st.integers(0, 1), bonus=st.sampled_from([0, 0, 500, 10_000_000]))
    def release(self, i: int, bonus: int) -> None:
        self._try(i, lambda m: services.milestone_release(milestone=m, actor=self.client, bonus=bonus))

    @rule(i=st.integers(0, 1), amount=st.one_of(st.none(), AMOUNTS))
    def refund(self, i: int, amount: int | None) -> None:
        self._try(i, lambda m: services.milestone_refund(milestone=m, actor=self.freelancer, amount=amount))

    @rule(i=st.integers(0, 1), by_client=st.booleans())
    def open_dispute(self, i: int, by_client: bool) -> None:
        actor = self.client if by_client else self.freelancer
        self._try(i, lambda m: services.milestone_open_dispute(milestone=m, actor=actor, reason="No"))

    @rule(i=st.integers(0, 1), by_client=st.booleans())
    def withdraw_dispute(self, i: int, by_client: bool) -> None:
        actor = self.client if by_client else self.freelancer
        self._try(i, lambda m: services.milestone_withdraw_dispute(milestone=m, actor=actor))

    @rule(i=st.integers(0, 1), share=st.sampled_from([0.0, 0.3, 1.0]))
    def resolve(self, i: int, share: float) -> None:
        self._try(
            i,
            lambda m: services.milestone_resolve(
                milestone=m, actor=self.staff, freelancer_amount=int(m.amount * share), note="Decided"
            ),
        )

    @rule(i=st.integers(0, 1), amount=AMOUNTS)
    def change_order(self, i: int, amount: int) -> None:
        self.change_number += 1
        number = self.change_number
        self._try(
            i,
            lambda m: services.milestone_change_order_apply(
                milestone=m, actor=self.freelancer, amount=amount, due_at=m.due_at, change_number=number
            ),
        )

    @rule(days=st.integers(1, 20))
    def time_passes(self, days: int) -> None:
        self._clock.shift(dt.timedelta(days=days))
        services.milestone_auto_release_due(now=timezone.now())

    @invariant()
    def ledger_holds(self) -> None:
        report = ledger_verify()
        assert report.ok, report.violations
        for m in Milestone.objects.filter(pk__in=[m.pk for m in self.milestones]):
            assert (m.auto_release_at is not None) == (m.state == S.SUBMITTED), (m.state, m.auto_release_at)


@pytest.mark.django_db
def test_random_milestone_sequences_keep_the_ledger_whole():
    run_state_machine_as_test(
        MilestoneMachine,
        settings=settings(
            max_examples=20,
            stateful_step_count=20,
            deadline=None,
            suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture],
        ),
    )
