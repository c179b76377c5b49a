"""Fixtures of the guard suites: one world per test module, its files where every test looks for them."""

from collections.abc import Iterator
from typing import Any

import pytest

from tests.guards.world import World, world_kept


@pytest.fixture(scope="module")
def world_media(tmp_path_factory: pytest.TempPathFactory) -> Any:
    return tmp_path_factory.mktemp("world-media")


@pytest.fixture(scope="module")
def world(django_db_setup: None, django_db_blocker: Any, world_media: Any) -> Iterator[World]:
    """Built once per module and rolled back at its end; each test runs in a savepoint inside it."""
    with django_db_blocker.unblock(), world_kept(world_media) as built:
        yield built


@pytest.fixture(autouse=True)
def _world_files(settings: Any, world_media: Any) -> None:
    settings.MEDIA_ROOT = str(world_media)
