"""The beat sweeps through a real Redis broker and real worker processes, on PostgreSQL.

Each test starts `celery worker` subprocesses (solo or prefork pool) on a queue of its own, against the
same test database (`DATABASE_URL` of `connection.settings_dict`), sends the sweep tasks through
Redis with `apply_async` and polls PostgreSQL until the work shows up (or a timeout fails the test).

The tasks take no arguments and use the real clock, so the milestones are made due by building them
in the past with `time_machine` (the worker's clock is never travelled).

What breaks them: a sweep that claims rows without `skip_locked` in its own transaction (two workers
release a milestone twice: two release transactions, or a crash on the unique ledger key), reminders
without their unique (milestone, kind, deadline) record (two notices and two emails), a release that
commits its state and its ledger rows in separate transactions (kill -9 leaves a released milestone
without money moved, caught by the per-milestone counts and `ledger_verify`), or tasks that no longer
go through the broker at all (nothing is released before the timeout).
"""

import contextlib
import datetime as dt
import email
import os
import re
import signal
import subprocess
import sys
import time
import uuid
from collections import Counter
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from email.header import decode_header, make_header
from pathlib import Path
from typing import Any

import pytest
import time_machine
from django.conf import settings
from django.db import connection
from django.utils import timezone

from milestones import tasks
from milestones.ledger_checks import ledger_verify
from milestones.models import Milestone, MilestoneReminder, MilestoneState
from notifications.kinds import NotificationKind
from notifications.models import EmailDelivery, Notification
from payments.models import EarningsLot, LedgerTransaction, TransactionKind
from tests.milestones.factories import funded_contract, milestone_in_state
from users.selectors import user_system_actor

pytestmark = [pytest.mark.postgres, pytest.mark.django_db(transaction=True)]

S = MilestoneState
ROOT = Path(__file__).resolve().parents[2]
AMOUNT = 1_000
TEST_TIMEOUT = 90  # seconds, per test
POLL_TIMEOUT = 60  # seconds, per wait on the database

# The worker: the project's Celery app, with this test's queue as the default queue so the emails
# it sends after each commit go to (and are sent by) these workers, not to a shared `celery` queue.
WORKER_SCRIPT = """
import os, sys
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")
from config.celery import app
app.conf.task_default_queue = os.environ["BROKER_TEST_QUEUE"]
app.worker_main(["worker", *sys.argv[1:]])
"""


def broker_url() -> str:
    url = os.environ.get("CELERY_BROKER_URL", "")
    return url if url.startswith(("redis://", "rediss://")) else "redis://127.0.0.1:6379/9"


WORKER_APPLICATION_NAME = "milestone-broker-test-worker"


def database_url() -> str:
    db = connection.settings_dict
    password = f":{db['PASSWORD']}" if db.get("PASSWORD") else ""
    host = f"{db['HOST'] or '127.0.0.1'}:{db['PORT'] or 5432}"
    # Tagged, so the test waits for the workers' sessions only, not for other threads' (live servers, races).
    return f"postgres://{db['USER']}{password}@{host}/{db['NAME']}?application_name={WORKER_APPLICATION_NAME}"


def wait_for(condition: Callable[[], bool], *, timeout: float = POLL_TIMEOUT, what: str, interval: float = 0.1) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if condition():
            return
        time.sleep(interval)
    raise AssertionError(f"Timed out after {timeout:.0f} s waiting for {what}")


def other_backends() -> int:
    """The workers' connections to the test database."""
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT count(*) FROM pg_stat_activity WHERE datname = current_database() AND application_name = %s",
            [WORKER_APPLICATION_NAME],
        )
        return cursor.fetchone()[0]


@dataclass
class Worker:
    name: str
    process: subprocess.Popen[bytes]
    log: Path

    def text(self) -> str:
        return self.log.read_text(errors="replace") if self.log.exists() else ""

    def results(self, task_name: str) -> list[int]:
        """What each run of `task_name` returned, from the worker's log ("succeeded in 1.2s: 113")."""
        return [
            int(n)
            for n in re.findall(rf"Task {re.escape(task_name)}\[[^\]]+\] succeeded in [\d.]+s: (\d+)", self.text())
        ]

    def kill(self) -> None:
        """kill -9 the worker's whole process group (the main process and any pool children)."""
        if self.process.poll() is None:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(self.process.pid, signal.SIGKILL)
        self.process.wait(timeout=10)


@dataclass
class Broker:
    """A queue of this test's own on the real Redis, and the worker subprocesses consuming it."""

    queue: str
    tmp: Path
    workers: list[Worker] = field(default_factory=list)

    @property
    def mail_dir(self) -> Path:
        return self.tmp / "mail"

    def start_worker(
        self, name: str, *, extra_queues: tuple[str, ...] = (), pool: str = "solo", concurrency: int = 1
    ) -> Worker:
        log = self.tmp / f"{name}.log"
        env = {
            **os.environ,
            "DJANGO_SETTINGS_MODULE": "config.settings",
            "DATABASE_URL": database_url(),
            "CELERY_BROKER_URL": broker_url(),
            "BROKER_TEST_QUEUE": self.queue,
            "EMAIL_URL": f"filemail:///{self.mail_dir}",
            "CONN_MAX_AGE": "0",
        }
        args = [
            f"--pool={pool}",
            f"--concurrency={concurrency}",
            f"--queues={','.join((self.queue, *extra_queues))}",
            f"--hostname={name}-{self.queue}@%h",
            f"--logfile={log}",
            "--loglevel=INFO",
            "--without-gossip",
            "--without-mingle",
            "--without-heartbeat",
        ]
        with open(self.tmp / f"{name}.stderr", "wb") as stderr:  # the child keeps its own descriptor
            process = subprocess.Popen(
                [sys.executable, "-c", WORKER_SCRIPT, *args],
                cwd=ROOT,
                env=env,
                stdout=subprocess.DEVNULL,
                stderr=stderr,
                start_new_session=True,  # its own process group, so kill -9 reaches the pool children too
            )
        worker = Worker(name=name, process=process, log=log)
        self.workers.append(worker)
        return worker

    def wait_ready(self, *workers: Worker) -> None:
        for worker in workers:

            def ready(worker: Worker = worker) -> bool:
                if worker.process.poll() is not None:
                    stderr = (self.tmp / f"{worker.name}.stderr").read_text(errors="replace")
                    raise AssertionError(f"Worker {worker.name} exited: {worker.text()[-2000:]}{stderr[-2000:]}")
                return " ready." in worker.text()

            wait_for(ready, timeout=30, what=f"worker {worker.name} to be ready")

    def send(self, task: Any, *, queue: str | None = None) -> None:
        """Through Redis, never eagerly: an explicit connection to the broker, so no pool of the test app is used."""
        with task.app.connection_for_write(broker_url()) as conn:
            task.apply_async(queue=queue or self.queue, connection=conn)

    def emails(self) -> list[email.message.Message]:
        if not self.mail_dir.exists():
            return []
        messages = []
        for path in sorted(self.mail_dir.iterdir()):
            for chunk in path.read_text(errors="replace").split("-" * 79):
                if chunk.strip():
                    messages.append(email.message_from_string(chunk.strip() + "\n"))
        return messages

    def email_subjects(self) -> list[str]:
        return [str(make_header(decode_header(message["Subject"] or ""))) for message in self.emails()]

    def stop_all(self) -> None:
        for worker in self.workers:
            worker.kill()
        # A killed worker's database sessions end a moment later; flush and teardown need them gone.
        wait_for(lambda: other_backends() == 0, timeout=20, what="the workers' database sessions to end")
        purge_queues(self.queue, *(f"{self.queue}.{w.name}" for w in self.workers))


def purge_queues(*names: str) -> None:
    """Empty this test's queues, and drop the messages a killed worker left unacknowledged on them
    (Redis would restore them to these dead queues after its visibility timeout)."""
    from config.celery import app

    with app.connection_for_write(broker_url()) as conn:
        channel = conn.default_channel
        for name in names:
            channel.queue_purge(name)  # Redis: 0 for a queue never used
            channel.client.delete(f"_kombu.binding.{name}", f"_kombu.binding_permanent.{name}")
        client = channel.client
        for tag, payload in client.hgetall(channel.unacked_key).items():
            if any(f'"{name}"' in payload.decode(errors="replace") for name in names):
                client.hdel(channel.unacked_key, tag)
                client.zrem(channel.unacked_index_key, tag)


@pytest.fixture
def broker(tmp_path: Path) -> Iterator[Broker]:
    """Tasks go through the broker in this test (conftest makes them eager for the session): restored after."""
    from config.celery import app

    saved = (app.conf.task_always_eager, app.conf.task_eager_propagates)
    app.conf.task_always_eager = False
    app.conf.task_eager_propagates = False
    # The workers must act as the one system actor; create it before two of them race to.
    user_system_actor()
    started = time.monotonic()
    subject = Broker(queue=f"broker-test-{uuid.uuid4().hex[:10]}", tmp=tmp_path)
    try:
        yield subject
    finally:
        try:
            subject.stop_all()
        finally:
            app.conf.task_always_eager, app.conf.task_eager_propagates = saved
    assert time.monotonic() - started < TEST_TIMEOUT, "the test took longer than its time box"


def submitted_in_the_past(*, count: int, ago: dt.timedelta, contract: Any = None) -> list[Milestone]:
    """`count` submitted milestones of one well-funded contract, submitted `ago` before now (real time).

    Eager Celery (the session's default) sends their setup emails in this process, not to the broker.
    """
    contract = contract or funded_contract(balance=(count + 1) * AMOUNT)
    with time_machine.travel(timezone.now() - ago, tick=True):
        return [
            milestone_in_state(S.SUBMITTED, contract=contract, amount=AMOUNT, title=f"Sweep {uuid.uuid4().hex[:8]}")
            for _ in range(count)
        ]


def due(count: int, **kwargs: Any) -> list[Milestone]:
    return submitted_in_the_past(count=count, ago=settings.MILESTONE_REVIEW_PERIOD + dt.timedelta(hours=1), **kwargs)


def releases_per_milestone(ids: list[int]) -> Counter[int]:
    rows = LedgerTransaction.objects.filter(kind=TransactionKind.RELEASE, milestone_id__in=ids)
    return Counter(rows.values_list("milestone_id", flat=True))


def released_count(ids: list[int]) -> int:
    return Milestone.objects.filter(pk__in=ids, state=S.RELEASED).count()


def assert_released_exactly_once(ids: list[int]) -> None:
    """Each released once, with its money: one release transaction and one earnings lot, nothing half-applied."""
    states = Counter(Milestone.objects.filter(pk__in=ids).values_list("state", flat=True))
    assert states == {S.RELEASED: len(ids)}
    releases = releases_per_milestone(ids)
    assert set(releases) == set(ids) and set(releases.values()) == {1}, releases.most_common(3)
    lots = Counter(
        EarningsLot.objects.filter(source_transaction__kind=TransactionKind.RELEASE, milestone_id__in=ids).values_list(
            "milestone_id", flat=True
        )
    )
    assert set(lots) == set(ids) and set(lots.values()) == {1}, lots.most_common(3)
    assert all(m.events.filter(action="auto_release").count() == 1 for m in Milestone.objects.filter(pk__in=ids))


def assert_ledger_ok() -> None:
    report = ledger_verify()
    assert report.violations == [], report.violations[:5]


def test_a_sweep_sent_through_redis_releases_in_postgres(broker: Broker):
    # Given one milestone whose 14-day review period ended an hour ago, and a worker on the real broker
    (milestone,) = due(1)
    worker = broker.start_worker("solo")
    broker.wait_ready(worker)

    # When the auto-release sweep is sent through Redis (not run eagerly in this process)
    broker.send(tasks.milestones_auto_release_due)

    # Then the worker releases it in the test database: state, one release transaction, its earnings lot
    wait_for(lambda: released_count([milestone.pk]) == 1, what="the milestone to be released by the worker")
    assert_released_exactly_once([milestone.pk])
    # And the worker ran the task (this process never did: eager mode is off)
    wait_for(lambda: worker.results(tasks.milestones_auto_release_due.name) == [1], what="the task's result in the log")
    # And both parties were told once, and emailed by the worker through the broker
    wait_for(
        lambda: (
            EmailDelivery.objects.filter(
                notification__object_id=milestone.pk, notification__kind=NotificationKind.MILESTONE_AUTO_RELEASED
            ).count()
            >= 2
        ),
        what="the release emails",
    )
    assert_ledger_ok()


def test_two_workers_sweep_200_due_milestones_and_reminders_at_once(broker: Broker):
    # Given one contract with 200 milestones past their review period and 20 inside the last day of it
    started = time.monotonic()
    contract = funded_contract(balance=230 * AMOUNT)
    due_ids = [m.pk for m in due(200, contract=contract)]
    soon = submitted_in_the_past(
        count=20, ago=settings.MILESTONE_REVIEW_PERIOD - dt.timedelta(hours=12), contract=contract
    )
    soon_ids = [m.pk for m in soon]
    setup = time.monotonic() - started
    assert setup < 60, f"setup took {setup:.0f} s"
    before = Notification.objects.order_by("-pk").values_list("pk", flat=True).first() or 0
    # And two workers, each with two pool processes and a queue of its own besides the shared one
    a = broker.start_worker("a", extra_queues=(f"{broker.queue}.a",), pool="prefork", concurrency=2)
    b = broker.start_worker("b", extra_queues=(f"{broker.queue}.b",), pool="prefork", concurrency=2)
    broker.wait_ready(a, b)

    # When each worker gets an auto-release sweep and a review-reminder sweep at the same moment
    for name in ("a", "b"):
        broker.send(tasks.milestones_auto_release_due, queue=f"{broker.queue}.{name}")
        broker.send(tasks.milestones_review_reminders_send, queue=f"{broker.queue}.{name}")

    # Then all 200 are released, and every review reminder recorded
    release_task, remind_task = tasks.milestones_auto_release_due.name, tasks.milestones_review_reminders_send.name
    wait_for(
        lambda: (
            len(a.results(release_task) + b.results(release_task)) == 2
            and len(a.results(remind_task) + b.results(remind_task)) == 2
        ),
        what="the four sweeps to finish",
    )
    released = a.results(release_task) + b.results(release_task)
    reminded = a.results(remind_task) + b.results(remind_task)
    # And the two release sweeps really overlapped (both released some) yet shared the work: 200 in all
    assert sum(released) == 200 and min(released) > 0, released
    assert sum(reminded) == 20, reminded
    assert_released_exactly_once(due_ids)
    # And each client was reminded once per milestone: one record, one notice, one email
    reminders = Counter(MilestoneReminder.objects.filter(milestone_id__in=soon_ids).values_list("milestone_id", "kind"))
    assert reminders == {(pk, MilestoneReminder.Kind.REVIEW_1D): 1 for pk in soon_ids}
    notices = Notification.objects.filter(pk__gt=before)
    # (a reminder notice names its milestone by title only: each title here is unique)
    titles = {m.title for m in soon}
    reminder_notices = Counter(
        (subject.split(":")[0], recipient)
        for subject, recipient in notices.filter(kind=NotificationKind.REVIEW_REMINDER).values_list(
            "subject", "recipient_id"
        )
    )
    assert reminder_notices == {(title, contract.client_id): 1 for title in titles}
    # And each release told client and freelancer once each
    money_notices = Counter(
        notices.filter(kind=NotificationKind.MILESTONE_AUTO_RELEASED, object_type="milestone").values_list(
            "object_id", "recipient_id"
        )
    )
    expected = {(pk, user): 1 for pk in due_ids for user in (contract.client_id, contract.freelancer_id)}
    assert money_notices == expected
    # And the emails the workers sent: one per reminder
    wait_for(
        lambda: sum(any(t in s for t in titles) for s in broker.email_subjects()) >= 20,
        what="the 20 reminder emails",
    )
    time.sleep(1)  # a duplicate would be sent right behind the first
    per_title = Counter(t for s in broker.email_subjects() for t in titles if t in s and "review by" in s)
    assert per_title == dict.fromkeys(titles, 1)
    assert_ledger_ok()


def test_kill_9_mid_sweep_then_a_new_worker_finishes_it_exactly_once(broker: Broker):
    # Given 200 due milestones and a worker that starts sweeping them
    ids = [m.pk for m in due(200)]
    first = broker.start_worker("doomed")
    broker.wait_ready(first)
    broker.send(tasks.milestones_auto_release_due)

    # When the worker is killed with SIGKILL after some but not all are released
    wait_for(lambda: released_count(ids) >= 10, what="the sweep to release some", interval=0.02)
    first.kill()
    wait_for(lambda: other_backends() == 0, timeout=20, what="the killed worker's database session to end")
    # (its open transaction was rolled back by PostgreSQL, its row lock released)
    partly = released_count(ids)
    assert 10 <= partly < 200, f"the kill came too late to test anything: {partly} released"
    # Then nothing is half-applied: every released milestone has its one release and lot, the rest none
    released_ids = list(Milestone.objects.filter(pk__in=ids, state=S.RELEASED).values_list("pk", flat=True))
    assert_released_exactly_once(released_ids)
    assert not releases_per_milestone(sorted(set(ids) - set(released_ids)))
    assert_ledger_ok()

    # When a new worker starts and the sweep is sent again (the killed one's message waits for Redis's
    # visibility timeout before it is redelivered; the sweep is idempotent either way)
    second = broker.start_worker("second")
    broker.wait_ready(second)
    broker.send(tasks.milestones_auto_release_due)

    # Then every due milestone is released exactly once, and the ledger verifies
    wait_for(lambda: released_count(ids) == 200, what="the second sweep to release the rest")
    wait_for(lambda: second.results(tasks.milestones_auto_release_due.name) == [200 - partly], what="its result")
    assert_released_exactly_once(ids)
    assert_ledger_ok()
