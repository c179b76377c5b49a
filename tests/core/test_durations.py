"""Periods from the environment: "10m" or "14d", never a bare number, so a demo can run the timers in minutes."""

import datetime as dt

import pytest
from django.core.exceptions import ImproperlyConfigured

from core.durations import duration_display, duration_parse, durations_parse


@pytest.mark.parametrize(
    ("text", "period"),
    [
        ("90s", dt.timedelta(seconds=90)),
        ("10m", dt.timedelta(minutes=10)),
        (" 2H ", dt.timedelta(hours=2)),
        ("14d", dt.timedelta(days=14)),
    ],
)
def test_a_number_and_a_unit_is_a_period(text, period):
    assert duration_parse(text, name="X") == period


@pytest.mark.parametrize("text", ["14", "", "0m", "-5m", "1.5h", "10 m", "10w", "10min", "\u0661\u0660m", "1234567d"])
def test_anything_else_is_refused_naming_the_variable(text):
    with pytest.raises(ImproperlyConfigured, match=r"MILESTONE_REVIEW_PERIOD=.*a positive whole number and a unit"):
        duration_parse(text, name="MILESTONE_REVIEW_PERIOD")


def test_a_list_is_exactly_so_many_different_periods_longest_first():
    assert durations_parse("7d,3d,1d", name="X", count=3) == (
        dt.timedelta(days=7),
        dt.timedelta(days=3),
        dt.timedelta(days=1),
    )
    assert durations_parse("48h, 24h", name="X", count=2) == (dt.timedelta(hours=48), dt.timedelta(hours=24))
    for text in ("7d,3d", "1d,3d,7d", "3d,3d,1d", "7d,3d,1d,1h", "7d,,1d"):
        with pytest.raises(ImproperlyConfigured, match="X="):
            durations_parse(text, name="X", count=3)


@pytest.mark.parametrize(
    ("period", "words"),
    [
        (dt.timedelta(days=14), "14 days"),
        (dt.timedelta(days=1), "1 day"),
        (dt.timedelta(hours=48), "2 days"),
        (dt.timedelta(hours=36), "36 hours"),
        (dt.timedelta(minutes=10), "10 minutes"),
        (dt.timedelta(seconds=90), "90 seconds"),
    ],
)
def test_a_period_reads_in_its_largest_whole_unit(period, words):
    assert duration_display(period) == words
