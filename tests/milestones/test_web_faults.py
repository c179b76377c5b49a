"""kill -9 gunicorn workers in the middle of release requests: nothing is half-applied, a retry releases once.

gunicorn serves the project (`config.wsgi`) on a loopback port against the test database, its sessions
tagged by `application_name`. One client session posts a release for each of 40 submitted milestones,
six at a time. The test holds the freelancer's user row `FOR UPDATE`, so every release blocks at the
latest inside its transaction: at COMMIT, where the deferred foreign keys of its earnings lot and notice
take `KEY SHARE` on that row, or on the balance rows the one ahead of it holds. Once both workers are
waiting inside a transaction, both are killed with SIGKILL; the master starts two new ones, the lock goes,
and the rest of the requests are served.

Every request whose worker died is then either untouched (its transaction was rolled back) or fully
applied (its COMMIT had already been sent); never in between: state, release transaction, earnings lot
and audit row all agree. Posting the same form again (same one-time token) releases the untouched ones
and refuses the applied ones, so each milestone is released exactly once, and `ledger_verify` passes.

What breaks it: a release that commits its state and its money in separate transactions, a retry that
pays twice (no one-time token), or a server that never recovers from losing its workers.
"""

import contextlib
import http.client
import os
import re
import signal
import socket
import subprocess
import sys
import time
import uuid
from collections import Counter
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlencode

import pytest
from django.conf import settings
from django.db import connection, transaction
from django.test import Client

from milestones.models import Milestone, MilestoneAction, MilestoneEvent, MilestoneState
from payments.models import EarningsLot, TransactionKind
from tests.milestones.factories import funded_contract, milestone_in_state
from tests.milestones.test_broker import assert_ledger_ok, releases_per_milestone, wait_for
from users.models import User

pytestmark = [pytest.mark.postgres, pytest.mark.django_db(transaction=True)]

S = MilestoneState
ROOT = Path(__file__).resolve().parents[2]
APPLICATION_NAME = "milestone-gunicorn-fault-test"
COUNT = 40
AMOUNT = 1_000
TEST_TIMEOUT = 150  # seconds


def database_url() -> str:
    db = connection.settings_dict
    password = f":{db['PASSWORD']}" if db.get("PASSWORD") else ""
    host = f"{db['HOST'] or '127.0.0.1'}:{db['PORT'] or 5432}"
    return f"postgres://{db['USER']}{password}@{host}/{db['NAME']}?application_name={APPLICATION_NAME}"


SERVER_SESSIONS = "SELECT count(*) FROM pg_stat_activity WHERE datname = current_database() AND application_name = %s"
BLOCKED = " AND wait_event_type = 'Lock' AND xact_start IS NOT NULL"


def server_backends(*, waiting_on_a_lock: bool = False) -> int:
    """The server's database sessions (with `waiting_on_a_lock`: only those blocked on a lock in a transaction)."""
    with connection.cursor() as cursor:
        # Inside a transaction PostgreSQL keeps showing its first look at pg_stat_activity unless told to look again.
        cursor.execute("SELECT pg_stat_clear_snapshot()")
        cursor.execute(SERVER_SESSIONS + BLOCKED if waiting_on_a_lock else SERVER_SESSIONS, [APPLICATION_NAME])
        return cursor.fetchone()[0]


def children_of(pid: int) -> set[int]:
    found = set()
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            with contextlib.suppress(OSError):
                # "pid (comm) state ppid ...": the name may hold spaces, so split after its closing parenthesis
                fields = (entry / "stat").read_text().rsplit(")", 1)[1].split()
                if int(fields[1]) == pid:
                    found.add(int(entry.name))
    return found


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


@dataclass
class Server:
    process: subprocess.Popen[bytes]
    port: int
    log: Path

    def workers(self) -> set[int]:
        return children_of(self.process.pid)

    def request(self, method: str, path: str, *, cookies: dict[str, str], body: str = "") -> http.client.HTTPResponse:
        conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=60)
        headers = {"Cookie": "; ".join(f"{k}={v}" for k, v in cookies.items()), "Connection": "close"}
        if body:
            headers["Content-Type"] = "application/x-www-form-urlencoded"
        conn.request(method, path, body=body or None, headers=headers)
        response = conn.getresponse()
        response.read()
        conn.close()
        return response

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(timeout=15)
            except subprocess.TimeoutExpired:
                os.killpg(self.process.pid, signal.SIGKILL)
                self.process.wait(timeout=10)


@pytest.fixture
def server(tmp_path: Path) -> Iterator[Server]:
    """gunicorn, two sync workers, against the test database; stopped (and its sessions gone) afterwards."""
    started = time.monotonic()
    port, log = free_port(), tmp_path / "gunicorn.log"
    env = {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "config.settings",
        "DATABASE_URL": database_url(),
        "CONN_MAX_AGE": "0",
        # The session cookie's signature and the login hash need this process's key.
        "SECRET_KEY": settings.SECRET_KEY,
        "MILESTONE_VAR_DIR": str(tmp_path / "var"),
        # Emails queued after commit go to an in-process broker nobody reads: this test is about the money.
        "CELERY_BROKER_URL": "memory://",
        "EMAIL_URL": "memorymail://",
    }
    command = [
        *(sys.executable, "-m", "gunicorn", "config.wsgi:application"),
        *("--bind", f"127.0.0.1:{port}", "--workers", "2", "--worker-class", "sync", "--timeout", "60"),
        *("--error-logfile", str(log), "--access-logfile", str(log)),
    ]
    process = subprocess.Popen(command, cwd=ROOT, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    subject = Server(process=process, port=port, log=log)

    def answers() -> bool:
        if process.poll() is not None:
            raise AssertionError(f"gunicorn exited: {log.read_text(errors='replace')[-3000:]}")
        try:
            return subject.request("GET", "/accounts/login/", cookies={}).status == 200
        except OSError:
            return False

    try:
        wait_for(answers, timeout=30, what="gunicorn to answer")
        wait_for(lambda: len(subject.workers()) == 2, timeout=30, what="two gunicorn workers")
        yield subject
    finally:
        subject.stop()
        wait_for(lambda: server_backends() == 0, timeout=20, what="the server's database sessions to end")
    assert time.monotonic() - started < TEST_TIMEOUT, "the test took longer than its time box"


def session_cookies(server: Server, user: User, milestone: Milestone) -> dict[str, str]:
    """A logged-in session, and the CSRF cookie and token a milestone page hands out (sent back with each POST)."""
    login = Client()
    login.force_login(user)
    cookies = {settings.SESSION_COOKIE_NAME: login.cookies[settings.SESSION_COOKIE_NAME].value}
    conn = http.client.HTTPConnection("127.0.0.1", server.port, timeout=30)
    conn.request("GET", f"/milestones/{milestone.pk}/", headers={"Cookie": f"sessionid={cookies['sessionid']}"})
    response = conn.getresponse()
    page = response.read().decode()
    assert response.status == 200, page[:500]
    csrf_cookie = re.search(r"csrftoken=([^;]+)", response.getheader("Set-Cookie") or "")
    token = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', page)
    assert csrf_cookie and token
    return cookies | {"csrftoken": csrf_cookie.group(1), "_token": token.group(1)}


@dataclass
class Release:
    milestone_id: int
    form_token: str
    status: int | None = None  # the HTTP status, None when the connection died without an answer

    def post(self, server: Server, cookies: dict[str, str]) -> "Release":
        body = urlencode({"csrfmiddlewaretoken": cookies["_token"], "release-form_token": self.form_token})
        session = {key: value for key, value in cookies.items() if not key.startswith("_")}
        path = f"/milestones/{self.milestone_id}/release/"
        try:
            self.status = server.request("POST", path, cookies=session, body=body).status
        except (ConnectionError, http.client.HTTPException):
            self.status = None
        return self


def applied(milestone_id: int) -> bool | None:
    """True: released with its money and audit row; False: untouched; None: anything in between."""
    state = Milestone.objects.get(pk=milestone_id).state
    releases = releases_per_milestone([milestone_id])[milestone_id]
    lots = EarningsLot.objects.filter(milestone_id=milestone_id, source_transaction__kind=TransactionKind.RELEASE)
    events = MilestoneEvent.objects.filter(milestone_id=milestone_id, action=MilestoneAction.RELEASE).count()
    if (state, releases, lots.count(), events) == (S.RELEASED, 1, 1, 1):
        return True
    if (state, releases, lots.count(), events) == (S.SUBMITTED, 0, 0, 0):
        return False
    return None


def test_kill_9_gunicorn_workers_mid_release_then_a_retry_releases_each_exactly_once(server: Server):
    # Given 40 submitted milestones of one client, and that client's session on the gunicorn server
    contract = funded_contract(balance=(COUNT + 1) * AMOUNT)
    ids = [milestone_in_state(S.SUBMITTED, contract=contract, amount=AMOUNT).pk for _ in range(COUNT)]
    cookies = session_cookies(server, contract.client, Milestone.objects.get(pk=ids[0]))
    releases = [Release(milestone_id=pk, form_token=str(uuid.uuid4())) for pk in ids]
    first_workers = server.workers()

    # When the client posts all 40 releases, six at a time, while the freelancer's row is held
    with ThreadPoolExecutor(max_workers=6) as pool:
        with transaction.atomic():
            User.objects.select_for_update().get(pk=contract.freelancer_id)
            futures = [pool.submit(release.post, server, cookies) for release in releases]
            # And both workers are inside a release transaction, waiting on a lock
            wait_for(lambda: server_backends(waiting_on_a_lock=True) == 2, timeout=30, what="two blocked releases")
            # Then kill -9 both, mid-request
            for pid in first_workers:
                os.kill(pid, signal.SIGKILL)
            # And the master starts two new workers
            wait_for(lambda: len(server.workers() - first_workers) == 2, timeout=30, what="the master to restart them")
        # (the lock is released here; the new workers serve the requests still waiting)
        done = [future.result(timeout=60) for future in futures]

    # Then the killed workers' two requests died without an answer; every other request was answered
    died = [release for release in done if release.status is None]
    assert len(died) == 2, Counter(release.status for release in done)
    assert {release.status for release in done if release.status is not None} == {302}
    # And nothing is half-applied: each milestone is released with its money, or untouched
    outcomes = {release.milestone_id: applied(release.milestone_id) for release in done}
    assert None not in outcomes.values(), {pk: o for pk, o in outcomes.items() if o is None}
    answered = {release.milestone_id for release in done if release.status is not None}
    assert all(outcomes[pk] for pk in answered)
    # And of the two that died, the one whose COMMIT was already sent is fully applied, the other untouched
    assert sorted(outcomes[release.milestone_id] for release in died) == [False, True]
    assert_ledger_ok()

    # When the client posts the requests that died again, with the same one-time tokens
    retried = [release.post(server, cookies) for release in died]
    # Then each is answered, and every milestone is released exactly once: one state change, one release, one lot
    assert [release.status for release in retried] == [302] * len(died)
    assert all(applied(pk) for pk in ids)
    assert Counter(Milestone.objects.filter(pk__in=ids).values_list("state", flat=True)) == {S.RELEASED: COUNT}
    assert set(releases_per_milestone(ids).values()) == {1}
    assert_ledger_ok()
