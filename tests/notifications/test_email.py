"""Emailing a notice: once per notice however often the task runs, as the user's preferences say, text and HTML."""

import smtplib
import threading
from unittest import mock

import pytest
from django.db import OperationalError, close_old_connections, connection

from notifications.delivery import EmailOutcome, notification_email_deliver
from notifications.kinds import MONEY_KINDS, NotificationKind
from notifications.models import EmailDelivery, Notification, NotificationPreference
from notifications.services import notification_preferences_update, notify
from notifications.tasks import notification_email_send
from tests.notifications.factories import notice_for
from tests.users.factories import UserFactory

pytestmark = pytest.mark.django_db

SITE_URL = "https://milestone.example"


def _notify(user, kind=NotificationKind.CONTRACT_MESSAGE, link="/contracts/3/") -> Notification:
    (notice,) = notify(
        recipients=[user], kind=kind, subject="A new message", body="Any update? <soon> & 'now'", link=link
    )
    return notice


def test_a_redelivered_task_sends_the_email_once(django_capture_on_commit_callbacks, mailoutbox):
    # Given a notice whose email went out after commit
    user = UserFactory()
    with django_capture_on_commit_callbacks(execute=True):
        notice = _notify(user)
    assert len(mailoutbox) == 1
    # When the broker redelivers the same task (same task id) twice more
    outcomes = [
        notification_email_send.apply(kwargs={"notification_id": notice.pk}, task_id="redelivered").get()
        for _ in range(2)
    ]
    # Then nothing more is sent, and one delivery is recorded
    assert outcomes == [EmailOutcome.ALREADY_SENT, EmailOutcome.ALREADY_SENT]
    assert len(mailoutbox) == 1
    assert EmailDelivery.objects.filter(notification=notice).count() == 1


def test_a_failed_send_records_nothing_so_the_retry_sends_it(mailoutbox):
    # Given a notice, and a mail server that is down
    user = UserFactory()
    notice = _notify(user)
    down = mock.patch("django.core.mail.EmailMultiAlternatives.send", side_effect=smtplib.SMTPServerDisconnected)
    # When the task's first attempt runs, it raises (Celery retries on SMTP errors)
    with down, pytest.raises(smtplib.SMTPServerDisconnected):
        notification_email_deliver(notification_id=notice.pk)
    # Then no delivery is recorded, and the retry sends the email once
    assert not EmailDelivery.objects.exists()
    assert notification_email_deliver(notification_id=notice.pk) == EmailOutcome.SENT
    assert notification_email_deliver(notification_id=notice.pk) == EmailOutcome.ALREADY_SENT
    assert len(mailoutbox) == 1


def test_the_task_retries_on_smtp_os_and_database_errors_and_acks_late():
    # Given the email task / Then it retries mail-server failures and a locked or unreachable database with
    # backoff, and is acknowledged after it ran
    assert set(notification_email_send.autoretry_for) == {smtplib.SMTPException, OSError, OperationalError}
    assert notification_email_send.retry_backoff and notification_email_send.max_retries == 10
    assert notification_email_send.acks_late is True


def test_turning_a_kind_off_stops_its_email_but_not_its_notice(django_capture_on_commit_callbacks, mailoutbox):
    # Given a user who turned off emails about contract messages (and kept the rest)
    user = UserFactory()
    others = [kind.value for kind in NotificationKind if kind != NotificationKind.CONTRACT_MESSAGE]
    notification_preferences_update(user=user, email_kinds=others, email_frequency="immediate")
    # When they get a message notice and a proposal notice
    with django_capture_on_commit_callbacks(execute=True):
        _notify(user, kind=NotificationKind.CONTRACT_MESSAGE)
        _notify(user, kind=NotificationKind.PROPOSAL_ACCEPTED)
    # Then both notices are on their list, but only the proposal one was emailed
    assert Notification.objects.filter(recipient=user).count() == 2
    assert len(mailoutbox) == 1
    delivered = EmailDelivery.objects.values_list("notification__kind", flat=True)
    assert list(delivered) == [NotificationKind.PROPOSAL_ACCEPTED]


NON_MONEY_KINDS = [kind for kind in NotificationKind if kind not in MONEY_KINDS]


@pytest.mark.parametrize("kind", NON_MONEY_KINDS)
def test_each_other_kind_turned_off_keeps_its_notice_and_sends_no_email(
    kind, django_capture_on_commit_callbacks, mailoutbox
):
    # Given a user who turned off just this kind
    user = UserFactory()
    others = [other.value for other in NotificationKind if other != kind]
    notification_preferences_update(user=user, email_kinds=others, email_frequency="immediate")
    # When a notice of this kind is written and committed
    with django_capture_on_commit_callbacks(execute=True):
        notice = _notify(user, kind=kind)
    # Then it is on their list, unread, and no email went
    assert Notification.objects.filter(pk=notice.pk, recipient=user, read_at__isnull=True).exists()
    assert mailoutbox == [] and not EmailDelivery.objects.exists()
    assert notification_email_deliver(notification_id=notice.pk) == EmailOutcome.TURNED_OFF


@pytest.mark.parametrize("kind", sorted(MONEY_KINDS))
def test_each_money_kind_is_emailed_however_the_user_tried_to_turn_it_off(
    kind, django_capture_on_commit_callbacks, mailoutbox
):
    # Given a user who unticked everything and asked for a digest, and a stored "off" row for this kind
    user = UserFactory()
    notification_preferences_update(user=user, email_kinds=[], email_frequency="daily")
    NotificationPreference.objects.create(user=user, kind=kind, email=False)
    # When a notice of this money kind is written and committed
    with django_capture_on_commit_callbacks(execute=True):
        notice = _notify(user, kind=kind)
    # Then it is emailed at once, and on their list too
    assert [m.to for m in mailoutbox] == [[user.email]]
    assert EmailDelivery.objects.filter(notification=notice).exists()
    assert Notification.objects.filter(pk=notice.pk).exists()


def test_money_kinds_are_emailed_at_once_even_for_a_digest_user_who_ticked_nothing(
    django_capture_on_commit_callbacks, mailoutbox
):
    # Given a user who turned every kind off and chose the daily digest
    user = UserFactory()
    notification_preferences_update(user=user, email_kinds=[], email_frequency="daily")
    # When they get a payout notice and a message notice
    with django_capture_on_commit_callbacks(execute=True):
        payout = _notify(user, kind=NotificationKind.PAYOUT)
        _notify(user, kind=NotificationKind.CONTRACT_MESSAGE)
    # Then the payout is emailed at once and the message is not
    assert NotificationKind.PAYOUT in MONEY_KINDS
    assert len(mailoutbox) == 1
    assert list(EmailDelivery.objects.values_list("notification", flat=True)) == [payout.pk]


def test_a_digest_user_gets_no_immediate_email_for_other_kinds(django_capture_on_commit_callbacks, mailoutbox):
    # Given a user who chose the daily digest
    user = UserFactory()
    notification_preferences_update(user=user, email_kinds=NotificationKind.values, email_frequency="daily")
    # When they get a message notice
    with django_capture_on_commit_callbacks(execute=True):
        notice = _notify(user)
    # Then it waits for the digest
    assert mailoutbox == []
    assert notification_email_deliver(notification_id=notice.pk) == EmailOutcome.LEFT_FOR_DIGEST


def test_the_text_and_html_emails_both_hold_the_absolute_link_and_the_preferences_link(
    settings, django_capture_on_commit_callbacks, mailoutbox
):
    # Given a site at https://milestone.example and a user called Ada
    settings.SITE_URL = SITE_URL
    user = UserFactory(display_name="Ada Lovelace")
    # When a notice with a site path link is emailed
    with django_capture_on_commit_callbacks(execute=True):
        _notify(user, link="/contracts/3/")
    # Then both bodies greet Ada, carry the body, the absolute link and the preferences page
    (message,) = mailoutbox
    html, mime = message.alternatives[0]
    assert mime == "text/html"
    assert message.subject == "[Milestone] A new message"
    for part in (message.body, html):
        assert "Ada Lovelace" in part
        assert f"{SITE_URL}/contracts/3/" in part
        assert f"{SITE_URL}/notifications/preferences/" in part
    # And the text is unescaped while the HTML is escaped
    assert "Any update? <soon> & 'now'" in message.body
    assert "Any update? &lt;soon&gt; &amp; &#x27;now&#x27;" in html
    assert f'href="{SITE_URL}/contracts/3/"' in html


def test_an_off_site_link_never_reaches_the_email(settings, django_capture_on_commit_callbacks, mailoutbox):
    # Given a notice whose link points off the site
    settings.SITE_URL = SITE_URL
    user = UserFactory()
    # When it is emailed
    with django_capture_on_commit_callbacks(execute=True):
        _notify(user, link="https://evil.example/phish")
    # Then the email does not carry it
    (message,) = mailoutbox
    assert "evil.example" not in message.body
    assert "evil.example" not in message.alternatives[0][0]


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_two_workers_emailing_one_notice_at_once_send_it_once(mailoutbox):
    # Given a committed notice whose task was delivered to two workers
    notice = notice_for(UserFactory())
    barrier = threading.Barrier(2)
    outcomes: list[object] = []

    def worker() -> None:
        try:
            barrier.wait(timeout=10)
            outcomes.append(notification_email_deliver(notification_id=notice.pk))
        except Exception as error:  # the error is the result under test
            outcomes.append(error)
        finally:
            connection.close()

    # When both run it at the same moment
    threads = [threading.Thread(target=worker) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=30)
    close_old_connections()
    # Then one sends and the other finds it sent
    assert sorted(map(str, outcomes)) == [EmailOutcome.ALREADY_SENT, EmailOutcome.SENT]
    assert len(mailoutbox) == 1
    assert EmailDelivery.objects.filter(notification=notice).count() == 1
