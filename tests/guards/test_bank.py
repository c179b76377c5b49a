"""The bank test (after Jepsen's): many threads move money through the services at random for a while,
then the books must balance.

Each thread has its own database connection and runs random operations from OPERATIONS: deposits,
new milestones, funding, submissions, requests for changes, releases (with bonuses), refunds, change
orders, dispute cases opened, withdrawn and escalated, money offers made and accepted (`settle`),
arbitrators' written decisions (`resolve`, below the four-eyes threshold so the money moves at once),
the auto-release and earnings sweeps, and payouts requested, completed and failed. A refusal (a DomainError: wrong
state, not enough money, ...) is a normal outcome; anything else (an IntegrityError, a deadlock) fails
the test. Afterwards: ledger_verify passes, all balances sum to zero, the money inside is exactly
what was deposited less what was paid out, no balance is negative and no milestone was resolved
twice.

Time never moves: the sweeps are called with a `now` past every deadline (time_machine is
process-wide, so it can't differ per thread). To add an operation, write a function `(bank, rng) -> bool`
that calls one service and append it to OPERATIONS.

Runs BANK_TEST_SECONDS (default 20) with BANK_TEST_THREADS (default 8) threads.
"""

import os
import random
import threading
import time
import uuid
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import timedelta

import pytest
from django.conf import settings
from django.db import close_old_connections, connection
from django.db.models import Count, Q, Sum
from django.utils import timezone

from contracts.models import ChangeRequest, Contract
from contracts.services import change_request_accept, change_request_propose
from core.errors import DomainError
from disputes import services as dispute_services
from disputes.models import Dispute, DisputeReason, Offer, OfferStatus
from milestones import services as milestone_services
from milestones.ledger_checks import ledger_verify
from milestones.models import Milestone, MilestoneAction, MilestoneEvent, MilestoneState
from milestones.terms import MilestoneTerms
from payments.models import AccountKind, Balance, LedgerTransaction, Payout, PayoutStatus, TransactionKind
from payments.services import deposit, earnings_mature_due, payout_complete, payout_fail, payout_request
from tests.contracts.factories import contract_started
from tests.guards.world import arbitrator_create
from tests.milestones.factories import deliverable
from tests.payments.factories import SUCCESS_CARD, with_payout_destination
from tests.users.factories import ClientFactory, FreelancerFactory
from users.models import User

pytestmark = [pytest.mark.postgres, pytest.mark.django_db(transaction=True)]
S = MilestoneState
SECONDS = float(os.environ.get("BANK_TEST_SECONDS", "20"))
THREADS = int(os.environ.get("BANK_TEST_THREADS", "8"))
CURRENCY = "USD"


@dataclass
class Bank:
    contracts: list[int]
    arbitrator: User
    deposited: list[int] = field(default_factory=list)  # every deposit that went through, by any thread
    lock: threading.Lock = field(default_factory=threading.Lock)

    def contract(self, rng: random.Random) -> Contract:
        return Contract.objects.select_related("client", "freelancer").get(pk=rng.choice(self.contracts))

    def milestone(self, rng: random.Random, *states: str) -> Milestone | None:
        """A random milestone of the bank's contracts in one of these states, or None."""
        return (
            Milestone.objects.select_related("contract", "contract__client", "contract__freelancer")
            .filter(contract_id__in=self.contracts, state__in=states)
            .order_by("?")
            .first()
        )

    def deposited_add(self, amount: int) -> None:
        with self.lock:
            self.deposited.append(amount)


# An operation returns whether it acted (False: nothing to act on yet); a refusal raises a DomainError.
Operation = Callable[[Bank, random.Random], bool]


def key() -> str:
    return uuid.uuid4().hex


# --- Operations: each calls one service (or two, when a person would: propose then accept) -----------
def op_deposit(bank: Bank, rng: random.Random) -> bool:
    client = bank.contract(rng).client
    amount = rng.randint(1, 50) * 1_000
    deposit(user=client, amount=amount, currency=CURRENCY, card_number=SUCCESS_CARD, idempotency_key=key())
    bank.deposited_add(amount)
    return True


def op_milestone_new(bank: Bank, rng: random.Random) -> bool:
    contract = bank.contract(rng)
    milestone = milestone_services.milestone_create(
        contract=contract,
        proposed_by=contract.freelancer,
        title=f"Step {key()[:6]}",
        deliverables="Code.",
        amount=rng.randint(1, 40) * 500,
        due_date=timezone.localdate() + timedelta(days=rng.randint(5, 30)),
    )
    milestone_services.milestone_approve(milestone=milestone, actor=contract.client)
    return True


def op_fund(bank: Bank, rng: random.Random) -> bool:
    if (milestone := bank.milestone(rng, S.APPROVED)) is None:
        return False
    milestone_services.milestone_fund(milestone=milestone, actor=milestone.contract.client, idempotency_key=key())
    return True


def op_submit(bank: Bank, rng: random.Random) -> bool:
    if (milestone := bank.milestone(rng, S.FUNDED)) is None:
        return False
    milestone_services.milestone_submit(
        milestone=milestone,
        actor=milestone.contract.freelancer,
        message="Done",
        files=[deliverable()],
        idempotency_key=key(),
    )
    return True


def op_request_changes(bank: Bank, rng: random.Random) -> bool:
    if (milestone := bank.milestone(rng, S.SUBMITTED)) is None:
        return False
    milestone_services.milestone_request_changes(
        milestone=milestone, actor=milestone.contract.client, note="Again", idempotency_key=key()
    )
    return True


def op_release(bank: Bank, rng: random.Random) -> bool:
    if (milestone := bank.milestone(rng, S.FUNDED, S.SUBMITTED)) is None:
        return False
    milestone_services.milestone_release(
        milestone=milestone,
        actor=milestone.contract.client,
        bonus=rng.choice([0, 0, 0, 700]),
        idempotency_key=key(),
    )
    return True


def op_refund(bank: Bank, rng: random.Random) -> bool:
    if (milestone := bank.milestone(rng, S.FUNDED, S.SUBMITTED)) is None:
        return False
    milestone_services.milestone_refund(
        milestone=milestone, actor=milestone.contract.freelancer, note="Sorry", idempotency_key=key()
    )
    return True


def op_auto_release_sweep(bank: Bank, rng: random.Random) -> bool:
    # Past every review period, as the beat sweep would see it weeks later.
    later = timezone.now() + settings.MILESTONE_REVIEW_PERIOD + timedelta(days=1)
    return milestone_services.milestone_auto_release_due(now=later) > 0


def op_change_order(bank: Bank, rng: random.Random) -> bool:
    if (milestone := bank.milestone(rng, S.FUNDED, S.SUBMITTED, S.APPROVED)) is None:
        return False
    change = change_request_propose(
        contract=milestone.contract,
        proposed_by=milestone.contract.freelancer,
        milestone=milestone,
        terms=MilestoneTerms(
            title=milestone.title,
            deliverables=milestone.deliverables,
            amount=max(500, milestone.amount + rng.randint(-10, 10) * 250),
            due_date=timezone.localdate() + timedelta(days=rng.randint(5, 30)),
        ),
        form_token=uuid.uuid4(),
    )
    change_request_accept(change_request=change, actor=milestone.contract.client)
    return True


def op_change_accept_stale(bank: Bank, rng: random.Random) -> bool:
    # A change left open by a refused accept (or proposed before the milestone moved on) is tried again.
    change = (
        ChangeRequest.objects.select_related("contract__client")
        .filter(contract_id__in=bank.contracts, status=ChangeRequest.Status.PROPOSED)
        .order_by("?")
        .first()
    )
    if change is None:
        return False
    change_request_accept(change_request=change, actor=change.contract.client)
    return True


def open_case(bank: Bank, *, in_arbitration: bool | None = None) -> Dispute | None:
    """A random open case on the bank's contracts (in arbitration or not, if asked), or None."""
    cases = Dispute.objects.select_related("milestone__contract__client", "milestone__contract__freelancer").filter(
        milestone__contract_id__in=bank.contracts, closed_at__isnull=True
    )
    if in_arbitration is not None:
        cases = cases.filter(escalated_at__isnull=not in_arbitration)
    return cases.order_by("?").first()


def op_dispute_open(bank: Bank, rng: random.Random) -> bool:
    if (milestone := bank.milestone(rng, S.FUNDED, S.SUBMITTED)) is None:
        return False
    dispute_services.dispute_open(
        milestone=milestone,
        actor=rng.choice([milestone.contract.client, milestone.contract.freelancer]),
        reason=rng.choice(DisputeReason.values),
        statement="Not as agreed",
        idempotency_key=key(),
    )
    return True


def op_dispute_withdraw(bank: Bank, rng: random.Random) -> bool:
    if (case := open_case(bank)) is None:
        return False
    dispute_services.dispute_withdraw(dispute=case, actor=case.opened_by, note="We agreed", idempotency_key=key())
    return True


def op_dispute_escalate(bank: Bank, rng: random.Random) -> bool:
    if (case := open_case(bank, in_arbitration=False)) is None:
        return False
    contract = case.milestone.contract
    dispute_services.dispute_escalate(
        dispute=case, actor=rng.choice([contract.client, contract.freelancer]), note="Decide", idempotency_key=key()
    )
    return True


def op_dispute_decide(bank: Bank, rng: random.Random) -> bool:
    if (case := open_case(bank, in_arbitration=True)) is None:
        return False
    amount = case.milestone.amount
    dispute_services.dispute_decide(
        dispute=case,
        arbitrator=bank.arbitrator,
        freelancer_amount=rng.choice([0, amount, rng.randint(0, amount)]),
        decision="Decided on the evidence.",
    )
    return True


def op_offer_make(bank: Bank, rng: random.Random) -> bool:
    if (milestone := bank.milestone(rng, S.FUNDED, S.SUBMITTED, S.DISPUTED)) is None:
        return False
    dispute_services.offer_make(
        milestone=milestone,
        actor=rng.choice([milestone.contract.client, milestone.contract.freelancer]),
        freelancer_amount=rng.choice([0, milestone.amount, rng.randint(0, milestone.amount)]),
        message="Shall we settle?",
        idempotency_key=key(),
    )
    return True


def op_offer_accept(bank: Bank, rng: random.Random) -> bool:
    offer = (
        Offer.objects.select_related("milestone__contract")
        .filter(
            milestone__contract_id__in=bank.contracts,
            milestone__state__in=(S.FUNDED, S.SUBMITTED, S.DISPUTED),
            status=OfferStatus.OPEN,
        )
        .order_by("?")
        .first()
    )
    if offer is None:
        return False
    contract = offer.milestone.contract
    other = contract.client if offer.made_by_id == contract.freelancer_id else contract.freelancer
    dispute_services.offer_accept(offer=offer, actor=other, idempotency_key=key())
    return True


def op_mature_sweep(bank: Bank, rng: random.Random) -> bool:
    return earnings_mature_due(now=timezone.now() + settings.EARNINGS_HOLD_PERIOD + timedelta(days=1)) > 0


def op_payout_request(bank: Bank, rng: random.Random) -> bool:
    freelancer = bank.contract(rng).freelancer
    payout_request(user=freelancer, amount=rng.randint(1, 20) * 500, currency=CURRENCY, idempotency_key=key())
    return True


def op_payout_settle(bank: Bank, rng: random.Random) -> bool:
    payout = Payout.objects.filter(status=PayoutStatus.REQUESTED).order_by("?").first()
    if payout is None:
        return False
    if rng.random() < 0.7:
        payout_complete(payout=payout)
    else:
        payout_fail(payout=payout, reason="The bank refused it")
    return True


OPERATIONS: list[tuple[Operation, int]] = [
    (op_deposit, 3),
    (op_milestone_new, 3),
    (op_fund, 4),
    (op_submit, 3),
    (op_request_changes, 1),
    (op_release, 3),
    (op_refund, 1),
    (op_auto_release_sweep, 1),
    (op_change_order, 2),
    (op_change_accept_stale, 1),
    (op_dispute_open, 1),
    (op_dispute_withdraw, 1),
    (op_dispute_escalate, 1),
    (op_dispute_decide, 1),
    (op_offer_make, 2),
    (op_offer_accept, 2),
    (op_mature_sweep, 1),
    (op_payout_request, 2),
    (op_payout_settle, 2),
]


@dataclass
class ThreadReport:
    done: Counter[str] = field(default_factory=Counter)
    idle: Counter[str] = field(default_factory=Counter)
    refused: Counter[str] = field(default_factory=Counter)
    failures: list[str] = field(default_factory=list)


def worker(bank: Bank, seed: int, deadline: float, report: ThreadReport) -> None:
    rng = random.Random(seed)
    operations, weights = zip(*OPERATIONS, strict=True)
    try:
        while time.monotonic() < deadline and len(report.failures) < 5:
            operation = rng.choices(operations, weights)[0]
            try:
                acted = operation(bank, rng)
            except DomainError:
                report.refused[operation.__name__] += 1
            except Exception as error:  # anything but a refusal is a defect under test
                report.failures.append(f"{operation.__name__}: {type(error).__name__}: {error}")
            else:
                (report.done if acted else report.idle)[operation.__name__] += 1
    finally:
        connection.close()


def bank_open() -> Bank:
    contracts = []
    for _ in range(3):
        client = ClientFactory()
        for _ in range(2):
            freelancer = with_payout_destination(FreelancerFactory())
            contracts.append(contract_started(milestones=2, client=client, freelancer=freelancer, amount=5_000).pk)
    bank = Bank(contracts=contracts, arbitrator=arbitrator_create())
    for pk in contracts:
        client = Contract.objects.get(pk=pk).client
        deposit(user=client, amount=30_000, currency=CURRENCY, card_number=SUCCESS_CARD, idempotency_key=key())
        bank.deposited.append(30_000)
    return bank


def test_the_books_balance_after_random_concurrent_work():
    # Given six contracts of three clients with money on their balances
    bank = bank_open()
    reports = [ThreadReport() for _ in range(THREADS)]
    deadline = time.monotonic() + SECONDS
    seed = int(os.environ.get("BANK_TEST_SEED", random.randrange(1_000_000)))

    # When THREADS threads run random operations through the services until the deadline
    threads = [
        threading.Thread(target=worker, args=(bank, seed + index, deadline, reports[index])) for index in range(THREADS)
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=SECONDS + 120)
    assert not any(thread.is_alive() for thread in threads), "a thread hung (deadlock?)"
    close_old_connections()
    done = sum((report.done for report in reports), Counter())
    refused = sum((report.refused for report in reports), Counter())
    failures = [failure for report in reports for failure in report.failures]
    print(f"bank test, seed {seed}: done {dict(done)}; refused {dict(refused)}")

    # Then nothing but refusals went wrong, and the run did real work (seed printed to replay it)
    assert not failures, f"seed {seed}:\n" + "\n".join(failures)
    assert done["op_fund"] and done["op_release"] + done["op_auto_release_sweep"], (seed, done)
    assert sum(done.values()) >= 50, (seed, done)
    # And the ledger verifies, every balance summing to zero
    report = ledger_verify()
    assert report.ok, (seed, report.violations)
    assert set(report.totals.values()) <= {0}, report.totals
    # And the money inside is what came in less what went out
    paid_out = Payout.objects.filter(status=PayoutStatus.COMPLETED).aggregate(total=Sum("amount"))["total"] or 0
    world = Balance.objects.get(account__kind=AccountKind.WORLD, currency=CURRENCY).amount
    inside = Balance.objects.exclude(account__kind=AccountKind.WORLD).aggregate(total=Sum("amount"))["total"]
    assert inside == sum(bank.deposited) - paid_out == -world, (seed, inside, world, sum(bank.deposited), paid_out)
    # And no balance is negative but the world's
    assert not Balance.objects.filter(amount__lt=0, may_go_negative=False).exists()
    # And no milestone was resolved twice, in the ledger or in its history
    resolving = (TransactionKind.RELEASE, TransactionKind.REFUND, TransactionKind.SPLIT)
    twice = (
        LedgerTransaction.objects.filter(kind__in=resolving)
        .values("milestone_id")
        .annotate(n=Count("id"))
        .filter(n__gt=1)
    )
    assert not twice.exists(), list(twice)
    ends = (
        MilestoneAction.RELEASE,
        MilestoneAction.AUTO_RELEASE,
        MilestoneAction.REFUND,
        MilestoneAction.RESOLVE,
        MilestoneAction.SETTLE,
    )
    ended_twice = (
        MilestoneEvent.objects.filter(action__in=ends).values("milestone_id").annotate(n=Count("id")).filter(n__gt=1)
    )
    assert not ended_twice.exists(), list(ended_twice)
    # And every arbitrator's decision settled at once (all amounts are below the four-eyes threshold)
    assert not Dispute.objects.filter(decided_at__isnull=False, closed_at__isnull=True).exists(), seed
    # And each milestone that ended has exactly one resolving transaction, the others none
    for milestone in Milestone.objects.filter(contract_id__in=bank.contracts):
        resolved = LedgerTransaction.objects.filter(milestone_id=milestone.pk, kind__in=resolving).count()
        assert resolved == (1 if milestone.state in (S.RELEASED, S.REFUNDED) else 0), (
            seed,
            milestone.pk,
            milestone.state,
        )
    assert Milestone.objects.filter(Q(state=S.RELEASED) | Q(state=S.REFUNDED), contract_id__in=bank.contracts).exists()
