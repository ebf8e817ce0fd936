"""`make run`'s dev server: the reloader starts two processes, the scheduler runs in one."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import urllib.error
import urllib.request
from pathlib import Path

import pytest
from helpers import wait_for_url, wait_until
from pgserver import free_port

BIN = Path(sys.executable).parent


def test_dev_server_runs_the_scheduler_exactly_once(tmp_path):
    port = free_port()
    env = {
        **os.environ,
        "TRACKER_DATABASE_URL": f"sqlite:///{tmp_path / 'dev.sqlite3'}",
        "TRACKER_SECRET_KEY": "dev",
        "TRACKER_REMINDER_CRON": "* * * * *",
        "TRACKER_INSTANCE_PATH": str(tmp_path / "instance"),  # the digests' .eml files go there
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
            wait_for_url(f"http://127.0.0.1:{port}/healthz")
            # the start-up catch-up has sent this week's digests
            wait_until(
                lambda: "digests written" in log.read_text(), 60, "the catch-up", log.read_text
            )
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
