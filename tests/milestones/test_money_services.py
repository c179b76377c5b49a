"""The money-moving milestone services: fund, submit, request changes, release, refund, disputes, change orders."""

import datetime as dt
import hashlib
from typing import Any

import pytest
import time_machine
from django.core import mail
from django.core.management import call_command
from django.db import transaction
from django.utils import timezone
from hypothesis import HealthCheck, settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, invariant, rule, run_state_machine_as_test

from disputes.models import Dispute
from disputes.services import (
    dispute_decide,
    dispute_escalate,
    dispute_open,
    dispute_withdraw,
    offer_accept,
    offer_make,
)
from milestones import services
from milestones.errors import MilestoneActionNotAllowed, MilestoneError, MilestoneRequestReplayed
from milestones.ledger_checks import ledger_verify
from milestones.models import Milestone, MilestoneState
from payments.errors import PaymentDeclined, PaymentError
from payments.selectors import client_balance, earnings_summary, milestone_money_totals
from tests.contracts.factories import ContractFactory
from tests.milestones.factories import (
    TEST_CARD,
    arbitrator_user,
    client_deposit,
    deliverable,
    funded_contract,
    milestone_in_state,
)

pytestmark = pytest.mark.django_db
S = MilestoneState


def money(milestone):
    return milestone_money_totals(milestone_ids=[milestone.pk])[milestone.pk]


def test_fund_moves_the_amount_from_the_balance_into_escrow_and_audits_it():
    # Given an approved milestone and a client with $5,000
    milestone = milestone_in_state(S.APPROVED, amount=120_000)
    client = milestone.contract.client

    # When the client funds it
    milestone = services.milestone_fund(milestone=milestone, actor=client, idempotency_key="form-fund")

    # Then the money sits in escrow, the balance went down and the history says who did it
    assert milestone.state == S.FUNDED and milestone.funded_at is not None
    assert money(milestone).in_escrow == 120_000
    assert client_balance(user=client, currency="USD") == 500_000 - 120_000
    event = milestone.events.last()
    assert (event.action, event.actor_id, event.from_state, event.to_state) == ("fund", client.pk, "approved", "funded")


def test_a_short_balance_is_refused_with_a_clear_message_unless_a_card_pays_the_difference():
    # Given a client with $100 and a $300 milestone
    contract = funded_contract(balance=10_000)
    milestone = milestone_in_state(S.APPROVED, contract=contract, amount=30_000)

    # When funding without a card, it is refused and nothing moves
    with pytest.raises(MilestoneError, match="short"):
        services.milestone_fund(milestone=milestone, actor=contract.client)
    milestone.refresh_from_db()
    assert milestone.state == S.APPROVED and money(milestone).in_escrow == 0

    # When a declined card is given, still nothing moves
    with pytest.raises(PaymentDeclined):
        services.milestone_fund(milestone=milestone, actor=contract.client, card_number="4000000000000002")
    assert client_balance(user=contract.client, currency="USD") == 10_000

    # When the test card pays the $200 shortfall, the milestone is funded and the balance is used up
    services.milestone_fund(milestone=milestone, actor=contract.client, card_number=TEST_CARD, idempotency_key="k1")
    assert money(milestone).in_escrow == 30_000
    assert client_balance(user=contract.client, currency="USD") == 0


def test_a_charged_card_stays_on_the_balance_when_the_funding_itself_fails(monkeypatch):
    # Given a client with $100, a $300 milestone, and an escrow step that fails after the card check
    contract = funded_contract(balance=10_000)
    milestone = milestone_in_state(S.APPROVED, contract=contract, amount=30_000)

    def escrow_down(**kwargs: object) -> None:
        raise PaymentError("The escrow is unavailable right now.")

    monkeypatch.setattr(services.funding, "escrow_fund", escrow_down)

    # When the client funds with a card for the $200 shortfall
    with pytest.raises(PaymentError):
        services.milestone_fund(milestone=milestone, actor=contract.client, card_number=TEST_CARD, idempotency_key="c")

    # Then the milestone is not funded, but the charge is recorded: $200 more on the client's balance
    milestone.refresh_from_db()
    assert milestone.state == S.APPROVED
    assert client_balance(user=contract.client, currency="USD") == 30_000
    call_command("ledger_verify")


def test_fund_many_funds_all_or_none_in_one_go():
    # Given three approved milestones of one contract and money for all three
    contract = funded_contract(balance=150_000)
    first, second, third = (milestone_in_state(S.APPROVED, contract=contract, amount=50_000) for _ in range(3))

    # When one of them is cancelled meanwhile, funding all three is refused and nothing moves
    services.milestone_cancel(milestone=third, actor=contract.client, note="Dropped")
    with pytest.raises(MilestoneActionNotAllowed, match="already cancelled"):
        services.milestone_fund_many(milestones=[first, second, third], actor=contract.client)
    assert client_balance(user=contract.client, currency="USD") == 150_000

    # When the client funds the two that are left
    funded = services.milestone_fund_many(milestones=[second, first], actor=contract.client, idempotency_key="many")

    # Then both are funded, in pk order, and a replay of the same form does nothing
    assert [m.pk for m in funded] == sorted([first.pk, second.pk])
    assert {m.state for m in funded} == {S.FUNDED}
    assert client_balance(user=contract.client, currency="USD") == 50_000
    with pytest.raises(MilestoneRequestReplayed):
        services.milestone_fund_many(milestones=[first, second], actor=contract.client, idempotency_key="many")


def test_fund_many_refuses_milestones_of_different_contracts():
    a = milestone_in_state(S.APPROVED)
    b = milestone_in_state(S.APPROVED)
    with pytest.raises(MilestoneError, match="separately"):
        services.milestone_fund_many(milestones=[a, b], actor=a.contract.client)


def test_submit_keeps_numbered_revisions_with_hashes_and_starts_the_review_clock():
    # Given a funded milestone
    milestone = milestone_in_state(S.FUNDED)
    freelancer, client = milestone.contract.freelancer, milestone.contract.client

    # When the freelancer submits, the client asks for changes, and the freelancer submits again
    services.milestone_submit(milestone=milestone, actor=freelancer, message="v1", files=[deliverable("a.pdf", b"one")])
    milestone = services.milestone_request_changes(milestone=milestone, actor=client, note="Add the appendix")
    assert milestone.auto_release_at is None and milestone.state == S.FUNDED
    milestone = services.milestone_submit(
        milestone=milestone,
        actor=freelancer,
        message="v2",
        files=[deliverable("a.pdf", b"one, two"), deliverable("b.txt", b"notes")],
    )

    # Then both revisions are kept, numbered, with each file's size and SHA-256
    revisions = list(milestone.submissions.order_by("revision"))
    assert [r.revision for r in revisions] == [1, 2]
    assert revisions[0].changes_requested_note == "Add the appendix"
    files = list(revisions[1].files.order_by("pk"))
    assert [(f.original_name, f.size) for f in files] == [("a.pdf", 8), ("b.txt", 5)]
    assert files[1].sha256 == hashlib.sha256(b"notes").hexdigest()
    assert files[0].sha256 == hashlib.sha256(b"one, two").hexdigest()
    assert files[0].file.read() == b"one, two"


def test_request_changes_needs_a_note():
    milestone = milestone_in_state(S.SUBMITTED)
    with pytest.raises(MilestoneError, match="what needs to change"):
        services.milestone_request_changes(milestone=milestone, actor=milestone.contract.client, note="  ")
    milestone.refresh_from_db()
    assert milestone.state == S.SUBMITTED


def test_release_pays_the_freelancer_less_the_fee_plus_a_bonus_and_emails_after_commit(
    django_capture_on_commit_callbacks,
):
    # Given a submitted $500 milestone (the fee is 10%)
    milestone = milestone_in_state(S.SUBMITTED, amount=50_000)
    contract = milestone.contract
    mail.outbox.clear()

    # When the client releases it with a $20 bonus
    with django_capture_on_commit_callbacks(execute=True):
        milestone = services.milestone_release(milestone=milestone, actor=contract.client, bonus=2_000, note="Great")

    # Then the escrow is empty, the freelancer's pending earnings hold 90% of both, and the freelancer is told
    assert milestone.state == S.RELEASED and milestone.auto_release_at is None and milestone.closed_at
    totals = money(milestone)
    assert (totals.in_escrow, totals.released, totals.bonus, totals.fee) == (0, 50_000, 2_000, 5_200)
    assert earnings_summary(user=contract.freelancer, currency="USD").pending == 45_000 + 1_800
    assert [m.to for m in mail.outbox] == [[contract.freelancer.email]]
    assert "bonus" in milestone.events.last().note


def test_a_release_that_fails_in_the_ledger_changes_nothing():
    # Given a funded milestone and a client who cannot afford the bonus
    contract = funded_contract(balance=50_000)
    milestone = milestone_in_state(S.FUNDED, contract=contract, amount=50_000)

    # When the client releases with a bonus larger than the balance
    with pytest.raises(PaymentError):
        services.milestone_release(milestone=milestone, actor=contract.client, bonus=1_000)

    # Then the milestone is still funded, the escrow untouched, no audit row written
    milestone.refresh_from_db()
    assert milestone.state == S.FUNDED
    assert money(milestone).in_escrow == 50_000
    assert not milestone.events.filter(action="release").exists()


def test_full_refund_returns_everything_to_the_client():
    milestone = milestone_in_state(S.FUNDED, amount=40_000)
    contract = milestone.contract
    before = client_balance(user=contract.client, currency="USD")
    milestone = services.milestone_refund(milestone=milestone, actor=contract.freelancer, note="Can't do it")
    assert milestone.state == S.REFUNDED
    assert client_balance(user=contract.client, currency="USD") == before + 40_000
    assert money(milestone).in_escrow == 0


def test_a_refund_gives_back_the_whole_escrow_from_submitted_too():
    # Given a submitted $400 milestone
    milestone = milestone_in_state(S.SUBMITTED, amount=40_000)
    contract = milestone.contract
    before = client_balance(user=contract.client, currency="USD")

    # When the freelancer refunds it (keeping part is an offer the client accepts: tests/disputes)
    milestone = services.milestone_refund(milestone=milestone, actor=contract.freelancer)

    # Then all $400 goes back, none of it to the freelancer
    assert milestone.state == S.REFUNDED
    assert client_balance(user=contract.client, currency="USD") == before + 40_000
    assert earnings_summary(user=contract.freelancer, currency="USD").pending == 0


def test_change_order_moves_the_escrow_difference_once():
    # Given a funded $500 milestone
    milestone = milestone_in_state(S.FUNDED, amount=50_000)
    contract = milestone.contract
    before = client_balance(user=contract.client, currency="USD")
    due = (timezone.now() + dt.timedelta(days=30)).date()

    # When a change order raises it to $650
    milestone = services.milestone_change_order_apply(
        milestone=milestone, actor=contract.freelancer, amount=65_000, due_date=due, change_number=1, note="More pages"
    )

    # Then the escrow holds $650, the client paid the $150 difference, and a replay moves nothing
    assert milestone.amount == 65_000 and money(milestone).in_escrow == 65_000
    assert client_balance(user=contract.client, currency="USD") == before - 15_000
    with pytest.raises(MilestoneRequestReplayed):
        services.milestone_change_order_apply(
            milestone=milestone, actor=contract.freelancer, amount=65_000, due_date=due, change_number=1
        )

    # When a second change order lowers it to $400, $250 goes back
    services.milestone_change_order_apply(
        milestone=milestone, actor=contract.client, amount=40_000, due_date=due, change_number=2
    )
    assert money(milestone).in_escrow == 40_000
    assert client_balance(user=contract.client, currency="USD") == before + 10_000
    assert milestone.events.filter(action="change_order").count() == 2


def test_change_order_needs_money_in_escrow():
    milestone = milestone_in_state(S.APPROVED)
    with pytest.raises(MilestoneActionNotAllowed, match="funded"):
        services.milestone_change_order_apply(
            milestone=milestone,
            actor=milestone.contract.client,
            amount=1_000,
            due_date=timezone.now().date(),
            change_number=1,
        )


def test_funding_an_ended_contract_is_refused():
    contract = ContractFactory()
    client_deposit(user=contract.client, amount=100_000)
    milestone = milestone_in_state(S.APPROVED, contract=contract)
    contract.status = contract.Status.ENDED
    contract.save(update_fields=["status"])
    with pytest.raises(MilestoneError, match="ended"):
        services.milestone_fund(milestone=milestone, actor=contract.client)


def test_every_state_built_through_the_services_passes_ledger_verify():
    # Given one milestone in each state, all moved there through the services
    for state in S.values:
        milestone_in_state(state)
    milestone_in_state(S.DISPUTED, disputed_from=S.FUNDED)

    # Then the ledger verifies
    call_command("ledger_verify")


# --- Random sequences of legal actions keep the ledger whole ---------------------------------------------
# Hypothesis drives fund, submit, request changes, release (with bonus), refunds, offers (made and
# accepted), disputes (open, withdraw, escalate and decide with any split), change orders and the auto-release sweep on
# a few milestones of one contract, and checks after every step that `ledger_verify` finds
# nothing and that every refused action left the milestone and the money untouched.
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
        self.arbitrator = arbitrator_user()
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

    @rule(i=st.integers(0, 1))
    def refund(self, i: int) -> None:
        self._try(i, lambda m: services.milestone_refund(milestone=m, actor=self.freelancer))

    @rule(i=st.integers(0, 1), by_client=st.booleans(), share=st.sampled_from([0.0, 0.6, 1.0]))
    def offer(self, i: int, by_client: bool, share: float) -> None:
        actor = self.client if by_client else self.freelancer
        self._try(i, lambda m: offer_make(milestone=m, actor=actor, freelancer_amount=int(m.amount * share)))

    @rule(i=st.integers(0, 1), by_client=st.booleans())
    def accept_offer(self, i: int, by_client: bool) -> None:
        actor = self.client if by_client else self.freelancer

        def accept(m: Milestone) -> None:
            offer = m.offers.filter(status="open").first()
            if offer is None:
                raise MilestoneError("no open offer")
            offer_accept(offer=offer, actor=actor)

        self._try(i, accept)

    @rule(i=st.integers(0, 1), by_client=st.booleans())
    def open_dispute(self, i: int, by_client: bool) -> None:
        actor = self.client if by_client else self.freelancer
        self._try(i, lambda m: dispute_open(milestone=m, actor=actor, reason="other", statement="No"))

    @rule(i=st.integers(0, 1), by_client=st.booleans())
    def withdraw_dispute(self, i: int, by_client: bool) -> None:
        actor = self.client if by_client else self.freelancer
        self._try(i, lambda m: dispute_withdraw(dispute=_case(m), actor=actor))

    @rule(i=st.integers(0, 1), share=st.sampled_from([0.0, 0.3, 1.0]))
    def resolve(self, i: int, share: float) -> None:
        def decide(m: Milestone) -> None:
            case = _case(m)
            if not case.in_arbitration:
                dispute_escalate(dispute=case, actor=self.client)
            dispute_decide(
                dispute=case, arbitrator=self.arbitrator, freelancer_amount=int(m.amount * share), decision="Decided"
            )

        self._try(i, decide)

    @rule(i=st.integers(0, 1), amount=AMOUNTS)
    def change_order(self, i: int, amount: int) -> None:
        self.change_number += 1
        number = self.change_number
        self._try(
            i,
            lambda m: services.milestone_change_order_apply(
                milestone=m, actor=self.freelancer, amount=amount, due_date=m.due_date, change_number=number
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
            # A disputed milestone has exactly one open case, any other none
            assert (m.state == S.DISPUTED) == m.dispute_cases.filter(closed_at__isnull=True).exists(), m.state


def _case(milestone: Milestone) -> Dispute:
    case = milestone.open_dispute_case
    if case is None:
        raise MilestoneError("not disputed")
    return case


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


def _deposits(user) -> int:
    from payments.ledger.models import LedgerTransaction, TransactionKind

    return LedgerTransaction.objects.filter(kind=TransactionKind.DEPOSIT, user=user).count()


def test_a_card_pays_exactly_the_bonus_shortfall_once_even_when_the_form_is_replayed():
    # Given a submitted $500 milestone whose client has $4 left after funding it
    contract = funded_contract(balance=50_400)
    milestone = milestone_in_state(S.SUBMITTED, contract=contract, amount=50_000)
    client = contract.client
    assert client_balance(user=client, currency="USD") == 400
    deposits_before = _deposits(client)

    # When the client releases with a $10 bonus and the test card for what the balance lacks
    services.milestone_release(
        milestone=milestone, actor=client, bonus=1_000, card_number=TEST_CARD, idempotency_key="bonus-form-1"
    )

    # Then the card paid exactly the $6 shortfall (one deposit, the balance used up) and the bonus went out
    assert _deposits(client) == deposits_before + 1
    assert client_balance(user=client, currency="USD") == 0
    assert (money(milestone).released, money(milestone).bonus) == (50_000, 1_000)

    # When the same form is posted again, it is refused and the card is not charged again
    with pytest.raises(MilestoneRequestReplayed):
        services.milestone_release(
            milestone=milestone, actor=client, bonus=1_000, card_number=TEST_CARD, idempotency_key="bonus-form-1"
        )
    assert _deposits(client) == deposits_before + 1
    assert client_balance(user=client, currency="USD") == 0
    call_command("ledger_verify")


def test_a_card_charges_nothing_when_the_balance_covers_the_bonus_or_the_release_is_refused():
    # Given a submitted milestone whose client can afford a $10 bonus, and one already released
    contract = funded_contract(balance=51_000)
    milestone = milestone_in_state(S.SUBMITTED, contract=contract, amount=50_000)
    released = milestone_in_state(S.RELEASED, contract=funded_contract(balance=50_000), amount=50_000)
    deposits_before = _deposits(contract.client), _deposits(released.contract.client)

    # When each is released with a bonus and a card
    services.milestone_release(milestone=milestone, actor=contract.client, bonus=1_000, card_number=TEST_CARD)
    with pytest.raises(MilestoneActionNotAllowed):
        services.milestone_release(
            milestone=released, actor=released.contract.client, bonus=1_000, card_number=TEST_CARD
        )

    # Then no card was charged: the balance paid the first bonus, and the refused release charged nothing
    assert (_deposits(contract.client), _deposits(released.contract.client)) == deposits_before
    assert money(milestone).bonus == 1_000
