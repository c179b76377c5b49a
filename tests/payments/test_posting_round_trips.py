"""How many SQL statements money costs on PostgreSQL: a deposit and a fund → release cycle are pinned,
so a change that adds a round trip to every movement fails here (README "Benchmarks": ledger).

A deposit: BEGIN, the request-key replay check (before the card is charged), `payments_post_lock`,
`payments_post_insert`, COMMIT. Each half of a cycle: BEGIN, the milestone lock (with its contract
and parties), the two posting calls, the milestone's UPDATE, its audit row, the notice, COMMIT; funding
also reads the client balance for its shortfall message and releasing writes the earnings lot.
Inside the test's own transaction BEGIN and COMMIT are a SAVEPOINT and its RELEASE: the same count.
"""

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from milestones.ledger_checks import ledger_verify
from milestones.models import MilestoneState
from milestones.services import milestone_fund, milestone_release
from payments.selectors import client_balance
from payments.services import deposit
from tests.config.factories import approved_like_the_first
from tests.contracts.factories import contract_started
from tests.milestones.factories import TEST_CARD, client_deposit

pytestmark = [pytest.mark.postgres, pytest.mark.django_db]

DEPOSIT_STATEMENTS = 5
CYCLE_STATEMENTS = 18


def _statements(queries: CaptureQueriesContext) -> list[str]:
    return [query["sql"] for query in queries.captured_queries]


def test_a_deposit_is_five_statements_with_one_call_to_lock_and_one_to_post():
    # Given a client who has deposited before
    contract = contract_started(milestones=1, amount=100)
    client_deposit(user=contract.client, amount=1_000)
    # When they add funds again
    with CaptureQueriesContext(connection) as queries:
        deposit(user=contract.client, amount=500, currency="USD", card_number=TEST_CARD, idempotency_key="again")
    # Then it took five statements, one of them locking and one posting
    statements = _statements(queries)
    assert len(statements) == DEPOSIT_STATEMENTS, "\n".join(statements)
    assert sum("payments_post_lock(" in sql for sql in statements) == 1
    assert sum("payments_post_insert(" in sql for sql in statements) == 1
    assert client_balance(user=contract.client, currency="USD") == 1_500


def test_a_fund_and_release_cycle_is_eighteen_statements_and_the_ledger_verifies():
    # Given an approved milestone and a client with money (as bench/run.py's ledger workers have)
    contract = contract_started(milestones=1, amount=100)
    approved_like_the_first(contract, 2)
    client_deposit(user=contract.client, amount=10_000)
    milestone = contract.milestones.filter(state=MilestoneState.APPROVED).order_by("pk").last()
    assert milestone is not None
    # When the client funds it and releases it
    with CaptureQueriesContext(connection) as queries:
        funded = milestone_fund(milestone=milestone, actor=contract.client)
        released = milestone_release(milestone=funded, actor=contract.client)
    # Then the cycle took eighteen statements, two posting calls per transaction
    statements = _statements(queries)
    assert len(statements) == CYCLE_STATEMENTS, "\n".join(statements)
    assert sum("payments_post_lock(" in sql for sql in statements) == 2
    assert sum("payments_post_insert(" in sql for sql in statements) == 2
    # And the money moved, chained and balanced as ever
    assert released.state == MilestoneState.RELEASED
    assert ledger_verify().ok
