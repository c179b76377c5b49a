"""In the browser: a contract ends, both parties leave feedback (double-blind), and it appears on both
profiles together."""

import re

import pytest
from playwright.sync_api import Browser, Page, expect

from tests.reputation.factories import history_build
from tests.users.factories import TEST_PASSWORD, ClientFactory, FreelancerFactory

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]


def _log_in(page: Page, base_url: str, email: str) -> None:
    page.goto(f"{base_url}/accounts/login/")
    page.get_by_label("Email").fill(email)
    page.get_by_label("Password:", exact=True).fill(TEST_PASSWORD)
    page.get_by_role("main").get_by_role("button", name="Log in", exact=True).click()
    expect(page.get_by_role("heading", name=re.compile(r"^Welcome,"))).to_be_visible()


def _leave_feedback(page: Page, ratings: tuple[int, int, int], comment: str, again: str) -> None:
    form = page.locator("form.feedback-form")
    for group, value in zip(form.locator("fieldset.rating").all()[:3], ratings, strict=True):
        group.get_by_label(str(value), exact=True).check()
    form.get_by_label("Public comment").fill(comment)
    form.get_by_role("group", name="Would you work with them again?").get_by_label(again, exact=True).check()
    form.get_by_role("button", name="Send feedback (final)").click()
    expect(page.get_by_text("Thank you: your feedback is in.")).to_be_visible()


def test_a_contract_ends_both_leave_feedback_and_it_appears_on_both_profiles_together(
    page: Page, browser: Browser, live_server
):
    # Given a contract whose milestone was delivered on time and paid
    hirer = ClientFactory(display_name="Carla Client")
    worker = FreelancerFactory(display_name="Fay Freelancer")
    contract = history_build(paths=("released_on_time",), client=hirer, freelancer=worker, end=False)
    contract_url = f"{live_server.url}/contracts/{contract.pk}/"

    # When the client ends it and leaves feedback
    _log_in(page, live_server.url, hirer.email)
    page.goto(contract_url)
    page.get_by_role("link", name="End this contract…").click()
    page.get_by_role("button", name="End the contract").click()
    expect(page.get_by_role("heading", name="Feedback", level=2)).to_be_visible()
    _leave_feedback(page, (5, 4, 5), "Fay delivered early and explained everything.", "Yes")
    # Then the client sees their own feedback, and that the freelancer's is not in yet
    section = page.locator("#feedback")
    expect(section.get_by_text("Fay delivered early")).to_be_visible()
    expect(section.get_by_text("Not left yet")).to_be_visible()

    # And the freelancer, in their own browser, doesn't see the client's words before leaving theirs
    fcontext = browser.new_context(viewport={"width": 390, "height": 844})
    fcontext.set_default_timeout(15_000)
    fpage = fcontext.new_page()
    _log_in(fpage, live_server.url, worker.email)
    fpage.goto(contract_url)
    fsection = fpage.locator("#feedback")
    expect(fsection.get_by_text("They have left their feedback")).to_be_visible()
    expect(fpage.get_by_text("Fay delivered early")).to_have_count(0)
    fpage.goto(f"{live_server.url}/freelancers/{worker.pk}/")
    expect(fpage.get_by_text("No published feedback yet.")).to_be_visible()

    # When the freelancer leaves theirs
    fpage.goto(contract_url)
    _leave_feedback(fpage, (4, 5, 5), "Clear brief and paid the same day.", "Yes")
    # Then both are published together: each sees both on the contract page
    expect(fsection.get_by_text("Published on")).to_be_visible()
    expect(fsection.get_by_text("Fay delivered early")).to_be_visible()
    page.reload()
    expect(section.get_by_text("Clear brief and paid the same day.")).to_be_visible()

    # And the freelancer's profile shows the client's feedback, with the averages and the record
    page.get_by_role("link", name="Fay Freelancer").first.click()
    expect(page.get_by_role("heading", name="Fay Freelancer", level=1)).to_be_visible()
    feedback = page.get_by_role("region", name="Feedback")
    expect(feedback.get_by_text("Fay delivered early and explained everything.")).to_be_visible()
    expect(page.locator("[data-figure=overall]")).to_have_text("4.7")
    expect(page.locator("[data-figure=milestones_released]")).to_have_text("1")
    # And the client's profile shows the freelancer's feedback
    fpage.goto(contract_url)
    fpage.get_by_role("link", name="Carla Client").first.click()
    expect(fpage.get_by_role("heading", name="Carla Client", level=1)).to_be_visible()
    expect(
        fpage.get_by_role("region", name="Feedback").get_by_text("Clear brief and paid the same day.")
    ).to_be_visible()
    expect(fpage.locator("[data-figure=contracts]")).to_have_text(re.compile(r"^1 \(1 ended\)"))
    # And the phone-width profile doesn't scroll sideways
    assert fpage.evaluate("document.documentElement.scrollWidth <= window.innerWidth")
    fcontext.close()
