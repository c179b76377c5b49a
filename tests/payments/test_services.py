"""The money services: what each moves, idempotent replays, conflicts, and refusals that move nothing."""

import datetime as dt

import pytest
import time_machine
from django.db import transaction

from milestones.ledger_checks import ledger_verify
from milestones.models import Milestone
from payments.errors import (
    EarningsNotYetAvailable,
    EscrowEmpty,
    IdempotencyConflict,
    InsufficientFunds,
    PaymentDeclined,
    PaymentError,
    PaymentGatewayUnavailable,
    PayoutStateError,
)
from payments.models import (
    AccountKind,
    Balance,
    EarningsLot,
    Entry,
    LedgerTransaction,
    Payout,
    PayoutStatus,
    TransactionKind,
)
from payments.selectors import client_balance, earnings_summary, milestone_money_totals
from payments.services import (
    deposit,
    earnings_mature,
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
from tests.payments.factories import (
    DECLINED_CARD,
    NETWORK_ERROR_CARD,
    SUCCESS_CARD,
    deposit_for,
    funded_milestone,
    milestone_in_state,
    with_payout_destination,
)
from tests.users.factories import ClientFactory, FreelancerFactory, UserFactory

pytestmark = pytest.mark.django_db

NOW = dt.datetime(2030, 3, 1, 12, 0, tzinfo=dt.UTC)


def balance_of(kind: str, *, user=None, milestone=None, currency: str = "USD") -> int:
    rows = Balance.objects.filter(account__kind=kind, account__currency=currency)
    if user is not None:
        rows = rows.filter(account__user=user)
    if milestone is not None:
        rows = rows.filter(account__milestone_id=milestone.pk)
    return rows.values_list("amount", flat=True).first() or 0


def ledger_snapshot() -> tuple[int, int, list[tuple[int, int]]]:
    balances = list(Balance.objects.order_by("account_id").values_list("account_id", "amount"))
    return LedgerTransaction.objects.count(), Entry.objects.count(), balances


def parties(milestone: Milestone):
    return milestone.contract.client, milestone.contract.freelancer


# --- deposit --------------------------------------------------------------------------------
def test_deposit_moves_money_from_the_world_into_the_client_balance():
    # Given a client
    client = ClientFactory()
    # When they add 250.00 with the card that succeeds
    posted = deposit(user=client, amount=25_000, currency="USD", card_number=SUCCESS_CARD, idempotency_key="form-1")
    # Then their balance holds it, the world is minus as much, and the charge is referenced
    assert client_balance(user=client, currency="USD") == 25_000
    assert balance_of(AccountKind.WORLD) == -25_000
    assert posted.kind == TransactionKind.DEPOSIT
    assert posted.idempotency_key.startswith("deposit:ch_test_")
    assert posted.external_ref in posted.idempotency_key
    assert "4242" in posted.memo
    assert ledger_verify().ok


def test_a_replayed_deposit_form_returns_the_first_deposit_and_charges_once():
    client = ClientFactory()
    first = deposit(user=client, amount=10_000, currency="USD", card_number=SUCCESS_CARD, idempotency_key="tok")
    # When the same form (same token) is posted again
    again = deposit(user=client, amount=10_000, currency="USD", card_number=SUCCESS_CARD, idempotency_key="tok")
    # Then it is the same transaction, flagged as a replay, and the money moved once
    assert again.pk == first.pk and again.replayed and not first.replayed
    assert client_balance(user=client, currency="USD") == 10_000
    assert LedgerTransaction.objects.filter(kind=TransactionKind.DEPOSIT).count() == 1


def test_the_same_form_token_with_a_different_amount_is_a_conflict_and_moves_nothing():
    # Given a deposit made with form token "tok"
    client = ClientFactory()
    deposit(user=client, amount=10_000, currency="USD", card_number=SUCCESS_CARD, idempotency_key="tok")
    # When the same token comes back with another amount
    before = ledger_snapshot()
    with pytest.raises(IdempotencyConflict):
        deposit(user=client, amount=20_000, currency="USD", card_number=SUCCESS_CARD, idempotency_key="tok")
    # Then it is refused and nothing moved
    assert ledger_snapshot() == before


def test_the_same_token_from_two_users_is_two_deposits():
    # Tokens are scoped by user: one user's token cannot collide with another's.
    # Given two clients whose forms happen to carry the same token
    first, second = ClientFactory(), ClientFactory()
    deposit(user=first, amount=1_000, currency="USD", card_number=SUCCESS_CARD, idempotency_key="same")
    deposit(user=second, amount=2_000, currency="USD", card_number=SUCCESS_CARD, idempotency_key="same")
    # Then each deposit counts for its own user
    assert client_balance(user=first, currency="USD") == 1_000
    assert client_balance(user=second, currency="USD") == 2_000


@pytest.mark.parametrize(
    ("card", "error", "says"),
    [
        (DECLINED_CARD, PaymentDeclined, "declined"),
        (NETWORK_ERROR_CARD, PaymentGatewayUnavailable, "could not be reached"),
        ("5555 5555 5555 4444", PaymentDeclined, "not one of the test cards"),
        ("not a card", PaymentDeclined, "12 to 19 digits"),
    ],
)
def test_a_refused_card_moves_nothing_and_says_why(card, error, says):
    # Given a client with some money already
    client = ClientFactory()
    deposit_for(client, 5_000)
    before = ledger_snapshot()
    # When the gateway refuses the card, the error says why
    with pytest.raises(error, match=says):
        deposit(user=client, amount=10_000, currency="USD", card_number=card, idempotency_key="declined-form")
    # Then the ledger is exactly as before
    assert ledger_snapshot() == before


@pytest.mark.parametrize(
    ("amount", "currency", "says"),
    [
        (0, "USD", "greater than zero"),
        (-5, "USD", "greater than zero"),
        (1_000_001, "USD", "at most"),
        (100, "XYZ", "not a supported"),
    ],
)
def test_deposit_refuses_bad_amounts_and_currencies(amount, currency, says):
    # Given a client
    client = ClientFactory()
    # When the amount or currency is invalid, the deposit is refused
    with pytest.raises(PaymentError, match=says):
        deposit(user=client, amount=amount, currency=currency, card_number=SUCCESS_CARD, idempotency_key="k")
    # Then nothing was written
    assert LedgerTransaction.objects.count() == 0


def test_deposit_refuses_an_empty_or_overlong_form_token():
    # Given a client
    client = ClientFactory()
    # When the form token is missing or too long, then the form is treated as expired
    for key in ("", "x" * 101):
        with pytest.raises(PaymentError, match="expired"):
            deposit(user=client, amount=100, currency="USD", card_number=SUCCESS_CARD, idempotency_key=key)


# --- escrow_fund ----------------------------------------------------------------------------
def test_fund_moves_the_client_balance_into_the_milestone_escrow():
    # Given an approved milestone of 300.00 and a client with 500.00
    milestone = milestone_in_state("approved", amount=30_000)
    client, _ = parties(milestone)
    deposit_for(client, 50_000)
    # When the client funds it
    posted = escrow_fund(milestone=milestone, client=client, amount=30_000, currency="USD")
    # Then 300.00 moved from their balance into the milestone's escrow
    assert posted.idempotency_key == f"fund:{milestone.pk}"
    assert posted.milestone_id == milestone.pk and posted.contract_id == milestone.contract_id
    assert client_balance(user=client, currency="USD") == 20_000
    assert balance_of(AccountKind.ESCROW, milestone=milestone) == 30_000


def test_fund_with_too_little_balance_raises_and_moves_nothing():
    # Given a client one cent short
    milestone = milestone_in_state("approved", amount=30_000)
    client, _ = parties(milestone)
    deposit_for(client, 29_999)
    before = ledger_snapshot()
    # When they fund, they are told their balance
    with pytest.raises(InsufficientFunds, match=r"\$299\.99"):
        escrow_fund(milestone=milestone, client=client, amount=30_000, currency="USD")
    # Then nothing moved
    assert ledger_snapshot() == before


def test_fund_replays_and_conflicts():
    # Given a funded milestone
    milestone = milestone_in_state("approved", amount=30_000)
    client, _ = parties(milestone)
    deposit_for(client, 100_000)
    first = escrow_fund(milestone=milestone, client=client, amount=30_000, currency="USD")
    # When funding is replayed with the same parameters, the first transaction comes back
    again = escrow_fund(milestone=milestone, client=client, amount=30_000, currency="USD")
    assert again.pk == first.pk and again.replayed
    # When it is replayed with another amount, it is refused
    with pytest.raises(IdempotencyConflict):
        escrow_fund(milestone=milestone, client=client, amount=40_000, currency="USD")
    # Then the client paid once
    assert client_balance(user=client, currency="USD") == 70_000


def test_fund_refuses_another_currency_and_someone_else_s_money():
    # Given a USD milestone and a client with money
    milestone = milestone_in_state("approved", amount=30_000)
    client, _ = parties(milestone)
    deposit_for(client, 100_000)
    # When funded in EUR, or by someone who is not its client, it is refused
    with pytest.raises(PaymentError, match="paid in USD"):
        escrow_fund(milestone=milestone, client=client, amount=30_000, currency="EUR")
    stranger = ClientFactory()
    deposit_for(stranger, 100_000)
    with pytest.raises(PaymentError, match="Only this contract's client"):
        escrow_fund(milestone=milestone, client=stranger, amount=30_000, currency="USD")
    # Then the escrow holds nothing
    assert balance_of(AccountKind.ESCROW, milestone=milestone) == 0


def test_fund_by_card_charges_the_card_straight_into_escrow():
    # Given a client with no balance
    milestone = milestone_in_state("approved", amount=30_000)
    client, _ = parties(milestone)
    # When they fund by card
    posted = escrow_fund(milestone=milestone, client=client, amount=30_000, currency="USD", card_number=SUCCESS_CARD)
    # Then the charge goes straight into escrow, and a declined card is refused
    assert posted.external_ref.startswith("ch_test_")
    assert client_balance(user=client, currency="USD") == 0
    assert balance_of(AccountKind.ESCROW, milestone=milestone) == 30_000
    with pytest.raises(PaymentDeclined):
        other = milestone_in_state("approved", amount=1_000)
        escrow_fund(
            milestone=other, client=other.contract.client, amount=1_000, currency="USD", card_number=DECLINED_CARD
        )


def test_fund_works_nested_in_a_transaction_that_locked_the_milestone_first():
    # The milestone services lock the milestone row, then call the ledger, in one transaction.
    # Given an approved milestone and the money for it
    milestone = milestone_in_state("approved", amount=5_000)
    client, _ = parties(milestone)
    deposit_for(client, 5_000)
    # When funding runs inside a transaction holding the milestone's row lock
    with transaction.atomic():
        locked = Milestone.objects.select_for_update().get(pk=milestone.pk)
        escrow_fund(milestone=locked, client=client, amount=5_000, currency="USD")
    # Then it completes
    assert balance_of(AccountKind.ESCROW, milestone=milestone) == 5_000


def test_an_outer_rollback_undoes_the_ledger_too():
    # Given a client ready to fund
    milestone = milestone_in_state("approved", amount=5_000)
    client, _ = parties(milestone)
    deposit_for(client, 5_000)
    before = ledger_snapshot()
    # When the caller's transaction fails after the ledger call
    with pytest.raises(RuntimeError), transaction.atomic():
        escrow_fund(milestone=milestone, client=client, amount=5_000, currency="USD")
        raise RuntimeError("the milestone transition failed after the money moved")
    # Then the money movement is rolled back with it
    assert ledger_snapshot() == before


# --- escrow_release -------------------------------------------------------------------------
@time_machine.travel(NOW, tick=False)
def test_release_pays_the_freelancer_less_the_fee_and_starts_the_hold(settings):
    settings.PLATFORM_FEE_BPS, settings.EARNINGS_HOLD_PERIOD = 1000, dt.timedelta(days=5)
    # Given 1,000.05 in escrow
    milestone = funded_milestone(100_005)
    client, freelancer = parties(milestone)
    # When the client releases it
    posted = escrow_release(milestone=milestone, client=client, freelancer=freelancer)
    # Then the fee is 10 % rounded down (100.00), the freelancer's share the rest (900.05)
    assert posted.idempotency_key == f"release:{milestone.pk}"
    assert balance_of(AccountKind.ESCROW, milestone=milestone) == 0
    assert balance_of(AccountKind.PLATFORM_FEES) == 10_000
    assert balance_of(AccountKind.PENDING_EARNINGS, user=freelancer) == 90_005
    # And one lot becomes available in five days
    lot = EarningsLot.objects.get(freelancer=freelancer)
    assert (lot.amount, lot.available_at) == (90_005, NOW + dt.timedelta(days=5))
    summary = earnings_summary(user=freelancer, currency="USD")
    assert (summary.pending, summary.available, summary.pending_lots[0].available_at) == (90_005, 0, lot.available_at)


def test_release_with_a_bonus_charges_the_fee_on_the_bonus_too(settings):
    settings.PLATFORM_FEE_BPS = 1000
    # Given 500.00 in escrow and 50.05 left on the client's balance
    milestone = funded_milestone(50_000, extra_balance=5_005)
    client, freelancer = parties(milestone)
    # When the client releases with a 50.05 bonus
    escrow_release(milestone=milestone, client=client, freelancer=freelancer, bonus=5_005)
    # Bonus 50.05: fee 5.00 (rounded down), freelancer 45.05
    # Then bonus 50.05: fee 5.00 (rounded down), freelancer 45.05
    assert client_balance(user=client, currency="USD") == 0
    assert balance_of(AccountKind.PENDING_EARNINGS, user=freelancer) == 45_000 + 4_505
    assert balance_of(AccountKind.PLATFORM_FEES) == 5_000 + 500
    assert sorted(EarningsLot.objects.values_list("amount", flat=True)) == [4_505, 45_000]
    bonus = LedgerTransaction.objects.get(kind=TransactionKind.BONUS)
    assert bonus.idempotency_key == f"bonus:{milestone.pk}"
    totals = milestone_money_totals(milestone_ids=[milestone.pk])[milestone.pk]
    assert (totals.released, totals.bonus, totals.fee, totals.in_escrow) == (50_000, 5_005, 5_500, 0)


def test_a_bonus_the_client_cannot_cover_stops_the_whole_release():
    # Given a client with 1.00 left
    milestone = funded_milestone(50_000, extra_balance=100)
    client, freelancer = parties(milestone)
    before = ledger_snapshot()
    # When they release with a 1.01 bonus
    with pytest.raises(InsufficientFunds):
        escrow_release(milestone=milestone, client=client, freelancer=freelancer, bonus=101)
    # Then neither the release nor the bonus happened
    assert ledger_snapshot() == before
    assert EarningsLot.objects.count() == 0


def test_release_replay_returns_the_release_and_creates_no_second_lot():
    # Given a release with a bonus
    milestone = funded_milestone(50_000, extra_balance=1_000)
    client, freelancer = parties(milestone)
    first = escrow_release(milestone=milestone, client=client, freelancer=freelancer, bonus=1_000)
    # When it is replayed
    again = escrow_release(milestone=milestone, client=client, freelancer=freelancer, bonus=1_000)
    # Then the release comes back, with no new lots; other parameters are refused
    assert again.pk == first.pk and again.replayed
    assert EarningsLot.objects.count() == 2
    with pytest.raises(IdempotencyConflict):
        escrow_release(milestone=milestone, client=client, freelancer=freelancer, bonus=0)


def test_release_after_a_refund_finds_the_escrow_empty():
    # Given a milestone whose escrow was refunded
    milestone = funded_milestone(50_000)
    client, freelancer = parties(milestone)
    escrow_refund(milestone=milestone, client=client)
    # When a release follows, it is refused
    with pytest.raises(EscrowEmpty):
        escrow_release(milestone=milestone, client=client, freelancer=freelancer)
    # Then the freelancer received nothing
    assert balance_of(AccountKind.PENDING_EARNINGS, user=freelancer) == 0


def test_release_only_to_the_contract_s_freelancer():
    # Given a funded milestone
    milestone = funded_milestone(50_000)
    client, _ = parties(milestone)
    # When released to another freelancer, it is refused
    with pytest.raises(PaymentError, match="freelancer"):
        escrow_release(milestone=milestone, client=client, freelancer=FreelancerFactory())
    # Then the escrow still holds everything
    assert balance_of(AccountKind.ESCROW, milestone=milestone) == 50_000


def test_a_zero_fee_rate_pays_everything_and_a_full_rate_pays_nothing_but_balances(settings):
    # Given a 0 % fee, the freelancer receives everything
    settings.PLATFORM_FEE_BPS = 0
    milestone = funded_milestone(10_000)
    client, freelancer = parties(milestone)
    escrow_release(milestone=milestone, client=client, freelancer=freelancer)
    assert balance_of(AccountKind.PENDING_EARNINGS, user=freelancer) == 10_000
    # Given a 100 % fee, the freelancer receives nothing and no lot is made
    settings.PLATFORM_FEE_BPS = 10_000
    other = funded_milestone(10_000)
    escrow_release(milestone=other, client=other.contract.client, freelancer=other.contract.freelancer)
    assert balance_of(AccountKind.PENDING_EARNINGS, user=other.contract.freelancer) == 0
    assert EarningsLot.objects.filter(freelancer=other.contract.freelancer).count() == 0
    # Then both still verify (the ledger's checks: the milestones were released by the escrow
    # service directly, not through the milestone services, so their states did not move)
    assert payments_verify().ok


# --- escrow_refund / escrow_split / escrow_change --------------------------------------------
def test_full_and_partial_refunds():
    # Given a funded milestone, refunded in full
    milestone = funded_milestone(50_000)
    client, _ = parties(milestone)
    escrow_refund(milestone=milestone, client=client)
    # Then the client has it all back
    assert client_balance(user=client, currency="USD") == 50_000
    assert balance_of(AccountKind.ESCROW, milestone=milestone) == 0

    # When another is refunded in part
    partial = funded_milestone(50_000)
    escrow_refund(milestone=partial, client=partial.contract.client, amount=20_000)
    # Then the rest stays in escrow
    assert client_balance(user=partial.contract.client, currency="USD") == 20_000
    assert balance_of(AccountKind.ESCROW, milestone=partial) == 30_000
    totals = milestone_money_totals(milestone_ids=[partial.pk])[partial.pk]
    assert (totals.funded, totals.refunded, totals.in_escrow) == (50_000, 20_000, 30_000)


def test_a_refund_larger_than_the_escrow_is_refused():
    # Given 500.00 in escrow
    milestone = funded_milestone(50_000)
    client, _ = parties(milestone)
    before = ledger_snapshot()
    # When 500.01 or zero is refunded, it is refused
    with pytest.raises(EscrowEmpty, match="Only"):
        escrow_refund(milestone=milestone, client=client, amount=50_001)
    with pytest.raises(PaymentError):
        escrow_refund(milestone=milestone, client=client, amount=0)
    # Then nothing moved
    assert ledger_snapshot() == before


def test_split_pays_both_sides_in_one_transaction(settings):
    settings.PLATFORM_FEE_BPS = 1000
    # Given 500.00 in escrow
    milestone = funded_milestone(50_000)
    client, freelancer = parties(milestone)
    # When 300.01 goes to the freelancer
    posted = escrow_split(milestone=milestone, client=client, freelancer=freelancer, freelancer_amount=30_001)
    # 300.01 to the freelancer side: fee 30.00, share 270.01; 199.99 back to the client
    # Then fee 30.00, share 270.01, and 199.99 back to the client, in one transaction
    assert posted.entries.count() == 4
    assert balance_of(AccountKind.PENDING_EARNINGS, user=freelancer) == 27_001
    assert balance_of(AccountKind.PLATFORM_FEES) == 3_000
    assert client_balance(user=client, currency="USD") == 19_999
    totals = milestone_money_totals(milestone_ids=[milestone.pk])[milestone.pk]
    assert (totals.funded, totals.released, totals.fee, totals.refunded) == (50_000, 30_001, 3_000, 19_999)


@pytest.mark.parametrize("freelancer_amount", [0, 50_000])
def test_split_at_either_end_still_balances(freelancer_amount):
    # Given 500.00 in escrow
    milestone = funded_milestone(50_000)
    client, freelancer = parties(milestone)
    # When it is split all to one side
    escrow_split(milestone=milestone, client=client, freelancer=freelancer, freelancer_amount=freelancer_amount)
    # Then the escrow is empty and the ledger verifies
    assert balance_of(AccountKind.ESCROW, milestone=milestone) == 0
    assert payments_verify().ok


def test_split_refuses_more_than_the_escrow():
    # Given 500.00 in escrow
    milestone = funded_milestone(50_000)
    client, freelancer = parties(milestone)
    # When the freelancer's part is more than the escrow, or negative, it is refused
    with pytest.raises(EscrowEmpty):
        escrow_split(milestone=milestone, client=client, freelancer=freelancer, freelancer_amount=50_001)
    with pytest.raises(PaymentError):
        escrow_split(milestone=milestone, client=client, freelancer=freelancer, freelancer_amount=-1)


def test_change_orders_move_the_difference_and_replay_once():
    # Given 500.00 in escrow and 200.00 on the client's balance
    milestone = funded_milestone(50_000, extra_balance=20_000)
    client, _ = parties(milestone)
    # When change order 1 raises it to 650.00
    increase = escrow_change(milestone=milestone, client=client, new_amount=65_000, change_number=1)
    # Then 150.00 moved from the balance into escrow
    assert increase.kind == TransactionKind.CHANGE
    assert balance_of(AccountKind.ESCROW, milestone=milestone) == 65_000
    assert client_balance(user=client, currency="USD") == 5_000
    # A replay of change 1 returns it, even though the escrow already holds the new amount
    assert escrow_change(milestone=milestone, client=client, new_amount=65_000, change_number=1).pk == increase.pk
    # When change order 2 lowers it to 400.00, 250.00 goes back; an unchanged amount moves nothing
    decrease = escrow_change(milestone=milestone, client=client, new_amount=40_000, change_number=2)
    assert decrease.pk != increase.pk
    assert client_balance(user=client, currency="USD") == 30_000
    assert escrow_change(milestone=milestone, client=client, new_amount=40_000, change_number=3) is None
    # Then the milestone counts 400.00 funded, and nothing refunded
    totals = milestone_money_totals(milestone_ids=[milestone.pk])[milestone.pk]
    assert (totals.funded, totals.in_escrow, totals.refunded) == (40_000, 40_000, 0)


def test_a_change_order_the_client_cannot_cover_moves_nothing():
    # Given a client with 1.00 left
    milestone = funded_milestone(50_000, extra_balance=100)
    client, _ = parties(milestone)
    before = ledger_snapshot()
    # When a change order needs 1.01 more, it is refused
    with pytest.raises(InsufficientFunds):
        escrow_change(milestone=milestone, client=client, new_amount=50_101, change_number=1)
    # Then nothing moved; and an unfunded milestone has no escrow to change
    assert ledger_snapshot() == before
    unfunded = milestone_in_state("approved")
    with pytest.raises(EscrowEmpty):
        escrow_change(milestone=unfunded, client=unfunded.contract.client, new_amount=1, change_number=1)


# --- earnings -------------------------------------------------------------------------------
def test_earnings_mature_after_the_hold_and_not_before(settings):
    settings.EARNINGS_HOLD_PERIOD = dt.timedelta(days=5)
    with time_machine.travel(NOW, tick=False) as traveller:
        # Given a release on 1 March with a five-day hold
        milestone = funded_milestone(10_000)
        client, freelancer = parties(milestone)
        escrow_release(milestone=milestone, client=client, freelancer=freelancer)
        lot = EarningsLot.objects.get()
        # When four days and 23 hours have passed, then it is still pending
        traveller.shift(dt.timedelta(days=4, hours=23))
        with pytest.raises(EarningsNotYetAvailable, match="2030-03-06"):
            earnings_mature(lot=lot)
        assert earnings_mature_due() == 0
        # When five days have passed, then the sweep matures it, once
        traveller.shift(dt.timedelta(hours=1))
        assert earnings_mature_due() == 1
        assert earnings_mature_due() == 0
        lot.refresh_from_db()
        assert lot.matured_at == NOW + dt.timedelta(days=5)
        assert earnings_mature(lot=lot).pk == lot.matured_transaction_id
        # Then the money is available, and nothing is pending
        summary = earnings_summary(user=freelancer, currency="USD")
        assert (summary.pending, summary.available, summary.pending_lots) == (0, 9_000, ())
        assert payments_verify().ok


def test_the_hourly_task_runs_the_sweep_and_is_scheduled(settings):
    from payments.tasks import earnings_mature_due_task

    # Given the beat schedule names the task
    assert settings.CELERY_BEAT_SCHEDULE["payments-earnings-mature-due"]["task"] == earnings_mature_due_task.name
    with time_machine.travel(NOW, tick=False) as traveller:
        # When a release's hold has passed
        milestone = funded_milestone(10_000)
        escrow_release(milestone=milestone, client=milestone.contract.client, freelancer=milestone.contract.freelancer)
        traveller.shift(settings.EARNINGS_HOLD_PERIOD)
        # Then the task matures it
        assert earnings_mature_due_task() == 1


# --- payouts --------------------------------------------------------------------------------
def freelancer_with_available(amount_in_escrow: int = 10_000):
    """A freelancer whose release matured: 90 % of `amount_in_escrow` is available."""
    with time_machine.travel(NOW, tick=False) as traveller:
        milestone = milestone_in_state("released", amount=amount_in_escrow)
        freelancer = milestone.contract.freelancer
        traveller.shift(dt.timedelta(days=30))
        earnings_mature_due()
    return with_payout_destination(freelancer)


def test_payout_request_then_complete(mailoutbox, django_capture_on_commit_callbacks):
    # Given 90.00 available
    freelancer = freelancer_with_available(10_000)
    # When 90.00 is withdrawn, it moves to in flight
    payout = payout_request(user=freelancer, amount=9_000, currency="USD", idempotency_key="w-1")
    assert balance_of(AccountKind.AVAILABLE_EARNINGS, user=freelancer) == 0
    assert balance_of(AccountKind.PAYOUTS_IN_FLIGHT, user=freelancer) == 9_000
    staff = UserFactory(is_staff=True)
    # When staff mark it completed, it leaves to the world and the user is emailed
    with django_capture_on_commit_callbacks(execute=True):
        done = payout_complete(payout=payout, actor=staff)
    assert (done.status, done.settled_by) == (PayoutStatus.COMPLETED, staff)
    assert balance_of(AccountKind.PAYOUTS_IN_FLIGHT, user=freelancer) == 0
    assert balance_of(AccountKind.WORLD) == -10_000 + 9_000
    assert [m.to for m in mailoutbox] == [[freelancer.email]]
    assert "was paid" in mailoutbox[0].subject
    # Completing twice is a no-op; failing a completed payout is refused
    # Then completing twice is a no-op, and failing it afterwards is refused
    assert payout_complete(payout=payout).settle_transaction_id == done.settle_transaction_id
    with pytest.raises(PayoutStateError):
        payout_fail(payout=payout, reason="late bounce")
    assert ledger_verify().ok


def test_a_failed_payout_returns_the_money_with_the_reason(mailoutbox, django_capture_on_commit_callbacks):
    # Given a requested withdrawal of 40.00
    freelancer = freelancer_with_available(10_000)
    payout = payout_request(user=freelancer, amount=4_000, currency="USD", idempotency_key="w-1")
    # When it fails, a reason is required
    with pytest.raises(PaymentError, match="Say why"):
        payout_fail(payout=payout, reason="  ")
    with django_capture_on_commit_callbacks(execute=True):
        failed = payout_fail(payout=payout, reason="Account closed")
    # Then the money is back in available earnings, reversing the request, and the user is told why
    assert (failed.status, failed.reason) == (PayoutStatus.FAILED, "Account closed")
    assert failed.settle_transaction.kind == TransactionKind.REVERSAL
    assert failed.settle_transaction.reverses_id == failed.request_transaction_id
    assert balance_of(AccountKind.AVAILABLE_EARNINGS, user=freelancer) == 9_000
    assert "Account closed" in mailoutbox[0].body
    with pytest.raises(PayoutStateError):
        payout_complete(payout=payout)
    assert ledger_verify().ok


def test_payout_refusals_move_nothing_and_a_replayed_form_returns_the_payout():
    # Given 90.00 available
    freelancer = freelancer_with_available(10_000)
    before = ledger_snapshot()
    # When 90.01 is asked for, it is refused and nothing moves
    with pytest.raises(InsufficientFunds, match=r"\$90\.00"):
        payout_request(user=freelancer, amount=9_001, currency="USD", idempotency_key="w-1")
    assert ledger_snapshot() == before and Payout.objects.count() == 0
    # When the same withdrawal form is posted twice, the first payout comes back
    first = payout_request(user=freelancer, amount=1_000, currency="USD", idempotency_key="w-2")
    again = payout_request(user=freelancer, amount=1_000, currency="USD", idempotency_key="w-2")
    assert again.pk == first.pk and again.replayed
    with pytest.raises(IdempotencyConflict):
        payout_request(user=freelancer, amount=2_000, currency="USD", idempotency_key="w-2")
    # Then 10.00 left available once
    assert balance_of(AccountKind.AVAILABLE_EARNINGS, user=freelancer) == 8_000


def test_pending_earnings_cannot_be_withdrawn():
    # Given earnings still in their hold
    milestone = funded_milestone(10_000)
    client, freelancer = parties(milestone)
    escrow_release(milestone=milestone, client=client, freelancer=freelancer)
    # When the freelancer withdraws, then it is refused
    with pytest.raises(InsufficientFunds):
        payout_request(user=freelancer, amount=1, currency="USD", idempotency_key="w")


# The payout services check who settles a withdrawal, not only the admin in front of them.
@pytest.mark.parametrize("settle", [payout_complete, lambda **kw: payout_fail(reason="Bank said no", **kw)])
@pytest.mark.parametrize("who", ["owner", "other user", "staff owner"])
def test_only_staff_other_than_the_owner_settle_a_withdrawal(settle, who):
    # Given a requested withdrawal of 40.00
    freelancer = freelancer_with_available(10_000)
    payout = payout_request(user=freelancer, amount=4_000, currency="USD", idempotency_key="w-1")
    if who == "staff owner":
        freelancer.is_staff = True
        freelancer.save(update_fields=["is_staff"])
    actor = {"owner": freelancer, "staff owner": freelancer, "other user": UserFactory()}[who]

    # When someone who is not an independent staff member marks it paid or failed, it is refused
    with pytest.raises(PayoutStateError, match="Only staff"):
        settle(payout=payout, actor=actor)

    # Then it is still in flight, and staff can settle it
    assert Payout.objects.get(pk=payout.pk).status == PayoutStatus.REQUESTED
    settle(payout=payout, actor=UserFactory(is_staff=True))
    assert Payout.objects.get(pk=payout.pk).status != PayoutStatus.REQUESTED
    assert ledger_verify().ok
