"""Review of the marketplace's web input: titles are one line, because they become e-mail subjects."""

import datetime as dt

import pytest
from django.urls import reverse
from django.utils import timezone

from marketplace.models import Job, Proposal
from marketplace.services import ProposalMilestoneTerms, proposal_submit
from tests.factories import ClientFactory, FreelancerFactory, JobFactory

pytestmark = pytest.mark.django_db

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
