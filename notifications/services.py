"""The one way the system tells a user something: `notify`, called inside the change's transaction.

`notify` writes one `Notification` row per recipient in the caller's transaction (a rolled-back
change leaves no notice), then, only once that transaction commits, sends a Celery task per row
that emails it if the user's preferences say so (see `notifications.delivery`). A mail outage
neither fails the change nor loses the message: the task retries with backoff, and the record of
each send means a redelivered task sends nothing twice.
"""

import logging
from collections.abc import Collection, Iterable
from functools import partial

from django.db import transaction
from django.utils import timezone

from notifications.emails import email_subject_line
from notifications.errors import NotificationError
from notifications.kinds import MONEY_KINDS, NotificationKind
from notifications.models import EmailFrequency, Notification, NotificationPreference, NotificationSettings
from notifications.selectors import notification_preferences_for_user
from notifications.tasks import notification_email_send
from users.models import User

logger = logging.getLogger(__name__)


def notify(
    *,
    recipients: Iterable[User],
    kind: NotificationKind,
    subject: str,
    body: str,
    link: str = "",
    about: tuple[str, int] | None = None,
) -> list[Notification]:
    """Tell each recipient (once, even if named twice) about a change: a notice now, an email after commit.

    `link` is an absolute URL (`core.links.absolute_url`) or a site path of the page the notice is
    about; `about` names the object, e.g. `("milestone", 7)`. Inactive accounts and the system
    actor get nothing. Returns the notices written (in the caller's transaction).
    """
    people = {user.pk: user for user in recipients if user.email and user.is_active and not user.is_system_actor}
    if not people:
        return []
    object_type, object_id = about if about is not None else ("", None)
    now = timezone.now()
    notices = Notification.objects.bulk_create(
        [
            Notification(
                recipient=user,
                kind=kind,
                subject=email_subject_line(subject),
                body=body.rstrip(),
                link=link,
                object_type=object_type,
                object_id=object_id,
                created_at=now,
            )
            for user in sorted(people.values(), key=lambda person: person.pk)
        ]
    )
    for notice in notices:
        transaction.on_commit(partial(notification_email_send.delay, notification_id=notice.pk))
    return notices


def notification_mark_read(*, notification: Notification) -> bool:
    """Mark one notice read; False when it already was (a second click changes nothing)."""
    now = timezone.now()
    updated = Notification.objects.filter(pk=notification.pk, read_at__isnull=True).update(read_at=now)
    if updated:
        notification.read_at = now
    return bool(updated)


def notifications_mark_all_read(*, user: User) -> int:
    """Mark every unread notice of the user read, in one UPDATE; returns how many changed (0 the second time)."""
    return Notification.objects.filter(recipient=user, read_at__isnull=True).update(read_at=timezone.now())


def notification_preferences_update(*, user: User, email_kinds: Collection[str], email_frequency: str) -> bool:
    """Store which kinds the user wants emailed and how often; returns whether anything changed.

    Money kinds are always emailed at once: whatever `email_kinds` says about them is ignored.
    Unknown kinds or frequencies are refused before anything is written.
    """
    known = set(NotificationKind.values)
    unknown = set(email_kinds) - known
    if unknown:
        raise NotificationError("Unknown kind of notification: " + ", ".join(sorted(unknown)) + ".")
    if email_frequency not in EmailFrequency.values:
        raise NotificationError("Choose immediate emails or a daily digest.")
    before = notification_preferences_for_user(user=user)
    wanted = set(email_kinds) | {kind.value for kind in MONEY_KINDS}
    with transaction.atomic():
        for kind in NotificationKind:
            if kind in MONEY_KINDS:
                continue
            NotificationPreference.objects.update_or_create(
                user=user, kind=kind.value, defaults={"email": kind.value in wanted}
            )
        NotificationSettings.objects.update_or_create(user=user, defaults={"email_frequency": email_frequency})
    return before.emailed_kinds != frozenset(wanted) or before.email_frequency != email_frequency
