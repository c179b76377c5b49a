"""A Kolkata freelancer's proposed due date reads the same to a Berlin client everywhere, as accepted."""

import datetime as dt
import re

import pytest
from django.core import mail
from django.utils import timezone
from playwright.sync_api import Browser, Page, expect

from contracts.models import Contract
from marketplace.models import Proposal
from tests.marketplace.factories import JobFactory
from tests.users.factories import TEST_PASSWORD, ClientFactory, FreelancerFactory

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]


def _log_in(page: Page, base_url: str, email: str) -> None:
    page.goto(f"{base_url}/accounts/login/")
    page.get_by_label("Email").fill(email)
    page.get_by_label("Password:", exact=True).fill(TEST_PASSWORD)
    page.get_by_role("main").get_by_role("button", name="Log in", exact=True).click()
    expect(page.get_by_role("heading", name=re.compile(r"^Welcome,"))).to_be_visible()


def test_a_proposed_due_date_reads_the_same_to_both_parties_everywhere(page: Page, browser: Browser, live_server):
    # Given a client in Berlin with an open job, and a freelancer in Kolkata
    client_user = ClientFactory(display_name="Bea Berlin", timezone="Europe/Berlin")
    freelancer_user = FreelancerFactory(display_name="Kiran Kolkata", timezone="Asia/Kolkata")
    job = JobFactory(client=client_user, title="Bakery website")
    due = timezone.localdate() + dt.timedelta(days=30)
    shown = f"{due:%a} {due.day} {due:%b %Y}"  # e.g. "Fri 11 Dec 2026"

    # When the freelancer proposes one milestone due on that date
    fcontext = browser.new_context(viewport={"width": 1280, "height": 900})
    fcontext.set_default_timeout(15_000)
    fpage = fcontext.new_page()
    _log_in(fpage, live_server.url, freelancer_user.email)
    fpage.goto(f"{live_server.url}/jobs/{job.pk}/")
    fpage.get_by_role("button", name="Send a proposal").click()
    fpage.get_by_label("Cover letter").fill("I have built many bakery sites.")
    row = fpage.locator("[data-row]").first
    row.get_by_label("Title").fill("Design")
    row.get_by_label("Deliverables").fill("Design files")
    row.get_by_label("Amount").fill("500")
    row.get_by_label("Due date").fill(due.isoformat())
    fpage.get_by_role("button", name="Send the proposal").click()
    expect(fpage.get_by_text("Your proposal was sent to the client.")).to_be_visible()
    # Then the freelancer's proposal shows the date
    expect(fpage.get_by_role("main").get_by_text(shown)).to_be_visible()

    # And the Berlin client's email names the same date
    (email,) = [m for m in mail.outbox if client_user.email in m.to]
    assert f"due {shown}" in email.body

    # When the client opens the proposal, sees the same date and accepts it
    proposal = Proposal.objects.get(job=job)
    _log_in(page, live_server.url, client_user.email)
    page.goto(f"{live_server.url}/proposals/{proposal.pk}/")
    expect(page.get_by_role("main").get_by_text(shown)).to_be_visible()
    page.get_by_role("button", name="Accept and start the contract").click()
    expect(page.get_by_role("heading", name="Bakery website", level=1)).to_be_visible()

    # Then the contract shows the same date, in the client's zone
    contract = Contract.objects.get(job=job)
    milestones = page.get_by_role("region", name="Milestones")
    expect(milestones.get_by_text(shown)).to_be_visible()
    expect(page.get_by_text("Dates are in Europe/Berlin")).to_be_visible()

    # And the fund page shows the same date
    page.goto(f"{live_server.url}/contracts/{contract.pk}/fund/")
    expect(page.get_by_role("main").get_by_text(shown)).to_be_visible()

    # And the milestone page shows the same date to the client and to the freelancer
    milestone = contract.milestones.get()
    for viewer in (page, fpage):
        viewer.goto(f"{live_server.url}/milestones/{milestone.pk}/")
        expect(viewer.get_by_test_id("milestone-due-date")).to_have_text(shown)
    fcontext.close()
