"""Every page costs the same at 1x and 20x the history: the same queries, and bytes within 10%.

Each page shows the latest few rows of every list with a link to the rest, so neither its size nor its
queries follow the user's history (20x: 3,000 approved milestones among 3,400 on the dashboard,
1,000 on the contract, 120 revisions of the milestone, 120 statements and offers in the dispute, 800 deposits,
1,000 jobs, ...).
"""

import re

import pytest
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext

from tests.config.factories import history_at_scale

pytestmark = pytest.mark.django_db

# The CSRF token and the nonce of the CSP differ on every response; ids and counts differ in length.
VARYING = re.compile(rb'(csrfmiddlewaretoken" value="|nonce-?=?"?)[^"]*')


def _measure(client: Client, path: str) -> tuple[int, int]:
    with CaptureQueriesContext(connection) as queries:
        response = client.get(path)
    assert response.status_code == 200, (path, response.status_code)
    return len(queries), len(VARYING.sub(b"", response.content))


def test_each_page_runs_the_same_queries_and_weighs_the_same_at_1x_and_20x_the_history(client: Client) -> None:
    # Given a user's history, and later a second one twenty times as big (the job list then lists 21x the jobs)
    costs: dict[str, list[tuple[int, int]]] = {}
    for scale in (1, 20):
        history = history_at_scale(scale)
        assert history.client.contracts_as_client.count() == 3 * scale
        # When each page is opened (each once before, to warm the session)
        for name, (viewer, path) in history.pages().items():
            client.force_login(viewer)
            _measure(client, path)
            costs.setdefault(name, []).append(_measure(client, path))
    # Then each runs the same number of queries, and its HTML is the same size within 10%
    for name, ((small_queries, small_bytes), (large_queries, large_bytes)) in costs.items():
        assert small_queries == large_queries, (name, costs[name])
        assert abs(large_bytes - small_bytes) <= small_bytes // 10, (name, costs[name])
