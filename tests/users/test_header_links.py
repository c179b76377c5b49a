"""The header's links navigate, so assistive technology must hear them as links (no role="button")."""

from html.parser import HTMLParser

import pytest
from django.urls import reverse

from tests.users.factories import UserFactory

pytestmark = pytest.mark.django_db


class HeaderLinks(HTMLParser):
    """Collects the attributes of each <a> inside the page's <header>."""

    def __init__(self) -> None:
        super().__init__()
        self.depth = 0
        self.links: list[dict[str, str | None]] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag == "header":
            self.depth += 1
        elif tag == "a" and self.depth:
            self.links.append(dict(attrs))

    def handle_endtag(self, tag: str) -> None:
        if tag == "header":
            self.depth -= 1


def _header_links(html: str) -> list[dict[str, str | None]]:
    parser = HeaderLinks()
    parser.feed(html)
    return parser.links


def test_landing_header_links_are_links(client):
    # Given the landing page an anonymous visitor sees
    links = _header_links(client.get(reverse("home")).content.decode())
    # Then its header has the "Log in" and "Sign up" links, none of them announced as a button
    hrefs = {link.get("href") for link in links}
    assert {reverse("account_login"), reverse("account_signup")} <= hrefs
    assert [link for link in links if link.get("role") == "button"] == []
    # And "Sign up" keeps its call-to-action look through a class
    signup = next(link for link in links if link.get("href") == reverse("account_signup"))
    assert "button-link" in (signup.get("class") or "").split()


@pytest.mark.parametrize("roles", [{"is_client": True}, {"is_client": False, "is_freelancer": True}])
def test_dashboard_header_links_are_links(client, roles):
    # Given a signed-in client or freelancer on their dashboard
    client.force_login(UserFactory(**roles))
    links = _header_links(client.get(reverse("home")).content.decode())
    # Then no link in the header has role="button"
    assert links
    assert [link for link in links if link.get("role") == "button"] == []
