"""The milestone pages run the same number of SQL queries however many submissions, files and events they show."""

import pytest
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from milestones import services
from milestones.models import Milestone, MilestoneState
from tests.milestones.factories import deliverable, funded_contract, milestone_in_state

pytestmark = pytest.mark.django_db


def _queries(client: Client, url: str) -> int:
    with CaptureQueriesContext(connection) as queries:
        response = client.get(url)
    assert response.status_code == 200
    return len(queries)


def _resubmitted(milestone: Milestone, *, rounds: int) -> Milestone:
    """Sends the work back and resubmits it `rounds` times, two files each: more revisions, files and events."""
    contract = milestone.contract
    for round_number in range(rounds):
        milestone = services.milestone_request_changes(milestone=milestone, actor=contract.client, note="Once more")
        milestone = services.milestone_submit(
            milestone=milestone,
            actor=contract.freelancer,
            message=f"Revision {round_number + 2}",
            files=[deliverable("a.pdf"), deliverable("b.txt", b"notes")],
        )
    return milestone


@pytest.mark.parametrize("viewer", ["client", "freelancer"])
def test_the_milestone_page_runs_the_same_number_of_queries_for_1_and_12_submissions(
    client: Client, viewer: str
) -> None:
    # Given two submitted milestones of one contract: one with a single submission, one resubmitted 11 times
    contract = funded_contract(balance=200_000)
    small = milestone_in_state(MilestoneState.SUBMITTED, contract=contract)
    large = _resubmitted(milestone_in_state(MilestoneState.SUBMITTED, contract=contract), rounds=11)
    assert large.submissions.count() == 12
    client.force_login(getattr(contract, viewer))
    # When the viewer opens each milestone's page
    _queries(client, reverse("milestones:detail", args=[small.pk]))  # warm the session and content types
    small_count = _queries(client, reverse("milestones:detail", args=[small.pk]))
    large_count = _queries(client, reverse("milestones:detail", args=[large.pk]))
    # Then the number of queries doesn't grow with the submissions, files and history
    assert small_count == large_count, (small_count, large_count)


def test_the_fund_several_page_runs_the_same_number_of_queries_for_2_and_15_milestones(client: Client) -> None:
    # Given two contracts of one client, with 2 and with 15 approved milestones
    small = funded_contract(balance=0)
    large = funded_contract(balance=0, job__client=small.client)
    for contract, size in ((small, 2), (large, 15)):
        for _ in range(size):
            milestone_in_state(MilestoneState.APPROVED, contract=contract, amount=1_000)
    client.force_login(small.client)
    # When the client opens the "fund several" page for each
    _queries(client, reverse("contracts:fund_milestones", args=[small.pk]))
    small_count = _queries(client, reverse("contracts:fund_milestones", args=[small.pk]))
    large_count = _queries(client, reverse("contracts:fund_milestones", args=[large.pk]))
    # Then the number of queries doesn't grow with the milestones
    assert small_count == large_count, (small_count, large_count)
