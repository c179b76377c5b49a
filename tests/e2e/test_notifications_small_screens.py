"""The notifications pages on a 390 px phone: nothing scrolls sideways, one h1, labelled controls."""

import re

import pytest
from django.conf import settings
from django.test import Client
from playwright.sync_api import Page, expect

from notifications.kinds import NotificationKind
from tests.notifications.factories import notice_for
from tests.users.factories import UserFactory

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]

MARK_24 = re.compile(r"^Mark as read\W+Milestone 24 was funded\W*$")
PAGE_OVERFLOW_PX = "document.documentElement.scrollWidth - window.innerWidth"


def test_the_list_and_the_preferences_fit_a_phone(page: Page, live_server) -> None:
    # Given a user with a page and a half of notices, one with a very long unbroken subject
    user = UserFactory()
    for n in range(25):
        notice_for(user, subject=f"Milestone {n} was funded", kind=NotificationKind.MILESTONE_FUNDED)
    notice_for(user, subject="Supercalifragilistic" * 8)
    session = Client()
    session.force_login(user)
    page.context.add_cookies(
        [
            {
                "name": settings.SESSION_COOKIE_NAME,
                "value": session.cookies[settings.SESSION_COOKIE_NAME].value,
                "url": live_server.url,
            }
        ]
    )
    page.set_viewport_size({"width": 390, "height": 844})
    # When they open their notifications on the phone
    page.goto(f"{live_server.url}/notifications/")
    # Then the page is no wider than the screen, with one h1 and buttons that say what they do
    expect(page.get_by_role("heading", level=1)).to_have_text("Notifications")
    assert page.get_by_role("heading", level=1).count() == 1
    assert page.evaluate(PAGE_OVERFLOW_PX) <= 0
    expect(page.get_by_role("button", name="Mark all notifications as read")).to_be_visible()
    expect(page.get_by_role("button", name=MARK_24)).to_be_visible()
    # And marking one read works from the phone
    page.get_by_role("button", name=MARK_24).click()
    expect(page.get_by_role("status")).to_contain_text("as read")
    # When they open their email preferences
    page.goto(f"{live_server.url}/notifications/preferences/")
    # Then the page fits too and every checkbox is labelled, money kinds listed as always emailed
    assert page.evaluate(PAGE_OVERFLOW_PX) <= 0
    always = page.get_by_role("region", name="Always emailed at once")
    expect(always.get_by_role("listitem").filter(has_text="A withdrawal was paid or failed")).to_be_visible()
    expect(page.get_by_label("A withdrawal was paid or failed")).to_have_count(0)
    page.get_by_label("A message on a contract").uncheck()
    page.get_by_label("One daily digest email").check()
    page.get_by_role("button", name="Save email preferences").click()
    expect(page.get_by_role("status")).to_have_text("Your email preferences were saved.")
    expect(page.get_by_label("A message on a contract")).not_to_be_checked()
