"""On a 390 px phone, wide tables scroll inside their own box: the page itself never scrolls sideways."""

import pytest
from playwright.sync_api import Page, expect

from tests.contracts.factories import contract_started
from tests.marketplace.factories import proposal_with_rows
from tests.users.factories import TEST_PASSWORD

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]

PAGE_OVERFLOW_PX = "document.documentElement.scrollWidth - window.innerWidth"


def test_the_widest_pages_fit_a_phone_and_their_tables_scroll_inside(page: Page, live_server) -> None:
    # Given a contract with approved milestones to fund, and an open job of the same client with two proposals
    contract = contract_started(milestones=4)
    job = proposal_with_rows().job
    job.client = contract.client
    job.save(update_fields=["client"])
    proposal_with_rows(job=job)
    page.set_viewport_size({"width": 390, "height": 844})
    page.goto(f"{live_server.url}/accounts/login/")
    page.get_by_label("Email").fill(contract.client.email)
    page.get_by_label("Password:", exact=True).fill(TEST_PASSWORD)
    page.get_by_role("main").get_by_role("button", name="Log in", exact=True).click()
    expect(page.get_by_role("heading", level=1)).to_be_visible()
    for path, table_region in (
        (f"/jobs/{job.pk}/proposals/", "Proposals compared"),
        (f"/contracts/{contract.pk}/fund/", "Approved milestones"),
        (f"/contracts/{contract.pk}/", "Milestones of this contract"),
    ):
        # When the client opens the page on the phone
        page.goto(f"{live_server.url}{path}")
        region = page.get_by_role("region", name=table_region)
        expect(region).to_be_visible()
        # Then the page is no wider than the screen
        assert page.evaluate(PAGE_OVERFLOW_PX) <= 0, path
        # And the table's box fits the screen; a keyboard can focus it to scroll
        box = region.bounding_box()
        assert box is not None and box["x"] + box["width"] <= 390, path
        region.focus()
        expect(region).to_be_focused()


def _fully_on_screen(page: Page, locator, width: int = 390) -> bool:
    """True when the element's box lies inside the viewport horizontally, nothing having been scrolled sideways.

    No scroll_into_view: that would scroll the table's own box sideways and hide the very problem.
    """
    box = locator.bounding_box()
    scroll_x = page.evaluate("window.scrollX")
    return box is not None and scroll_x == 0 and box["x"] >= 0 and box["x"] + box["width"] <= width


def test_each_rows_primary_action_is_on_screen_on_a_phone(page: Page, live_server) -> None:
    # Given a contract with approved milestones to fund, and an open job of the same client with two proposals
    contract = contract_started(milestones=3)
    job = proposal_with_rows().job
    job.client = contract.client
    job.save(update_fields=["client"])
    proposal_with_rows(job=job)
    page.set_viewport_size({"width": 390, "height": 844})
    page.goto(f"{live_server.url}/accounts/login/")
    page.get_by_label("Email").fill(contract.client.email)
    page.get_by_label("Password:", exact=True).fill(TEST_PASSWORD)
    page.get_by_role("main").get_by_role("button", name="Log in", exact=True).click()
    expect(page.get_by_role("heading", level=1)).to_be_visible()

    # When the client opens the contract on the phone
    page.goto(f"{live_server.url}/contracts/{contract.pk}/")
    rows = page.locator("table.milestones tbody tr[data-milestone]")
    expect(rows).to_have_count(3)
    # Then no page scrolls sideways, and each row's due date and "Fund" link are on screen without scrolling sideways
    assert page.evaluate(PAGE_OVERFLOW_PX) <= 0
    for index in range(3):
        row = rows.nth(index)
        fund = row.get_by_role("link", name="Fund", exact=True)
        expect(fund).to_be_visible()
        assert _fully_on_screen(page, fund), f"row {index + 1}: the Fund link starts off-screen"
        assert _fully_on_screen(page, row.locator("time")), f"row {index + 1}: the due date starts off-screen"

    # When the client compares the proposals on the phone
    page.goto(f"{live_server.url}/jobs/{job.pk}/proposals/")
    accepts = page.get_by_role("button", name="Accept and start the contract")
    declines = page.locator("table.compare summary", has_text="Decline")
    expect(accepts).to_have_count(2)
    expect(declines).to_have_count(2)
    # Then no page scrolls sideways, and each proposal's Accept and Decline are on screen
    assert page.evaluate(PAGE_OVERFLOW_PX) <= 0
    for index in range(2):
        assert _fully_on_screen(page, accepts.nth(index)), f"proposal {index + 1}: Accept starts off-screen"
        assert _fully_on_screen(page, declines.nth(index)), f"proposal {index + 1}: Decline starts off-screen"
