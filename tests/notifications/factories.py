"""Notices for the notifications tests, written straight to the table (the pages don't care how they came)."""

import datetime as dt

from django.utils import timezone

from notifications.kinds import NotificationKind
from notifications.models import Notification
from users.models import User


def notice_for(
    user: User,
    *,
    kind: NotificationKind = NotificationKind.CONTRACT_MESSAGE,
    subject: str = "A new message",
    body: str = "Any update?",
    link: str = "/contracts/1/",
    read: bool = False,
    created_at: dt.datetime | None = None,
) -> Notification:
    now = timezone.now()
    return Notification.objects.create(
        recipient=user,
        kind=kind,
        subject=subject,
        body=body,
        link=link,
        read_at=now if read else None,
        created_at=created_at or now,
    )
