"""The project's own wiring: production settings, Celery, demo data (deployment files: tests/config)."""

import os
import subprocess
import sys
from pathlib import Path

import pytest
from django.core.management import call_command

from config.celery import app as celery_app
from users.models import User

ROOT = Path(__file__).resolve().parents[2]


def _manage(*args: str, **env: str) -> subprocess.CompletedProcess[str]:
    # The browser tests' async-unsafe switch must not leak into a production check.
    full_env = {k: v for k, v in os.environ.items() if k != "DJANGO_ALLOW_ASYNC_UNSAFE"} | env
    return subprocess.run(
        [sys.executable, "manage.py", *args], cwd=ROOT, env=full_env, capture_output=True, text=True, timeout=120
    )


def test_production_settings_pass_the_deploy_check(tmp_path):
    # On SQLite, so the test's database login (a PostgreSQL superuser) is not what is checked: the
    # database role's check passes for the application role and fails for the owner in
    # tests/payments/test_database_roles.py.
    result = _manage(
        "check",
        "--deploy",
        "--fail-level",
        "WARNING",
        DJANGO_ENV="production",
        SECRET_KEY="p" + "x7Kq2vN9wL4mZ8rT1yB6cH3jF5gD0sA" * 2,
        LEDGER_CHAIN_KEY="chain-" + "Qm3vT8xK1pW6zR4yN9bL2cH7" * 2,
        ALLOWED_HOSTS="milestone.example.com",
        DATABASE_URL=f"sqlite:///{tmp_path / 'deploy-check.sqlite3'}",
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert "no issues" in result.stdout


def test_production_refuses_to_run_without_a_ledger_chain_key():
    # The chain's key has no production default: without it the ledger could not be verified.
    env = {k: v for k, v in os.environ.items() if k not in ("LEDGER_CHAIN_KEY", "DJANGO_ALLOW_ASYNC_UNSAFE")}
    result = subprocess.run(
        [sys.executable, "manage.py", "check"],
        cwd=ROOT,
        env={
            **env,
            "DJANGO_ENV": "production",
            "SECRET_KEY": "p" + "x7Kq2vN9wL4mZ8rT1yB6cH3jF5gD0sA" * 2,
            "ALLOWED_HOSTS": "milestone.example.com",
        },
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode != 0
    assert "ledger.E001" in result.stderr and "LEDGER_CHAIN_KEY is not set" in result.stderr


def test_production_refuses_to_start_without_a_secret_key():
    env = {k: v for k, v in os.environ.items() if k not in ("SECRET_KEY", "DJANGO_ALLOW_ASYNC_UNSAFE")}
    result = subprocess.run(
        [sys.executable, "manage.py", "check"],
        cwd=ROOT,
        env={**env, "DJANGO_ENV": "production", "ALLOWED_HOSTS": "milestone.example.com"},
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode != 0
    assert "SECRET_KEY" in result.stderr


def test_celery_defaults_are_safe_and_the_beat_schedule_names_real_tasks():
    celery_app.loader.import_default_modules()
    assert celery_app.conf.task_acks_late is True
    assert celery_app.conf.task_time_limit and celery_app.conf.task_soft_time_limit
    for entry in celery_app.conf.beat_schedule.values():
        assert entry["task"] in celery_app.tasks, entry["task"]


@pytest.mark.django_db
def test_seed_demo_is_idempotent_and_creates_the_demo_logins(capsys):
    call_command("seed_demo")
    first = User.objects.count()
    call_command("seed_demo")
    assert User.objects.count() == first
    assert User.objects.filter(is_staff=True, email="admin@example.com").exists()
    assert User.objects.filter(is_client=True, email__startswith="client").count() == 2
    assert User.objects.filter(is_freelancer=True, email__startswith="freelancer").count() == 3
    assert "password: milestone-demo" in capsys.readouterr().out
