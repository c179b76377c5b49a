"""A newcomer signs up, verifies by the emailed link (which logs them in), logs out and back in, in a real browser."""

import re

import pytest
from django.core import mail
from playwright.sync_api import Page, expect

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]


def test_sign_up_verify_log_in_and_out(page: Page, live_server):
    # Given the landing page
    page.goto(live_server.url)
    page.get_by_role("banner").get_by_role("link", name="Sign up").click()

    # When a visitor signs up
    page.get_by_label("Email").fill("newcomer@example.com")
    page.get_by_label("Password:", exact=True).fill("a-long-unusual-passphrase")
    page.get_by_label("Password (again):").fill("a-long-unusual-passphrase")
    page.get_by_label("Display name").fill("Nora Newcomer")
    page.get_by_label("I want to work (freelancer)").check()
    page.get_by_role("main").get_by_role("button", name="Sign up", exact=True).click()

    # Then they are asked to verify, and the emailed link, from "Milestone", confirms the address
    expect(page.get_by_role("heading", name="Verify Your Email Address")).to_be_visible()
    assert len(mail.outbox) == 1
    assert mail.outbox[0].body.startswith("Hello from Milestone!")
    link = re.search(r"https?://\S+/accounts/confirm-email/\S+/", mail.outbox[0].body).group(0)
    page.goto(link)
    page.get_by_role("button", name="Confirm").click()

    # And confirming in the same browser logs them in
    expect(page.get_by_role("heading", name="Welcome, Nora Newcomer")).to_be_visible()

    # When they log out from the account menu
    page.get_by_text("Nora Newcomer", exact=True).first.click()
    page.get_by_role("button", name="Log out").click()
    expect(page.get_by_role("banner").get_by_role("link", name="Log in")).to_be_visible()

    # Then they can log in again with the verified address
    page.get_by_role("banner").get_by_role("link", name="Log in").click()
    page.get_by_label("Email").fill("newcomer@example.com")
    page.get_by_label("Password:", exact=True).fill("a-long-unusual-passphrase")
    page.get_by_role("main").get_by_role("button", name="Log in", exact=True).click()
    expect(page.get_by_role("heading", name="Welcome, Nora Newcomer")).to_be_visible()
