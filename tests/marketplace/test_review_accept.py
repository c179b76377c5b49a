"""Review: a proposal edited between the client's reading and their accept is not accepted blind."""

import datetime as dt

import pytest
import time_machine
from django.utils import timezone

from contracts.models import Contract
from contracts.services import proposal_accept
from marketplace.errors import ProposalError
from marketplace.models import Job, Proposal
from marketplace.services import ProposalMilestoneTerms, proposal_update
from tests.factories import JobFactory
from tests.marketplace.factories import proposal_with_rows

pytestmark = pytest.mark.django_db


def test_accepting_a_proposal_the_freelancer_edited_since_the_client_read_it_changes_nothing():
    # Given a client reading a 500.00 proposal
    job = JobFactory()
    proposal = proposal_with_rows(job=job, amounts=(50_000,))
    seen = Proposal.objects.get(pk=proposal.pk).updated_at

    # When the freelancer raises it to 5,000.00 a minute later, before the client clicks accept
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
                    due_date=timezone.now().date() + dt.timedelta(days=10),
                )
            ],
        )

    # Then the accept made from the old page is refused, and no contract exists
    with pytest.raises(ProposalError, match="changed this proposal"):
        proposal_accept(proposal=proposal, actor=job.client, seen_updated_at=seen)
    assert not Contract.objects.exists()
    assert Job.objects.get(pk=job.pk).status == Job.Status.OPEN
    assert Proposal.objects.get(pk=proposal.pk).status == Proposal.Status.SUBMITTED

    # And accepting what the client now sees starts the contract with the new terms
    fresh = Proposal.objects.get(pk=proposal.pk)
    contract = proposal_accept(proposal=fresh, actor=job.client, seen_updated_at=fresh.updated_at)
    assert [m.amount for m in contract.milestones.all()] == [500_000]
