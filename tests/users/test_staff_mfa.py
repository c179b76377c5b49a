"""Staff open Django admin only after setting up an authenticator app (TOTP); nobody else is affected."""

import pytest
from allauth.mfa.models import Authenticator
from allauth.mfa.totp.internal.auth import TOTP, generate_totp_secret
from django.contrib.messages import get_messages
from django.urls import reverse

from tests.users.factories import TEST_PASSWORD, UserFactory

pytestmark = pytest.mark.django_db


def _with_totp(user):
    if not Authenticator.objects.filter(user=user, type=Authenticator.Type.TOTP).exists():
        TOTP.activate(user, generate_totp_secret())
    return user


def _staff_without_totp(**fields):
    """A staff member with no authenticator at all, whatever the shared factories give staff by default."""
    user = UserFactory(is_staff=True, **fields)
    Authenticator.objects.filter(user=user).delete()
    return user


@pytest.mark.parametrize("path", ["/admin/", "/admin/users/user/"])
def test_staff_without_totp_are_sent_to_set_it_up(client, path):
    # Given a signed-in staff member who has no authenticator app yet
    client.force_login(_staff_without_totp(is_superuser=True))
    # When they open an admin page
    response = client.get(path)
    # Then they are redirected to allauth's TOTP activation with a message saying why
    assert response.status_code == 302
    assert response["Location"] == reverse("mfa_activate_totp")
    assert any("two-factor authentication" in str(m) for m in get_messages(response.wsgi_request))


def test_after_confirming_the_password_the_activation_page_shows_a_qr_code(client):
    # Given a staff member without TOTP who has just logged in with their password
    user = _staff_without_totp()
    client.post(reverse("account_login"), {"login": user.email, "password": TEST_PASSWORD})
    # When they follow the redirect from admin: allauth asks for the password once more
    response = client.get("/admin/", follow=True)
    assert response.redirect_chain[0][0] == reverse("mfa_activate_totp")
    assert response.request["PATH_INFO"] == reverse("account_reauthenticate")
    assert "Staff accounts must use two-factor authentication" in response.content.decode()
    response = client.post(
        f"{reverse('account_reauthenticate')}?next={reverse('mfa_activate_totp')}",
        {"password": TEST_PASSWORD},
        follow=True,
    )
    # Then the activation page renders inside the site, with the QR code and the secret to scan
    html = response.content.decode()
    assert response.status_code == 200
    assert response.request["PATH_INFO"] == reverse("mfa_activate_totp")
    assert 'id="authenticator_secret"' in html and "data:image/svg+xml;base64," in html


def test_staff_with_an_active_totp_authenticator_open_admin(client):
    # Given a staff member with an activated authenticator app
    user = _with_totp(UserFactory(is_staff=True, is_superuser=True))
    assert Authenticator.objects.filter(user=user, type=Authenticator.Type.TOTP).exists()
    client.force_login(user)
    # When they open admin, then it answers
    assert client.get("/admin/").status_code == 200
    assert client.get("/admin/users/user/").status_code == 200


def test_staff_outside_admin_are_not_redirected(client):
    # Given a staff member without TOTP; when they open the ordinary pages
    client.force_login(_staff_without_totp())
    # Then nothing sends them to the activation page
    assert client.get(reverse("home")).status_code == 200
    assert client.get(reverse("profile")).status_code == 200


def test_non_staff_are_unaffected(client):
    # Given a signed-in member who is not staff
    client.force_login(UserFactory())
    # When they open admin, then admin itself refuses them as before (login page, not the TOTP page)
    response = client.get("/admin/")
    assert response.status_code == 302
    assert response["Location"].startswith(reverse("admin:login"))
    # And an anonymous visitor is sent to log in, not to TOTP
    client.logout()
    assert client.get("/admin/")["Location"].startswith(reverse("admin:login"))
