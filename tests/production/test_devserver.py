"""`make run`'s dev server: the reloader starts two processes, the scheduler runs in one."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path

import pytest
from pgserver import free_port

BIN = Path(sys.executable).parent


def test_dev_server_runs_the_scheduler_exactly_once(tmp_path):
    port = free_port()
    env = {
        **os.environ,
        "TRACKER_DATABASE_URL": f"sqlite:///{tmp_path / 'dev.sqlite3'}",
        "TRACKER_SECRET_KEY": "dev",
        "TRACKER_REMINDER_CRON": "* * * * *",
    }
    subprocess.run([BIN / "tracker", "bootstrap"], env=env, check=True, capture_output=True)
    log = tmp_path / "serve.log"
    with log.open("wb") as out:
        server = subprocess.Popen(
            [BIN / "tracker", "serve", "--port", str(port)],
            env=env,
            stdout=out,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        try:
            deadline = time.monotonic() + 60
            while time.monotonic() < deadline:
                try:
                    with urllib.request.urlopen(f"http://127.0.0.1:{port}/healthz", timeout=2):
                        break
                except OSError:
                    time.sleep(0.3)
            while "digests written" not in log.read_text() and time.monotonic() < deadline:
                time.sleep(0.2)  # the start-up catch-up writes and sends this week's digests
            # Werkzeug's debugger is off unless `--debugger`: no interactive console
            with pytest.raises(urllib.error.HTTPError) as console:
                urllib.request.urlopen(f"http://127.0.0.1:{port}/console", timeout=5)
            console.value.close()  # the error holds the response and its socket
            assert console.value.code == 404
            text = log.read_text()
            assert text.count("scheduler running in-process") == 1, text
            assert text.count("digests written") == 1, text  # the start-up catch-up, once
            # the reloader's watcher plus the one serving child
            children = subprocess.run(
                ["pgrep", "-s", str(server.pid)], capture_output=True, text=True
            ).stdout.split()
            assert len(children) == 2, children
        finally:
            os.killpg(server.pid, signal.SIGTERM)
            server.wait(timeout=10)
