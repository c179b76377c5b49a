"""Every list page of the marketplace runs the same number of SQL queries for few rows and for many."""

import pytest
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from milestones.models import MilestoneState
from tests.contracts.factories import contract_started
from tests.marketplace.factories import JobFactory, proposal_with_rows
from tests.milestones.factories import client_deposit, milestone_in_state
from tests.users.factories import ClientFactory, FreelancerFactory, UserFactory
from users.models import User

pytestmark = pytest.mark.django_db


def _queries(client: Client, url: str) -> int:
    with CaptureQueriesContext(connection) as queries:
        response = client.get(url)
    assert response.status_code == 200
    return len(queries)


def _same_count_for_small_and_large(client: Client, url_small: str, url_large: str) -> tuple[int, int]:
    _queries(client, url_small)  # warm the session, content types and site
    return _queries(client, url_small), _queries(client, url_large)


def _client_with_work(client_user: User, freelancer: User, *, contracts: int, open_jobs: int) -> None:
    """A client with contracts holding milestones in each state the dashboard lists, and open jobs with proposals."""
    client_deposit(user=client_user, amount=1_000_000)
    for _ in range(contracts):
        contract = contract_started(milestones=1, client=client_user, freelancer=freelancer)
        for state in (MilestoneState.PROPOSED, MilestoneState.FUNDED, MilestoneState.SUBMITTED):
            milestone_in_state(state, contract=contract, amount=10_000)
    for _ in range(open_jobs):
        job = JobFactory(client=client_user)
        proposal_with_rows(job=job)


def test_the_client_dashboard_runs_the_same_number_of_queries_for_1_and_8_contracts(client: Client) -> None:
    # Given two clients, one with 1 contract and 1 open job, the other with 8 of each, all with work to act on
    small, large = ClientFactory(), ClientFactory()
    _client_with_work(small, FreelancerFactory(), contracts=1, open_jobs=1)
    _client_with_work(large, FreelancerFactory(), contracts=8, open_jobs=8)
    # When each opens the dashboard
    client.force_login(small)
    _queries(client, reverse("home"))
    small_count = _queries(client, reverse("home"))
    client.force_login(large)
    _queries(client, reverse("home"))
    large_count = _queries(client, reverse("home"))
    # Then the number of queries doesn't grow with the rows
    assert small_count == large_count, (small_count, large_count)


def test_the_freelancer_dashboard_runs_the_same_number_of_queries_for_1_and_8_contracts(client: Client) -> None:
    # Given two freelancers, one with 1 contract and proposal, the other with 8, with released earnings
    small, large = FreelancerFactory(), FreelancerFactory()
    for freelancer, size in ((small, 1), (large, 8)):
        hirer = ClientFactory()
        client_deposit(user=hirer, amount=1_000_000)
        for _ in range(size):
            contract = contract_started(milestones=1, client=hirer, freelancer=freelancer)
            for state in (MilestoneState.PROPOSED, MilestoneState.FUNDED, MilestoneState.RELEASED):
                milestone_in_state(state, contract=contract, amount=10_000)
            proposal_with_rows(freelancer=freelancer)
    # When each opens the dashboard
    counts = []
    for freelancer in (small, large):
        client.force_login(freelancer)
        _queries(client, reverse("home"))
        counts.append(_queries(client, reverse("home")))
    # Then the number of queries doesn't grow with the rows
    assert counts[0] == counts[1], counts


def test_the_dashboard_of_a_user_with_both_roles_runs_the_same_number_of_queries_for_1_and_6(client: Client) -> None:
    # Given two users who hire and work, with 1 and with 6 contracts on each side
    counts = []
    for size in (1, 6):
        both = UserFactory(is_client=True, is_freelancer=True)
        _client_with_work(both, FreelancerFactory(), contracts=size, open_jobs=size)
        hirer = ClientFactory()
        client_deposit(user=hirer, amount=1_000_000)
        for _ in range(size):
            contract = contract_started(milestones=1, client=hirer, freelancer=both)
            milestone_in_state(MilestoneState.RELEASED, contract=contract, amount=10_000)
        # When they open the dashboard
        client.force_login(both)
        _queries(client, reverse("home"))
        counts.append(_queries(client, reverse("home")))
    # Then the number of queries doesn't grow with the rows
    assert counts[0] == counts[1], counts


def test_the_job_list_runs_the_same_number_of_queries_for_2_and_25_jobs(client: Client) -> None:
    # Given 2 open jobs with a proposal each, in GBP
    for _ in range(2):
        proposal_with_rows(job=JobFactory(currency="GBP"))
    viewer = FreelancerFactory()
    client.force_login(viewer)
    small_count = _queries(client, reverse("marketplace:jobs_list"))
    # When 23 more open jobs with proposals appear
    for _ in range(23):
        proposal_with_rows(job=JobFactory(currency="GBP"))
    large_count = _queries(client, reverse("marketplace:jobs_list"))
    # Then the list runs the same number of queries
    assert small_count == large_count, (small_count, large_count)


def test_the_compare_page_runs_the_same_number_of_queries_for_2_and_20_proposals(client: Client) -> None:
    # Given two jobs of one client, with 2 and with 20 waiting proposals
    owner = ClientFactory()
    small_job, large_job = JobFactory(client=owner), JobFactory(client=owner)
    for job, size in ((small_job, 2), (large_job, 20)):
        for _ in range(size):
            proposal_with_rows(job=job)
    client.force_login(owner)
    # When the client compares each job's proposals
    small_count, large_count = _same_count_for_small_and_large(
        client,
        reverse("marketplace:job_proposals", args=[small_job.pk]),
        reverse("marketplace:job_proposals", args=[large_job.pk]),
    )
    # Then the number of queries doesn't grow with the proposals
    assert small_count == large_count, (small_count, large_count)
