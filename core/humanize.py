"""Numbers for people: durations rounded to their two largest units."""

from datetime import timedelta


def duration_words(seconds: float) -> list[str]:
    """The two largest units from days down to minutes: ["13 days", "23 hours"], ["3 minutes"]; [] under a minute."""
    total_minutes = int(max(seconds, 0) // 60)
    days, rest = divmod(total_minutes, 24 * 60)
    hours, minutes = divmod(rest, 60)
    shown: list[tuple[int, str]] = []
    for value, unit in ((days, "day"), (hours, "hour"), (minutes, "minute")):
        if value or shown:
            shown.append((value, unit))
        if len(shown) == 2:
            break
    return [f"{value} {unit}{'' if value == 1 else 's'}" for value, unit in shown if value]


def duration_for_people(value: timedelta | None) -> str:
    """A duration as people say it: "13 days, 23 hours", "5 hours, 10 minutes", "less than a minute"; "—" if None."""
    if value is None:
        return "—"
    return ", ".join(duration_words(value.total_seconds())) or "less than a minute"
