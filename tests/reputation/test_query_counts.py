"""Profile pages cost the same at any size: the record is aggregated in SQL and the feedback is paginated."""

import pytest
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from reputation.views import FEEDBACK_PER_PAGE
from tests.reputation.factories import history_build
from tests.users.factories import ClientFactory, FreelancerFactory

pytestmark = pytest.mark.django_db


def _queries(client: Client, url: str) -> tuple[int, str]:
    with CaptureQueriesContext(connection) as queries:
        response = client.get(url)
    assert response.status_code == 200
    return len(queries), response.content.decode()


def test_profiles_run_the_same_number_of_queries_for_1_and_12_rated_contracts(client: Client) -> None:
    # Given a freelancer and a client with one rated contract, and another pair with twelve (two pages of feedback)
    small_freelancer, small_client = FreelancerFactory(), ClientFactory()
    large_freelancer, large_client = FreelancerFactory(), ClientFactory()
    history_build(paths=("released_on_time", "dispute_split"), client=small_client, freelancer=small_freelancer)
    for _ in range(12):
        history_build(
            paths=("released_on_time", "auto_released", "dispute_split"),
            client=large_client,
            freelancer=large_freelancer,
        )
    client.force_login(ClientFactory())
    for name, small, large in (
        ("reputation:freelancer", small_freelancer, large_freelancer),
        ("reputation:client", small_client, large_client),
    ):
        _queries(client, reverse(name, args=[small.pk]))  # warm the session
        # When each profile is opened
        small_count, _ = _queries(client, reverse(name, args=[small.pk]))
        large_count, page = _queries(client, reverse(name, args=[large.pk]))
        # Then the number of queries does not grow with the history, and the feedback is paginated
        assert small_count == large_count, (name, small_count, large_count)
        assert page.count('class="feedback"') == FEEDBACK_PER_PAGE
        assert "Page 1 of 2" in page
        older, _ = _queries(client, reverse(name, args=[large.pk]) + "?page=2")
        assert older == large_count
