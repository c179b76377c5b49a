"""Serve Milestone locally: the web server, a Celery worker and Celery beat, stopped together by one Ctrl-C."""

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
BIN = Path(sys.executable).parent
HOST = os.environ.get("RUN_ADDR", "127.0.0.1:8000")

COMMANDS = {
    "web": [sys.executable, "manage.py", "runserver", HOST],
    "worker": [str(BIN / "celery"), "-A", "config", "worker", "--loglevel=INFO", "--concurrency=2"],
    "beat": [str(BIN / "celery"), "-A", "config", "beat", "--loglevel=INFO"],
}


def main() -> int:
    processes: dict[str, subprocess.Popen[bytes]] = {}
    for name, command in COMMANDS.items():
        # Own process groups, so stopping one stops its children too (runserver's reloader).
        processes[name] = subprocess.Popen(command, cwd=ROOT, start_new_session=True)  # noqa: S603
    print(f"\nMilestone is running at http://{HOST}/ — press Ctrl-C once to stop the web server, worker and beat.\n")

    def stop(*_: object) -> None:
        for name, process in processes.items():
            if process.poll() is None:
                if name == "web":
                    # runserver's autoreloader serves from a child process: stop the whole group.
                    os.killpg(process.pid, signal.SIGTERM)
                else:
                    # Celery's main process does a warm shutdown and stops its own pool.
                    process.send_signal(signal.SIGTERM)
        deadline = time.monotonic() + 10
        for process in processes.values():
            try:
                process.wait(timeout=max(0.1, deadline - time.monotonic()))
            except subprocess.TimeoutExpired:
                os.killpg(process.pid, signal.SIGKILL)
        print("Stopped the web server, worker and beat.")

    signal.signal(signal.SIGTERM, lambda *_: (_ for _ in ()).throw(KeyboardInterrupt()))
    try:
        while all(process.poll() is None for process in processes.values()):
            time.sleep(0.5)
        failed = [name for name, process in processes.items() if process.poll() is not None]
        print(f"Stopped because {', '.join(failed)} exited.", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        return 0
    finally:
        stop()


if __name__ == "__main__":
    sys.exit(main())
