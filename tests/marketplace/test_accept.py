"""Accepting a proposal: one transaction makes the contract, approves its milestones, closes the job."""

import datetime as dt
import re
import threading

import pytest
import time_machine
from django.db import connection
from django.urls import reverse
from django.utils import timezone

from contracts.models import Contract, ContractEvent
from contracts.services import proposal_accept
from marketplace.errors import ProposalError
from marketplace.models import Job, Proposal
from marketplace.services import DECLINED_BECAUSE_HIRED, ProposalMilestoneTerms, proposal_decline, proposal_update
from milestones.models import Milestone, MilestoneState
from tests.marketplace.factories import JobFactory, proposal_with_rows
from tests.users.factories import ClientFactory

pytestmark = pytest.mark.django_db


def test_accepting_starts_the_contract_with_approved_milestones_and_declines_the_rest(
    client, django_capture_on_commit_callbacks, mailoutbox
):
    # Given a job with two waiting proposals
    job = JobFactory()
    chosen = proposal_with_rows(job=job, amounts=(50_000, 30_000, 20_000))
    other = proposal_with_rows(job=job)
    client.force_login(job.client)
    # When the client accepts one
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(
            reverse("contracts:proposal_accept", args=[chosen.pk]), {"seen": chosen.updated_at.isoformat()}
        )
    # Then a contract exists between the two, and the client lands on it
    contract = Contract.objects.get()
    assert response["Location"] == reverse("contracts:detail", args=[contract.pk])
    assert (contract.client, contract.freelancer, contract.currency) == (job.client, chosen.freelancer, "USD")
    # And it has the proposal's three milestones, approved, their history saying how
    milestones = list(contract.milestones.order_by("position"))
    assert [(m.title, m.amount, m.state) for m in milestones] == [
        ("Step 1", 50_000, MilestoneState.APPROVED),
        ("Step 2", 30_000, MilestoneState.APPROVED),
        ("Step 3", 20_000, MilestoneState.APPROVED),
    ]
    for milestone in milestones:
        history = list(milestone.events.values_list("action", "actor_id", "to_state", "note"))
        assert history[0][:3] == ("create", chosen.freelancer_id, "proposed")
        assert history[1] == ("approve", job.client_id, "approved", "Approved by accepting the proposal")
    # And each due date is the end of the proposed day, UTC
    first_row = chosen.milestones.get(position=1)
    assert milestones[0].due_at == dt.datetime.combine(first_row.due_date, dt.time(23, 59, 59), tzinfo=dt.UTC)
    # And the job is closed, the proposal accepted, the other declined with a notice
    job.refresh_from_db()
    chosen.refresh_from_db()
    other.refresh_from_db()
    assert job.status == Job.Status.CLOSED
    assert chosen.status == Proposal.Status.ACCEPTED
    assert (other.status, other.decline_message) == (Proposal.Status.DECLINED, DECLINED_BECAUSE_HIRED)
    assert ContractEvent.objects.get().action == ContractEvent.Action.STARTED
    # And both freelancers were told, after the commit
    assert sorted(m.to[0] for m in mailoutbox) == sorted([chosen.freelancer.email, other.freelancer.email])


def test_only_the_jobs_client_can_accept_and_nothing_changes_otherwise():
    proposal = proposal_with_rows()
    for actor in (ClientFactory(), proposal.freelancer):
        with pytest.raises(ProposalError, match="Only the client"):
            proposal_accept(proposal=proposal, actor=actor)
    assert not Contract.objects.exists() and not Milestone.objects.exists()
    proposal.refresh_from_db()
    assert proposal.status == Proposal.Status.SUBMITTED


def test_a_replayed_accept_is_refused_with_a_message(client):
    # Given an accepted proposal
    proposal = proposal_with_rows()
    client.force_login(proposal.job.client)
    url = reverse("contracts:proposal_accept", args=[proposal.pk])
    form = {"seen": proposal.updated_at.isoformat()}
    client.post(url, form)
    # When the same POST arrives again
    response = client.post(url, form, follow=True)
    # Then it is refused with a clear message and there is still one contract with three milestones
    assert "closed" in " ".join(str(m) for m in response.context["messages"])
    assert Contract.objects.count() == 1 and Milestone.objects.count() == 3


def test_a_declined_or_withdrawn_proposal_cannot_be_accepted():
    proposal = proposal_with_rows()
    proposal_decline(proposal=proposal, actor=proposal.job.client, message="Too expensive")
    with pytest.raises(ProposalError, match="already declined"):
        proposal_accept(proposal=proposal, actor=proposal.job.client)
    assert not Contract.objects.exists()


def test_a_proposal_whose_due_dates_passed_must_be_updated_first():
    # Given a proposal whose first milestone was due in three days
    proposal = proposal_with_rows(first_due_in_days=3)
    # When the client accepts it a week later
    with time_machine.travel(timezone.now() + dt.timedelta(days=7)), pytest.raises(ProposalError, match="passed"):
        proposal_accept(proposal=proposal, actor=proposal.job.client)
    # Then nothing was created
    assert not Contract.objects.exists()


def test_declining_keeps_the_message_for_the_freelancer(client, django_capture_on_commit_callbacks, mailoutbox):
    proposal = proposal_with_rows()
    client.force_login(proposal.job.client)
    with django_capture_on_commit_callbacks(execute=True):
        client.post(reverse("marketplace:proposal_decline", args=[proposal.pk]), {"message": "We went in-house."})
    proposal.refresh_from_db()
    assert (proposal.status, proposal.decline_message) == (Proposal.Status.DECLINED, "We went in-house.")
    assert "We went in-house." in mailoutbox[0].body
    # The freelancer sees the message on their proposal
    client.force_login(proposal.freelancer)
    assert (
        "We went in-house." in client.get(reverse("marketplace:proposal_detail", args=[proposal.pk])).content.decode()
    )


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_two_accepts_at_once_on_one_job_make_one_contract():
    # Given a job with two waiting proposals
    job = JobFactory()
    proposals = [proposal_with_rows(job=job), proposal_with_rows(job=job)]
    barrier = threading.Barrier(2)
    outcomes: list[str] = []

    def accept(proposal: Proposal) -> None:
        try:
            barrier.wait(timeout=10)
            proposal_accept(proposal=proposal, actor=job.client)
            outcomes.append("contract")
        except ProposalError as exc:
            outcomes.append(str(exc))
        finally:
            connection.close()

    # When the client's two tabs accept both at the same moment
    threads = [threading.Thread(target=accept, args=(p,)) for p in proposals]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=30)
    # Then exactly one contract exists; the other accept got a clear message
    assert len(outcomes) == 2 and outcomes.count("contract") == 1
    (refusal,) = [outcome for outcome in outcomes if outcome != "contract"]
    assert "This job is closed" in refusal
    assert Contract.objects.count() == 1
    winner = Contract.objects.get().proposal
    assert Milestone.objects.count() == 3 and set(Milestone.objects.values_list("contract__proposal", flat=True)) == {
        winner.pk
    }
    statuses = sorted(Proposal.objects.values_list("status", flat=True))
    assert statuses == ["accepted", "declined"]


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
