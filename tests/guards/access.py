"""What the access guards share: the URLConf walked into named routes, one visitor's request rolled back
afterwards, and the outcome of a response in the matrix's words."""

from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

from django.db import transaction
from django.test import Client
from django.urls import URLPattern, URLResolver, get_resolver, reverse

from tests.guards.world import snapshot, snapshot_difference

OK, NO_CONTENT, FORBIDDEN, NOT_FOUND, NOT_ALLOWED = 200, 204, 403, 404, 405
LOGIN = "login"  # redirected to the login page
REAUTH = "reauthenticate"  # redirected to confirm the password first
REDIRECT = "redirect"  # sent elsewhere with a message, nothing changed
ACTS = "acts"  # allowed: the request changes something (any 2xx or non-login redirect)

Expected = int | str


@dataclass(frozen=True)
class Route:
    name: str  # namespaced, e.g. "milestones:release"
    namespace: str  # e.g. "milestones:"
    module: str  # where the view lives
    pattern: URLPattern


def routes() -> Iterator[Route]:
    """Every URL pattern of the URLConf, with its namespaced name (empty if it has none)."""

    def walk(patterns: list[Any], namespace: str) -> Iterator[Route]:
        for entry in patterns:
            if isinstance(entry, URLResolver):
                inner = f"{namespace}{entry.namespace}:" if entry.namespace else namespace
                yield from walk(entry.url_patterns, inner)
            elif isinstance(entry, URLPattern):
                callback = entry.callback
                module = getattr(callback, "view_class", callback).__module__ or ""
                name = f"{namespace}{entry.name}" if entry.name else ""
                yield Route(name=name, namespace=namespace, module=module, pattern=entry)

    yield from walk(get_resolver().url_patterns, "")


def is_admin(route: Route) -> bool:
    return route.namespace.startswith("admin:")


def is_allauth(route: Route) -> bool:
    return route.module.startswith("allauth.")


def outcome(response: Any) -> Expected:
    if response.status_code == 302:
        location = response["Location"]
        if location.startswith(reverse("account_login")):
            return LOGIN
        if location.startswith(reverse("account_reauthenticate")):
            return REAUTH
        return REDIRECT
    return int(response.status_code)


def request_as(user: Any, url: str, method: str, data: dict[str, Any] | None = None) -> tuple[Any, list[str]]:
    """One visitor's GET or POST, rolled back afterwards: (the response, the tables it changed)."""
    savepoint = transaction.savepoint()
    try:
        browser = Client()
        if user is not None:
            browser.force_login(user)
        before = snapshot()
        response = browser.get(url) if method == "get" else browser.post(url, data or {})
        return response, snapshot_difference(before, snapshot())
    finally:
        transaction.savepoint_rollback(savepoint)
