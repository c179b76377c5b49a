"""Reads: per-milestone totals in one query, balances, earnings and the statement."""

import pytest

from payments.selectors import (
    MilestoneMoney,
    client_balance,
    client_balances,
    earnings_summary,
    milestone_money_totals,
    statement_for_user,
)
from payments.services import escrow_refund, escrow_release, escrow_split
from tests.contracts.factories import ContractFactory
from tests.payments.factories import deposit_for, funded_milestone
from tests.users.factories import ClientFactory

pytestmark = pytest.mark.django_db


def milestones_on_one_contract(count: int) -> list:
    contract = ContractFactory()
    return [funded_milestone(1_000 + n, contract=contract) for n in range(count)]


@pytest.mark.parametrize("count", [3, 50])
def test_totals_take_one_query_whatever_the_number_of_milestones(count, django_assert_num_queries):
    # Given funded milestones, some released, refunded or split
    milestones = milestones_on_one_contract(count)
    client, freelancer = milestones[0].contract.client, milestones[0].contract.freelancer
    escrow_release(milestone=milestones[0], client=client, freelancer=freelancer)
    escrow_refund(milestone=milestones[1], client=client)
    escrow_split(milestone=milestones[2], client=client, freelancer=freelancer, freelancer_amount=500)
    # When the totals are read, with an id that has no money at all
    with django_assert_num_queries(1):
        totals = milestone_money_totals(milestone_ids=[m.pk for m in milestones] + [987_654])
    # Then each milestone has its own totals and the unknown id is all zeros
    assert totals[milestones[0].pk] == MilestoneMoney(funded=1_000, released=1_000, fee=100, in_escrow=0)
    assert totals[milestones[1].pk] == MilestoneMoney(funded=1_001, refunded=1_001)
    assert totals[milestones[2].pk] == MilestoneMoney(funded=1_002, released=500, fee=50, refunded=502)
    for untouched in milestones[3:]:
        assert totals[untouched.pk] == MilestoneMoney(funded=untouched.amount, in_escrow=untouched.amount)
    assert totals[987_654] == MilestoneMoney()


def test_no_ids_means_no_query(django_assert_num_queries):
    # When no ids are asked for, then no query runs
    with django_assert_num_queries(0):
        assert milestone_money_totals(milestone_ids=[]) == {}


def test_balances_are_per_user_and_currency():
    # Given deposits in two currencies, and another client's
    client = ClientFactory()
    deposit_for(client, 1_000)
    deposit_for(client, 2_000, currency="EUR")
    deposit_for(ClientFactory(), 9_999)
    # Then each balance is the user's own, per currency
    assert client_balance(user=client, currency="USD") == 1_000
    assert client_balance(user=client, currency="GBP") == 0
    assert client_balances(user=client) == {"EUR": 2_000, "USD": 1_000}


def test_the_statement_shows_only_the_user_s_own_entries_newest_first():
    # Given a client who deposited, then funded a milestone, and a stranger with their own deposit
    milestone = funded_milestone(3_000, extra_balance=500)
    client = milestone.contract.client
    deposit_for(ClientFactory(), 7_777)
    # When the client's statement is read
    entries = list(statement_for_user(user=client))
    # Then it holds their deposit and their funding, newest first, and nothing of the stranger's
    assert [(e.transaction.kind, e.signed_amount) for e in entries] == [("fund", -3_000), ("deposit", 3_500)]
    assert earnings_summary(user=client, currency="USD").is_empty
