"""Reads: a user's notices, the unread count, their email preferences, and where a notice may send them."""

from dataclasses import dataclass
from urllib.parse import urlsplit

from django.conf import settings
from django.db.models import QuerySet
from django.utils.http import url_has_allowed_host_and_scheme

from notifications.kinds import MONEY_KINDS, NotificationKind
from notifications.models import EmailFrequency, Notification, NotificationPreference, NotificationSettings
from users.models import User


def notifications_for_user(*, user: User) -> QuerySet[Notification]:
    """The user's own notices, newest first: the only way views reach a notice (others' are 404)."""
    return Notification.objects.filter(recipient=user).order_by("-created_at", "-id")


def notification_unread_count(*, user: User) -> int:
    """One COUNT query on the (recipient, read_at, created_at) index."""
    return Notification.objects.filter(recipient=user, read_at__isnull=True).count()


@dataclass(frozen=True)
class NotificationPreferences:
    """What a user gets by email: the kinds emailed (money kinds always) and immediate or daily."""

    emailed_kinds: frozenset[str]
    email_frequency: str

    @property
    def daily_digest(self) -> bool:
        return self.email_frequency == EmailFrequency.DAILY


def notification_preferences_for_user(*, user: User) -> NotificationPreferences:
    """Two small queries; a kind without a stored preference is emailed."""
    turned_off = set(
        NotificationPreference.objects.filter(user=user, email=False).values_list("kind", flat=True)
    ) - set(MONEY_KINDS)
    frequency = (
        NotificationSettings.objects.filter(user=user).values_list("email_frequency", flat=True).first()
        or EmailFrequency.IMMEDIATE
    )
    return NotificationPreferences(
        emailed_kinds=frozenset(kind.value for kind in NotificationKind if kind.value not in turned_off),
        email_frequency=frequency,
    )


def notification_link_absolute(*, link: str) -> str:
    """The notice's link as an absolute URL for emails (site paths get `SITE_URL` in front); "" if off-site."""
    if not notification_link_is_safe(link=link):
        return ""
    return settings.SITE_URL.rstrip("/") + link if link.startswith("/") else link


def notification_link_is_safe(*, link: str) -> bool:
    """Only a path on this site or a URL under `settings.SITE_URL`: `/open/` must never be an open redirect."""
    if not link:
        return False
    site = settings.SITE_URL.rstrip("/")
    site_parts = urlsplit(site)
    if link.startswith("/"):
        # url_has_allowed_host_and_scheme refuses "//evil.example", "/\\evil.example" and control characters.
        return url_has_allowed_host_and_scheme(link, allowed_hosts=set()) and not link.startswith(("//", "/\\"))
    if not link.startswith(site + "/") and link != site:
        return False
    return url_has_allowed_host_and_scheme(
        link, allowed_hosts={site_parts.netloc}, require_https=site_parts.scheme == "https"
    )
