"""The daily digest: one email per digest user with their unemailed non-money notices, never twice."""

import datetime as dt
import threading

import pytest
import time_machine
from django.db import close_old_connections, connection
from django.utils import timezone

from notifications.delivery import notifications_digest_send
from notifications.kinds import NotificationKind
from notifications.models import EmailDelivery, NotificationDigest
from notifications.services import notification_preferences_update
from notifications.tasks import notifications_digest_send as digest_task
from tests.notifications.factories import notice_for
from tests.users.factories import UserFactory

pytestmark = pytest.mark.django_db

HOUR = dt.timedelta(hours=1)


def _digest_user(**fields):
    user = UserFactory(**fields)
    kinds = [kind.value for kind in NotificationKind if kind != NotificationKind.DUE_REMINDER]
    notification_preferences_update(user=user, email_kinds=kinds, email_frequency="daily")
    return user


def test_the_digest_lists_new_non_money_notices_once(settings, mailoutbox):
    # Given a digest user with two new message notices, a payout (emailed at once), a kind turned off,
    # an old notice from before the last day, and an immediate user with a notice
    settings.SITE_URL = "https://milestone.example"
    now = timezone.now()
    user = _digest_user()
    first = notice_for(user, subject="First message", link="/contracts/1/", created_at=now - 3 * HOUR)
    second = notice_for(user, subject="Second message", link="/contracts/2/", created_at=now - 2 * HOUR)
    notice_for(user, kind=NotificationKind.PAYOUT, subject="Payout paid", created_at=now - HOUR)
    notice_for(user, kind=NotificationKind.DUE_REMINDER, subject="Due soon", created_at=now - HOUR)
    notice_for(user, subject="Ancient", created_at=now - 30 * HOUR)
    notice_for(UserFactory(), subject="Someone else's")
    # When the daily digest runs
    assert notifications_digest_send(now=now) == 1
    # Then one email lists exactly the two new messages, newest first, with absolute links
    (message,) = mailoutbox
    assert message.to == [user.email]
    assert message.subject == "[Milestone] Your daily digest: 2 new notices"
    assert message.body.index("Second message") < message.body.index("First message")
    assert "https://milestone.example/contracts/2/" in message.body
    assert "https://milestone.example/contracts/2/" in message.alternatives[0][0]
    for absent in ("Payout paid", "Due soon", "Ancient", "Someone else"):
        assert absent not in message.body
    assert set(EmailDelivery.objects.filter(digest__isnull=False).values_list("notification", flat=True)) == {
        first.pk,
        second.pk,
    }
    # And a second run (or tomorrow's with nothing new) sends nothing
    assert notifications_digest_send(now=now + HOUR) == 0
    assert len(mailoutbox) == 1


def test_the_next_digest_starts_where_the_last_ended(mailoutbox):
    # Given a digest user digested yesterday, with a new notice since
    now = timezone.now()
    user = _digest_user()
    notice_for(user, subject="Yesterday's", created_at=now - 25 * HOUR)
    assert notifications_digest_send(now=now - 24 * HOUR) == 1
    notice_for(user, subject="Today's", created_at=now - HOUR)
    # When today's digest runs (through the beat task)
    with time_machine.travel(now, tick=False):
        assert digest_task.apply().get() == 1
    # Then it lists only today's notice
    assert len(mailoutbox) == 2
    assert "Today's" in mailoutbox[1].body and "Yesterday's" not in mailoutbox[1].body
    assert NotificationDigest.objects.filter(user=user).count() == 2


def test_nothing_new_sends_no_empty_digest(mailoutbox):
    _digest_user()
    assert notifications_digest_send() == 0
    assert mailoutbox == []
    assert not NotificationDigest.objects.exists()


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_two_digest_runs_at_once_send_one_email(mailoutbox):
    # Given three digest users with new notices
    now = timezone.now()
    users = [_digest_user() for _ in range(3)]
    for user in users:
        notice_for(user, subject="A message", created_at=now - HOUR)
        notice_for(user, subject="Another message", created_at=now - HOUR)
    barrier = threading.Barrier(2)
    results: list[object] = []

    def worker() -> None:
        try:
            barrier.wait(timeout=10)
            results.append(notifications_digest_send(now=now))
        except Exception as error:  # the error is the result under test
            results.append(error)
        finally:
            connection.close()

    # When two workers run the digest at the same moment
    threads = [threading.Thread(target=worker) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=30)
    assert not any(thread.is_alive() for thread in threads), "a worker hung (deadlock?)"
    close_old_connections()
    # Then each user got exactly one digest between them, and nothing failed
    assert all(isinstance(result, int) for result in results), results
    assert sum(results) == 3  # type: ignore[arg-type]
    assert sorted(m.to[0] for m in mailoutbox) == sorted(user.email for user in users)
    assert NotificationDigest.objects.count() == 3
    assert EmailDelivery.objects.count() == 6
