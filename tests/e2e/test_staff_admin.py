"""A new superuser, made with only an email and a password, sets up TOTP and opens admin, in a real browser."""

import time
from io import StringIO

import pytest
from allauth.mfa import app_settings as mfa_settings
from allauth.mfa.models import Authenticator
from allauth.mfa.totp.internal.auth import format_hotp_value, hotp_value
from django.core.management import call_command
from playwright.sync_api import Page, expect

from users.models import User

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]

EMAIL = "ops@example.com"
PASSWORD = "a-long-unusual-passphrase"


def current_totp_code(secret: str) -> str:
    """What an authenticator app shows now; waits out the last seconds of a period so it stays valid."""
    period = mfa_settings.TOTP_PERIOD
    if period - time.time() % period < 3:
        time.sleep(3)
    return format_hotp_value(hotp_value(secret, int(time.time()) // period))


def test_a_fresh_superuser_sets_up_totp_and_opens_admin(page: Page, live_server, monkeypatch):
    # Given a superuser created from the command line with nothing but an email and a password
    monkeypatch.setenv("DJANGO_SUPERUSER_PASSWORD", PASSWORD)
    monkeypatch.delenv("DJANGO_SUPERUSER_DISPLAY_NAME", raising=False)
    call_command("createsuperuser", "--noinput", email=EMAIL, stdout=StringIO())

    # When they log in on the site's login page: no email verification stands in the way
    page.goto(f"{live_server.url}/accounts/login/")
    page.get_by_label("Email").fill(EMAIL)
    page.get_by_label("Password:", exact=True).fill(PASSWORD)
    page.get_by_role("main").get_by_role("button", name="Log in").click()
    expect(page.get_by_role("link", name="Dashboard")).to_be_visible()

    # And open admin: they are sent to set up an authenticator app (confirming their password first)
    page.goto(f"{live_server.url}/admin/")
    expect(page.get_by_text("Staff accounts must use two-factor authentication")).to_be_visible()
    assert "/accounts/reauthenticate/" in page.url
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Confirm").click()
    expect(page.get_by_role("heading", name="Activate Authenticator App")).to_be_visible()
    assert page.url.endswith("/accounts/2fa/totp/activate/")

    # When they "scan" the secret shown on the page and enter the app's current code
    secret = page.locator("#authenticator_secret").input_value()
    assert len(secret) >= 16
    page.get_by_label("Authenticator code").fill(current_totp_code(secret))
    page.get_by_role("button", name="Activate").click()

    # Then TOTP is active, with recovery codes shown to keep
    expect(page.get_by_role("heading", name="Recovery Codes")).to_be_visible()
    user = User.objects.get(email=EMAIL)
    assert set(Authenticator.objects.filter(user=user).values_list("type", flat=True)) == {
        Authenticator.Type.TOTP,
        Authenticator.Type.RECOVERY_CODES,
    }

    # And admin now opens
    page.goto(f"{live_server.url}/admin/")
    expect(page.get_by_role("heading", name="Site administration")).to_be_visible()
    assert page.url == f"{live_server.url}/admin/"
