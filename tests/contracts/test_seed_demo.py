"""`seed_demo` creates jobs, proposals in every outcome and contracts, through the services, once."""

import pytest
from django.core.management import call_command

from contracts.demo import DEMO_JOBS, DISPUTES_JOB_TITLE, EVERY_STATE_JOB_TITLE
from contracts.models import ChangeRequest, Contract, ContractMessage
from disputes.models import Dispute, DisputeOutcome, DisputeStatus, Offer
from marketplace.models import Job, Proposal
from milestones.models import MilestoneState
from reputation.models import Feedback, FeedbackWindow
from users.models import User

pytestmark = pytest.mark.django_db


def _counts() -> tuple[int, ...]:
    return (
        Job.objects.count(),
        Proposal.objects.count(),
        Contract.objects.count(),
        ContractMessage.objects.count(),
        ChangeRequest.objects.count(),
        FeedbackWindow.objects.count(),
        Feedback.objects.count(),
        Dispute.objects.count(),
        Offer.objects.count(),
    )


def test_seed_demo_creates_jobs_proposals_and_contracts_idempotently():
    # When the seed runs
    call_command("seed_demo")
    # Then every demo job exists, with proposals open, declined, withdrawn and accepted
    titles = set(Job.objects.values_list("title", flat=True))
    assert {spec.title for spec in DEMO_JOBS} <= titles
    statuses = set(
        Proposal.objects.filter(job__title__in=[s.title for s in DEMO_JOBS]).values_list("status", flat=True)
    )
    assert statuses == {"submitted", "declined", "withdrawn", "accepted"}
    # And the accepted ones became contracts whose milestones are approved, with a message thread
    # (the every-state contract's milestones are moved on by the milestones demo, tested there, and the
    # disputes contract's by the disputes demo, below)
    ours = Contract.objects.filter(job__title__in=[s.title for s in DEMO_JOBS]).exclude(
        job__title__in=[EVERY_STATE_JOB_TITLE, DISPUTES_JOB_TITLE]
    )
    assert ours.count() == 2
    for contract in ours:
        assert set(contract.milestones.values_list("state", flat=True)) == {MilestoneState.APPROVED}
        assert contract.messages.exists()
    # And there is a dispute in each status, the resolved ones settled by an offer and by an arbitrator
    assert set(Dispute.objects.values_list("status", flat=True)) == set(DisputeStatus.values)
    resolved = Dispute.objects.filter(status=DisputeStatus.RESOLVED)
    assert {case.outcome for case in resolved} == {DisputeOutcome.SPLIT}
    assert resolved.filter(arbitrator__isnull=False).exists() and resolved.filter(arbitrator__isnull=True).exists()
    assert Dispute.objects.filter(statements__files__isnull=False).exists()
    # And running it again adds nothing, and the ledger verifies
    before = _counts()
    call_command("seed_demo")
    assert _counts() == before
    call_command("ledger_verify")


def test_seed_demo_shows_profiles_with_records_and_published_feedback(client):
    # When the seed runs
    call_command("seed_demo")
    fay = User.objects.get(email="freelancer1@example.com")
    client.force_login(User.objects.get(email="client1@example.com"))
    # Then the freelancer has a profile with skills, a record and the client's published feedback
    page = client.get(f"/freelancers/{fay.pk}/").content.decode()
    assert fay.headline in page and "Django" in page and "https://example.com/fay/portfolio" in page
    assert 'data-figure="contracts_completed">1<' in page and 'data-figure="milestones_released">' in page
    assert "delivered a page our customers love" in page
    # And the client of that contract shows the freelancer's feedback about them, published together
    page = client.get(f"/clients/{User.objects.get(email='client2@example.com').pk}/").content.decode()
    assert "paid the same day" in page
    # And a contract where only the client left feedback keeps it hidden until the window closes
    hidden = FeedbackWindow.objects.get(contract__title__startswith="Illustrated birthday card")
    assert hidden.published_at is None and hidden.feedback.count() == 1
    femi = User.objects.get(email="freelancer2@example.com")
    assert "Lovely illustration" not in client.get(f"/freelancers/{femi.pk}/").content.decode()
