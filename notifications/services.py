"""Emails to users, sent only after the change that caused them has committed."""

import logging
from collections.abc import Iterable

from django.core.mail import send_mass_mail
from django.db import transaction

from users.models import User

logger = logging.getLogger(__name__)


def email_subject_line(text: str) -> str:
    """A header-safe subject: titles and notes are user text, and a line break would make the
    mail backend refuse the whole message after the change has already committed."""
    return " ".join(text.split())[:200]


def user_email_after_commit(*, recipients: Iterable[User], subject: str, body: str) -> None:
    """One message per active recipient (nobody sees another's address), sent on commit.

    A mail outage is logged, never raised: it must not undo or fail a committed change.
    """
    addresses = sorted({user.email for user in recipients if user.email and user.is_active})
    if not addresses:
        return
    subject_line = f"[Milestone] {email_subject_line(subject)}"
    messages = [(subject_line, body, None, [address]) for address in addresses]

    def send() -> None:
        try:
            send_mass_mail(messages)
        except Exception:
            logger.exception("Could not send the email %r to %d recipient(s)", subject_line, len(addresses))

    transaction.on_commit(send)
