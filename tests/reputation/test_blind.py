"""Double-blind: neither party can read the other's feedback before both have left theirs or the window
closed: not on the contract page, not on a profile, not at any other URL of the site, not in a notice or
email. Afterwards both appear together, and the private "would work again" answer never per contract."""

import datetime as dt
import re
from collections.abc import Iterator
from itertools import product

import pytest
import time_machine
from django.core import mail
from django.test import Client
from django.urls import URLPattern, URLResolver, get_resolver, reverse

from contracts.models import Contract
from contracts.selectors import MILESTONE_LISTS
from contracts.services import contract_end
from disputes.models import Dispute, Offer
from notifications.models import Notification
from reputation.models import FeedbackWindow
from reputation.services import feedback_windows_close_due
from tests.reputation.factories import feedback_leave, history_build
from tests.users.factories import UserFactory
from users.models import User

pytestmark = pytest.mark.django_db

SECRET = "Unpublished-words-7f3a"


def _routes(patterns: list, prefix: str = "") -> Iterator[str]:
    for pattern in patterns:
        if isinstance(pattern, URLResolver):
            yield from _routes(pattern.url_patterns, prefix + str(pattern.pattern))
        elif isinstance(pattern, URLPattern):
            yield prefix + str(pattern.pattern)


def _every_url(contract: Contract, viewer: User) -> Iterator[str]:
    """Every GET-able path of the site, each <int:...> filled with every id that concerns this contract."""
    ids = {
        "contract_id": [contract.pk],
        "user_id": [contract.client_id, contract.freelancer_id],
        # Milestones and dispute cases both route by <int:pk>.
        "pk": list(contract.milestones.values_list("pk", flat=True))
        + list(Dispute.objects.filter(milestone__contract=contract).values_list("pk", flat=True)),
        "milestone_id": list(contract.milestones.values_list("pk", flat=True)),
        "job_id": [contract.job_id],
        "proposal_id": [contract.proposal_id],
        "change_id": list(contract.change_requests.values_list("pk", flat=True)) or [1],
        "notification_id": list(Notification.objects.filter(recipient=viewer).values_list("pk", flat=True)) or [1],
        "file_id": [1],
        "offer_id": list(Offer.objects.filter(milestone__contract=contract).values_list("pk", flat=True)) or [1],
        "role": ["client", "freelancer"],
        "step": sorted({step for _role, step in MILESTONE_LISTS}),
    }
    for route in _routes(get_resolver().url_patterns):
        if "^" in route or "(?P" in route:  # allauth's regex routes: keys and tokens, nothing of ours
            continue
        converters = re.findall(r"<(\w+):(\w+)>", route)
        # Anything else (admin's object ids, an offer's answer) is tried with one plain value.
        for values in product(*(ids.get(name, ["1"]) for _converter, name in converters)):
            path = route
            for (converter, name), value in zip(converters, values, strict=True):
                path = path.replace(f"<{converter}:{name}>", str(value), 1)
            yield "/" + path


def _nowhere_for(viewer: User, contract: Contract, secret: str) -> None:
    browser = Client()
    browser.force_login(viewer)
    seen = 0
    for path in _every_url(contract, viewer):
        for headers in ({}, {"HTTP_HX_REQUEST": "true"}):
            response = browser.get(path, **headers)
            body = response.content.decode(errors="replace") if not response.streaming else ""
            assert secret not in body, f"{path} shows unpublished feedback to {viewer}"
            seen += 1
    assert seen > 100  # the crawl really went through the site


def _ended_with_client_feedback() -> Contract:
    contract = history_build(paths=("released_on_time", "dispute_split"), end=False)
    contract = contract_end(contract=contract, actor=contract.client)
    feedback_leave(contract=contract, author=contract.client, values=(2, 3, 4, False), comment=f"{SECRET} client")
    return contract


def test_before_both_submitted_nobody_reads_the_feedback_anywhere():
    # Given the client left feedback and the freelancer has not
    contract = _ended_with_client_feedback()
    # Then neither the freelancer, nor an outsider, nor staff without a role reads it at any URL
    for viewer in (contract.freelancer, UserFactory(is_freelancer=True)):
        _nowhere_for(viewer, contract, SECRET)
    # And no notice or email carries it
    assert not Notification.objects.filter(body__contains=SECRET).exists()
    assert not any(SECRET in message.body for message in mail.outbox)
    # But the author sees their own, marked as waiting
    page = Client()
    page.force_login(contract.client)
    own = page.get(reverse("contracts:detail", args=[contract.pk])).content.decode()
    assert SECRET in own and "Not left yet" in own


def test_once_both_submitted_both_appear_together_on_both_profiles_and_the_page():
    contract = _ended_with_client_feedback()
    # When the freelancer leaves theirs
    feedback_leave(
        contract=contract, author=contract.freelancer, values=(5, 5, 5, True), comment=f"{SECRET} freelancer"
    )
    # Then both read both on the contract page, and each profile shows the one about that person
    for viewer in (contract.client, contract.freelancer):
        browser = Client()
        browser.force_login(viewer)
        page = browser.get(reverse("contracts:detail", args=[contract.pk])).content.decode()
        assert f"{SECRET} client" in page and f"{SECRET} freelancer" in page
        freelancer_page = browser.get(reverse("reputation:freelancer", args=[contract.freelancer_id])).content.decode()
        client_page = browser.get(reverse("reputation:client", args=[contract.client_id])).content.decode()
        assert f"{SECRET} client" in freelancer_page and f"{SECRET} client" not in client_page
        assert f"{SECRET} freelancer" in client_page and f"{SECRET} freelancer" not in freelancer_page
    # And the private answer is nowhere per contract: one answer is below the minimum for a share
    for page in (freelancer_page, client_page):
        assert "would work with them again" not in page
    browser = Client()
    browser.force_login(contract.freelancer)
    page = browser.get(reverse("contracts:detail", args=[contract.pk])).content.decode()
    assert "you said you would not work with them again" not in page  # the client's private answer


def test_when_the_window_closes_the_one_feedback_left_is_published():
    contract = _ended_with_client_feedback()
    window = FeedbackWindow.objects.get(contract=contract)
    # While the window is open, the freelancer's profile doesn't show it
    viewer = Client()
    viewer.force_login(contract.freelancer)
    profile = reverse("reputation:freelancer", args=[contract.freelancer_id])
    assert SECRET not in viewer.get(profile).content.decode()
    # When the time is up and the sweep runs
    with time_machine.travel(window.closes_at + dt.timedelta(minutes=1)):
        feedback_windows_close_due()
        viewer.force_login(contract.freelancer)  # the first session has expired by now
        # Then the freelancer reads it on their profile and on the contract page
        assert SECRET in viewer.get(profile).content.decode()
        page = viewer.get(reverse("contracts:detail", args=[contract.pk])).content.decode()
        assert SECRET in page and "You did not leave feedback in time" in page


def test_an_outsider_cannot_leave_or_read_feedback_on_someone_elses_contract():
    contract = _ended_with_client_feedback()
    feedback_leave(contract=contract, author=contract.freelancer, values=(5, 5, 5, True))
    outsider = Client()
    outsider.force_login(UserFactory())
    url = reverse("contracts:feedback", args=[contract.pk])
    data = {"quality": 5, "communication": 5, "reliability": 5, "comment": "Hi", "would_work_again": "yes"}
    assert outsider.post(url, data).status_code == 404
    assert outsider.get(reverse("contracts:detail", args=[contract.pk])).status_code == 404
