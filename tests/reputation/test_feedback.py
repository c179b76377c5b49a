"""Feedback after a contract ends: who may leave it, once, in time; published both together, never edited;
the window's sweep publishes what was left, once, under two concurrent workers."""

import datetime as dt
import threading

import pytest
import time_machine
from django.conf import settings
from django.db import connection
from django.urls import reverse
from django.utils import timezone

from contracts.services import contract_end
from notifications.kinds import NotificationKind
from notifications.models import Notification
from reputation.errors import FeedbackError
from reputation.models import Feedback, FeedbackWindow
from reputation.services import feedback_windows_close_due
from tests.contracts.factories import contract_started
from tests.reputation.factories import feedback_leave, history_build
from tests.users.factories import UserFactory

pytestmark = pytest.mark.django_db

GOOD = (5, 4, 5, True)


def _ended_contract():
    """A contract whose one milestone was paid, just ended by the freelancer: its window is open."""
    contract = history_build(paths=("released_on_time",), end=False)
    return contract_end(contract=contract, actor=contract.freelancer)


def test_ending_a_contract_opens_a_window_and_asks_both_parties():
    # When a contract ends
    contract = _ended_contract()
    # Then its window closes after the configured number of days
    window = FeedbackWindow.objects.get(contract=contract)
    assert window.closes_at - window.opened_at == settings.FEEDBACK_WINDOW_PERIOD
    assert window.published_at is None
    # And both parties are asked for feedback
    asked = Notification.objects.filter(kind=NotificationKind.FEEDBACK_REQUESTED).values_list("recipient", flat=True)
    assert sorted(asked) == sorted([contract.client_id, contract.freelancer_id])


@pytest.mark.parametrize(
    ("who", "ratings", "comment", "message"),
    [
        ("outsider", GOOD, "Fine", "Only the contract's client or freelancer"),
        ("client", (0, 4, 5, True), "Fine", "rating from 1 to 5"),
        ("client", (5, 6, 5, True), "Fine", "rating from 1 to 5"),
        ("client", GOOD, "   ", "Write a short comment"),
        ("client", GOOD, "x" * 1001, "under 1000 characters"),
    ],
)
def test_bad_feedback_is_refused_and_nothing_is_written(who, ratings, comment, message):
    contract = _ended_contract()
    author = UserFactory() if who == "outsider" else contract.client
    with pytest.raises(FeedbackError, match=message):
        feedback_leave(contract=contract, author=author, values=ratings, comment=comment)
    assert not Feedback.objects.exists()


def test_feedback_before_the_contract_ends_is_refused():
    contract = contract_started(milestones=1)
    with pytest.raises(FeedbackError, match="opens when the contract ends"):
        feedback_leave(contract=contract, author=contract.client, values=GOOD)


def test_feedback_is_left_once_and_cannot_be_changed(client):
    # Given the client left feedback
    contract = _ended_contract()
    first = feedback_leave(contract=contract, author=contract.client, values=GOOD, comment="First words")
    # When they try again, through the service and through the form
    with pytest.raises(FeedbackError, match="already left feedback"):
        feedback_leave(contract=contract, author=contract.client, values=(1, 1, 1, False), comment="Changed my mind")
    client.force_login(contract.client)
    response = client.post(
        reverse("contracts:feedback", args=[contract.pk]),
        {"quality": 1, "communication": 1, "reliability": 1, "comment": "Changed", "would_work_again": "no"},
        follow=True,
    )
    # Then it is refused with a message, and the first feedback is unchanged
    assert "already left feedback" in response.content.decode()
    assert list(Feedback.objects.values_list("pk", "comment", "quality")) == [(first.pk, "First words", 5)]


def test_the_second_feedback_publishes_both_together_and_tells_both():
    contract = _ended_contract()
    feedback_leave(contract=contract, author=contract.client, values=GOOD)
    window = FeedbackWindow.objects.get(contract=contract)
    assert window.published_at is None
    # And the freelancer is nudged that the client's is in (without its content)
    nudge = Notification.objects.get(
        kind=NotificationKind.FEEDBACK_REQUESTED, recipient=contract.freelancer, body__contains="Leave yours"
    )
    assert "Feedback" not in nudge.body
    # When the freelancer leaves theirs
    feedback_leave(contract=contract, author=contract.freelancer, values=GOOD)
    # Then both are published at once, and both are told
    window.refresh_from_db()
    assert window.published_at is not None
    told = Notification.objects.filter(kind=NotificationKind.FEEDBACK_PUBLISHED).values_list("recipient", flat=True)
    assert sorted(told) == sorted([contract.client_id, contract.freelancer_id])


def test_after_the_window_closes_no_feedback_is_taken_and_the_sweep_publishes_what_was_left():
    contract = _ended_contract()
    feedback_leave(contract=contract, author=contract.client, values=GOOD)
    window = FeedbackWindow.objects.get(contract=contract)
    with time_machine.travel(window.closes_at + dt.timedelta(seconds=1)):
        # When the freelancer is too late (even before the sweep ran)
        with pytest.raises(FeedbackError, match="time for feedback on this contract is over"):
            feedback_leave(contract=contract, author=contract.freelancer, values=GOOD)
        # And the sweep runs twice
        assert feedback_windows_close_due() == 1
        assert feedback_windows_close_due() == 0
    # Then the one feedback is published, and each party was told once
    window.refresh_from_db()
    assert window.published_at is not None and Feedback.objects.count() == 1
    assert Notification.objects.filter(kind=NotificationKind.FEEDBACK_PUBLISHED).count() == 2


def test_the_sweep_leaves_open_windows_alone():
    _ended_contract()
    assert feedback_windows_close_due() == 0
    assert FeedbackWindow.objects.get().published_at is None


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_two_sweeps_at_once_publish_each_window_once():
    # Given ten windows whose time is up
    windows = [_ended_contract() for _ in range(10)]
    later = timezone.now() + settings.FEEDBACK_WINDOW_PERIOD + dt.timedelta(minutes=1)
    barrier = threading.Barrier(2)
    counts: list[int] = []

    def sweep() -> None:
        try:
            barrier.wait()
            counts.append(feedback_windows_close_due(now=later))
        finally:
            connection.close()

    # When two workers sweep at the same moment
    threads = [threading.Thread(target=sweep) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    # Then every window is published once, and each party was told once per window
    assert sum(counts) == len(windows)
    assert not FeedbackWindow.objects.filter(published_at__isnull=True).exists()
    assert Notification.objects.filter(kind=NotificationKind.FEEDBACK_PUBLISHED).count() == 2 * len(windows)


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_both_parties_submitting_at_once_publish_once():
    contract = _ended_contract()
    barrier = threading.Barrier(2)
    errors: list[Exception] = []

    def leave(author) -> None:
        try:
            barrier.wait()
            feedback_leave(contract=contract, author=author, values=GOOD)
        except FeedbackError as error:
            errors.append(error)
        finally:
            connection.close()

    threads = [threading.Thread(target=leave, args=(who,)) for who in (contract.client, contract.freelancer)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    assert errors == []
    assert FeedbackWindow.objects.get(contract=contract).published_at is not None
    assert Notification.objects.filter(kind=NotificationKind.FEEDBACK_PUBLISHED).count() == 2
