"""From a job to a contract in a real browser: post, propose three milestones, accept, both see the contract."""

import datetime as dt
import re

import pytest
from django.utils import timezone
from playwright.sync_api import Browser, Page, expect

from tests.users.factories import TEST_PASSWORD, ClientFactory, FreelancerFactory

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]


def _log_in(page: Page, base_url: str, email: str) -> None:
    page.goto(f"{base_url}/accounts/login/")
    page.get_by_label("Email").fill(email)
    page.get_by_label("Password:", exact=True).fill(TEST_PASSWORD)
    page.get_by_role("main").get_by_role("button", name="Log in", exact=True).click()
    expect(page.get_by_role("heading", name=re.compile(r"^Welcome,"))).to_be_visible()


def _due(days: int) -> str:
    return (timezone.localdate() + dt.timedelta(days=days)).isoformat()


def test_post_propose_three_milestones_accept_and_both_see_the_contract(page: Page, browser: Browser, live_server):
    client_user = ClientFactory(display_name="Carla Client")
    freelancer_user = FreelancerFactory(display_name="Fay Freelancer")

    # Given the client posts a job
    _log_in(page, live_server.url, client_user.email)
    page.get_by_role("link", name="Jobs", exact=True).click()
    page.get_by_role("link", name="Post a job").click()
    page.get_by_label("Title").fill("Bakery website")
    page.get_by_label("Description").fill("Five pages, responsive, accessible.")
    page.get_by_label("Budget").fill("1,000")
    page.get_by_role("button", name="Post the job").click()
    expect(page.get_by_role("heading", name="Bakery website")).to_be_visible()

    # When a freelancer, in their own browser, proposes three milestones, adding rows in the form
    freelancer_context = browser.new_context(viewport={"width": 1280, "height": 900})
    freelancer_context.set_default_timeout(15_000)
    fpage = freelancer_context.new_page()
    _log_in(fpage, live_server.url, freelancer_user.email)
    fpage.get_by_role("link", name="Jobs", exact=True).click()
    fpage.get_by_role("link", name="Bakery website").click()
    fpage.get_by_role("button", name="Send a proposal").click()  # a link styled as a button
    fpage.get_by_label("Cover letter").fill("I have built many bakery sites.")
    rows = fpage.locator("[data-row]")
    for index, (title, amount, days) in enumerate(
        [("Design", "500", 7), ("Build", "300.50", 14), ("Launch", "199.50", 21)]
    ):
        if index:
            fpage.get_by_role("button", name="Add a milestone").click()
        expect(rows).to_have_count(index + 1)
        row = rows.nth(index)
        expect(row.locator("legend")).to_have_text(f"Milestone {index + 1}")
        row.get_by_label("Title").fill(title)
        row.get_by_label("Deliverables").fill(f"{title} files")
        row.get_by_label("Amount").fill(amount)
        row.get_by_label("Due date").fill(_due(days))
    # Then the running total adds up the three rows as they are typed
    total = fpage.locator("#proposal-total")
    expect(total).to_have_text(re.compile(r"1,000\.00"))
    # And a fourth row changes it, and removing that row brings it back
    fpage.get_by_role("button", name="Add a milestone").click()
    rows.nth(3).get_by_label("Amount").fill("50")
    expect(total).to_have_text(re.compile(r"1,050\.00"))
    rows.nth(3).get_by_role("button", name="Remove this milestone").click()
    expect(rows).to_have_count(3)
    expect(total).to_have_text(re.compile(r"1,000\.00"))
    fpage.get_by_role("button", name="Send the proposal").click()
    expect(fpage.get_by_text("Your proposal was sent to the client.")).to_be_visible()
    expect(fpage.get_by_role("row")).to_have_count(5)  # header, three milestones, total

    # When the client compares the proposals and accepts this one
    page.goto(f"{live_server.url}/")
    page.get_by_role("link", name="Bakery website").click()
    page.get_by_role("button", name="Accept and start the contract").click()

    # Then the client sees the contract with three approved milestones and its timeline
    for viewer_page in (page, fpage):
        if viewer_page is fpage:
            # The freelancer, still on their proposal, reloads it and finds it accepted
            fpage.reload()
            fpage.get_by_role("button", name="Open the contract").click()
        expect(viewer_page.get_by_role("heading", name="Bakery website", level=1)).to_be_visible()
        milestones = viewer_page.get_by_role("region", name="Milestones").locator("tbody tr")
        expect(milestones).to_have_count(3)
        expect(milestones.locator(".badge-approved")).to_have_count(3)
        expect(viewer_page.locator("[data-total=agreed]")).to_have_text("$1,000.00")
        timeline = viewer_page.get_by_role("region", name="Activity")
        expect(timeline.get_by_text("started the contract")).to_be_visible()
        expect(timeline.locator("li", has_text="approved milestone")).to_have_count(3)
        expect(timeline.locator("li", has_text="proposed milestone")).to_have_count(3)
    # And each sees their own next step: the client funds, the freelancer waits
    expect(page.get_by_role("region", name="Milestones").get_by_text("Fund", exact=True)).to_have_count(3)
    expect(fpage.get_by_role("region", name="Milestones").get_by_text("Waiting for the other party")).to_have_count(3)
    freelancer_context.close()
