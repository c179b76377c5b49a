"""Under the strict Content-Security-Policy the pages run without a single violation, and their scripts still work."""

import re

import pytest
from playwright.sync_api import Page, expect

from tests.marketplace.factories import JobFactory
from tests.milestones.factories import milestone_in_state
from tests.users.factories import TEST_PASSWORD

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]

RECORD_VIOLATIONS = """
window.__cspViolations = [];
document.addEventListener("securitypolicyviolation", (event) => {
  window.__cspViolations.push(`${event.violatedDirective} ${event.blockedURI}`);
});
"""


def _watch(page: Page) -> list[str]:
    seen: list[str] = []
    page.on("console", lambda message: seen.append(message.text) if "Content Security Policy" in message.text else None)
    page.add_init_script(RECORD_VIOLATIONS)
    return seen


def _violations(page: Page, console: list[str]) -> list[str]:
    return console + page.evaluate("window.__cspViolations")


def test_milestone_page_and_proposal_form_run_without_csp_violations(page: Page, live_server):
    # Given a freelancer on a funded milestone, an open job, and a browser that records every CSP violation
    milestone = milestone_in_state("funded")
    freelancer = milestone.contract.freelancer
    freelancer.is_freelancer = True
    freelancer.save(update_fields=["is_freelancer"])
    job = JobFactory()
    console = _watch(page)
    page.goto(f"{live_server.url}/accounts/login/")
    page.get_by_label("Email").fill(freelancer.email)
    page.get_by_label("Password:", exact=True).fill(TEST_PASSWORD)
    page.get_by_role("main").get_by_role("button", name="Log in", exact=True).click()
    expect(page.get_by_role("heading", name=re.compile(r"^Welcome,"))).to_be_visible()

    # When they open the milestone page
    response = page.goto(f"{live_server.url}/milestones/{milestone.pk}/")
    assert response is not None and "script-src 'self'" in response.headers["content-security-policy"]
    expect(page.locator("svg.state-diagram")).to_be_visible()
    # Then nothing was blocked
    assert _violations(page, console) == []

    # When they open the proposal form and add a milestone row (static/js/proposal_form.js)
    page.goto(f"{live_server.url}/jobs/{job.pk}/proposals/new/")
    rows = page.locator("[data-row]")
    expect(rows).to_have_count(1)
    page.get_by_role("button", name="Add a milestone").click()
    # Then the script ran: a second row appeared, and still nothing was blocked
    expect(rows).to_have_count(2)
    expect(rows.nth(1).locator("legend")).to_have_text("Milestone 2")
    assert _violations(page, console) == []
