"""The dashboard shows the latest few of each list and links to all of them, a page at a time."""

import datetime as dt

import pytest
import time_machine
from django.urls import reverse

from contracts.models import ContractEvent
from contracts.selectors import (
    DASHBOARD_LATEST,
    LIST_PER_PAGE,
    TIMELINE_LATEST,
    _timeline_entries,
    _timeline_rows,
    contract_timeline,
)
from contracts.services import contract_event_record
from milestones import services
from tests.contracts.factories import contract_started
from tests.milestones.factories import client_deposit
from tests.users.factories import ClientFactory

pytestmark = pytest.mark.django_db


def test_the_dashboard_shows_the_soonest_milestones_to_fund_and_links_to_all_of_them(client):
    # Given a client with a contract of 30 approved milestones
    contract = contract_started(milestones=LIST_PER_PAGE + 5, amount=1_000)
    client.force_login(contract.client)
    # When they open the dashboard
    html = client.get(reverse("home")).content.decode()
    # Then it lists only the first few to fund, and links to the whole list
    assert html.count("<li>Fund <a") == DASHBOARD_LATEST
    all_url = reverse("contracts:milestone_list", args=["client", "fund"])
    assert f'href="{all_url}">See all {LIST_PER_PAGE + 5} milestones to fund' in html
    # And that list shows them a page at a time
    first = client.get(all_url).content.decode()
    second = client.get(all_url + "?page=2").content.decode()
    assert first.count('<th scope="row"><a href="/milestones/') == LIST_PER_PAGE
    assert second.count('<th scope="row"><a href="/milestones/') == 5
    assert "Page 2 of 2" in second


def test_the_lists_are_the_viewers_own_and_unknown_lists_are_404(client):
    # Given a client with a contract, and another client
    contract = contract_started(milestones=2)
    other = ClientFactory()
    client.force_login(other)
    # Then the other client's list of milestones to fund is empty of the first client's work
    html = client.get(reverse("contracts:milestone_list", args=["client", "fund"])).content.decode()
    assert contract.title not in html and "Nothing here right now" in html
    # And a role the user doesn't have, or an unknown list, is a 404
    assert client.get(reverse("contracts:milestone_list", args=["freelancer", "active"])).status_code == 404
    assert client.get(reverse("contracts:milestone_list", args=["client", "everything"])).status_code == 404
    assert client.get(reverse("contracts:list", args=["freelancer"])).status_code == 404
    # And an outsider's view of the contract's activity is a 404
    assert client.get(reverse("contracts:activity", args=[contract.pk])).status_code == 404


def test_the_contract_page_shows_the_latest_events_and_links_to_the_whole_activity(client):
    # Given a contract whose start wrote more events than the page shows (started, and 2 per milestone)
    contract = contract_started(milestones=TIMELINE_LATEST)
    client.force_login(contract.freelancer)
    # When a party opens it
    html = client.get(reverse("contracts:detail", args=[contract.pk])).content.decode()
    # Then the timeline shows the latest events and links to all of them
    activity = reverse("contracts:activity", args=[contract.pk])
    total = 1 + 2 * TIMELINE_LATEST
    assert f'href="{activity}">See all {total} events' in html
    assert "started the contract" not in html.split('id="timeline"')[1]
    # And the activity pages hold every event, the oldest on the last page
    page = client.get(activity).content.decode()
    assert f"{total} events" in page and "started the contract" in page


def test_the_contract_list_shows_all_the_users_contracts(client):
    contract = contract_started(milestones=1)
    client.force_login(contract.client)
    html = client.get(reverse("contracts:list", args=["client"])).content.decode()
    assert contract.title in html and "1 contract," in html


def test_the_latest_events_on_the_contract_page_are_the_newest_of_the_whole_activity_in_its_order():
    # Given a contract whose own events and milestone events interleave, two at the very same instant
    start = dt.datetime(2026, 3, 1, 9, tzinfo=dt.UTC)
    with time_machine.travel(start, tick=False):
        contract = contract_started(milestones=4, amount=1_000)
    client_deposit(user=contract.client, amount=10_000)
    for hour, milestone in enumerate(contract.milestones.order_by("position"), start=1):
        with time_machine.travel(start + dt.timedelta(hours=hour), tick=False):
            milestone.contract = contract
            services.milestone_fund(milestone=milestone, actor=contract.client)
            if hour % 2:
                contract_event_record(
                    contract=contract, actor=contract.client, action=ContractEvent.Action.CHANGE_PROPOSED
                )
    whole = _timeline_entries(_timeline_rows(contract=contract))
    for limit in (1, 3, 5, len(whole) + 2):
        # When the contract page reads the latest few
        latest = contract_timeline(contract=contract, limit=limit)
        # Then they are the whole activity's newest few in its order, and the count is the activity's
        expected = _timeline_entries(_timeline_rows(contract=contract)[:limit])
        assert [(e.at, e.summary) for e in latest] == [(e.at, e.summary) for e in expected]
        assert latest.total == len(whole)
