"""Jobs: posting (with the budget parsed into minor units), the searchable list, the job page, closing."""

import datetime as dt

import pytest
from django.urls import reverse
from django.utils import timezone

from marketplace.errors import JobError
from marketplace.models import Job, JobEvent, Proposal
from marketplace.services import DECLINED_BECAUSE_CLOSED, ProposalMilestoneTerms, job_close, job_create, proposal_submit
from tests.marketplace.factories import JobFactory, ProposalFactory
from tests.users.factories import ClientFactory, FreelancerFactory

pytestmark = pytest.mark.django_db


def _job_post(client, **overrides):
    data = {
        "title": "Build a landing page",
        "description": "One page, responsive, accessible.",
        "currency": "USD",
        "budget": "1,250.50",
        "category": "development",
        "deadline": "",
    }
    return client.post(reverse("marketplace:job_create"), data | overrides)


def test_a_client_posts_a_job_with_the_budget_in_minor_units(client):
    # Given a signed-in client
    user = ClientFactory()
    client.force_login(user)
    # When they post a job with a formatted budget
    response = _job_post(client)
    # Then it is saved in cents, open, audited, and they land on its page
    job = Job.objects.get()
    assert (job.budget, job.currency, job.status, job.client) == (125_050, "USD", Job.Status.OPEN, user)
    assert response.status_code == 302 and response["Location"] == reverse("marketplace:job_detail", args=[job.pk])
    assert list(job.events.values_list("action", flat=True)) == [JobEvent.Action.POSTED]


@pytest.mark.parametrize(
    ("budget", "message"),
    [
        ("-5", "The amount must be positive."),
        ("0", "The amount must be greater than zero."),
        ("1e9", "Enter an amount like 1250"),
        ("abc", "Enter an amount like 1250"),
        ("12.345", "USD amounts have at most 2 decimal places."),
        ("10000001", "The amount may be at most $10,000,000.00."),
        ("", "This field is required."),
    ],
)
def test_a_bad_budget_is_refused_on_its_field_and_nothing_is_saved(client, budget, message):
    # Given a signed-in client; when the budget is not a valid amount
    client.force_login(ClientFactory())
    response = _job_post(client, budget=budget)
    # Then the form comes back with the message on the budget field, and no job exists
    assert response.status_code == 200
    assert any(message in error for error in response.context["form"].errors["budget"])
    assert not Job.objects.exists()


def test_a_deadline_in_the_past_is_refused(client):
    client.force_login(ClientFactory())
    response = _job_post(client, deadline="2001-01-01")
    assert "Choose a date in the future." in response.context["form"].errors["deadline"]
    assert not Job.objects.exists()


def test_a_replayed_job_form_posts_one_job(client):
    # Given a client who submits the same form twice (same one-time token)
    client.force_login(ClientFactory())
    token = "7d3c1f4e-0000-4000-8000-000000000001"
    _job_post(client, form_token=token)
    # When the replay arrives
    response = _job_post(client, form_token=token)
    # Then it is refused with a message and there is still one job
    assert response.status_code == 200
    assert "already sent" in str(list(response.context["messages"])[-1])
    assert Job.objects.count() == 1


def test_a_freelancer_only_account_cannot_post_jobs():
    with pytest.raises(JobError, match="client role"):
        job_create(client=FreelancerFactory(), title="T", description="D", budget=100, currency="USD")
    assert not Job.objects.exists()


def test_posting_needs_a_login(client):
    response = client.get(reverse("marketplace:job_create"))
    assert response.status_code == 302 and reverse("account_login") in response["Location"]


def test_the_list_searches_text_and_filters_budget_and_shows_only_open_jobs(client):
    # Given open and closed jobs
    JobFactory(title="Logo design for a bakery", budget=30_000)
    JobFactory(title="Django API", description="A REST API for a bakery", budget=500_000)
    JobFactory(title="Bakery website", budget=200_000, status=Job.Status.CLOSED)
    JobFactory(title="Translate a manual", budget=80_000)
    # When anyone searches "bakery" with a budget from 400
    response = client.get(reverse("marketplace:jobs_list"), {"q": "bakery", "budget_min": "400"})
    # Then only the matching open job within the budget is listed
    titles = [job.title for job in response.context["page"]]
    assert titles == ["Django API"]
    # And an upper bound works too
    response = client.get(reverse("marketplace:jobs_list"), {"budget_max": "400"})
    assert sorted(job.title for job in response.context["page"]) == ["Logo design for a bakery"]


def test_a_bad_budget_filter_is_explained_and_ignored(client):
    JobFactory()
    response = client.get(reverse("marketplace:jobs_list"), {"budget_min": "abc"})
    assert response.status_code == 200
    assert response.context["form"].errors["budget_min"]
    assert len(response.context["page"]) == 1


def test_the_list_is_paginated_and_keeps_the_search(client):
    JobFactory.create_batch(23, title="Copywriting")
    first = client.get(reverse("marketplace:jobs_list"), {"q": "copy"})
    second = client.get(reverse("marketplace:jobs_list"), {"q": "copy", "page": 2})
    assert len(first.context["page"]) == 20 and len(second.context["page"]) == 3
    assert 'href="?q=copy&amp;page=2"' in first.content.decode()


def test_the_job_page_offers_the_right_next_step(client):
    # Given a job; a freelancer sees "Send a proposal", the owner sees "Compare proposals"
    job = JobFactory()
    client.force_login(FreelancerFactory())
    assert "Send a proposal" in client.get(reverse("marketplace:job_detail", args=[job.pk])).content.decode()
    client.force_login(job.client)
    page = client.get(reverse("marketplace:job_detail", args=[job.pk])).content.decode()
    assert "Compare proposals" in page and "Close the job" in page
    assert client.get(reverse("marketplace:job_detail", args=[999_999])).status_code == 404


def test_closing_a_job_declines_waiting_proposals_with_a_notice(client, django_capture_on_commit_callbacks, mailoutbox):
    # Given a job with a waiting and a withdrawn proposal
    job = JobFactory()
    waiting = ProposalFactory(job=job)
    withdrawn = ProposalFactory(job=job, status=Proposal.Status.WITHDRAWN)
    client.force_login(job.client)
    # When the client closes it
    with django_capture_on_commit_callbacks(execute=True):
        client.post(reverse("marketplace:job_close", args=[job.pk]))
    # Then the job is closed, the waiting proposal declined with the notice and its freelancer told
    job.refresh_from_db()
    waiting.refresh_from_db()
    withdrawn.refresh_from_db()
    assert job.status == Job.Status.CLOSED
    assert (waiting.status, waiting.decline_message) == (Proposal.Status.DECLINED, DECLINED_BECAUSE_CLOSED)
    assert withdrawn.status == Proposal.Status.WITHDRAWN
    assert [m.to for m in mailoutbox] == [[waiting.freelancer.email]]
    # And closing again is refused with a message
    with pytest.raises(JobError, match="already closed"):
        job_close(job=job, actor=job.client)


def test_only_the_owner_can_close_a_job(client):
    job = JobFactory()
    client.force_login(ClientFactory())
    assert client.post(reverse("marketplace:job_close", args=[job.pk])).status_code == 404
    assert client.get(reverse("marketplace:job_close", args=[job.pk])).status_code == 405
    job.refresh_from_db()
    assert job.status == Job.Status.OPEN


TITLES_WITH_BREAKS = ["Logo\nBcc: someone@example.com", "Logo\r\nredesign", "Logo\u2028redesign", "Logo\tredesign"]


@pytest.mark.parametrize("title", TITLES_WITH_BREAKS)
def test_a_job_title_with_a_line_break_is_refused_on_its_field(client, title):
    # Given a client on the job form
    client.force_login(ClientFactory())

    # When the title carries a line break or a control character
    response = client.post(
        reverse("marketplace:job_create"),
        {"title": title, "description": "One page.", "currency": "USD", "budget": "100", "deadline": ""},
    )

    # Then the form comes back with the reason on the title, and no job is posted
    assert response.status_code == 200
    assert "one line" in " ".join(response.context["form"].errors["title"])
    assert not Job.objects.exists()


def test_a_proposal_row_title_with_a_line_break_is_refused_on_its_row(client):
    # Given a freelancer proposing on an open job
    job = JobFactory()
    client.force_login(FreelancerFactory())
    due = (timezone.localdate() + dt.timedelta(days=10)).isoformat()

    # When a milestone row's title carries a line break
    response = client.post(
        reverse("marketplace:proposal_create", args=[job.pk]),
        {
            "cover_letter": "I can do this.",
            "milestones-TOTAL_FORMS": "1",
            "milestones-INITIAL_FORMS": "0",
            "milestones-MIN_NUM_FORMS": "1",
            "milestones-MAX_NUM_FORMS": "10",
            "milestones-0-title": "Design\nBcc: someone@example.com",
            "milestones-0-deliverables": "Figma file",
            "milestones-0-amount": "500",
            "milestones-0-due_date": due,
        },
    )

    # Then the row explains it, and no proposal is sent
    assert response.status_code == 200
    assert "one line" in " ".join(response.context["rows"].forms[0].errors["title"])
    assert not Proposal.objects.exists()


def test_a_title_saved_with_a_line_break_still_lets_its_emails_go_out(django_capture_on_commit_callbacks, mailoutbox):
    # Given a job whose title was stored with a line break (before titles were checked on the form)
    job = JobFactory(title="Logo\nredesign")

    # When a freelancer proposes on it and the client is e-mailed
    with django_capture_on_commit_callbacks(execute=True):
        proposal_submit(
            job=job,
            freelancer=FreelancerFactory(),
            cover_letter="I can do this.",
            milestones=[
                ProposalMilestoneTerms(
                    title="Design",
                    deliverables="Figma file",
                    amount=50_000,
                    due_date=timezone.localdate() + dt.timedelta(days=10),
                )
            ],
        )

    # Then the e-mail goes out with the title on one line
    assert len(mailoutbox) == 1
    assert "\n" not in mailoutbox[0].subject
