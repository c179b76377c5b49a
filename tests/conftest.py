"""Fixtures shared by every test, and the rule that a skipped test fails CI."""

import os
from collections.abc import Iterator
from typing import Any

import pytest

# Playwright's sync API runs an event loop in the test thread; Django's ORM calls made by
# the test itself (never by the server under test) are still synchronous and safe.
os.environ.setdefault("DJANGO_ALLOW_ASYNC_UNSAFE", "true")


@pytest.fixture(autouse=True, scope="session")
def _celery_tasks_run_in_process() -> Iterator[None]:
    """Tasks sent after commit run at once in the test's process, and their errors fail the test."""
    from config.celery import app

    app.conf.task_always_eager = True
    app.conf.task_eager_propagates = True
    yield


@pytest.fixture(autouse=True)
def _isolated_cache_and_media(settings: Any, request: pytest.FixtureRequest, tmp_path: Any) -> Iterator[None]:
    # A cache of its own per test: rate-limit counters never leak between tests.
    settings.CACHES = {
        "default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache", "LOCATION": request.node.nodeid}
    }
    settings.MEDIA_ROOT = str(tmp_path / "media")
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
    yield


def pytest_sessionfinish(session: pytest.Session, exitstatus: int) -> None:
    """With FAIL_ON_SKIP=1 (set by .ci/run), any skipped test turns the run red."""
    if os.environ.get("FAIL_ON_SKIP") != "1":
        return
    reporter = session.config.pluginmanager.get_plugin("terminalreporter")
    skipped = len(reporter.stats.get("skipped", [])) if reporter else 0
    if skipped and session.exitstatus == 0:
        print(f"\nFAIL_ON_SKIP: {skipped} test(s) were skipped; every test must run in CI.")
        session.exitstatus = pytest.ExitCode.TESTS_FAILED


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """Tests marked `postgres` prove guards only PostgreSQL has; on SQLite they are deselected, not skipped.

    CI always runs on PostgreSQL, where every one of them runs.
    """
    if os.environ.get("DATABASE_URL", "").startswith(("postgres://", "postgresql://")):
        return
    selected = [item for item in items if item.get_closest_marker("postgres") is None]
    deselected = [item for item in items if item.get_closest_marker("postgres") is not None]
    if deselected:
        config.hook.pytest_deselected(items=deselected)
        items[:] = selected


@pytest.fixture
def admin_user(db: Any, django_user_model: Any, django_username_field: str) -> Any:
    """pytest-django's superuser (behind `admin_client`), with the authenticator app staff need for admin."""
    from allauth.mfa.totp.internal.auth import TOTP, generate_totp_secret

    manager = django_user_model._default_manager
    user = manager.filter(**{django_username_field: "admin@example.com"}).first()
    if user is None:
        user = manager.create_superuser(**{django_username_field: "admin@example.com"}, password="password")
    TOTP.activate(user, generate_totp_secret())
    return user
