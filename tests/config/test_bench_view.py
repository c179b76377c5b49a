"""The benchmarks' bare view exists only where BENCH_VIEWS turns it on, never by default."""

import pytest
from django.conf import settings

from tests.users.factories import ClientFactory

pytestmark = pytest.mark.django_db


def test_the_bare_view_is_not_served_by_default(client):
    # Given the default settings, and a logged-in user
    assert settings.BENCH_VIEWS is False
    client.force_login(ClientFactory())
    # When they ask for the bench's bare view
    response = client.get("/bench/bare/")
    # Then there is no such page
    assert response.status_code == 404
