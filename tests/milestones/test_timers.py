"""The review clock: set on submit, stopped by changes, paused by a dispute, resumed on withdrawal."""

import datetime as dt

import pytest
import time_machine

from disputes.services import dispute_open, dispute_withdraw
from milestones import services
from milestones.errors import MilestoneActionNotAllowed
from milestones.models import Milestone, MilestoneState
from milestones.selectors import countdown_text, duration_text, milestone_timers
from payments.selectors import earnings_summary
from tests.milestones.factories import deliverable, milestone_in_state

pytestmark = pytest.mark.django_db
S = MilestoneState
START = dt.datetime(2026, 3, 2, 9, 0, tzinfo=dt.UTC)


def test_submit_sets_auto_release_fourteen_days_out():
    # Given a funded milestone
    with time_machine.travel(START, tick=False):
        milestone = milestone_in_state(S.FUNDED)

        # When the freelancer submits
        milestone = services.milestone_submit(
            milestone=milestone, actor=milestone.contract.freelancer, message="Done", files=[deliverable()]
        )

    # Then auto-release is due exactly 14 days later
    assert milestone.submitted_at == START
    assert milestone.auto_release_at == START + dt.timedelta(days=14)


def test_the_review_period_is_configurable(settings):
    settings.MILESTONE_REVIEW_PERIOD = dt.timedelta(days=3)
    with time_machine.travel(START, tick=False):
        milestone = milestone_in_state(S.SUBMITTED)
    assert milestone.auto_release_at == START + dt.timedelta(days=3)


def test_auto_release_refuses_before_the_deadline_and_releases_after():
    # Given a milestone submitted at START
    with time_machine.travel(START, tick=False):
        milestone = milestone_in_state(S.SUBMITTED, amount=30_000)
    freelancer = milestone.contract.freelancer

    # When the system tries a minute before the deadline, it is refused and nothing moves
    with (
        time_machine.travel(START + dt.timedelta(days=14, minutes=-1), tick=False),
        pytest.raises(MilestoneActionNotAllowed, match="not ended"),
    ):
        services.milestone_auto_release(milestone=milestone)
    milestone.refresh_from_db()
    assert milestone.state == S.SUBMITTED

    # When it runs at the deadline, the money is released as the system
    with time_machine.travel(START + dt.timedelta(days=14), tick=False):
        milestone = services.milestone_auto_release(milestone=milestone)
    assert milestone.state == S.RELEASED and milestone.auto_release_at is None
    event = milestone.events.last()
    assert event.action == "auto_release" and event.actor.is_system_actor
    assert earnings_summary(user=freelancer, currency="USD").pending == 27_000

    # And a second sweep finds nothing to do
    with pytest.raises(MilestoneActionNotAllowed, match="already released"):
        services.milestone_auto_release(milestone=milestone)


def test_auto_release_accepts_an_explicit_now():
    with time_machine.travel(START, tick=False):
        milestone = milestone_in_state(S.SUBMITTED)
    with pytest.raises(MilestoneActionNotAllowed):
        services.milestone_auto_release(milestone=milestone, now=START + dt.timedelta(days=13))
    released = services.milestone_auto_release(milestone=milestone, now=START + dt.timedelta(days=15))
    assert released.state == S.RELEASED


def test_request_changes_stops_the_clock_and_a_resubmission_starts_a_fresh_period():
    with time_machine.travel(START, tick=False):
        milestone = milestone_in_state(S.SUBMITTED)
    contract = milestone.contract
    with time_machine.travel(START + dt.timedelta(days=10), tick=False):
        milestone = services.milestone_request_changes(milestone=milestone, actor=contract.client, note="Fix the bug")
    assert milestone.auto_release_at is None
    with time_machine.travel(START + dt.timedelta(days=20), tick=False):
        milestone = services.milestone_submit(
            milestone=milestone, actor=contract.freelancer, message="Fixed", files=[deliverable()]
        )
    assert milestone.auto_release_at == START + dt.timedelta(days=34)


def test_a_dispute_pauses_the_clock_and_withdrawing_it_resumes_with_the_time_that_was_left():
    # Given a milestone submitted at START (auto-release at START + 14 days)
    with time_machine.travel(START, tick=False):
        milestone = milestone_in_state(S.SUBMITTED)
    client = milestone.contract.client

    # When the client disputes 10 days in (4 days left)
    with time_machine.travel(START + dt.timedelta(days=10), tick=False):
        case = dispute_open(milestone=milestone, actor=client, reason="scope", statement="Not what we agreed")
    milestone = Milestone.objects.get(pk=milestone.pk)
    assert milestone.auto_release_at is None
    # And the case, not the milestone, keeps the time that was left
    assert case.review_time_remaining == dt.timedelta(days=4)

    # Then the auto-release can't fire while disputed, even long after the original deadline
    with pytest.raises(MilestoneActionNotAllowed):
        services.milestone_auto_release(milestone=milestone, now=START + dt.timedelta(days=30))

    # When the client withdraws the dispute 20 days later, the clock resumes with the 4 days left
    with time_machine.travel(START + dt.timedelta(days=30), tick=False):
        dispute_withdraw(dispute=case, actor=client)
    milestone = Milestone.objects.get(pk=milestone.pk)
    assert milestone.state == S.SUBMITTED
    assert milestone.auto_release_at == START + dt.timedelta(days=34)
    assert milestone.open_dispute_case is None


def test_timers_shown_on_the_page_follow_the_state():
    with time_machine.travel(START, tick=False):
        funded = milestone_in_state(S.FUNDED)
        submitted = milestone_in_state(S.SUBMITTED)
    now = START + dt.timedelta(hours=20)
    # The factory's milestone is due at the end of its date (START + 10 days) in the contract's zone, UTC
    assert [t.text for t in milestone_timers(milestone=funded, now=now)] == ["due in 9 days 18 hours"]
    assert [t.text for t in milestone_timers(milestone=submitted, now=now)] == ["auto-release in 13 days 4 hours"]
    late = START + dt.timedelta(days=10, hours=18)
    assert [t.text for t in milestone_timers(milestone=funded, now=late)] == ["overdue by 3 hours"]
    with time_machine.travel(START + dt.timedelta(days=1), tick=False):
        disputed = dispute_open(
            milestone=submitted, actor=submitted.contract.client, reason="other", statement="x"
        ).milestone
    assert [t.kind for t in milestone_timers(milestone=disputed)] == ["review_paused"]
    assert "13 days" in milestone_timers(milestone=disputed)[0].text


@pytest.mark.parametrize(
    ("seconds", "text"),
    [
        (0, "less than a minute"),
        (59, "less than a minute"),
        (60, "1 minute"),
        (3 * 3600 + 5 * 60, "3 hours 5 minutes"),
        (2 * 86400, "2 days"),
        (2 * 86400 + 59 * 60, "2 days"),
        (13 * 86400 + 4 * 3600 + 59, "13 days 4 hours"),
        (86400 + 60, "1 day"),
    ],
)
def test_duration_text_shows_the_two_largest_units(seconds, text):
    assert duration_text(seconds) == text


def test_countdown_text_past_deadlines():
    deadline = START
    assert countdown_text(label="due", deadline=deadline, now=START + dt.timedelta(hours=3)) == "overdue by 3 hours"
    assert countdown_text(label="auto-release", deadline=deadline, now=START + dt.timedelta(hours=3)) == (
        "auto-release is due now"
    )
