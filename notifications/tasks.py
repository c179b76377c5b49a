"""Email delivery: after commit, retried with backoff while the mail server is unreachable."""

import logging
import smtplib

from celery import shared_task
from django.core.mail import send_mail

logger = logging.getLogger(__name__)


@shared_task(
    autoretry_for=(smtplib.SMTPException, OSError),
    retry_backoff=30,
    retry_backoff_max=3600,
    retry_jitter=True,
    max_retries=10,
)
def notification_email_send(*, address: str, subject: str, body: str, kind: str) -> None:
    """Send one plain-text email; a failure raises, so Celery retries it (never fail_silently)."""
    send_mail(subject=subject, message=body, from_email=None, recipient_list=[address])
    logger.info("Sent a %s email", kind)
