"""A client adds funds in the browser: the success card credits the balance, a declined card changes nothing."""

import re

import pytest
from playwright.sync_api import Page, expect

from tests.users.factories import TEST_PASSWORD, ClientFactory

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]


def log_in(page: Page, live_server, email: str) -> None:
    page.goto(f"{live_server.url}/accounts/login/")
    page.get_by_label("Email").fill(email)
    page.get_by_label("Password:", exact=True).fill(TEST_PASSWORD)
    page.get_by_role("main").get_by_role("button", name="Log in", exact=True).click()
    expect(page.get_by_role("link", name="Wallet")).to_be_visible()


def add_funds(page: Page, amount: str, card: str) -> None:
    form = page.locator("form", has=page.get_by_role("button", name="Add funds"))
    form.get_by_label("Amount").fill(amount)
    form.get_by_label("Card number").fill(card)
    form.get_by_role("button", name="Add funds").click()


def test_a_client_adds_funds_and_a_declined_card_changes_nothing(page: Page, live_server):
    # Given a signed-in client on their wallet, with nothing on their balance
    client = ClientFactory(email="carla@example.com")
    log_in(page, live_server, client.email)
    page.get_by_role("link", name="Wallet").click()
    expect(page.get_by_role("heading", name="Wallet", level=1)).to_be_visible()
    balance = page.get_by_test_id("client-balance-USD")
    expect(balance).to_have_text("$0.00")

    # When they add 250.00 with the test card that succeeds
    add_funds(page, "250.00", "4242 4242 4242 4242")

    # Then the page confirms it and the balance shows it
    expect(page.get_by_role("status")).to_contain_text("$250.00 was added to your balance.")
    expect(balance).to_have_text("$250.00")

    # When they try 100.00 with the card that is declined
    add_funds(page, "100.00", "4000 0000 0000 0002")

    # Then they are told why, and the balance is unchanged
    expect(page.get_by_role("alert")).to_contain_text(re.compile("declined"))
    expect(balance).to_have_text("$250.00")

    # And the statement lists the one deposit
    page.get_by_role("link", name="Full statement").click()
    expect(page.get_by_role("row")).to_have_count(2)
    expect(page.get_by_role("row").nth(1)).to_contain_text("+$250.00")


def withdraw_to_card(page: Page, amount: str, card: str = "4242 4242 4242 4242") -> None:
    form = page.locator("form", has=page.get_by_role("button", name="Withdraw to card"))
    form.get_by_label("Amount").fill(amount)
    form.get_by_label("Card number").fill(card)
    form.get_by_role("button", name="Withdraw to card").click()


def test_a_client_withdraws_unspent_balance_to_their_card(page: Page, live_server):
    # Given a signed-in client who added 120.00 and spent none of it
    client = ClientFactory(email="wanda@example.com")
    log_in(page, live_server, client.email)
    page.get_by_role("link", name="Wallet").click()
    add_funds(page, "120.00", "4242 4242 4242 4242")
    balance = page.get_by_test_id("client-balance-USD")
    expect(balance).to_have_text("$120.00")

    # When they ask for more than the balance, confirming their password as they are asked to
    withdraw_to_card(page, "120.01")
    expect(page.get_by_role("heading", name="Confirm Access")).to_be_visible()
    page.get_by_label("Password").fill(TEST_PASSWORD)
    page.get_by_role("button", name="Confirm").click()

    # Then they are told plainly and nothing moves
    expect(page.get_by_role("alert")).to_contain_text("which does not cover $120.01")
    expect(balance).to_have_text("$120.00")

    # When they withdraw 45.50 to the card that succeeds
    withdraw_to_card(page, "45.50")

    # Then the page confirms it, the balance drops by exactly that, and the statement lists it
    expect(page.get_by_role("status")).to_contain_text("$45.50 was withdrawn to your card ending 4242.")
    expect(balance).to_have_text("$74.50")
    page.get_by_role("link", name="Full statement").click()
    expect(page.get_by_role("row").nth(1)).to_contain_text("Withdrawn to card ending 4242")
    expect(page.get_by_role("row").nth(1)).to_contain_text("\u2212$45.50")  # the money filter signs with U+2212
