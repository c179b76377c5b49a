"""Accounts: sign-up with a profile, mandatory verification, rate-limited logins, admin via allauth."""

import re

import pytest
from allauth.account.models import EmailAddress
from django.core import mail
from django.urls import reverse

from tests.users.factories import TEST_PASSWORD, UserFactory
from users.models import User

pytestmark = pytest.mark.django_db

TOO_MANY = "Too many failed login attempts"


def _login(client, email: str, password: str, ip: str = "203.0.113.7"):
    return client.post(reverse("account_login"), {"login": email, "password": password}, REMOTE_ADDR=ip, follow=False)


def test_signup_stores_profile_and_requires_verification(client):
    # Given a visitor; when they sign up as both client and freelancer
    response = client.post(
        reverse("account_signup"),
        {
            "email": "New@Example.com",
            "password1": "a-long-unusual-passphrase",
            "password2": "a-long-unusual-passphrase",
            "display_name": "Nia New",
            "is_client": "on",
            "is_freelancer": "on",
            "timezone": "Europe/Paris",
        },
    )
    # Then the account exists with its profile, unverified, and a verification link was mailed
    assert response.status_code == 302
    user = User.objects.get(email="new@example.com")
    assert (user.display_name, user.is_client, user.is_freelancer, user.timezone) == (
        "Nia New",
        True,
        True,
        "Europe/Paris",
    )
    assert not EmailAddress.objects.get(user=user).verified
    assert len(mail.outbox) == 1
    assert re.search(r"/accounts/confirm-email/\S+/", mail.outbox[0].body)
    # And logging in before verifying does not give a session
    client.logout()
    _login(client, "new@example.com", "a-long-unusual-passphrase")
    assert "_auth_user_id" not in client.session


def test_signup_without_a_role_is_refused(client):
    response = client.post(
        reverse("account_signup"),
        {
            "email": "norole@example.com",
            "password1": "a-long-unusual-passphrase",
            "password2": "a-long-unusual-passphrase",
            "display_name": "No Role",
            "timezone": "UTC",
        },
    )
    assert response.status_code == 200
    assert "Choose at least one role" in response.content.decode()
    assert not User.objects.filter(email="norole@example.com").exists()


def test_failed_logins_for_one_account_are_refused_after_the_limit(client):
    # Given a verified user
    user = UserFactory()
    # When the wrong password is tried five times (allauth: 5 per 5 minutes per account)
    for _ in range(5):
        response = _login(client, user.email, "wrong-password")
        assert TOO_MANY not in response.content.decode()
    # Then even the right password is refused for now
    response = _login(client, user.email, TEST_PASSWORD)
    assert TOO_MANY in response.content.decode()
    assert "_auth_user_id" not in client.session


def test_failed_logins_from_one_address_are_refused_after_the_limit(client):
    # Given ten failed logins from one address against different accounts (10 per minute per IP)
    victim = UserFactory()
    for attempt in range(10):
        response = _login(client, f"nobody{attempt}@example.com", "wrong-password", ip="198.51.100.9")
        assert TOO_MANY not in response.content.decode()
    # When the same address tries a real account with the right password
    response = _login(client, victim.email, TEST_PASSWORD, ip="198.51.100.9")
    # Then it is refused, while another address still gets in
    assert TOO_MANY in response.content.decode()
    assert "_auth_user_id" not in client.session
    response = _login(client, victim.email, TEST_PASSWORD, ip="192.0.2.44")
    assert response.status_code == 302
    assert client.session["_auth_user_id"] == str(victim.pk)


def test_admin_login_goes_through_allauth(client):
    response = client.get("/admin/login/?next=/admin/")
    assert response.status_code == 302
    assert response["Location"].startswith(reverse("account_login"))


def test_admin_refuses_a_signed_in_non_staff_user(client):
    client.force_login(UserFactory())
    assert client.get("/admin/login/?next=/admin/").status_code == 403


def test_profile_edit_saves_and_validates_roles(client):
    user = UserFactory(timezone="UTC")
    client.force_login(user)
    response = client.post(reverse("profile"), {"display_name": "Renamed", "timezone": "Asia/Tokyo"})
    assert "Choose at least one role" in response.content.decode()
    response = client.post(
        reverse("profile"), {"display_name": "Renamed", "timezone": "Asia/Tokyo", "is_freelancer": "on"}
    )
    assert response.status_code == 302
    user.refresh_from_db()
    assert (user.display_name, user.timezone, user.is_client, user.is_freelancer) == (
        "Renamed",
        "Asia/Tokyo",
        False,
        True,
    )


def test_pages_show_times_in_the_users_time_zone(client):
    client.force_login(UserFactory(timezone="Asia/Tokyo"))
    assert "Times are shown in Asia/Tokyo" in client.get(reverse("home")).content.decode()


def test_unknown_page_renders_the_sites_404(client):
    response = client.get("/no-such-page/")
    assert response.status_code == 404
    assert "Page not found" in response.content.decode()


def test_healthz_answers_ok(client):
    response = client.get("/healthz/")
    assert response.status_code == 200
    assert response.content == b"ok"


def test_the_system_actors_address_is_taken_before_anyone_can_sign_up_with_it(client):
    # Given a fresh database: the migration created the system actor, which can't log in
    system = User.objects.get(email="system@milestone.invalid")
    assert system.is_system_actor and not system.is_active and not system.has_usable_password()
    # When someone signs up with that address
    client.post(
        reverse("account_signup"),
        {
            "email": "system@milestone.invalid",
            "password1": "a-long-unusual-passphrase",
            "password2": "a-long-unusual-passphrase",
            "display_name": "Impostor",
            "is_client": "on",
            "timezone": "UTC",
        },
    )
    # Then no second account exists and the system actor is unchanged
    assert User.objects.filter(email__iexact="system@milestone.invalid").count() == 1
    system.refresh_from_db()
    assert system.display_name == "Milestone (system)" and not system.is_active


@pytest.mark.parametrize("name", ["Milestone (system)", "milestone   SYSTEM", "   "])
def test_a_display_name_that_impersonates_the_system_or_is_blank_is_refused(client, name):
    user = UserFactory(display_name="Real Name")
    client.force_login(user)
    response = client.post(reverse("profile"), {"display_name": name, "timezone": "UTC", "is_client": "on"})
    assert response.status_code == 200
    user.refresh_from_db()
    assert user.display_name == "Real Name"
