"""Email delivery services, run by the Celery tasks: each notice is emailed at most once, ever.

The check and the mark happen in one transaction under the notice's row lock: the `EmailDelivery`
row (unique per notice) is written, then the message is sent; if sending fails the transaction
rolls back and the task retries; if it succeeds a second run (a redelivered task, a second worker
blocked on the lock) finds the row and sends nothing. The only duplicate left is a send that
succeeded followed by a failed commit, which no mail server protocol can rule out.
"""

import enum
import logging
from datetime import datetime, timedelta

from django.db import transaction
from django.db.models import Exists, OuterRef
from django.utils import timezone

from notifications.emails import digest_email, notice_email
from notifications.kinds import MONEY_KINDS, kind_is_money
from notifications.models import EmailDelivery, EmailFrequency, Notification, NotificationDigest, NotificationSettings
from notifications.selectors import notification_preferences_for_user

logger = logging.getLogger(__name__)

# The first digest of a user covers the last day; later ones start a little before the previous
# one ended, so a notice committed late (created inside a long transaction) is not missed. The
# delivery record keeps the overlap from emailing anything twice.
DIGEST_FIRST_LOOKBACK = timedelta(days=1)
DIGEST_OVERLAP = timedelta(hours=1)
DIGEST_MAX_LISTED = 50


class EmailOutcome(enum.StrEnum):
    SENT = "sent"
    ALREADY_SENT = "already_sent"
    TURNED_OFF = "turned_off"
    LEFT_FOR_DIGEST = "left_for_digest"
    NO_ADDRESS = "no_address"
    MISSING = "missing"


def notification_email_deliver(*, notification_id: int) -> EmailOutcome:
    """Email one notice now if its kind is emailed for the recipient and they want immediate emails.

    Money kinds are always emailed at once. Safe to run any number of times, concurrently too.
    """
    with transaction.atomic():
        notification = (
            Notification.objects.select_for_update(of=("self",))
            .select_related("recipient")
            .filter(pk=notification_id)
            .first()
        )
        if notification is None:
            logger.warning("Notice %s is gone; no email sent", notification_id)
            return EmailOutcome.MISSING
        if EmailDelivery.objects.filter(notification_id=notification.pk).exists():
            logger.info("Notice %s was already emailed; not sending it again", notification.pk)
            return EmailOutcome.ALREADY_SENT
        user = notification.recipient
        if not (user.email and user.is_active):
            return EmailOutcome.NO_ADDRESS
        if not kind_is_money(notification.kind):
            preferences = notification_preferences_for_user(user=user)
            if notification.kind not in preferences.emailed_kinds:
                return EmailOutcome.TURNED_OFF
            if preferences.daily_digest:
                return EmailOutcome.LEFT_FOR_DIGEST
        EmailDelivery.objects.create(notification=notification)
        notice_email(notification=notification).send()  # raises on failure: rollback, then Celery retries
    logger.info("Sent a %s email for notice %s", notification.kind, notification.pk)
    return EmailOutcome.SENT


def notifications_digest_send(*, now: datetime | None = None) -> int:
    """Send each daily-digest user one email listing their unemailed non-money notices; returns how many went.

    Each user is claimed in their own transaction with `select_for_update(skip_locked=True)`, so
    two workers at once split the users between them, and a repeated run finds nothing new.
    """
    now = now or timezone.now()
    user_ids = list(
        NotificationSettings.objects.filter(email_frequency=EmailFrequency.DAILY)
        .order_by("user_id")
        .values_list("user_id", flat=True)
    )
    return sum(1 for user_id in user_ids if notification_digest_send_for_user(user_id=user_id, now=now))


def notification_digest_send_for_user(*, user_id: int, now: datetime) -> bool:
    """One user's digest, if they still want one and have something new; False when nothing was sent."""
    with transaction.atomic():
        claimed = (
            NotificationSettings.objects.select_for_update(skip_locked=True, of=("self",))
            .select_related("user")
            .filter(user_id=user_id, email_frequency=EmailFrequency.DAILY)
            .first()
        )
        if claimed is None:  # another worker holds this user, or they went back to immediate emails
            return False
        user = claimed.user
        if not (user.email and user.is_active):
            return False
        last_end = (
            NotificationDigest.objects.filter(user=user)
            .order_by("-period_end")
            .values_list("period_end", flat=True)
            .first()
        )
        since = last_end - DIGEST_OVERLAP if last_end else now - DIGEST_FIRST_LOOKBACK
        digest_kinds = notification_preferences_for_user(user=user).emailed_kinds - {k.value for k in MONEY_KINDS}
        candidates = list(
            Notification.objects.select_for_update(of=("self",))
            .filter(recipient=user, created_at__gt=since, created_at__lte=now, kind__in=digest_kinds)
            .exclude(Exists(EmailDelivery.objects.filter(notification=OuterRef("pk"))))
            .order_by("created_at", "id")
        )
        # A fresh look once the rows are ours: an immediate send that held a lock may have just committed.
        emailed = set(
            EmailDelivery.objects.filter(notification__in=candidates).values_list("notification_id", flat=True)
        )
        notices = [notice for notice in candidates if notice.pk not in emailed]
        if not notices:
            return False
        digest = NotificationDigest.objects.create(user=user, period_end=now, sent_at=timezone.now())
        EmailDelivery.objects.bulk_create(
            [EmailDelivery(notification=notice, digest=digest, sent_at=digest.sent_at) for notice in notices]
        )
        newest_first = list(reversed(notices))
        digest_email(user=user, notifications=newest_first[:DIGEST_MAX_LISTED], total=len(notices)).send()
    logger.info("Sent a digest of %s notices to user %s", len(notices), user_id)
    return True
