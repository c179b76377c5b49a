"""One wording everywhere ("Log in", "Log out", "Sign up"), emails named "Milestone", login on confirmation."""

import re

import pytest
from allauth.mfa.totp.internal.auth import TOTP, generate_totp_secret
from django.core import mail
from django.urls import reverse

from tests.users.factories import TEST_PASSWORD, UserFactory

pytestmark = pytest.mark.django_db

FORBIDDEN = ("Sign In", "Sign Up", "Sign Out", "Sign in", "Log In", "Log Out")

SIGNUP = {
    "email": "wren@example.com",
    "password1": "a-long-unusual-passphrase",
    "password2": "a-long-unusual-passphrase",
    "display_name": "Wren Writer",
    "is_client": "on",
    "timezone": "UTC",
}


def _assert_consistent(html: str) -> None:
    for wording in FORBIDDEN:
        assert wording not in html, f"{wording!r} appears on the page"


@pytest.mark.parametrize(
    ("url_name", "expected"),
    [
        ("account_login", ["Log in", "Sign up"]),
        ("account_signup", ["Sign up", "Log in"]),
        ("account_reset_password", ["Log in", "Sign up"]),
    ],
)
def test_entrance_pages_use_the_sites_wording(client, url_name, expected):
    # Given an anonymous visitor; when they open an entrance page
    html = client.get(reverse(url_name)).content.decode()
    # Then the page and its header say "Log in"/"Sign up", never "Sign In"/"Sign Up"
    _assert_consistent(html)
    for wording in expected:
        assert wording in html


def test_login_and_signup_buttons_say_log_in_and_sign_up(client):
    # Given the login and signup pages; then their submit buttons use the site's wording
    login = client.get(reverse("account_login")).content.decode()
    signup = client.get(reverse("account_signup")).content.decode()
    assert re.search(r"<button[^>]*type=\"submit\"[^>]*>\s*Log in\s*</button>", login)
    assert re.search(r"<button[^>]*type=\"submit\"[^>]*>\s*Sign up\s*</button>", signup)
    assert re.search(r"<h1>\s*Log in\s*</h1>", login) and re.search(r"<h1>\s*Sign up\s*</h1>", signup)


def test_header_and_logout_page_say_log_out(client):
    # Given a signed-in member
    client.force_login(UserFactory())
    # When they see the dashboard header and the logout page
    dashboard = client.get(reverse("home")).content.decode()
    logout = client.get(reverse("account_logout")).content.decode()
    # Then both say "Log out", never "Sign Out"
    for html in (dashboard, logout):
        _assert_consistent(html)
        assert "Log out" in html


def test_the_two_factor_step_of_login_says_log_in(client):
    # Given a member with an authenticator app who enters the right password
    user = UserFactory()
    TOTP.activate(user, generate_totp_secret())
    response = client.post(reverse("account_login"), {"login": user.email, "password": TEST_PASSWORD})
    assert response["Location"] == reverse("mfa_authenticate")
    # When the code page shows, then it uses the same wording
    html = client.get(reverse("mfa_authenticate")).content.decode()
    _assert_consistent(html)
    assert "Log in" in html


def test_the_verification_email_is_from_milestone_not_a_host(client):
    # Given a visitor who signs up
    client.post(reverse("account_signup"), SIGNUP)
    # Then the verification email greets from the site's name, not from "testserver" or a host:port
    assert len(mail.outbox) == 1
    body = mail.outbox[0].body
    first_line = body.splitlines()[0]
    assert first_line == "Hello from Milestone!"
    assert "testserver" not in first_line and not re.search(r"\d+\.\d+\.\d+\.\d+|:\d+", first_line)
    assert "Thank you for using Milestone!" in body
    assert mail.outbox[0].subject.startswith("[Milestone] ")


def test_confirming_the_email_logs_the_new_member_in(client):
    # Given a visitor who signed up in this browser session and got the link
    client.post(reverse("account_signup"), SIGNUP)
    key = re.search(r"/accounts/confirm-email/([^/\s]+)/", mail.outbox[0].body).group(1)
    assert "_auth_user_id" not in client.session
    # When they confirm the address
    response = client.post(reverse("account_confirm_email", args=[key]))
    # Then they are logged in and sent to their dashboard, not to the login page
    assert response.status_code == 302
    assert response["Location"] == reverse("home")
    assert client.session.get("_auth_user_id")
    assert "Welcome, Wren Writer" in client.get(reverse("home")).content.decode()
