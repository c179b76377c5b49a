"""The contract page: parties, totals, milestones with each viewer's next action, timeline; fixed query count."""

import datetime as dt

import pytest
import time_machine
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from contracts.selectors import contract_page
from contracts.services import contract_message_post
from milestones.services import milestone_create, milestone_fund
from tests.contracts.factories import contract_started
from tests.users.factories import UserFactory

pytestmark = pytest.mark.django_db

TEST_CARD = "4242 4242 4242 4242"


def _page_queries(client, contract) -> int:
    with CaptureQueriesContext(connection) as queries:
        response = client.get(reverse("contracts:detail", args=[contract.pk]))
    assert response.status_code == 200
    return len(queries)


def test_the_page_runs_the_same_number_of_queries_for_3_and_50_milestones(client):
    # Given two contracts of one client, with 3 and with 50 milestones, one of each funded, and messages
    small = contract_started(milestones=3)
    large = contract_started(milestones=50, client=small.client)
    for contract in (small, large):
        milestone_fund(milestone=contract.milestones.first(), actor=contract.client, card_number=TEST_CARD)
        contract_message_post(contract=contract, author=contract.freelancer, body="Started, see https://example.com")
    client.force_login(small.client)
    _page_queries(client, small)  # warm the session and the content types
    # When the client opens each page
    small_count = _page_queries(client, small)
    large_count = _page_queries(client, large)
    # Then the number of queries doesn't grow with the milestones
    assert small_count == large_count, (small_count, large_count)


def test_the_page_shows_totals_milestones_next_actions_and_the_timeline(client):
    # Given a contract with three approved milestones, the first funded
    contract = contract_started(milestones=3, amount=40_000)
    first = contract.milestones.order_by("position").first()
    milestone_fund(milestone=first, actor=contract.client, card_number=TEST_CARD)
    # When the client views it
    page = contract_page(contract=contract, viewer=contract.client)
    # Then totals are agreed $1,200, $400 of it in escrow, nothing released or refunded yet
    assert (page.totals.agreed, page.totals.in_escrow, page.totals.released, page.totals.refunded) == (
        120_000,
        40_000,
        0,
        0,
    )
    # And the next actions are the client's: nothing to do on the funded one, fund the approved ones
    assert [row.next_action for row in page.rows] == [None, "Fund", "Fund"]
    # And the freelancer's next action is to submit work on the funded one
    freelancer_page = contract_page(contract=contract, viewer=contract.freelancer)
    assert [row.next_action for row in freelancer_page.rows] == ["Submit work", None, None]
    # And the timeline tells who did what: start, three proposed, three approved, one funded
    summaries = [(entry.actor, entry.summary.split(" “")[0]) for entry in page.timeline]
    assert summaries[0] == (contract.client, "started the contract")
    assert summaries.count((contract.freelancer, "proposed milestone")) == 3
    assert summaries.count((contract.client, "approved milestone")) == 3
    assert summaries[-1] == (contract.client, "funded milestone")
    # And the rendered page says all that in words
    client.force_login(contract.client)
    html = client.get(reverse("contracts:detail", args=[contract.pk])).content.decode()
    for text in ("$1,200.00", "$400.00", "Fund", "Approved by accepting the proposal", "started the contract"):
        assert text in html


def test_an_overdue_milestone_is_marked(client):
    contract = contract_started(milestones=1)
    with time_machine.travel(timezone.now() + dt.timedelta(days=30)):
        page = contract_page(contract=contract, viewer=contract.client)
        assert page.rows[0].is_overdue
        client.force_login(contract.client)
        assert "Overdue" in client.get(reverse("contracts:detail", args=[contract.pk])).content.decode()
    assert not contract_page(contract=contract, viewer=contract.client).rows[0].is_overdue


def test_staff_see_the_page_without_actions():
    contract = contract_started(milestones=2)
    page = contract_page(contract=contract, viewer=UserFactory(is_staff=True))
    assert [row.next_action for row in page.rows] == [None, None]
    assert not page.viewer_is_party and not page.can_end


def test_the_agreed_due_date_is_not_moved_into_the_viewers_time_zone(client):
    # Given a freelancer in Tokyo on a contract whose milestone is due at the end of its date in UTC
    contract = contract_started(milestones=1)
    contract.freelancer.timezone = "Asia/Tokyo"
    contract.freelancer.save()
    milestone = contract.milestones.get()
    client.force_login(contract.freelancer)
    # When the freelancer opens the contract page
    html = client.get(reverse("contracts:detail", args=[contract.pk])).content.decode()
    # Then it shows the agreed date itself, not the next morning in Tokyo
    assert f'datetime="{milestone.due_date:%Y-%m-%d}"' in html
    assert f"{milestone.due_date:%a} {milestone.due_date.day} {milestone.due_date:%b %Y}" in html


def test_agreed_counts_only_milestones_both_parties_said_yes_to():
    # Given a contract with three approved $400 milestones
    contract = contract_started(milestones=3, amount=40_000)
    # When the freelancer proposes a fourth that the client has not approved yet
    milestone_create(
        contract=contract,
        proposed_by=contract.freelancer,
        title="Extra",
        deliverables="More",
        amount=25_000,
        due_date=(timezone.now() + dt.timedelta(days=9)).date(),
    )
    # Then the agreed total is still the three approved ones
    assert contract_page(contract=contract, viewer=contract.client).totals.agreed == 120_000
