"""Staff bootstrap: `createsuperuser` with an email and a password alone, and a verified address."""

from io import StringIO
from typing import Any

import pytest
from allauth.account.models import EmailAddress
from django.contrib.auth.management.commands import createsuperuser as createsuperuser_command
from django.core.management import call_command

from users.models import User

pytestmark = pytest.mark.django_db

PASSWORD = "a-long-unusual-passphrase"


class InteractiveTerminal(StringIO):
    """Django's command prompts only when stdin is a terminal."""

    def isatty(self) -> bool:
        return True


def test_noinput_with_email_and_password_only_creates_a_superuser(monkeypatch):
    # Given only the password in the environment, as a deploy script would set it
    monkeypatch.setenv("DJANGO_SUPERUSER_PASSWORD", PASSWORD)
    monkeypatch.delenv("DJANGO_SUPERUSER_DISPLAY_NAME", raising=False)
    # When createsuperuser runs without prompts with just an email
    call_command("createsuperuser", "--noinput", email="Root.Admin@Example.com", stdout=StringIO())
    # Then a staff superuser exists, named after the part before the @ as typed, with that password
    user = User.objects.get(email="root.admin@example.com")
    assert user.is_staff and user.is_superuser and user.is_active
    assert user.display_name == "Root.Admin"
    assert user.check_password(PASSWORD)


def test_noinput_superuser_has_a_verified_primary_address(monkeypatch):
    # Given a superuser created from the command line
    monkeypatch.setenv("DJANGO_SUPERUSER_PASSWORD", PASSWORD)
    call_command("createsuperuser", "--noinput", email="ops@example.com", stdout=StringIO())
    user = User.objects.get(email="ops@example.com")
    # Then allauth already counts the address as verified and primary: no emailed link is needed to log in
    address = EmailAddress.objects.get(user=user)
    assert (address.email, address.verified, address.primary) == ("ops@example.com", True, True)


def test_an_explicit_display_name_is_kept(monkeypatch):
    # Given a display name in the environment as well
    monkeypatch.setenv("DJANGO_SUPERUSER_PASSWORD", PASSWORD)
    # When the manager is asked directly with a name
    user = User.objects.create_superuser("named@example.com", PASSWORD, display_name="Ada Admin")
    # Then the name is used, and the address is still verified
    assert user.display_name == "Ada Admin"
    assert EmailAddress.objects.get(user=user).verified


def test_interactive_createsuperuser_asks_for_email_and_password_only(monkeypatch):
    # Given an operator at a terminal who answers the email prompt and the two password prompts
    prompts: list[str] = []

    def answer(prompt: str = "") -> str:
        prompts.append(prompt)
        if prompt.lower().startswith("email"):
            return "desk@example.com"
        raise AssertionError(f"unexpected prompt: {prompt!r}")

    def password(prompt: str = "Password: ", stream: Any = None) -> str:
        prompts.append(prompt)
        return PASSWORD

    monkeypatch.setattr("builtins.input", answer)
    monkeypatch.setattr(createsuperuser_command.getpass, "getpass", password)
    # When createsuperuser runs interactively
    out = StringIO()
    call_command("createsuperuser", interactive=True, stdin=InteractiveTerminal(), stdout=out, stderr=StringIO())
    # Then it asked for nothing but the email and the password (twice), and created a verified superuser
    assert [p.split(":")[0].strip().lower() for p in prompts] == ["email address", "password", "password (again)"]
    assert "Superuser created successfully." in out.getvalue()
    user = User.objects.get(email="desk@example.com")
    assert user.is_superuser and user.display_name == "desk" and user.check_password(PASSWORD)
    assert EmailAddress.objects.get(user=user, primary=True).verified
