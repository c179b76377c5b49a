"""The notifications pages: the list, opening a notice, marking read, the bell and its one COUNT query."""

import datetime as dt
import re

import pytest
from django.template.loader import render_to_string
from django.test import RequestFactory
from django.urls import reverse
from django.utils import timezone

from notifications.context_processors import unread_count
from notifications.models import Notification
from tests.notifications.factories import notice_for
from tests.users.factories import UserFactory

pytestmark = pytest.mark.django_db

LIST = "/notifications/"


def _subjects(html: str) -> list[str]:
    """The subjects linked through /open/, in page order."""
    return re.findall(r'<a href="/notifications/\d+/open/">([^<]*)</a>', html)


@pytest.fixture
def user(client):
    user = UserFactory()
    client.force_login(user)
    return user


def test_the_list_is_paginated_20_a_page_newest_first(client, user):
    # Given 25 notices, numbered in the order they arrived, and one for somebody else
    start = timezone.now() - dt.timedelta(days=1)
    for n in range(25):
        notice_for(user, subject=f"Notice number {n:02d}", created_at=start + dt.timedelta(minutes=n))
    notice_for(UserFactory(), subject="Not yours")
    # When the user opens the first and second pages
    first = client.get(LIST).content.decode()
    second = client.get(LIST, {"page": 2}).content.decode()
    # Then page 1 has the 20 newest (24 down to 05), page 2 the other 5, and nobody else's
    assert first.count("<h1") == 1
    assert _subjects(first) == [f"Notice number {n:02d}" for n in range(24, 4, -1)]
    assert _subjects(second) == [f"Notice number {n:02d}" for n in range(4, -1, -1)]
    assert "Page 1 of 2" in first and 'rel="next"' in first
    assert "Not yours" not in first + second


def test_an_empty_list_says_what_will_appear(client, user):
    html = client.get(LIST).content.decode()
    assert "You have no notifications yet." in html and "a notice appears here" in html
    assert "Mark all notifications as read" not in html


def test_mark_as_read_is_idempotent(client, user):
    # Given an unread notice
    notice = notice_for(user, subject="Logo funded")
    url = reverse("notifications:mark_read", args=[notice.pk])
    # When the user marks it read twice
    first = client.post(url, {"page": "1"}, follow=True)
    notice.refresh_from_db()
    read_at = notice.read_at
    second = client.post(url, {"page": "1"}, follow=True)
    # Then it is read once, and the second post changes nothing and says so
    assert read_at is not None
    notice.refresh_from_db()
    assert notice.read_at == read_at
    assert "Marked “Logo funded” as read." in first.content.decode()
    assert "was already marked as read; nothing changed." in second.content.decode()


def test_mark_all_as_read_is_idempotent_and_touches_only_the_users_notices(client, user):
    # Given three unread notices and a stranger's unread notice
    for _ in range(3):
        notice_for(user)
    stranger = notice_for(UserFactory())
    # When the user marks all read, twice
    first = client.post(reverse("notifications:mark_all_read"), follow=True).content.decode()
    second = client.post(reverse("notifications:mark_all_read"), follow=True).content.decode()
    # Then theirs are read, the stranger's is not, and the second post changed nothing
    assert "Marked 3 notifications as read." in first
    assert "Everything was already read; nothing changed." in second
    assert not Notification.objects.filter(recipient=user, read_at__isnull=True).exists()
    stranger.refresh_from_db()
    assert stranger.read_at is None


def test_marking_needs_a_post(client, user):
    notice = notice_for(user)
    assert client.get(reverse("notifications:mark_read", args=[notice.pk])).status_code == 405
    assert client.get(reverse("notifications:mark_all_read")).status_code == 405


def test_opening_a_notice_marks_it_read_and_goes_to_its_page(client, user, settings):
    # Given an unread notice with an absolute link on this site
    settings.SITE_URL = "https://milestone.example"
    notice = notice_for(user, link="https://milestone.example/milestones/7/")
    # When the user opens it, twice
    responses = [client.get(reverse("notifications:open", args=[notice.pk])) for _ in range(2)]
    # Then both go to the milestone, and it is read
    assert [r["Location"] for r in responses] == ["https://milestone.example/milestones/7/"] * 2
    notice.refresh_from_db()
    assert notice.read_at is not None


@pytest.mark.parametrize(
    "link",
    [
        "https://evil.example/milestones/7/",
        "//evil.example/milestones/7/",
        "/\\evil.example/milestones/7/",
        "https://milestone.example.evil.example/milestones/7/",
        "https://milestone.example@evil.example/",
        "http://milestone.example/milestones/7/",
        "javascript:alert(1)",
    ],
)
def test_opening_refuses_off_site_redirects(client, user, settings, link):
    # Given a notice whose link points off the site (or downgrades to http)
    settings.SITE_URL = "https://milestone.example"
    notice = notice_for(user, link=link)
    # When the user opens it
    response = client.get(reverse("notifications:open", args=[notice.pk]))
    # Then they land on the notifications list instead, and it is still marked read
    assert response.status_code == 302 and response["Location"] == LIST
    notice.refresh_from_db()
    assert notice.read_at is not None


def test_a_site_path_link_is_followed(client, user):
    notice = notice_for(user, link="/contracts/9/")
    assert client.get(reverse("notifications:open", args=[notice.pk]))["Location"] == "/contracts/9/"


def test_other_users_notices_are_404(client, user):
    # Given a stranger's notice
    notice = notice_for(UserFactory())
    # When the user tries to open it or mark it read
    opened = client.get(reverse("notifications:open", args=[notice.pk]))
    marked = client.post(reverse("notifications:mark_read", args=[notice.pk]))
    # Then both are 404 and it stays unread
    assert opened.status_code == 404 and marked.status_code == 404
    notice.refresh_from_db()
    assert notice.read_at is None


@pytest.mark.parametrize("name", ["notifications:list", "notifications:preferences"])
def test_anonymous_users_go_to_login(client, name):
    response = client.get(reverse(name))
    assert response.status_code == 302 and response["Location"].startswith(reverse("account_login"))


def test_anonymous_open_and_mark_go_to_login(client):
    notice = notice_for(UserFactory())
    for response in (
        client.get(reverse("notifications:open", args=[notice.pk])),
        client.post(reverse("notifications:mark_read", args=[notice.pk])),
    ):
        assert response.status_code == 302 and response["Location"].startswith(reverse("account_login"))
    notice.refresh_from_db()
    assert notice.read_at is None


def test_the_unread_count_is_one_query_and_remembered(django_assert_num_queries):
    # Given a user with two unread notices and one read
    user = UserFactory()
    notice_for(user)
    notice_for(user)
    notice_for(user, read=True)
    request = RequestFactory().get("/")
    request.user = user
    # When the bell is rendered with the context processor's value
    context = unread_count(request)
    with django_assert_num_queries(1):
        html = render_to_string("notifications/partials/bell.html", {"user": user, **context})
    # Then it took one COUNT query and says how many are unread
    assert 'aria-label="Notifications, 2 unread"' in html
    assert 'hx-get="/notifications/unread-count/"' in html and 'hx-trigger="every 60s"' in html
    assert 'href="/notifications/"' in html


def test_no_count_for_anonymous_users(django_assert_num_queries):
    from django.contrib.auth.models import AnonymousUser

    request = RequestFactory().get("/")
    request.user = AnonymousUser()
    with django_assert_num_queries(0):
        assert unread_count(request) == {}


def test_the_unread_count_endpoint_returns_the_bell(client, user):
    notice_for(user)
    html = client.get(reverse("notifications:unread_count")).content.decode()
    assert 'aria-label="Notifications, 1 unread"' in html and "<html" not in html


def test_the_unread_count_endpoint_has_nothing_to_swap_once_logged_out(client):
    assert client.get(reverse("notifications:unread_count")).status_code == 204
