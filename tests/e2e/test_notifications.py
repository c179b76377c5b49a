"""The bell in a real browser: the client releases, the freelancer's bell shows it, opening the notice reads it."""

import re

import pytest
from django.conf import settings as django_settings
from django.test import Client
from playwright.sync_api import Browser, Page, expect

from milestones.models import MilestoneState
from notifications.kinds import NotificationKind
from notifications.models import Notification
from notifications.services import notifications_mark_all_read
from tests.milestones.factories import funded_contract, milestone_in_state

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]


def _logged_in(page: Page, live_server, user) -> Page:
    session = Client()
    session.force_login(user)
    cookie = session.cookies[django_settings.SESSION_COOKIE_NAME].value
    page.context.add_cookies([{"name": django_settings.SESSION_COOKIE_NAME, "value": cookie, "url": live_server.url}])
    return page


def test_a_release_lights_the_freelancers_bell_and_opening_the_notice_reads_it(
    page: Page, browser: Browser, live_server, settings
):
    # Given the site's links point at this server
    settings.SITE_URL = live_server.url
    # And a submitted $420 milestone, and a freelancer who has read everything so far
    contract = funded_contract(balance=100_000)
    milestone = milestone_in_state(MilestoneState.SUBMITTED, contract=contract, amount=42_000, title="Brand book")
    notifications_mark_all_read(user=contract.freelancer)
    freelancer_context = browser.new_context(viewport={"width": 1280, "height": 900})
    freelancer = _logged_in(freelancer_context.new_page(), live_server, contract.freelancer)
    freelancer.goto(f"{live_server.url}/")
    bell = freelancer.locator("#notifications-bell")
    expect(bell).to_have_accessible_name("Notifications, none unread")

    # When the client releases the payment in their own browser
    client = _logged_in(page, live_server, contract.client)
    client.goto(f"{live_server.url}/milestones/{milestone.pk}/")
    client.get_by_role("article", name="Approve and release payment").get_by_role(
        "button", name="Release payment"
    ).click()
    expect(client.get_by_role("status")).to_contain_text("Payment released to the freelancer.")

    # Then the freelancer's bell shows one unread notice on the next page they open
    freelancer.reload()
    expect(bell).to_have_accessible_name("Notifications, 1 unread")
    expect(bell.locator(".badge")).to_have_text("1")
    # And the list has it, unread, newest first
    bell.click()
    expect(freelancer.get_by_role("heading", level=1)).to_have_text("Notifications")
    notices = freelancer.get_by_role("list", name=re.compile(r"^Notifications, page 1"))
    notice = notices.get_by_role("listitem").first
    expect(notice).to_contain_text("Unread")
    expect(notice).to_contain_text("A payment was released")
    link = notice.get_by_role("link", name=re.compile(r"Brand book: Released \$420\.00"))

    # When they follow its link
    link.click()
    # Then they are on the milestone, and the notice is read: the bell is back to none
    expect(freelancer).to_have_url(f"{live_server.url}/milestones/{milestone.pk}/")
    expect(freelancer.get_by_test_id("milestone-state")).to_have_text("Released")
    expect(bell).to_have_accessible_name("Notifications, none unread")
    read = Notification.objects.get(recipient=contract.freelancer, kind=NotificationKind.MILESTONE_RELEASED)
    assert read.read_at is not None and read.object_id == milestone.pk
    freelancer.goto(f"{live_server.url}/notifications/")
    expect(notices.get_by_role("listitem").first).not_to_contain_text("Unread")
    freelancer_context.close()
