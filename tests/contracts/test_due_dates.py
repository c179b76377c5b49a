"""The agreed due dates read the same to both parties on every page and in every email, as accepted."""

import datetime as dt

import pytest
import time_machine
from django.core import mail
from django.urls import reverse

from contracts.services import change_request_propose, proposal_accept
from milestones.terms import MilestoneTerms
from tests.marketplace.factories import JobFactory, ProposalFactory, ProposalMilestoneFactory
from tests.users.factories import ClientFactory, FreelancerFactory

pytestmark = pytest.mark.django_db

NOW = dt.datetime(2026, 12, 1, 12, 0, tzinfo=dt.UTC)
AGREED = [dt.date(2026, 12, 11), dt.date(2026, 12, 21), dt.date(2027, 1, 5)]
SHOWN = ["Fri 11 Dec 2026", "Mon 21 Dec 2026", "Tue 5 Jan 2027"]
# What the pages showed before: each date moved to the next day.
MOVED = ["12 Dec 2026", "22 Dec 2026", "6 Jan 2027"]


@pytest.fixture
def frozen():
    with time_machine.travel(NOW, tick=False):
        yield


@pytest.fixture
def proposal(frozen):
    # Given a Kolkata freelancer proposing milestones due 11 Dec, 21 Dec and 5 Jan to a Berlin client
    job = JobFactory(client=ClientFactory(timezone="Europe/Berlin"))
    proposal = ProposalFactory(job=job, freelancer=FreelancerFactory(timezone="Asia/Kolkata"))
    for position, day in enumerate(AGREED, start=1):
        ProposalMilestoneFactory(proposal=proposal, position=position, title=f"Step {position}", due_date=day)
    return proposal


@pytest.fixture
def contract(proposal):
    # When the client accepts it
    return proposal_accept(proposal=proposal, actor=proposal.job.client)


def _page(client, user, url: str) -> str:
    client.force_login(user)
    response = client.get(url)
    assert response.status_code == 200
    return response.content.decode()


def _assert_agreed_dates(html: str) -> None:
    for shown in SHOWN:
        assert shown in html
    for moved in MOVED:
        assert moved not in html


def test_the_contract_takes_the_clients_zone_and_keeps_the_agreed_dates(contract):
    # Then the contract is in Berlin time and every milestone keeps its date, due at its end in Berlin
    assert contract.timezone == "Europe/Berlin"
    milestones = list(contract.milestones.order_by("position"))
    assert [m.due_date for m in milestones] == AGREED
    assert milestones[0].due_at == dt.datetime(2026, 12, 11, 22, 59, 59, tzinfo=dt.UTC)
    assert milestones[2].due_at == dt.datetime(2027, 1, 5, 22, 59, 59, tzinfo=dt.UTC)


def test_both_parties_see_the_proposed_dates_on_the_proposal(client, proposal):
    # Then the proposal shows the same dates to the client and to the freelancer
    url = reverse("marketplace:proposal_detail", args=[proposal.pk])
    for user in (proposal.job.client, proposal.freelancer):
        _assert_agreed_dates(_page(client, user, url))


def test_both_parties_see_the_agreed_dates_on_the_contract_page_with_its_zone(client, contract):
    # Then the contract page shows the agreed dates to both parties, and says which zone they are in
    url = reverse("contracts:detail", args=[contract.pk])
    for user in (contract.client, contract.freelancer):
        html = _page(client, user, url)
        _assert_agreed_dates(html)
        assert "Dates are in Europe/Berlin" in html


def test_both_dashboards_show_the_agreed_dates(client, contract):
    # Then each party's dashboard shows the agreed dates
    for user in (contract.client, contract.freelancer):
        _assert_agreed_dates(_page(client, user, reverse("home")))


def test_the_fund_page_shows_the_agreed_dates(client, contract):
    # Then the client's fund page lists the milestones with their agreed dates
    _assert_agreed_dates(_page(client, contract.client, reverse("contracts:fund_milestones", args=[contract.pk])))


def test_the_milestone_page_shows_the_agreed_date_and_the_exact_moment_in_the_viewers_zone(client, contract):
    # Given the first milestone, due Fri 11 Dec 2026 in Berlin
    milestone = contract.milestones.get(position=1)
    url = reverse("milestones:detail", args=[milestone.pk])
    # Then the Berlin client reads the date and its end at 23:59 Berlin time
    html = _page(client, contract.client, url)
    assert "Fri 11 Dec 2026" in html and "Sat 12 Dec" not in html
    assert "ends Fri 11 Dec 2026, 23:59 Europe/Berlin" in html
    # And the Kolkata freelancer reads the same date, its end being 04:29 the next morning in Kolkata
    html = _page(client, contract.freelancer, url)
    assert "Fri 11 Dec 2026" in html
    assert "ends Sat 12 Dec 2026, 04:29 Asia/Kolkata" in html


def test_a_proposed_change_emails_and_shows_its_date_as_agreed(client, contract, django_capture_on_commit_callbacks):
    # When the Kolkata freelancer proposes a new milestone due 21 Dec
    mail.outbox.clear()
    with django_capture_on_commit_callbacks(execute=True):
        change = change_request_propose(
            contract=contract,
            proposed_by=contract.freelancer,
            milestone=None,
            terms=MilestoneTerms(title="Extra", deliverables="More", amount=10_000, due_date=dt.date(2026, 12, 21)),
        )
    # Then the change keeps the date, due at its end in the contract's zone
    assert change.due_date == dt.date(2026, 12, 21)
    assert change.due_at == dt.datetime(2026, 12, 21, 22, 59, 59, tzinfo=dt.UTC)
    # And the Berlin client's email prints the date itself
    (message,) = mail.outbox
    assert "due Mon 21 Dec 2026" in message.body
    assert "2026-12-21" not in message.body
    # And the contract page shows it to the client unchanged
    html = _page(client, contract.client, reverse("contracts:detail", args=[contract.pk]))
    assert "Mon 21 Dec 2026" in html
