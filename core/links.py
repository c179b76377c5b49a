"""The one builder of absolute links: emails and anything else read outside the site."""

from typing import Any

from django.conf import settings
from django.urls import reverse


def absolute_url(viewname: str, *args: Any) -> str:
    """`absolute_url("contracts:detail", 7)` -> "https://milestone.example/contracts/7/"."""
    return settings.SITE_URL.rstrip("/") + reverse(viewname, args=args)
