"""The one builder of absolute links: emails and anything else read outside the site."""

from collections.abc import Callable
from typing import Any

from django.conf import settings
from django.urls import reverse


def absolute_url(viewname: str, *args: Any) -> str:
    """`absolute_url("contracts:detail", 7)` -> "https://milestone.example/contracts/7/"."""
    return settings.SITE_URL.rstrip("/") + reverse(viewname, args=args)


# An id no row has: reversed once in its place, then each row's id is written where it stands.
_ANY_ID = 987654321987


def id_path(viewname: str, *fixed: Any) -> Callable[[int], str]:
    """The path of `viewname` for many ids, reversing its pattern once: for lists of many rows.

    `id_path("milestones:detail")(7)` == `reverse("milestones:detail", args=[7])`; `fixed` are the
    arguments before the id, the same for every row.
    """
    before, _, after = reverse(viewname, args=[*fixed, _ANY_ID]).rpartition(str(_ANY_ID))
    return lambda pk: f"{before}{int(pk)}{after}"
