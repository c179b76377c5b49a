"""Proposals: the milestone rows are validated on the server, row by row; one live proposal per job."""

import datetime as dt

import pytest
from django.urls import reverse
from django.utils import timezone

from marketplace.errors import ProposalError
from marketplace.models import Job, JobEvent, Proposal, ProposalMilestone
from marketplace.services import ProposalMilestoneTerms, proposal_submit, proposal_withdraw
from tests.marketplace.factories import JobFactory, ProposalFactory, proposal_with_rows
from tests.users.factories import ClientFactory, FreelancerFactory

pytestmark = pytest.mark.django_db


def _messages(response) -> str:
    return " ".join(str(m) for m in response.context["messages"])


def _in_days(days: int) -> str:
    return (timezone.localdate() + dt.timedelta(days=days)).isoformat()


def _rows(*rows: dict) -> dict:
    """Formset POST data for the milestone rows, as the browser sends it."""
    data = {
        "milestones-TOTAL_FORMS": str(len(rows)),
        "milestones-INITIAL_FORMS": "0",
        "milestones-MIN_NUM_FORMS": "1",
        "milestones-MAX_NUM_FORMS": "10",
    }
    for index, row in enumerate(rows):
        for key, value in row.items():
            data[f"milestones-{index}-{key}"] = value
    return data


def _row(title: str = "Design", amount: str = "500", due_in_days: int = 10) -> dict:
    return {"title": title, "deliverables": "Figma file", "amount": amount, "due_date": _in_days(due_in_days)}


def _propose(client, job: Job, *rows: dict, cover_letter: str = "I can do this well."):
    data = {"cover_letter": cover_letter} | _rows(*rows)
    return client.post(reverse("marketplace:proposal_create", args=[job.pk]), data)


@pytest.fixture
def job():
    return JobFactory()


@pytest.fixture
def freelancer(client):
    user = FreelancerFactory()
    client.force_login(user)
    return user


def test_a_freelancer_proposes_milestones_parsed_into_minor_units(client, job, freelancer):
    # When a freelancer sends two rows, one with thousands separators
    response = _propose(client, job, _row("Design", "1,250.50", 10), _row("Build", "3000", 20))
    # Then the proposal and its rows are saved in order, in cents, and audited
    proposal = Proposal.objects.get()
    assert response["Location"] == reverse("marketplace:proposal_detail", args=[proposal.pk])
    assert list(proposal.milestones.values_list("position", "title", "amount")) == [
        (1, "Design", 125_050),
        (2, "Build", 300_000),
    ]
    assert job.events.get().action == JobEvent.Action.PROPOSAL_SUBMITTED


@pytest.mark.parametrize(
    ("amount", "message"),
    [
        ("-5", "The amount must be positive."),
        ("0", "The amount must be greater than zero."),
        ("1e9", "Enter an amount like 1250 or 1,250.50"),
        ("abc", "Enter an amount like 1250 or 1,250.50"),
        ("10.505", "USD amounts have at most 2 decimal places."),
        ("1000000.01", "The amount may be at most $1,000,000.00."),
        ("", "This field is required."),
    ],
)
def test_a_bad_amount_is_refused_on_its_own_row_and_nothing_is_saved(client, job, freelancer, amount, message):
    # When the second of three rows has a bad amount
    response = _propose(client, job, _row("One"), _row("Two", amount), _row("Three"))
    # Then the form comes back with the message on row 2's amount, and rows 1 and 3 are clean
    assert response.status_code == 200
    rows = response.context["rows"]
    assert any(message in error for error in rows.forms[1].errors["amount"])
    assert not rows.forms[0].errors and not rows.forms[2].errors
    assert message.split(" ")[0] in response.content.decode()
    assert not Proposal.objects.exists() and not ProposalMilestone.objects.exists()


@pytest.mark.parametrize("due_in_days", [0, -1, -400])
def test_a_due_date_that_is_not_in_the_future_is_refused_on_its_row(client, job, freelancer, due_in_days):
    response = _propose(client, job, _row("One"), _row("Two", due_in_days=due_in_days))
    assert response.context["rows"].forms[1].errors["due_date"] == ["Choose a date in the future."]
    assert not Proposal.objects.exists()


def test_a_row_without_title_or_deliverables_is_refused(client, job, freelancer):
    response = _propose(client, job, {"title": "", "deliverables": "", "amount": "10", "due_date": _in_days(5)})
    errors = response.context["rows"].forms[0].errors
    assert set(errors) == {"title", "deliverables"}
    assert not Proposal.objects.exists()


def test_at_least_one_milestone_is_required(client, job, freelancer):
    response = _propose(client, job)
    assert response.context["rows"].non_form_errors() == ["Add at least one milestone."]
    assert not Proposal.objects.exists()


def test_blank_rows_do_not_count_as_milestones(client, job, freelancer):
    blank = {"title": "", "deliverables": "", "amount": "", "due_date": ""}
    response = _propose(client, job, blank, blank)
    assert response.status_code == 200
    assert not Proposal.objects.exists()


def test_more_rows_than_the_configured_maximum_are_refused(client, job, freelancer, settings):
    # Given a limit of three milestones per proposal
    settings.PROPOSAL_MAX_MILESTONES = 3
    # When four rows are sent
    response = _propose(client, job, *[_row(f"Row {n}") for n in range(4)])
    # Then the whole form is refused with the limit named
    assert response.context["rows"].non_form_errors() == ["A proposal has at most 3 milestones."]
    assert not Proposal.objects.exists()


def test_the_service_refuses_what_a_tampered_form_might_let_through(job, freelancer, settings):
    settings.PROPOSAL_MAX_MILESTONES = 2
    future = timezone.now().date() + dt.timedelta(days=5)
    row = ProposalMilestoneTerms(title="T", deliverables="D", amount=100, due_date=future)
    cases = [
        ([], "Add at least one milestone."),
        ([row, row, row], "at most 2 milestones"),
        ([row, ProposalMilestoneTerms(title="T", deliverables="D", amount=0, due_date=future)], "Milestone 2:"),
        ([ProposalMilestoneTerms(title="T", deliverables="D", amount=100, due_date=dt.date(2000, 1, 1))], "future"),
        ([ProposalMilestoneTerms(title="T", deliverables="D", amount=10**12, due_date=future)], "at most"),
    ]
    for rows, message in cases:
        with pytest.raises(ProposalError, match=message):
            proposal_submit(job=job, freelancer=freelancer, cover_letter="Hi", milestones=rows)
    assert not Proposal.objects.exists()


def test_nobody_proposes_on_their_own_job(client):
    # Given a user who is client and freelancer
    both = FreelancerFactory(is_client=True)
    job = JobFactory(client=both)
    client.force_login(both)
    # When they try to propose on their own job
    response = _propose(client, job, _row())
    # Then they are sent back with a message, and nothing is saved
    assert response.status_code == 302
    assert not Proposal.objects.exists()
    future = timezone.now().date() + dt.timedelta(days=5)
    with pytest.raises(ProposalError, match="You posted this job"):
        proposal_submit(
            job=job,
            freelancer=both,
            cover_letter="Hi",
            milestones=[ProposalMilestoneTerms(title="T", deliverables="D", amount=100, due_date=future)],
        )


def test_a_closed_job_takes_no_proposals(client, freelancer):
    job = JobFactory(status=Job.Status.CLOSED)
    response = _propose(client, job, _row())
    assert response.status_code == 302
    assert not Proposal.objects.exists()


def test_a_client_only_account_cannot_propose(client, job):
    client.force_login(ClientFactory())
    response = client.get(reverse("marketplace:proposal_create", args=[job.pk]), follow=True)
    assert "freelancer role" in _messages(response)
    _propose(client, job, _row())
    assert not Proposal.objects.exists()


def test_one_live_proposal_per_freelancer_per_job(client, job, freelancer):
    # Given a proposal already sent
    _propose(client, job, _row("First"))
    # When the freelancer (or a replayed POST) sends another
    response = _propose(client, job, _row("Second"))
    # Then they are sent to the existing one, and there is still one proposal with its one row
    first = Proposal.objects.get()
    assert response["Location"] == reverse("marketplace:proposal_detail", args=[first.pk])
    assert list(first.milestones.values_list("title", flat=True)) == ["First"]


def test_after_withdrawing_the_freelancer_may_propose_again(client, job, freelancer):
    _propose(client, job, _row("First"))
    proposal_withdraw(proposal=Proposal.objects.get(), actor=freelancer)
    _propose(client, job, _row("Second"))
    assert list(Proposal.objects.order_by("pk").values_list("status", flat=True)) == ["withdrawn", "submitted"]


def test_the_freelancer_edits_rows_until_the_client_decides(client, job, freelancer):
    # Given a waiting proposal with three rows
    proposal = proposal_with_rows(job=job, freelancer=freelancer)
    edit_url = reverse("marketplace:proposal_edit", args=[proposal.pk])
    # The edit form starts from the current rows
    assert client.get(edit_url).context["rows"].initial_form_count() == 3
    # When they replace them with one row and a new letter
    data = {"cover_letter": "Updated plan."} | _rows(_row("All in one", "900"))
    data["milestones-INITIAL_FORMS"] = "0"
    client.post(edit_url, data)
    # Then the proposal has exactly that row
    proposal.refresh_from_db()
    assert proposal.cover_letter == "Updated plan."
    assert list(proposal.milestones.values_list("position", "title", "amount")) == [(1, "All in one", 90_000)]
    # And once declined, editing is refused and nothing changes
    proposal.status = Proposal.Status.DECLINED
    proposal.save()
    response = client.post(edit_url, {"cover_letter": "Sneaky"} | _rows(_row("x", "1")), follow=True)
    assert "can't change now" in _messages(response)
    proposal.refresh_from_db()
    assert proposal.cover_letter == "Updated plan."


def test_a_bad_amount_on_edit_changes_nothing(client, job, freelancer):
    proposal = proposal_with_rows(job=job, freelancer=freelancer)
    data = {"cover_letter": "New"} | _rows(_row("A", "12.345"))
    response = client.post(reverse("marketplace:proposal_edit", args=[proposal.pk]), data)
    assert response.context["rows"].forms[0].errors["amount"]
    assert proposal.milestones.count() == 3


def test_withdrawing_twice_is_refused_with_a_message(client, job, freelancer):
    proposal = ProposalFactory(job=job, freelancer=freelancer)
    url = reverse("marketplace:proposal_withdraw", args=[proposal.pk])
    client.post(url)
    response = client.post(url, follow=True)
    assert "already withdrawn" in _messages(response)


def test_others_cannot_see_or_touch_a_proposal(client):
    # Given a proposal, and a user who is neither its freelancer nor the job's client
    proposal = proposal_with_rows()
    client.force_login(FreelancerFactory())
    # Then every proposal URL is a 404 for them, and nothing changes
    for name in ("proposal_detail", "proposal_edit"):
        assert client.get(reverse(f"marketplace:{name}", args=[proposal.pk])).status_code == 404
    for name in ("marketplace:proposal_withdraw", "contracts:proposal_accept", "marketplace:proposal_decline"):
        assert client.post(reverse(name, args=[proposal.pk])).status_code == 404
    assert client.get(reverse("marketplace:job_proposals", args=[proposal.job_id])).status_code == 404
    proposal.refresh_from_db()
    assert proposal.status == Proposal.Status.SUBMITTED
    # And an anonymous visitor is sent to log in
    client.logout()
    response = client.get(reverse("marketplace:proposal_detail", args=[proposal.pk]))
    assert response.status_code == 302 and reverse("account_login") in response["Location"]


def test_the_client_compares_proposals_by_total_count_and_due_dates(client):
    # Given two proposals on a job
    job = JobFactory()
    cheap = proposal_with_rows(job=job, amounts=(10_000, 10_000), first_due_in_days=3)
    dear = proposal_with_rows(job=job, amounts=(90_000,), first_due_in_days=30)
    client.force_login(job.client)
    # When the client opens the comparison
    response = client.get(reverse("marketplace:job_proposals", args=[job.pk]))
    # Then each shows its total, number of rows and first and last due date, cheapest first
    rows = [(r.proposal.pk, r.proposal.total, r.proposal.milestone_count) for r in response.context["proposals"]]
    assert rows == [(cheap.pk, 20_000, 2), (dear.pk, 90_000, 1)]
    first = response.context["proposals"][0].proposal
    assert (first.last_due - first.first_due).days == 7
    assert "$200.00" in response.content.decode()


def test_the_proposal_form_renders_rows_the_browser_can_clone(client, job, freelancer):
    page = client.get(reverse("marketplace:proposal_create", args=[job.pk])).content.decode()
    assert 'id="milestone-row-template"' in page and "milestones-__prefix__-amount" in page
    assert 'name="milestones-TOTAL_FORMS"' in page and "js/proposal_form.js" in page
