"""Review: the accept button carries the version of the terms the client saw; a stale or bare POST accepts nothing."""

import datetime as dt
import re

import pytest
import time_machine
from django.urls import reverse
from django.utils import timezone

from contracts.models import Contract
from marketplace.models import Proposal
from marketplace.services import ProposalMilestoneTerms, proposal_update
from tests.marketplace.factories import proposal_with_rows

pytestmark = pytest.mark.django_db


def _messages(response) -> str:
    return " ".join(str(m) for m in response.context["messages"])


def _seen_on_page(client, proposal: Proposal) -> str:
    html = client.get(reverse("marketplace:proposal_detail", args=[proposal.pk])).content.decode()
    match = re.search(r'name="seen" value="([^"]+)"', html)
    assert match, "the accept form carries the version of the terms shown"
    return match.group(1)


def test_an_accept_from_a_page_older_than_the_freelancers_edit_starts_nothing(client):
    # Given a client looking at a 500.00 proposal
    proposal = proposal_with_rows(amounts=(50_000,))
    client.force_login(proposal.job.client)
    seen = _seen_on_page(client, proposal)

    # When the freelancer raises it to 5,000.00 before the client clicks accept on that page
    with time_machine.travel(timezone.now() + dt.timedelta(minutes=1)):
        proposal_update(
            proposal=proposal,
            actor=proposal.freelancer,
            cover_letter="Same letter.",
            milestones=[
                ProposalMilestoneTerms(
                    title="Everything",
                    deliverables="All of it.",
                    amount=500_000,
                    due_date=timezone.localdate() + dt.timedelta(days=10),
                )
            ],
        )
    url = reverse("contracts:proposal_accept", args=[proposal.pk])
    response = client.post(url, {"seen": seen}, follow=True)

    # Then nothing is accepted and the client is told why
    assert "changed this proposal" in _messages(response)
    assert not Contract.objects.exists()

    # And accepting from the fresh page starts the contract on the terms now shown
    client.post(url, {"seen": _seen_on_page(client, proposal)})
    assert [m.amount for m in Contract.objects.get().milestones.all()] == [500_000]


@pytest.mark.parametrize("seen", [None, "", "yesterday", "2026-13-45T99:00:00+00:00"])
def test_an_accept_without_a_readable_version_starts_nothing(client, seen):
    # Given a client and a waiting proposal
    proposal = proposal_with_rows()
    client.force_login(proposal.job.client)

    # When the accept arrives without the version, or with a garbled one
    data = {} if seen is None else {"seen": seen}
    response = client.post(reverse("contracts:proposal_accept", args=[proposal.pk]), data, follow=True)

    # Then nothing is accepted, and the page says so
    assert "out of date" in _messages(response)
    assert not Contract.objects.exists()
    assert Proposal.objects.get(pk=proposal.pk).status == Proposal.Status.SUBMITTED
