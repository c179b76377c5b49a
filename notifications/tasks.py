"""Email delivery tasks: sent after commit, retried with backoff while the mail server is unreachable.

Both are idempotent (the delivery record, written under a row lock), so `acks_late` is safe: a
task redelivered after a worker died sends nothing twice.
"""

import smtplib

from celery import shared_task
from django.db import OperationalError

from notifications import delivery


@shared_task(
    # A mail server that is unreachable, or a database that is briefly locked or down: try again later.
    autoretry_for=(smtplib.SMTPException, OSError, OperationalError),
    retry_backoff=30,
    retry_backoff_max=3600,
    retry_jitter=True,
    max_retries=10,
    acks_late=True,
)
def notification_email_send(*, notification_id: int) -> str:
    """Email one notice if its recipient wants it now; a failed send raises, so Celery retries (never silent)."""
    return delivery.notification_email_deliver(notification_id=notification_id).value


@shared_task(
    autoretry_for=(smtplib.SMTPException, OSError, OperationalError),
    retry_backoff=30,
    retry_backoff_max=3600,
    retry_jitter=True,
    max_retries=10,
    acks_late=True,
)
def notifications_digest_send() -> int:
    """Daily (beat): one digest email per daily-digest user with something new."""
    return delivery.notifications_digest_send()
