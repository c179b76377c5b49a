"""Milestone's benchmarks: every figure is a ratio to a baseline measured in the same run.

    python bench/run.py setup|pages|sizes|ledger|sweeps|memory|report

Each step writes var/bench/<step>.json; `report` joins them into results.json, results.md and
latency.png. Run through `make bench` (README: Benchmarks), which sets DATABASE_URL to the bench's
own database.
"""

import datetime as dt
import json
import os
import re
import shutil
import signal
import statistics
import subprocess
import sys
import time
import uuid
from collections.abc import Callable
from multiprocessing import Process, Queue
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
OUT = ROOT / "var" / "bench"
PORT = int(os.environ.get("BENCH_PORT", "8106"))
BASE = f"http://127.0.0.1:{PORT}"
SECONDS = float(os.environ.get("BENCH_SECONDS", "3"))
WORKERS = 8
CYCLE_MILESTONES = 3000  # approved milestones per ledger worker: more than 15 s of cycles use
SWEEP_DUE = 1000
SWEEP_TOTAL = int(os.environ.get("BENCH_SWEEP_TOTAL", "1000000"))
MEMORY_REQUESTS = int(os.environ.get("BENCH_MEMORY_REQUESTS", "20000"))
sys.path.insert(0, str(ROOT))


def _django() -> None:
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")
    import django

    django.setup()


def _save(name: str, data: dict[str, Any]) -> None:
    OUT.mkdir(parents=True, exist_ok=True)
    (OUT / f"{name}.json").write_text(json.dumps(data, indent=2, default=str))
    print(json.dumps(data, indent=2, default=str))


def _load(name: str) -> dict[str, Any]:
    path = OUT / f"{name}.json"
    return json.loads(path.read_text()) if path.exists() else {}


# --- setup: the bench database's data, built once --------------------------------------
def _database_ready() -> None:
    """The bench database set up as a deployment's: both roles, owned by the owner, who migrates."""
    from django.core.management import call_command

    call_command("db_roles_create", verbosity=0)
    call_command("migrate", database="owner", verbosity=0, interactive=False)


def _analyze() -> None:
    """VACUUM ANALYZE as the superuser, as autovacuum would in time: bulk-built tables have no statistics
    yet, and the planner would scan what an index finds in a fraction of a millisecond."""
    import psycopg
    from django.conf import settings

    target = psycopg.conninfo.make_conninfo(
        settings.DATABASE_SUPERUSER_URL, dbname=settings.DATABASES["default"]["NAME"]
    )
    with psycopg.connect(target, autocommit=True) as connection:
        connection.execute("VACUUM ANALYZE")


def setup() -> None:
    _django()
    _database_ready()
    seed = _load("seed")
    from users.models import User

    if seed and User.objects.filter(pk=seed.get("client_1x")).exists():
        print("bench data already built:", OUT / "seed.json")
        return
    from django.test import Client

    from tests.config.factories import history_at_scale
    from tests.milestones.factories import client_deposit

    started = time.monotonic()
    data: dict[str, Any] = {}
    for scale in (1, 20):
        history = history_at_scale(scale)
        data[f"client_{scale}x"] = history.client.pk
        data[f"pages_{scale}x"] = {}
        for name, (viewer, path) in history.pages().items():
            browser = Client()
            browser.force_login(viewer)
            data[f"pages_{scale}x"][name] = {"path": path, "session": browser.cookies["sessionid"].value}
    # The ledger workers: one client and contract each, with approved milestones to fund and release.
    from tests.config.factories import approved_like_the_first
    from tests.contracts.factories import contract_started

    data["workers"] = []
    for _ in range(WORKERS):
        contract = contract_started(milestones=1, amount=100)
        approved_like_the_first(contract, CYCLE_MILESTONES)
        for _ in range(2):
            client_deposit(user=contract.client, amount=1_000_000)
        data["workers"].append({"client": contract.client_id, "contract": contract.pk})
    _analyze()
    data["seconds"] = round(time.monotonic() - started, 1)
    _save("seed", data)


# --- pages: gunicorn under wrk, against the bare view ------------------------------------
class Server:
    """gunicorn with sync workers on the bench database, DEBUG off, persistent connections."""

    def __init__(self, workers: int = 2) -> None:
        # Only the application role's login reaches the server, as in production.
        env = {k: v for k, v in os.environ.items() if k not in ("MIGRATION_DATABASE_URL", "DATABASE_SUPERUSER_URL")}
        env = {**env, "DEBUG": "false", "CONN_MAX_AGE": "60", "BENCH_VIEWS": "true", "LOG_LEVEL": "WARNING"}
        gunicorn = str(Path(sys.executable).parent / "gunicorn")
        self.process = subprocess.Popen(
            [gunicorn, "config.wsgi", "-w", str(workers), "-b", f"127.0.0.1:{PORT}", "--log-level", "warning"],
            cwd=ROOT,
            env=env,
        )
        for _ in range(100):
            try:
                subprocess.run(["curl", "-sf", "-o", "/dev/null", f"{BASE}/healthz/"], check=True, timeout=2)
                return
            except subprocess.SubprocessError:
                time.sleep(0.2)
        self.stop()
        raise RuntimeError("gunicorn did not start")

    def worker_pids(self) -> list[int]:
        children = Path(f"/proc/{self.process.pid}/task/{self.process.pid}/children").read_text().split()
        return [int(pid) for pid in children]

    def stop(self) -> None:
        self.process.send_signal(signal.SIGTERM)
        self.process.wait(timeout=30)


def _wrk(path: str, session: str, *, connections: int, seconds: float, script: Path | None = None) -> dict[str, Any]:
    threads = min(2, connections)
    command = [
        "wrk",
        f"-t{threads}",
        f"-c{connections}",
        f"-d{max(1, round(seconds))}s",
        "--latency",
        "--timeout",
        "30s",
    ]
    if session:
        command += ["-H", f"Cookie: sessionid={session}"]
    if script is not None:
        command += ["-s", str(script)]
    result = subprocess.run([*command, BASE + path], capture_output=True, text=True, check=True)
    text = result.stdout
    if "Non-2xx" in text or "Socket errors" in text:
        raise RuntimeError(f"{path}: errors under load\n{text}")

    def ms(label: str) -> float:
        match = re.search(rf"{label}\s+([\d.]+)(us|ms|s)\b", text)
        if match is None:
            return float("nan")
        value, unit = float(match.group(1)), match.group(2)
        return value / 1000 if unit == "us" else value * 1000 if unit == "s" else value

    requests = re.search(r"(\d+) requests in", text)
    return {
        "rps": float(re.search(r"Requests/sec:\s+([\d.]+)", text).group(1)),  # type: ignore[union-attr]
        "p50_ms": ms("50%"),
        "p99_ms": ms("99%"),
        "requests": int(requests.group(1)) if requests else 0,
    }


def _check(path: str, session: str) -> None:
    """A 200 for this session (wrk counts a redirect to the login page as a success)."""
    status = subprocess.run(
        ["curl", "-s", "-o", "/dev/null", "-w", "%{http_code}", "-b", f"sessionid={session}", BASE + path],
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    if status != "200":
        raise RuntimeError(f"{path} answered {status}, not 200")


def pages() -> None:
    if shutil.which("wrk") is None:
        raise SystemExit("wrk is needed: apt-get install -y wrk (make bench tries)")
    seed = _load("seed")
    pages_1x = seed["pages_1x"]
    bare_session = pages_1x["client dashboard"]["session"]
    load_before = os.getloadavg()
    server = Server(workers=2)
    try:
        results: dict[str, Any] = {"concurrency": 16, "seconds": SECONDS, "pages": {}, "curve": {}}
        results["load_before"] = load_before
        _check("/bench/bare/", bare_session)
        _wrk("/bench/bare/", bare_session, connections=16, seconds=1)  # warm both workers
        bare = _wrk("/bench/bare/", bare_session, connections=16, seconds=SECONDS)
        results["bare"] = bare
        for name, page in pages_1x.items():
            _check(page["path"], page["session"])
            _wrk(page["path"], page["session"], connections=2, seconds=0.5)
            measured = _wrk(page["path"], page["session"], connections=16, seconds=SECONDS)
            measured["share_of_bare"] = measured["rps"] / bare["rps"]
            results["pages"][name] = measured
        # Latency against concurrency, for the chart.
        for name, path, session in (
            ("bare view", "/bench/bare/", bare_session),
            ("contract page", pages_1x["contract page"]["path"], pages_1x["contract page"]["session"]),
            ("client dashboard", pages_1x["client dashboard"]["path"], pages_1x["client dashboard"]["session"]),
        ):
            results["curve"][name] = {
                str(c): _wrk(path, session, connections=c, seconds=min(SECONDS, 2)) for c in (1, 4, 16, 32)
            }
    finally:
        server.stop()
    _save("pages", results)


# --- sizes: each page in-process at 1x and 20x -------------------------------------------
def sizes() -> None:
    _django()
    from django.db import connection
    from django.test import Client
    from django.test.utils import CaptureQueriesContext

    seed = _load("seed")
    results: dict[str, Any] = {}
    for name in seed["pages_1x"]:
        row: dict[str, Any] = {}
        for scale in ("1x", "20x"):
            page = seed[f"pages_{scale}"][name]
            browser = Client(HTTP_HOST="127.0.0.1")  # an allowed host: testserver is for tests
            browser.cookies["sessionid"] = page["session"]
            browser.get(page["path"])
            times = []
            for _ in range(5):
                with CaptureQueriesContext(connection) as queries:
                    begun = time.perf_counter()
                    response = browser.get(page["path"])
                    times.append((time.perf_counter() - begun) * 1000)
                assert response.status_code == 200, (name, scale, response.status_code)
            row[scale] = {"bytes": len(response.content), "queries": len(queries), "ms": statistics.median(times)}
        row["bytes_ratio"] = row["20x"]["bytes"] / row["1x"]["bytes"]
        row["queries_ratio"] = row["20x"]["queries"] / row["1x"]["queries"]
        row["time_ratio"] = row["20x"]["ms"] / row["1x"]["ms"]
        results[name] = row
    _save("sizes", results)


# --- ledger: fund -> release from 8 processes against pgbench ----------------------------
def _worker_loop(
    kind: str, worker: dict[str, int], seconds: float, ready: "Queue[int]", start: Any, results: "Queue[Any]"
) -> None:
    _django()
    from contracts.models import Contract
    from milestones.models import MilestoneState
    from milestones.services import milestone_fund, milestone_release
    from payments.services import deposit

    contract = Contract.objects.select_related("client", "freelancer").get(pk=worker["contract"])
    client = contract.client
    todo = list(contract.milestones.filter(state=MilestoneState.APPROVED).order_by("pk"))

    def once() -> None:
        if kind == "cycle":
            milestone = todo.pop()
            milestone.contract = contract
            milestone = milestone_fund(milestone=milestone, actor=client)
            milestone_release(milestone=milestone, actor=client)
        else:
            key = uuid.uuid4().hex
            deposit(user=client, amount=100, currency="USD", card_number="4242424242424242", idempotency_key=key)

    once()  # warm: imports, URL resolver, connection; then wait for the others
    ready.put(1)
    start.wait()
    latencies = []
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        begun = time.perf_counter()
        once()
        latencies.append((time.perf_counter() - begun) * 1000)
    results.put((len(latencies), latencies))


def _in_processes(kind: str, seconds: float) -> dict[str, Any]:
    """`kind` ("cycle" or "deposit") in a loop from 8 processes at once, after each warmed up."""
    from multiprocessing import Event

    seed = _load("seed")
    from django.db import connections

    connections.close_all()
    ready: Queue[int] = Queue()
    results: Queue[Any] = Queue()
    start = Event()
    processes = [Process(target=_worker_loop, args=(kind, w, seconds, ready, start, results)) for w in seed["workers"]]
    for process in processes:
        process.start()
    for _ in processes:
        ready.get()
    start.set()
    outcomes = [results.get() for _ in processes]
    for process in processes:
        process.join()
    latencies = sorted(lat for _, batch in outcomes for lat in batch)
    done = sum(count for count, _ in outcomes)
    return {"per_second": done / seconds, "count": done, "p50_ms": latencies[len(latencies) // 2]}


def _pgbench(seconds: float) -> dict[str, Any]:
    """pgbench's TPC-B-like script, scale 8, 8 clients, on the same server, in a database of its own
    (made with the superuser's login: the application role may create nothing)."""
    import psycopg
    from django.conf import settings

    superuser = settings.DATABASE_SUPERUSER_URL
    database = f"{settings.DATABASES['default']['NAME']}_pgbench"
    with psycopg.connect(superuser, autocommit=True) as connection:
        if not connection.execute("SELECT 1 FROM pg_database WHERE datname = %s", [database]).fetchall():
            connection.execute(f'CREATE DATABASE "{database}"')
    target = psycopg.conninfo.make_conninfo(superuser, dbname=database)
    subprocess.run(["pgbench", "-i", "-q", "-s", "8", target], check=True, capture_output=True)
    result = subprocess.run(
        ["pgbench", "-c", "8", "-j", "2", "-T", str(int(seconds)), target],
        check=True,
        capture_output=True,
        text=True,
    )
    tps = float(re.search(r"tps = ([\d.]+)", result.stdout).group(1))  # type: ignore[union-attr]
    return {"tps": tps}


def ledger() -> None:
    _django()
    seconds = max(SECONDS, 10)
    results: dict[str, Any] = {"processes": WORKERS, "seconds": seconds}
    results["pgbench"] = _pgbench(seconds)
    results["cycles"] = _in_processes("cycle", seconds)
    results["transfers"] = _in_processes("deposit", seconds)
    results["cycles_vs_pgbench"] = results["cycles"]["per_second"] / results["pgbench"]["tps"]
    results["transfers_vs_pgbench"] = results["transfers"]["per_second"] / results["pgbench"]["tps"]
    _save("ledger", results)


# --- sweeps: 1,000 due among 1,000 and among 1,000,000 -----------------------------------
def sweeps() -> None:
    _django()
    from django.db import connection
    from django.utils import timezone

    from milestones.models import Milestone, MilestoneReminder, MilestoneState
    from milestones.services import milestone_fund_many
    from milestones.services.timers import milestone_due_reminders_send
    from tests.config.factories import approved_like_the_first
    from tests.contracts.factories import contract_started
    from tests.milestones.factories import client_deposit

    # Its own database (make bench-sweeps sets it), so "among 1,000" means 1,000 milestones in all.
    _database_ready()
    seed = _load("sweeps_seed")
    if not seed.get("sweep_contract") or not Milestone.objects.filter(contract_id=seed["sweep_contract"]).exists():
        # 1,000 milestones funded through the service, due tomorrow: each gets a reminder.
        contract = contract_started(milestones=1, amount=100)
        approved_like_the_first(contract, SWEEP_DUE)
        client_deposit(user=contract.client, amount=200_000)
        due = list(contract.milestones.order_by("pk"))
        for milestone in due:
            milestone.contract = contract
        milestone_fund_many(milestones=due, actor=contract.client)
        Milestone.objects.filter(contract=contract).update(due_at=timezone.now() + dt.timedelta(hours=20))
        filler_template = contract_started(milestones=1).milestones.get()
        seed = {"sweep_contract": contract.pk, "filler_template": filler_template.pk}
        _save("sweeps_seed", seed)
    contract_id = seed["sweep_contract"]

    def sweep() -> float:
        MilestoneReminder.objects.filter(milestone__contract_id=contract_id).delete()
        begun = time.perf_counter()
        # One sweep call over all of them (a beat run handles up to its limit).
        sent = milestone_due_reminders_send(limit=SWEEP_DUE * 2)
        elapsed = time.perf_counter() - begun
        if sent < SWEEP_DUE:
            raise RuntimeError(f"the sweep sent {sent} reminders, expected {SWEEP_DUE}")
        return elapsed

    total_before = Milestone.objects.count()
    results: dict[str, Any] = {}
    if total_before <= SWEEP_DUE * 2:
        results["small"] = {"milestones": total_before, "seconds": sweep()}
    filler = SWEEP_TOTAL - Milestone.objects.count()
    if filler > 0:
        # Approved milestones of one contract that are not due: the rows the sweep's index must skip.
        template = Milestone.objects.get(pk=seed["filler_template"], state=MilestoneState.APPROVED)
        columns = [f.column for f in Milestone._meta.concrete_fields if not f.primary_key]
        begun = time.monotonic()
        with connection.cursor() as cursor:
            cursor.execute(
                f"INSERT INTO {Milestone._meta.db_table} ({', '.join(columns)}) "  # noqa: S608
                f"SELECT {', '.join(columns)} FROM {Milestone._meta.db_table}, generate_series(1, %s) "
                f"WHERE id = %s",
                [filler, template.pk],
            )
        _analyze()
        results["filler_seconds"] = time.monotonic() - begun
    results["large"] = {"milestones": Milestone.objects.count(), "seconds": sweep()}
    if "small" not in results:
        results["small"] = _load("sweeps").get("small", {})
    if results["small"]:
        results["ratio"] = results["large"]["seconds"] / results["small"]["seconds"]
    _save("sweeps", results)


# --- memory: a worker's RSS before and after 20,000 requests -----------------------------
def _rss_kb(pid: int) -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1])
    raise RuntimeError("no VmRSS")


CYCLE_SCRIPT = """
-- Each request the next page in turn, with its viewer's session (wrk's -H would send one cookie to all).
local pages = {%s}
local turn = 0
request = function()
   turn = turn + 1
   local page = pages[(turn %% #pages) + 1]
   local headers = {}
   for name, value in pairs(wrk.headers) do headers[name] = value end
   headers["Cookie"] = "sessionid=" .. page[2]
   return wrk.format("GET", page[1], headers)
end
"""


def _requests(pages: list[tuple[str, str]], *, count: int) -> int:
    """At least `count` GETs cycling through (path, session) pairs, by wrk (4 connections), each answered 200.

    wrk runs for a time, not a count: a short run measures the rate, then shorter and shorter runs cover what is left.
    """
    script = OUT / "cycle.lua"
    script.write_text(CYCLE_SCRIPT % ", ".join(f'{{"{path}", "{session}"}}' for path, session in pages))
    done, rate = 0, 0.0
    while done < count:
        # Aim a little short of what is left, so the last runs top up by a second or so, not overshoot.
        seconds = 3 if not rate else max(1, 0.95 * (count - done) / rate)
        run = _wrk(pages[0][0], "", connections=4, seconds=seconds, script=script)
        done += run["requests"]
        rate = run["rps"] or 1.0
    return done


def memory() -> None:
    seed = _load("seed")
    pages_1x = seed["pages_1x"]
    # Cycle through every measured page, each with its viewer's session.
    pages = [(p["path"], p["session"]) for p in pages_1x.values()]
    server = Server(workers=1)
    try:
        (worker,) = server.worker_pids()
        # Warm every page first (imports, templates, connection), then measure.
        for path, session in pages:
            _check(path, session)
        _requests(pages, count=min(200, MEMORY_REQUESTS))
        before = _rss_kb(worker)
        done = _requests(pages, count=MEMORY_REQUESTS)
        after = _rss_kb(worker)
        if server.worker_pids() != [worker]:
            raise RuntimeError("the worker was replaced during the run")
    finally:
        server.stop()
    _save(
        "memory",
        {
            "requests": done,
            "rss_before_kb": before,
            "rss_after_kb": after,
            "ratio": after / before,
            "pages": [path for path, _ in pages],
        },
    )


# --- report ------------------------------------------------------------------------------
def report() -> None:
    results = {name: _load(name) for name in ("pages", "sizes", "ledger", "sweeps", "memory")}
    (OUT / "results.json").write_text(json.dumps(results, indent=2))
    lines = ["| benchmark | figure | baseline | ratio |", "|---|---|---|---|"]
    pages_data = results["pages"]
    if pages_data:
        bare = pages_data["bare"]["rps"]
        lines.append(f"| bare view (16 connections) | {bare:.0f} req/s | itself | 1.00 |")
        for name, page in pages_data["pages"].items():
            lines.append(
                f"| {name} | {page['rps']:.0f} req/s, p50 {page['p50_ms']:.0f} ms | bare view | "
                f"{page['share_of_bare']:.2f} |"
            )
    for name, row in results["sizes"].items():
        lines.append(
            f"| {name} at 20x / 1x | {row['20x']['bytes'] // 1024} KB, {row['20x']['queries']} queries, "
            f"{row['20x']['ms']:.0f} ms | {row['1x']['bytes'] // 1024} KB, {row['1x']['queries']} queries, "
            f"{row['1x']['ms']:.0f} ms | bytes {row['bytes_ratio']:.2f}, queries {row['queries_ratio']:.2f}, "
            f"time {row['time_ratio']:.2f} |"
        )
    ledger_data = results["ledger"]
    if ledger_data:
        tps = ledger_data["pgbench"]["tps"]
        cycles, transfers = ledger_data["cycles"], ledger_data["transfers"]
        lines.append(
            f"| fund → release cycles, 8 processes | {cycles['per_second']:.0f}/s, p50 {cycles['p50_ms']:.0f} ms | "
            f"pgbench TPC-B-like {tps:.0f} tps | {ledger_data['cycles_vs_pgbench']:.3f} |"
        )
        lines.append(
            f"| single transfers (deposits), 8 processes | {transfers['per_second']:.0f}/s | "
            f"pgbench {tps:.0f} tps | {ledger_data['transfers_vs_pgbench']:.3f} |"
        )
    sweep_data = results["sweeps"]
    if sweep_data.get("ratio"):
        lines.append(
            f"| due-date sweep, 1,000 due among {sweep_data['large']['milestones']:,} | "
            f"{sweep_data['large']['seconds']:.1f} s | among {sweep_data['small']['milestones']:,}: "
            f"{sweep_data['small']['seconds']:.1f} s | {sweep_data['ratio']:.2f} |"
        )
    memory_data = results["memory"]
    if memory_data:
        lines.append(
            f"| worker RSS after {memory_data['requests']:,} requests | {memory_data['rss_after_kb'] // 1024} MB | "
            f"before: {memory_data['rss_before_kb'] // 1024} MB | {memory_data['ratio']:.2f} |"
        )
    (OUT / "results.md").write_text("\n".join(lines) + "\n")
    print("\n".join(lines))
    _readme_table_write(lines)
    if pages_data.get("curve"):
        _chart(pages_data["curve"], OUT / "latency.png")


README_START = "<!-- bench:start (written by `make bench`; do not edit by hand) -->"
README_END = "<!-- bench:end -->"


def _machine() -> str:
    from django.db import connection

    database = f"{connection.display_name} {'.'.join(map(str, connection.get_database_version()))}"
    machine = f"{os.cpu_count()} cores, {database}, Python {sys.version.split()[0]}"
    # The load before the pages step started: other work on the machine skews every figure.
    if load := _load("pages").get("load_before"):
        machine += ", load average before the pages step " + " / ".join(f"{value:.1f}" for value in load)
    return machine


def _readme_table_write(lines: list[str]) -> None:
    """Replace the README's results table (between the bench markers) with this run's."""
    _django()
    readme = ROOT / "README.md"
    text = readme.read_text()
    start, end = text.index(README_START) + len(README_START), text.index(README_END)
    when = dt.datetime.now(dt.UTC).strftime("%Y-%m-%d %H:%M UTC")
    table = "\n".join(lines)
    readme.write_text(f"{text[:start]}\n`make bench`, {when}, {_machine()}:\n\n{table}\n{text[end:]}")


def _chart(curve: dict[str, dict[str, dict[str, float]]], path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    from matplotlib import pyplot

    figure, axes = pyplot.subplots(figsize=(7, 4.5))
    for name, points in curve.items():
        levels = sorted(points, key=int)
        axes.plot([int(c) for c in levels], [points[c]["p50_ms"] for c in levels], marker="o", label=f"{name} p50")
        axes.plot(
            [int(c) for c in levels],
            [points[c]["p99_ms"] for c in levels],
            marker=".",
            linestyle="--",
            label=f"{name} p99",
        )
    axes.set_xscale("log", base=2)
    axes.set_yscale("log")
    axes.set_xlabel("concurrent connections (wrk, loopback)")
    axes.set_ylabel("latency (ms)")
    axes.set_title("Latency against concurrency (gunicorn, 2 sync workers)")
    axes.legend(fontsize="small")
    figure.tight_layout()
    figure.savefig(path, dpi=120)


STEPS: dict[str, Callable[[], None]] = {
    "setup": setup,
    "pages": pages,
    "sizes": sizes,
    "ledger": ledger,
    "sweeps": sweeps,
    "memory": memory,
    "report": report,
}

if __name__ == "__main__":
    STEPS[sys.argv[1]]()
