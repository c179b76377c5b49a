"""A Hypothesis state machine drives random sequences through every money service.

After each step it checks the ledger against an independent model of what every balance should
be, runs `payments_verify` (balances recomputed from entries, zero-sum transactions, lots and
payouts matching the pending and in-flight balances), and checks each milestone's money against
the model (escrow as the model holds it, released + refunded <= funded). On PostgreSQL it also
fires the deferred zero-sum triggers.

The machine calls the escrow services directly, not the milestone services, so the milestones
stay `approved` in the database: the model tracks which are funded, released or refunded, and
the milestone-state checks of `ledger_verify` do not apply.
"""

import datetime as dt
from collections import defaultdict
from collections.abc import Callable
from typing import Any
from uuid import uuid4

import pytest
import time_machine
from django.conf import settings as django_settings
from django.db import connection, transaction
from hypothesis import HealthCheck, settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, invariant, precondition, rule, run_state_machine_as_test

from payments.errors import IdempotencyConflict, InsufficientFunds
from payments.fees import platform_fee_split
from payments.models import AccountKind, Balance, LedgerTransaction, Payout
from payments.selectors import milestone_money_totals
from payments.services import (
    deposit,
    earnings_mature_due,
    escrow_change,
    escrow_fund,
    escrow_refund,
    escrow_release,
    escrow_split,
    payout_complete,
    payout_fail,
    payout_request,
)
from payments.verification import payments_verify
from tests.contracts.factories import ContractFactory
from tests.marketplace.factories import JobFactory, ProposalFactory
from tests.payments.factories import SUCCESS_CARD, milestone_in_state, with_payout_destination
from tests.users.factories import ClientFactory, FreelancerFactory

START = dt.datetime(2030, 1, 1, 9, 0, tzinfo=dt.UTC)
AMOUNTS = st.integers(min_value=1, max_value=80_000)


class LedgerMachine(RuleBasedStateMachine):
    def __init__(self) -> None:
        super().__init__()
        # Each example runs in a savepoint rolled back at teardown, on a clock we move ourselves.
        self._atomic = transaction.atomic()
        self._atomic.__enter__()
        self._traveller = time_machine.travel(START, tick=False)
        self._clock = self._traveller.start()
        self.clients = [ClientFactory(), ClientFactory()]
        self.freelancers = [with_payout_destination(FreelancerFactory()), with_payout_destination(FreelancerFactory())]
        self.contracts: dict[tuple[int, int], Any] = {}
        self.expected: dict[tuple, int] = defaultdict(int)
        self.milestones: dict[int, dict[str, Any]] = {}
        self.lots: list[dict[str, Any]] = []
        self.payouts: dict[int, dict[str, Any]] = {}
        self.replays: list[tuple[Callable[[], Any], int]] = []
        self.conflicts: list[Callable[[], Any]] = []

    def teardown(self) -> None:
        transaction.set_rollback(True)
        self._atomic.__exit__(None, None, None)
        self._traveller.stop()

    # --- helpers ----------------------------------------------------------------------------
    def _contract(self, client_index: int, freelancer_index: int) -> Any:
        pair = (client_index, freelancer_index)
        if pair not in self.contracts:
            client, freelancer = self.clients[client_index], self.freelancers[freelancer_index]
            job = JobFactory(client=client, status="closed")
            self.contracts[pair] = ContractFactory(
                job=job, proposal=ProposalFactory(job=job, freelancer=freelancer, status="accepted")
            )
        return self.contracts[pair]

    def _funded(self) -> list[int]:
        return sorted(pk for pk, m in self.milestones.items() if m["state"] == "funded")

    def _add_lot(self, freelancer: Any, amount: int) -> None:
        if amount > 0:
            self.lots.append(
                {
                    "freelancer": freelancer.pk,
                    "amount": amount,
                    "available_at": dt.datetime.now(tz=dt.UTC) + django_settings.EARNINGS_HOLD_PERIOD,
                    "matured": False,
                }
            )

    def _pay_freelancer(self, freelancer: Any, gross: int) -> None:
        split = platform_fee_split(amount=gross)
        self.expected[("pending", freelancer.pk)] += split.share
        self.expected[("fees",)] += split.fee
        self._add_lot(freelancer, split.share)

    # --- rules ------------------------------------------------------------------------------
    @rule(client_index=st.integers(0, 1), amount=st.integers(1, 100_000))
    def add_funds(self, client_index: int, amount: int) -> None:
        client, key = self.clients[client_index], uuid4().hex
        posted = deposit(user=client, amount=amount, currency="USD", card_number=SUCCESS_CARD, idempotency_key=key)
        self.expected[("client", client.pk)] += amount
        self.expected[("world",)] -= amount
        self.replays.append(
            (
                lambda: deposit(
                    user=client, amount=amount, currency="USD", card_number=SUCCESS_CARD, idempotency_key=key
                ),
                posted.pk,
            )
        )
        self.conflicts.append(
            lambda: deposit(
                user=client, amount=amount + 1, currency="USD", card_number=SUCCESS_CARD, idempotency_key=key
            )
        )

    @rule(client_index=st.integers(0, 1), freelancer_index=st.integers(0, 1), amount=AMOUNTS)
    def fund(self, client_index: int, freelancer_index: int, amount: int) -> None:
        contract = self._contract(client_index, freelancer_index)
        milestone = milestone_in_state("approved", contract=contract, amount=amount)
        client = contract.client
        self.milestones[milestone.pk] = {"state": "approved", "object": milestone, "changes": 0}
        if self.expected[("client", client.pk)] < amount:
            with pytest.raises(InsufficientFunds):
                escrow_fund(milestone=milestone, client=client, amount=amount, currency="USD")
            return
        posted = escrow_fund(milestone=milestone, client=client, amount=amount, currency="USD")
        self.milestones[milestone.pk]["state"] = "funded"
        self.expected[("client", client.pk)] -= amount
        self.expected[("escrow", milestone.pk)] += amount
        self.replays.append(
            (lambda: escrow_fund(milestone=milestone, client=client, amount=amount, currency="USD"), posted.pk)
        )
        self.conflicts.append(
            lambda: escrow_fund(milestone=milestone, client=client, amount=amount + 1, currency="USD")
        )

    @precondition(lambda self: self._funded())
    @rule(data=st.data(), bonus=st.integers(0, 3_000))
    def release(self, data: st.DataObject, bonus: int) -> None:
        pk = data.draw(st.sampled_from(self._funded()), label="milestone")
        milestone = self.milestones[pk]["object"]
        client, freelancer = milestone.contract.client, milestone.contract.freelancer
        if bonus > self.expected[("client", client.pk)]:
            with pytest.raises(InsufficientFunds):
                escrow_release(milestone=milestone, client=client, freelancer=freelancer, bonus=bonus)
            return
        posted = escrow_release(milestone=milestone, client=client, freelancer=freelancer, bonus=bonus)
        self._pay_freelancer(freelancer, self.expected.pop(("escrow", pk)))
        if bonus:
            self.expected[("client", client.pk)] -= bonus
            self._pay_freelancer(freelancer, bonus)
        self.milestones[pk]["state"] = "released"
        self.replays.append(
            (lambda: escrow_release(milestone=milestone, client=client, freelancer=freelancer, bonus=bonus), posted.pk)
        )

    @precondition(lambda self: self._funded())
    @rule(data=st.data())
    def refund(self, data: st.DataObject) -> None:
        pk = data.draw(st.sampled_from(self._funded()), label="milestone")
        milestone = self.milestones[pk]["object"]
        client = milestone.contract.client
        posted = escrow_refund(milestone=milestone, client=client)
        self.expected[("client", client.pk)] += self.expected.pop(("escrow", pk))
        self.milestones[pk]["state"] = "refunded"
        self.replays.append((lambda: escrow_refund(milestone=milestone, client=client), posted.pk))

    @precondition(lambda self: self._funded())
    @rule(data=st.data(), share=st.floats(0, 1))
    def split(self, data: st.DataObject, share: float) -> None:
        pk = data.draw(st.sampled_from(self._funded()), label="milestone")
        milestone = self.milestones[pk]["object"]
        client, freelancer = milestone.contract.client, milestone.contract.freelancer
        held = self.expected[("escrow", pk)]
        to_freelancer = int(held * share)
        posted = escrow_split(
            milestone=milestone, client=client, freelancer=freelancer, freelancer_amount=to_freelancer
        )
        self.expected.pop(("escrow", pk))
        self._pay_freelancer(freelancer, to_freelancer)
        self.expected[("client", client.pk)] += held - to_freelancer
        self.milestones[pk]["state"] = "released"
        self.replays.append(
            (
                lambda: escrow_split(
                    milestone=milestone, client=client, freelancer=freelancer, freelancer_amount=to_freelancer
                ),
                posted.pk,
            )
        )

    @precondition(lambda self: self._funded())
    @rule(data=st.data(), new_amount=AMOUNTS)
    def change_order(self, data: st.DataObject, new_amount: int) -> None:
        pk = data.draw(st.sampled_from(self._funded()), label="milestone")
        record = self.milestones[pk]
        milestone, client = record["object"], record["object"].contract.client
        difference = new_amount - self.expected[("escrow", pk)]
        change_number = record["changes"] + 1
        if difference > self.expected[("client", client.pk)]:
            with pytest.raises(InsufficientFunds):
                escrow_change(milestone=milestone, client=client, new_amount=new_amount, change_number=change_number)
            return
        posted = escrow_change(milestone=milestone, client=client, new_amount=new_amount, change_number=change_number)
        assert (posted is None) == (difference == 0)
        record["changes"] = change_number
        self.expected[("client", client.pk)] -= difference
        self.expected[("escrow", pk)] = new_amount

    @rule(days=st.integers(0, 4), hours=st.integers(0, 23))
    def time_passes_and_earnings_mature(self, days: int, hours: int) -> None:
        self._clock.shift(dt.timedelta(days=days, hours=hours))
        now = dt.datetime.now(tz=dt.UTC)
        due = [lot for lot in self.lots if not lot["matured"] and lot["available_at"] <= now]
        assert earnings_mature_due() == len(due)
        for lot in due:
            lot["matured"] = True
            self.expected[("pending", lot["freelancer"])] -= lot["amount"]
            self.expected[("available", lot["freelancer"])] += lot["amount"]

    @rule(freelancer_index=st.integers(0, 1), amount=st.integers(1, 60_000))
    def withdraw(self, freelancer_index: int, amount: int) -> None:
        freelancer = self.freelancers[freelancer_index]
        key = uuid4().hex
        if amount > self.expected[("available", freelancer.pk)]:
            with pytest.raises(InsufficientFunds):
                payout_request(user=freelancer, amount=amount, currency="USD", idempotency_key=key)
            return
        payout = payout_request(user=freelancer, amount=amount, currency="USD", idempotency_key=key)
        self.payouts[payout.pk] = {"user": freelancer.pk, "amount": amount, "status": "requested"}
        self.expected[("available", freelancer.pk)] -= amount
        self.expected[("in_flight", freelancer.pk)] += amount

    @precondition(lambda self: any(p["status"] == "requested" for p in self.payouts.values()))
    @rule(data=st.data(), succeeds=st.booleans())
    def payout_settles(self, data: st.DataObject, succeeds: bool) -> None:
        pk = data.draw(st.sampled_from(sorted(k for k, p in self.payouts.items() if p["status"] == "requested")))
        record, payout = self.payouts[pk], Payout.objects.get(pk=pk)
        self.expected[("in_flight", record["user"])] -= record["amount"]
        if succeeds:
            payout_complete(payout=payout)
            self.expected[("world",)] += record["amount"]
        else:
            payout_fail(payout=payout, reason="Bank refused")
            self.expected[("available", record["user"])] += record["amount"]
        record["status"] = "completed" if succeeds else "failed"

    @precondition(lambda self: self.replays)
    @rule(data=st.data())
    def replay_returns_the_original(self, data: st.DataObject) -> None:
        call, original = data.draw(st.sampled_from(self.replays), label="replay")
        count = LedgerTransaction.objects.count()
        again = call()
        assert (again.pk, again.replayed) == (original, True)
        assert LedgerTransaction.objects.count() == count

    @precondition(lambda self: self.conflicts)
    @rule(data=st.data())
    def same_key_other_parameters_is_refused(self, data: st.DataObject) -> None:
        call = data.draw(st.sampled_from(self.conflicts), label="conflict")
        count = LedgerTransaction.objects.count()
        with pytest.raises(IdempotencyConflict):
            call()
        assert LedgerTransaction.objects.count() == count

    # --- invariants -------------------------------------------------------------------------
    @invariant()
    def balances_match_the_model(self) -> None:
        actual: dict[tuple, int] = {}
        short = {
            AccountKind.CLIENT_BALANCE: "client",
            AccountKind.PENDING_EARNINGS: "pending",
            AccountKind.AVAILABLE_EARNINGS: "available",
            AccountKind.PAYOUTS_IN_FLIGHT: "in_flight",
        }
        for kind, user_id, milestone_id, amount in Balance.objects.values_list(
            "account__kind", "account__user_id", "account__milestone_id", "amount"
        ):
            if kind == AccountKind.WORLD:
                actual[("world",)] = amount
            elif kind == AccountKind.PLATFORM_FEES:
                actual[("fees",)] = amount
            elif kind == AccountKind.ESCROW:
                actual[("escrow", milestone_id)] = amount
            else:
                actual[(short[kind], user_id)] = amount
            if kind != AccountKind.WORLD:
                assert amount >= 0
        expected = {key: value for key, value in self.expected.items() if value}
        assert {key: value for key, value in actual.items() if value} == expected

    @invariant()
    def ledger_verifies(self) -> None:
        report = payments_verify()
        assert report.ok, report.violations

    @invariant()
    def each_milestone_s_money_matches_the_model(self) -> None:
        totals = milestone_money_totals(milestone_ids=sorted(self.milestones))
        for pk, record in self.milestones.items():
            money = totals[pk]
            assert money.in_escrow == self.expected.get(("escrow", pk), 0), (pk, record["state"], money)
            if record["state"] != "funded":
                assert money.in_escrow == 0, (pk, record["state"], money)
            assert money.released + money.refunded <= money.funded, (pk, money)

    @invariant()
    def deferred_database_checks_pass(self) -> None:
        if connection.vendor == "postgresql":
            # Switching to IMMEDIATE runs every pending deferred trigger (zero-sum, foreign keys) now.
            with connection.cursor() as cursor:
                cursor.execute("SET CONSTRAINTS ALL IMMEDIATE")
                cursor.execute("SET CONSTRAINTS ALL DEFERRED")


@pytest.mark.django_db
def test_random_sequences_of_money_movements_keep_every_invariant():
    run_state_machine_as_test(
        LedgerMachine,
        settings=settings(
            max_examples=20,
            stateful_step_count=25,
            deadline=None,
            database=None,
            suppress_health_check=[HealthCheck.too_slow],
        ),
    )
