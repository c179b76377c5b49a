"""Periods written in the environment: a whole number and a unit, so a demo can shrink days to minutes.

`"90s"`, `"10m"`, `"2h"`, `"14d"` (seconds, minutes, hours, days); lists are comma-separated
(`"7d,3d,1d"`). A bare number has no unit and is refused: "14" could mean days or minutes.
"""

import re
from datetime import timedelta

from django.core.exceptions import ImproperlyConfigured

_UNITS = {"s": "seconds", "m": "minutes", "h": "hours", "d": "days"}
_DURATION = re.compile(r"^(?P<number>\d{1,6})(?P<unit>[smhd])$", re.ASCII)


def duration_parse(text: str, *, name: str) -> timedelta:
    """ "10m" -> 10 minutes; anything else (no unit, zero, a sign, decimals) names the variable in the error."""
    match = _DURATION.match(text.strip().lower())
    if match is None or int(match.group("number")) == 0:
        raise ImproperlyConfigured(
            f'{name}={text!r}: write a positive whole number and a unit, e.g. "90s", "10m", "2h" or "14d".'
        )
    return timedelta(**{_UNITS[match.group("unit")]: int(match.group("number"))})


def durations_parse(text: str, *, name: str, count: int) -> tuple[timedelta, ...]:
    """Exactly `count` comma-separated periods, longest first, e.g. "7d,3d,1d"."""
    parts = [part for part in text.split(",") if part.strip()]
    periods = tuple(duration_parse(part, name=name) for part in parts)
    if len(periods) != count or list(periods) != sorted(set(periods), reverse=True):
        raise ImproperlyConfigured(f"{name}={text!r}: give {count} different periods, longest first, comma-separated.")
    return periods


def duration_display(period: timedelta) -> str:
    """A configured period in words, in its largest whole unit: "14 days", "10 minutes", "90 seconds"."""
    seconds = int(period.total_seconds())
    for unit, size in (("day", 86_400), ("hour", 3_600), ("minute", 60), ("second", 1)):
        if seconds % size == 0:
            count = seconds // size
            return f"{count} {unit}{'' if count == 1 else 's'}"
    raise AssertionError("unreachable: every whole number of seconds divides by 1")
