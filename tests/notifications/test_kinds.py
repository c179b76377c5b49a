"""Every kind of notice: its own text and HTML email, the absolute link, when it happened in the reader's zone."""

import datetime as dt
from pathlib import Path

import pytest
import time_machine
from django.conf import settings as django_settings
from django.db import models

from notifications.emails import notice_email
from notifications.kinds import MONEY_KINDS, NotificationKind, kind_choices
from notifications.models import Notification, NotificationPreference
from tests.notifications.factories import notice_for
from tests.users.factories import UserFactory

pytestmark = pytest.mark.django_db

SITE_URL = "https://milestone.example"
KINDS_DIR = Path(django_settings.BASE_DIR) / "templates" / "notifications" / "email" / "kinds"


@pytest.mark.parametrize("kind", list(NotificationKind))
def test_every_kind_has_its_own_text_and_html_email(kind):
    # Given a kind of notice / Then both of its email templates exist, on the notice base
    for extension in ("txt", "html"):
        template = KINDS_DIR / f"{kind.value}.{extension}"
        assert template.is_file(), template
        assert f'{{% extends "notifications/email/notice.{extension}" %}}' in template.read_text()


def test_no_template_is_left_for_a_kind_that_no_longer_exists():
    names = {path.stem for path in KINDS_DIR.iterdir()}
    assert names == set(NotificationKind.values)


@pytest.mark.parametrize("kind", list(NotificationKind))
def test_each_kinds_email_holds_the_absolute_link_its_next_step_and_the_moment_in_the_readers_zone(settings, kind):
    # Given a reader in Tokyo and a notice of this kind written at 23:30 UTC on 1 March
    settings.SITE_URL = SITE_URL
    user = UserFactory(display_name="Ada", timezone="Asia/Tokyo")
    with time_machine.travel(dt.datetime(2030, 3, 1, 23, 30, tzinfo=dt.UTC), tick=False):
        notice = notice_for(user, kind=kind, subject="Logo: something happened", link="/milestones/7/")
    # When its email is built
    message = notice_email(notification=notice)
    html, _ = message.alternatives[0]
    # Then text and HTML both carry the link as an absolute URL, and the moment in Tokyo, named
    for part in (message.body, html):
        assert f"{SITE_URL}/milestones/7/" in part
        assert "Sat 2 Mar 2030, 08:30 (Asia/Tokyo)" in part
        # And a money notice says it can't be turned off; any other points to the preferences page
        if kind in MONEY_KINDS:
            assert "always emailed at once" in part
            assert "/notifications/preferences/" not in part
        else:
            assert f"{SITE_URL}/notifications/preferences/" in part
    # And each kind has a next step of its own, not the base's generic button
    assert "Open it on Milestone" not in html


def test_a_notice_of_a_retired_kind_is_still_emailed_with_the_generic_template(settings):
    # Given a notice written before its kind was retired (the old generic "milestone_changed")
    settings.SITE_URL = SITE_URL
    notice = notice_for(UserFactory(), subject="Logo: approved", link="/milestones/7/")
    Notification.objects.filter(pk=notice.pk).update(kind="milestone_changed")
    notice.refresh_from_db()
    # When its email is built (a task redelivered after the upgrade) / Then it renders, link and all
    message = notice_email(notification=notice)
    assert f"{SITE_URL}/milestones/7/" in message.body
    assert "Open it on Milestone" in message.alternatives[0][0]


def test_the_kinds_are_choices_by_reference_so_a_new_kind_needs_no_migration():
    # Given the two fields that store a kind / Then their choices are the callable, read afresh each time
    for model in (Notification, NotificationPreference):
        field = model._meta.get_field("kind")
        assert isinstance(field, models.CharField)
        _, _, _, kwargs = field.deconstruct()
        assert kwargs["choices"] is kind_choices
    assert kind_choices() == NotificationKind.choices
