"""The one way the system tells a user something: `notify`, called inside the change's transaction.

Emails leave only after that transaction commits (nobody hears of a rolled-back change), through
a Celery task that retries with backoff, so a mail outage neither fails the change nor loses
the message.
"""

import logging
from collections.abc import Iterable
from functools import partial

from django.db import transaction

from notifications.kinds import NotificationKind
from notifications.tasks import notification_email_send
from users.models import User

logger = logging.getLogger(__name__)

SUBJECT_PREFIX = "[Milestone] "


def email_subject_line(text: str) -> str:
    """A header-safe subject: titles and notes are user text, and a line break would make the
    mail backend refuse the whole message after the change has already committed."""
    return " ".join(text.split())[:200]


def notify(*, recipients: Iterable[User], kind: NotificationKind, subject: str, body: str, link: str = "") -> None:
    """Tell each recipient (once, even if named twice) about a change, by email after commit.

    `link` is an absolute URL (`core.links.absolute_url`) back to the page the notice is about;
    it ends the body. Inactive accounts and the system actor get nothing.
    """
    people = {user.pk: user for user in recipients if user.email and user.is_active}
    if not people:
        return
    subject_line = SUBJECT_PREFIX + email_subject_line(subject)
    text = body.rstrip() + (f"\n\nOpen it: {link}\n" if link else "\n")
    for user in sorted(people.values(), key=lambda person: person.pk):
        transaction.on_commit(
            partial(notification_email_send.delay, address=user.email, subject=subject_line, body=text, kind=kind)
        )
