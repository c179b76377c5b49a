"""Moments as people read them: in their own time zone, with the zone named."""

import zoneinfo
from datetime import datetime

from django.utils import timezone


def moment_display(moment: datetime, timezone_name: str) -> str:
    """An exact moment in a reader's zone, the zone named: "Tue 15 Dec 2026, 21:10 (Europe/Berlin)"."""
    zone = timezone_name or "UTC"
    local = timezone.localtime(moment, zoneinfo.ZoneInfo(zone))
    return f"{local:%a} {local.day} {local:%b %Y, %H:%M} ({zone})"
