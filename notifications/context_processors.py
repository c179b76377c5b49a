"""`notifications_unread` for the header bell: one COUNT query, run only if a template shows it."""

from django.http import HttpRequest

from notifications.selectors import notification_unread_count
from users.models import User


class UnreadCount:
    """Called by the template engine on first use (then remembered), so pages that don't show the bell pay nothing."""

    def __init__(self, user: User) -> None:
        self._user = user
        self._value: int | None = None

    def __call__(self) -> int:
        if self._value is None:
            self._value = notification_unread_count(user=self._user)
        return self._value


def unread_count(request: HttpRequest) -> dict[str, UnreadCount]:
    user = getattr(request, "user", None)
    if not isinstance(user, User) or not user.is_authenticated:
        return {}
    return {"notifications_unread": UnreadCount(user)}
