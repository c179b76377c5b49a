"""The browser fixtures of the end-to-end tests, for this folder's phone-width test."""

from tests.e2e.conftest import browser, page

__all__ = ["browser", "page"]
