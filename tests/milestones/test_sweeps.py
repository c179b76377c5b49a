"""The beat sweeps: auto-release after the review period, review and due-date reminders, each exactly once."""

import datetime as dt
import threading

import pytest
import time_machine
from django.core import mail
from django.core.management import call_command
from django.db import connection

from disputes.services import dispute_open
from milestones import services, tasks
from milestones.models import MilestoneReminder, MilestoneState
from payments.selectors import earnings_summary, milestone_money_totals
from payments.services import earnings_mature_due
from tests.milestones.factories import deliverable, milestone_in_state

pytestmark = pytest.mark.django_db
S = MilestoneState
START = dt.datetime(2026, 3, 2, 9, 0, tzinfo=dt.UTC)
DAY = dt.timedelta(days=1)


def _submitted(amount: int = 30_000):
    with time_machine.travel(START, tick=False):
        return milestone_in_state(S.SUBMITTED, amount=amount)


def test_the_sweep_releases_only_milestones_whose_review_period_ended():
    # Given one submission at START and another a day later
    early = _submitted()
    with time_machine.travel(START + DAY, tick=False):
        late = milestone_in_state(S.SUBMITTED)

    # When the sweep runs just after the first one's 14 days
    released = services.milestone_auto_release_due(now=START + 14 * DAY + dt.timedelta(minutes=1))

    # Then only that one is released, by the system, with the fee taken, and the other still waits
    early.refresh_from_db()
    late.refresh_from_db()
    assert released == 1
    assert (early.state, late.state) == (S.RELEASED, S.SUBMITTED)
    event = early.events.last()
    assert (event.action, event.actor.is_system_actor) == ("auto_release", True)
    assert earnings_summary(user=early.contract.freelancer, currency="USD").pending == 27_000
    # And a second run moves nothing more
    assert services.milestone_auto_release_due(now=START + 14 * DAY + dt.timedelta(minutes=2)) == 0
    call_command("ledger_verify")


def test_the_sweep_leaves_disputed_and_sent_back_milestones_alone():
    # Given two submissions: one disputed, one sent back for changes
    disputed, sent_back = _submitted(), _submitted()
    with time_machine.travel(START + DAY, tick=False):
        dispute_open(milestone=disputed, actor=disputed.contract.client, reason="quality", statement="Wrong colours")
        services.milestone_request_changes(milestone=sent_back, actor=sent_back.contract.client, note="Add a footer")

    # When the sweep runs long after the original deadline
    released = services.milestone_auto_release_due(now=START + 30 * DAY)

    # Then neither was released: no timer moves money the client stopped
    disputed.refresh_from_db()
    sent_back.refresh_from_db()
    assert released == 0
    assert (disputed.state, sent_back.state) == (S.DISPUTED, S.FUNDED)
    assert milestone_money_totals(milestone_ids=[disputed.pk])[disputed.pk].in_escrow == 30_000


def test_the_celery_task_runs_the_sweep():
    _submitted()
    with time_machine.travel(START + 15 * DAY, tick=False):
        assert tasks.milestones_auto_release_due.apply().get() == 1


def test_review_reminders_go_to_the_client_7_3_and_1_days_before_once_each(django_capture_on_commit_callbacks):
    # Given a submission at START (auto-release at START + 14 days)
    milestone = _submitted()
    client = milestone.contract.client
    mail.outbox.clear()

    def sweep(at: dt.datetime) -> int:
        with time_machine.travel(at, tick=False), django_capture_on_commit_callbacks(execute=True):
            return services.milestone_review_reminders_send(now=at)

    # When the sweep runs before the last week, nothing is sent
    assert sweep(START + 6 * DAY) == 0
    # Then at 7, 3 and 1 days left one reminder each goes to the client, and repeated runs send nothing more
    assert sweep(START + 7 * DAY) == 1
    assert sweep(START + 7 * DAY + dt.timedelta(minutes=5)) == 0
    assert sweep(START + 11 * DAY) == 1
    assert sweep(START + 13 * DAY) == 1
    assert sweep(START + 13 * DAY + dt.timedelta(hours=1)) == 0
    kinds = list(milestone.reminders.values_list("kind", flat=True))
    assert kinds == ["review_7d", "review_3d", "review_1d"]
    assert [m.to for m in mail.outbox] == [[client.email]] * 3
    assert "released to" in mail.outbox[0].body and "automatically" in mail.outbox[0].subject


def test_a_resubmission_rearms_the_review_reminders():
    # Given a client reminded at 7 days left, who then sends the work back
    milestone = _submitted()
    services.milestone_review_reminders_send(now=START + 7 * DAY)
    with time_machine.travel(START + 8 * DAY, tick=False):
        services.milestone_request_changes(milestone=milestone, actor=milestone.contract.client, note="Fix the logo")
        # When the freelancer resubmits, a fresh 14-day period starts
        services.milestone_submit(
            milestone=milestone, actor=milestone.contract.freelancer, message="Fixed", files=[deliverable()]
        )
    # Then its 7-day reminder is due again, for the new deadline
    assert services.milestone_review_reminders_send(now=START + 15 * DAY) == 1
    assert milestone.reminders.filter(kind="review_7d").count() == 2


def test_a_late_sweep_sends_only_the_reminder_that_applies_now():
    milestone = _submitted()
    # When the first sweep after submission runs with only 2 days left
    assert services.milestone_review_reminders_send(now=START + 12 * DAY) == 1
    # Then it sends the 3-day reminder alone, not the 7-day one as well
    assert list(milestone.reminders.values_list("kind", flat=True)) == ["review_3d"]


def test_due_date_reminders_48_hours_before_on_the_day_and_overdue(django_capture_on_commit_callbacks):
    # Given funded work due at START + 10 days
    with time_machine.travel(START, tick=False):
        milestone = milestone_in_state(S.FUNDED)
    due = milestone.due_at
    contract = milestone.contract
    mail.outbox.clear()

    def sweep(at: dt.datetime) -> int:
        with django_capture_on_commit_callbacks(execute=True):
            return services.milestone_due_reminders_send(now=at)

    # When the sweep runs along the way
    counts = [
        sweep(at)
        for at in (
            due - 3 * DAY,
            due - dt.timedelta(hours=47),
            due - dt.timedelta(hours=46),
            due - dt.timedelta(hours=5),
            due + dt.timedelta(hours=1),
            due + 2 * DAY,
        )
    ]

    # Then the freelancer hears at 48 hours and within the last day, both parties once it is overdue, once each
    assert counts == [0, 1, 0, 1, 1, 0]
    assert list(milestone.reminders.values_list("kind", flat=True)) == ["due_48h", "due_today", "overdue"]
    assert [m.to for m in mail.outbox] == [
        [contract.freelancer.email],
        [contract.freelancer.email],
        [contract.freelancer.email],
        [contract.client.email],
    ]


def test_milestones_already_reminded_never_crowd_a_later_one_out_of_the_batch():
    # Given three funded milestones due on one day, and a fourth due a day later
    with time_machine.travel(START, tick=False):
        first = milestone_in_state(S.FUNDED)
        for _ in range(2):
            milestone_in_state(S.FUNDED, contract=first.contract)
    with time_machine.travel(START + DAY, tick=False):
        fourth = milestone_in_state(S.FUNDED, contract=first.contract)
    # And the three were told on their last day
    on_the_day = first.due_at - dt.timedelta(hours=5)
    assert services.milestone_due_reminders_send(now=on_the_day, limit=3) == 3
    # When the sweep runs again an hour later with a batch of two (fewer than the milestones in range)
    sent = services.milestone_due_reminders_send(now=on_the_day + dt.timedelta(hours=1), limit=2)
    # Then the fourth gets its 48-hour reminder: the ones already told take no place in the batch
    assert sent == 1
    assert list(fourth.reminders.values_list("kind", flat=True)) == ["due_48h"]


def test_submitted_work_gets_no_due_date_nagging():
    with time_machine.travel(START, tick=False):
        milestone = milestone_in_state(S.SUBMITTED)
    assert services.milestone_due_reminders_send(now=milestone.due_at + DAY) == 0
    assert not MilestoneReminder.objects.exists()


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_two_workers_sweeping_at_once_release_each_milestone_once():
    # Given five milestones past their review period
    milestones = [_submitted(amount=10_000) for _ in range(5)]
    now = START + 15 * DAY
    results: list[int] = []
    barrier = threading.Barrier(2)

    def worker() -> None:
        try:
            barrier.wait()
            results.append(services.milestone_auto_release_due(now=now))
        finally:
            connection.close()

    # When two workers run the sweep at the same moment
    threads = [threading.Thread(target=worker) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(30)

    # Then each milestone was released exactly once between them, and the ledger agrees
    assert sum(results) == 5
    for milestone in milestones:
        milestone.refresh_from_db()
        assert milestone.state == S.RELEASED
        assert milestone.events.filter(action="auto_release").count() == 1
    call_command("ledger_verify")


def test_reminders_survive_braces_and_line_breaks_in_user_text(django_capture_on_commit_callbacks):
    # Given a submitted milestone whose title holds braces and a line break (user text)
    with time_machine.travel(START, tick=False):
        milestone_in_state(S.SUBMITTED, title="Fix {layout}\nand footer")
    mail.outbox.clear()
    # When its 7-day review reminder goes out
    with django_capture_on_commit_callbacks(execute=True):
        assert services.milestone_review_reminders_send(now=START + 7 * DAY) == 1
    # Then the email is sent, with the title on one subject line, braces intact
    (message,) = mail.outbox
    assert message.subject.startswith("[Milestone] Fix {layout} and footer: review by ")
    assert "\n" not in message.subject


def test_a_new_due_date_gets_its_own_overdue_reminder(django_capture_on_commit_callbacks):
    # Given funded work that was reminded as overdue, then given a later due date by a change order
    with time_machine.travel(START, tick=False):
        milestone = milestone_in_state(S.FUNDED)
    first_due = milestone.due_at
    assert services.milestone_due_reminders_send(now=first_due + DAY) == 1
    new_due = first_due + 5 * DAY
    services.milestone_change_order_apply(
        milestone=milestone,
        actor=milestone.contract.client,
        amount=milestone.amount,
        due_date=milestone.due_date + dt.timedelta(days=5),
        change_number=1,
    )
    # When the sweep runs 48 hours before and again after the new due date
    assert services.milestone_due_reminders_send(now=new_due - dt.timedelta(hours=47)) == 1
    assert services.milestone_due_reminders_send(now=new_due + dt.timedelta(hours=1)) == 1
    # Then the new deadline has its own reminders, the overdue one included
    assert list(milestone.reminders.filter(deadline=new_due).values_list("kind", flat=True)) == ["due_48h", "overdue"]


def test_demo_periods_in_minutes_remind_release_and_mature_within_a_quarter_of_an_hour(
    settings, django_capture_on_commit_callbacks
):
    # Given the demo's periods: a 10-minute review, reminders 6, 3 and 1 minutes before, a 5-minute hold
    minute = dt.timedelta(minutes=1)
    settings.MILESTONE_REVIEW_PERIOD = 10 * minute
    settings.MILESTONE_REVIEW_REMINDERS = (6 * minute, 3 * minute, minute)
    settings.EARNINGS_HOLD_PERIOD = 5 * minute
    # And a submission at START
    milestone = _submitted()
    assert milestone.auto_release_at == START + 10 * minute
    mail.outbox.clear()

    def at(offset: dt.timedelta):
        moment = START + offset
        return time_machine.travel(moment, tick=False), moment

    def remind(offset: dt.timedelta) -> int:
        travel, moment = at(offset)
        with travel, django_capture_on_commit_callbacks(execute=True):
            return services.milestone_review_reminders_send(now=moment)

    # When the sweeps run minute by minute / Then the client is reminded at 6, 3 and 1 minutes left, once each
    sent = [remind(n * minute) for n in range(10)]
    assert sent == [0, 0, 0, 0, 1, 0, 0, 1, 0, 1]
    assert [m.to for m in mail.outbox] == [[milestone.contract.client.email]] * 3
    # And nothing is released a minute early, and exactly once when the ten minutes are up
    travel, moment = at(9 * minute)
    with travel:
        assert services.milestone_auto_release_due(now=moment) == 0
    travel, moment = at(10 * minute)
    with travel:
        assert services.milestone_auto_release_due(now=moment) == 1
        assert services.milestone_auto_release_due(now=moment) == 0
    milestone.refresh_from_db()
    assert milestone.state == S.RELEASED
    # And the freelancer's earnings become available five minutes later
    freelancer = milestone.contract.freelancer
    travel, moment = at(15 * minute)
    with travel:
        assert earnings_mature_due(now=moment) == 1
    summary = earnings_summary(user=freelancer, currency="USD")
    assert (summary.pending, summary.available) == (0, 27_000)
