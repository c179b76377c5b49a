"""The wallet and the statement run the same number of SQL queries for a short history and a long one."""

import pytest
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from milestones.models import MilestoneState
from tests.milestones.factories import funded_contract, milestone_in_state
from tests.payments.factories import deposit_for
from tests.users.factories import UserFactory

pytestmark = pytest.mark.django_db


def _queries(client: Client, url: str) -> int:
    with CaptureQueriesContext(connection) as queries:
        response = client.get(url)
    assert response.status_code == 200
    return len(queries)


def _history(*, releases: int, deposits: int) -> tuple[object, object]:
    """A contract whose client deposited `deposits` times and released `releases` milestones to the freelancer."""
    contract = funded_contract(balance=0, freelancer=UserFactory(is_client=True, is_freelancer=True))
    for _ in range(deposits):
        deposit_for(contract.client, 20_000)
    for _ in range(releases):
        milestone_in_state(MilestoneState.RELEASED, contract=contract, amount=1_000)
    return contract.client, contract.freelancer


@pytest.mark.parametrize("page", ["payments:wallet", "payments:statement"])
def test_the_wallet_pages_run_the_same_number_of_queries_for_a_short_and_a_long_history(
    client: Client, page: str
) -> None:
    # Given a client and a freelancer with a short history, and another pair with a long one
    short_client, short_freelancer = _history(releases=1, deposits=1)
    long_client, long_freelancer = _history(releases=12, deposits=12)
    counts = {}
    for name, user in (
        ("short client", short_client),
        ("long client", long_client),
        ("short freelancer", short_freelancer),
        ("long freelancer", long_freelancer),
    ):
        # When each opens the page
        client.force_login(user)
        _queries(client, reverse(page))
        counts[name] = _queries(client, reverse(page))
    # Then the number of queries doesn't grow with the history
    assert counts["short client"] == counts["long client"], counts
    assert counts["short freelancer"] == counts["long freelancer"], counts
