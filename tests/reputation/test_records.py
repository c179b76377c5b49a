"""Every figure on a profile equals the same figure computed independently from the milestone and ledger
rows (tests/reputation/expected.py), on hand-picked histories, on random ones (Hypothesis), and on the demo."""

import re

import pytest
from django.core.management import call_command
from django.urls import reverse
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from core.money import format_money
from reputation.selectors import client_records, freelancer_records
from tests.reputation.expected import actual_client, actual_freelancer, expected_client, expected_freelancer
from tests.reputation.factories import PATHS, Feedbacks, history_build
from tests.users.factories import ClientFactory, FreelancerFactory
from users.models import User

pytestmark = pytest.mark.django_db


def _figures(html: str) -> dict[str, str]:
    """The text of each `data-figure` element on a page, tags stripped and spaces collapsed."""
    found = re.findall(r'data-figure="([^"]+)">(.*?)</(?:dd|strong|span)>', html, flags=re.S)
    return {name: " ".join(re.sub(r"<[^>]+>", " ", text).split()) for name, text in found}


def _check_freelancer(client, user: User) -> None:
    expected = expected_freelancer(user)
    assert actual_freelancer(freelancer_records(users=[user])[user.pk]) == expected
    # And the page shows those same numbers
    figures = _figures(client.get(reverse("reputation:freelancer", args=[user.pk])).content.decode())
    assert figures["contracts_completed"] == str(expected["contracts_completed"])
    assert figures["milestones_released"] == str(expected["milestones_released"])
    if expected["on_time_percent"] is None:
        assert figures["on_time"] == "—"
    else:
        on_time = (
            f"{expected['on_time_percent']}% ({expected['released_on_time']} of {expected['milestones_released']})"
        )
        assert figures["on_time"] == on_time
    endings = expected["endings"]
    if expected["disputed_percent"] is not None:
        total = sum(endings.values())
        assert figures["disputed"].startswith(
            f"{expected['disputed_percent']}% ({total} of {expected['milestones_closed']}"
        )
    if sum(endings.values()):
        assert figures["dispute_endings"] == (
            f"{endings['released']} paid to the freelancer, {endings['split']} split, "
            f"{endings['refunded']} refunded to the client"
        )
    if expected["earned"] is None:
        assert "Not shown" in figures["earned"]
    elif expected["earned"]:
        for currency, amount in expected["earned"].items():
            assert format_money(amount, currency) in figures["earned"]
    _check_ratings(figures, expected["ratings"])


def _check_client(client, user: User) -> None:
    expected = expected_client(user)
    assert actual_client(client_records(user_ids=[user.pk])[user.pk]) == expected
    figures = _figures(client.get(reverse("reputation:client", args=[user.pk])).content.decode())
    assert figures["contracts"] == f"{expected['contracts']} ({expected['contracts_ended']} ended)"
    assert figures["disputes_opened"] == str(expected["disputes_opened"])
    if expected["released_on_time_percent"] is not None:
        by_client, auto = expected["released_by_client"], expected["auto_released"]
        assert (
            figures["released_on_time"]
            == f"{expected['released_on_time_percent']}% ({by_client} of {by_client + auto})"
        )
    _check_ratings(figures, expected["ratings"])


def _check_ratings(figures: dict[str, str], ratings: dict) -> None:
    if not ratings["count"]:
        assert "overall" not in figures
        return
    assert figures["overall"] == str(ratings["overall"])
    assert figures["feedback_count"] == str(ratings["count"])
    for name, average in zip(("quality", "communication", "reliability"), ratings["criteria"], strict=True):
        assert figures[f"criterion-{name}"] == str(average)
    if ratings["would_work_again"] is None:
        assert "would_work_again" not in figures
    else:
        assert figures["would_work_again"] == f"{ratings['would_work_again']}%"


def test_a_history_with_every_path_gives_the_records_its_rows_say(client):
    # Given one freelancer and one client with a contract whose milestones took every path there is
    freelancer, hirer = FreelancerFactory(), ClientFactory()
    history_build(paths=PATHS, client=hirer, freelancer=freelancer)
    # And a second contract still running, with one milestone paid late
    history_build(paths=("released_late", "released_on_time"), client=hirer, freelancer=freelancer, end=False)
    client.force_login(ClientFactory())
    # Then both profiles show exactly what the rows say
    _check_freelancer(client, freelancer)
    _check_client(client, hirer)
    # And the hand-counted figures agree too: 8 of 11 paths end released (+2 on the running contract)
    record = freelancer_records(users=[freelancer])[freelancer.pk]
    assert (record.contracts_completed, record.milestones_released) == (1, 10)
    assert (record.dispute_endings.released, record.dispute_endings.split, record.dispute_endings.refunded) == (1, 1, 1)
    assert client_records(user_ids=[hirer.pk])[hirer.pk].auto_released == 1


def test_a_freelancer_who_hides_the_amount_shows_every_other_figure(client):
    freelancer = FreelancerFactory(show_total_earned=False)
    history_build(paths=("released_on_time",), freelancer=freelancer)
    client.force_login(ClientFactory())
    page = client.get(reverse("reputation:freelancer", args=[freelancer.pk])).content.decode()
    assert "Not shown by" in page and "$360.00" not in page and "$400.00" not in page
    _check_freelancer(client, freelancer)


feedback_values = st.none() | st.tuples(st.integers(1, 5), st.integers(1, 5), st.integers(1, 5), st.booleans())
contract_specs = st.lists(
    st.tuples(
        st.lists(st.sampled_from(PATHS), min_size=1, max_size=4),
        st.booleans(),  # ended
        feedback_values,
        feedback_values,
        st.booleans(),  # let the window close
        st.integers(0, 1),  # which of two clients
    ),
    min_size=1,
    max_size=4,
)


@settings(max_examples=12, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(specs=contract_specs, hides=st.booleans())
def test_random_histories_give_the_records_their_rows_say(client, specs, hides):
    # Given a freelancer and two clients with random contracts, milestone paths and feedback
    freelancer = FreelancerFactory(show_total_earned=not hides)
    hirers = [ClientFactory(), ClientFactory()]
    for paths, ended, by_client, by_freelancer, close_window, which in specs:
        history_build(
            paths=paths,
            client=hirers[which],
            freelancer=freelancer,
            end=ended,
            feedbacks=Feedbacks(by_client=by_client, by_freelancer=by_freelancer, close_window=close_window),
        )
    client.force_login(ClientFactory())
    # Then every figure on every profile is what the rows say
    _check_freelancer(client, freelancer)
    for hirer in hirers:
        _check_client(client, hirer)


def test_the_demo_profiles_show_records_and_published_feedback(client):
    # Given the demo data
    call_command("seed_demo")
    client.force_login(User.objects.get(email="client2@example.com"))
    # Then every freelancer's and client's figures are what the rows say
    for user in User.objects.filter(email__endswith="@example.com"):
        if user.is_freelancer:
            _check_freelancer(client, user)
        if user.is_client:
            _check_client(client, user)
    # And at least one freelancer and one client have a record and published feedback
    freelancers = list(User.objects.filter(is_freelancer=True))
    records = freelancer_records(users=freelancers)
    assert any(r.milestones_released and r.ratings.count for r in records.values())
    clients = client_records(user_ids=User.objects.filter(is_client=True).values_list("pk", flat=True))
    assert any(r.contracts_ended and r.ratings.count for r in clients.values())
