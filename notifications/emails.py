"""The emails themselves: a notice or a digest as plain text and HTML, rendered from templates."""

from collections.abc import Sequence

from django.core.mail import EmailMultiAlternatives
from django.template.loader import render_to_string

from core.links import absolute_url
from core.times import moment_display
from notifications.kinds import kind_is_money
from notifications.models import Notification
from notifications.selectors import notification_link_absolute
from users.models import User

SUBJECT_PREFIX = "[Milestone] "


def email_subject_line(text: str) -> str:
    """A header-safe subject: titles and notes are user text, and a line break would make the
    mail backend refuse the whole message after the change has already committed."""
    return " ".join(text.split())[:200]


def _message(
    *, user: User, subject: str, templates: Sequence[str], context: dict[str, object]
) -> EmailMultiAlternatives:
    """`templates`: names under notifications/email/ without the extension, the first that exists is used."""
    context = {
        "recipient_name": user.display_name or user.email,
        "preferences_url": absolute_url("notifications:preferences"),
        "notifications_url": absolute_url("notifications:list"),
        **context,
    }
    message = EmailMultiAlternatives(
        subject=SUBJECT_PREFIX + email_subject_line(subject),
        body=render_to_string([f"notifications/email/{name}.txt" for name in templates], context),
        to=[user.email],
    )
    html = render_to_string([f"notifications/email/{name}.html" for name in templates], context)
    message.attach_alternative(html, "text/html")
    return message


def notice_email(*, notification: Notification) -> EmailMultiAlternatives:
    """One notice from its kind's templates (`kinds/<kind>.txt` and `.html`, on the `notice` base): greeting,
    body, what to do next, the link as a button and a URL, when it happened in the recipient's own zone."""
    user = notification.recipient
    return _message(
        user=user,
        subject=notification.subject,
        # Every kind has its own (a test checks); the generic base serves notices of a kind since retired.
        templates=[f"kinds/{notification.kind}", "notice"],
        context={
            "notification": notification,
            "link": notification_link_absolute(link=notification.link),
            "sent_at": moment_display(notification.created_at, user.timezone),
            "is_money": kind_is_money(notification.kind),
        },
    )


def digest_email(*, user: User, notifications: Sequence[Notification], total: int) -> EmailMultiAlternatives:
    """The daily digest: each notice's subject and absolute link (at most `len(notifications)` of `total`)."""
    items = [
        {
            "notification": notice,
            "link": notification_link_absolute(link=notice.link),
        }
        for notice in notifications
    ]
    noun = "notice" if total == 1 else "notices"
    return _message(
        user=user,
        subject=f"Your daily digest: {total} new {noun}",
        templates=["digest"],
        context={"items": items, "total": total, "more": total - len(items)},
    )
