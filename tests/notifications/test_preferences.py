"""Email preferences: per kind on/off and immediate vs daily; money kinds can't be turned off, by form or service."""

import re

import pytest
from django.urls import reverse

from notifications.errors import NotificationError
from notifications.forms import FIELD_PREFIX
from notifications.kinds import MONEY_KINDS, NotificationKind
from notifications.models import NotificationPreference, NotificationSettings
from notifications.selectors import notification_preferences_for_user
from notifications.services import notification_preferences_update
from tests.users.factories import UserFactory

pytestmark = pytest.mark.django_db

URL = "/notifications/preferences/"


def test_the_service_ignores_an_attempt_to_turn_money_kinds_off():
    # Given a user
    user = UserFactory()
    # When they ask for no emails at all
    changed = notification_preferences_update(user=user, email_kinds=[], email_frequency="immediate")
    # Then every other kind is off, and the money kinds are still emailed
    preferences = notification_preferences_for_user(user=user)
    assert changed is True
    assert preferences.emailed_kinds == {kind.value for kind in MONEY_KINDS}
    assert not NotificationPreference.objects.filter(kind__in=MONEY_KINDS).exists()


def test_a_stored_money_preference_is_still_ignored():
    # Given a money preference turned off behind the service's back (admin, a bug, an old row)
    user = UserFactory()
    NotificationPreference.objects.create(user=user, kind=NotificationKind.PAYOUT, email=False)
    # Then payouts are still emailed
    assert NotificationKind.PAYOUT in notification_preferences_for_user(user=user).emailed_kinds


def test_the_service_refuses_unknown_kinds_and_frequencies_and_changes_nothing():
    user = UserFactory()
    with pytest.raises(NotificationError):
        notification_preferences_update(user=user, email_kinds=["bogus"], email_frequency="immediate")
    with pytest.raises(NotificationError):
        notification_preferences_update(user=user, email_kinds=[], email_frequency="hourly")
    assert not NotificationPreference.objects.exists() and not NotificationSettings.objects.exists()


def test_the_page_has_a_checkbox_for_every_other_kind_and_lists_the_money_kinds(client):
    # Given a signed-in user
    client.force_login(UserFactory())
    # When they open their email preferences
    html = client.get(URL).content.decode()
    # Then there is one h1, and one labelled, ticked checkbox for each kind that isn't about money
    assert html.count("<h1") == 1
    for kind in NotificationKind:
        name = FIELD_PREFIX + kind.value
        tags = re.findall(rf'<input[^>]*name="{name}"[^>]*>', html)
        if kind in MONEY_KINDS:
            # And the money kinds are listed as always emailed, with nothing to untick
            assert tags == [], kind
            assert f"<li>{kind.label}</li>" in html, kind
        else:
            (tag,) = tags
            assert f'for="id_{name}"' in html and kind.label in html
            assert " checked" in tag and " disabled" not in tag, kind
    assert "Always emailed at once" in html and "Save email preferences" in html


def test_posting_the_form_saves_the_choices_but_money_stays_on(client):
    # Given a signed-in user
    user = UserFactory()
    client.force_login(user)
    # When they untick everything (and forge a posted "off" for payouts) and choose the daily digest
    data = {"email_frequency": "daily", FIELD_PREFIX + NotificationKind.PROPOSAL_ACCEPTED.value: "on"}
    response = client.post(URL, data, follow=True)
    # Then a clear message says so, only the ticked kind and money kinds are emailed, daily
    assert "Your email preferences were saved." in response.content.decode()
    preferences = notification_preferences_for_user(user=user)
    assert preferences.emailed_kinds == {NotificationKind.PROPOSAL_ACCEPTED.value} | {k.value for k in MONEY_KINDS}
    assert preferences.daily_digest
    # And the same post again changes nothing, and says so
    again = client.post(URL, data, follow=True)
    assert "nothing changed" in again.content.decode()


def test_bad_input_changes_nothing(client):
    # Given a user who emails everything at once
    user = UserFactory()
    client.force_login(user)
    # When they post an unknown frequency with every box unticked
    response = client.post(URL, {"email_frequency": "hourly"})
    # Then the form is shown again with the error, and nothing was stored
    assert response.status_code == 400
    assert "Select a valid choice" in response.content.decode()
    assert not NotificationPreference.objects.filter(user=user).exists()
    assert not NotificationSettings.objects.filter(user=user).exists()


def test_anonymous_users_are_sent_to_log_in(client):
    response = client.get(URL)
    assert response.status_code == 302 and reverse("account_login") in response["Location"]
