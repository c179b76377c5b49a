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
