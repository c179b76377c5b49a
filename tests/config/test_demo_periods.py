"""The periods read from the environment at start-up, as `make run` and the README's demo set them."""

import json
import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
DEMO = {
    "MILESTONE_REVIEW_PERIOD": "10m",
    "MILESTONE_REVIEW_REMINDERS": "6m,3m,1m",
    "MILESTONE_DUE_REMINDERS": "30m,10m",
    "MILESTONE_RELEASE_SWEEP_EVERY": "30s",
    "MILESTONE_DUE_SWEEP_EVERY": "1m",
    "EARNINGS_HOLD_PERIOD": "5m",
    "EARNINGS_SWEEP_EVERY": "1m",
}
READ_SETTINGS = """
import json, django
from django.conf import settings
django.setup()
beat = settings.CELERY_BEAT_SCHEDULE
print(json.dumps({
    "review": settings.MILESTONE_REVIEW_PERIOD.total_seconds(),
    "review_reminders": [p.total_seconds() for p in settings.MILESTONE_REVIEW_REMINDERS],
    "due_reminders": [p.total_seconds() for p in settings.MILESTONE_DUE_REMINDERS],
    "hold": settings.EARNINGS_HOLD_PERIOD.total_seconds(),
    "release_sweep": beat["milestones-auto-release-due"]["schedule"].total_seconds(),
    "review_sweep": beat["milestones-review-reminders"]["schedule"].total_seconds(),
    "due_sweep": beat["milestones-due-reminders"]["schedule"].total_seconds(),
    "earnings_sweep": beat["payments-earnings-mature-due"]["schedule"].total_seconds(),
}))
"""


def _start(extra: dict[str, str]) -> subprocess.CompletedProcess[str]:
    env = {key: value for key, value in os.environ.items() if key not in DEMO}
    env |= {"DJANGO_SETTINGS_MODULE": "config.settings"} | extra
    return subprocess.run(
        [sys.executable, "-c", READ_SETTINGS], cwd=ROOT, env=env, capture_output=True, text=True, timeout=60
    )


def test_the_defaults_are_the_production_periods():
    result = _start({})
    assert result.returncode == 0, result.stderr
    assert json.loads(result.stdout) == {
        "review": 14 * 86400,
        "review_reminders": [7 * 86400, 3 * 86400, 86400],
        "due_reminders": [48 * 3600, 24 * 3600],
        "hold": 5 * 86400,
        "release_sweep": 300,
        "review_sweep": 300,
        "due_sweep": 900,
        "earnings_sweep": 3600,
    }


def test_a_demo_sets_every_period_and_sweep_in_minutes():
    result = _start(DEMO)
    assert result.returncode == 0, result.stderr
    assert json.loads(result.stdout) == {
        "review": 600,
        "review_reminders": [360, 180, 60],
        "due_reminders": [1800, 600],
        "hold": 300,
        "release_sweep": 30,
        "review_sweep": 30,
        "due_sweep": 60,
        "earnings_sweep": 60,
    }


def test_a_period_without_a_unit_stops_the_start_naming_the_variable():
    result = _start({"MILESTONE_REVIEW_PERIOD": "14"})
    assert result.returncode != 0
    assert "MILESTONE_REVIEW_PERIOD='14'" in result.stderr and "a positive whole number and a unit" in result.stderr
