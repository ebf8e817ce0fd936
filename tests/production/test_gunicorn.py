"""The production recipe for real: gunicorn with 3 workers and schedulers on PostgreSQL, all run
from the wheel installed into a fresh virtualenv (the ``installed`` fixture), not the editable one.
"""

from __future__ import annotations

import email
import email.policy
import subprocess
import urllib.request

import pytest
from aiosmtpd.controller import Controller
from helpers import wait_for_url, wait_until
from pgserver import PostgresServer, free_port

CLAIMED = "ran already"  # logged by a weekly digest job that finds its week claimed


class Sink:
    """An SMTP handler that keeps every message it receives."""

    def __init__(self):
        self.messages = []

    async def handle_DATA(self, server, session, envelope):
        self.messages.append(
            email.message_from_bytes(envelope.content, policy=email.policy.default)
        )
        return "250 OK"


@pytest.fixture
def stack(installed, tmp_path):
    pg = PostgresServer()
    pg.start()
    url = pg.create_database("production")
    sink = Sink()
    smtp = Controller(sink, hostname="127.0.0.1", port=free_port())
    smtp.start()
    env = {
        **installed.env,
        "TRACKER_ENV": "production",
        "TRACKER_DATABASE_URL": url,
        "TRACKER_SECRET_KEY": "a-production-secret-for-the-test",
        "TRACKER_SMTP_URL": f"smtp://127.0.0.1:{smtp.port}",
        "TRACKER_BASE_URL": "https://forderungen.example.org",
        # every minute, so that the claim per ISO week is what keeps it to one digest
        "TRACKER_REMINDER_CRON": "* * * * *",
        "TRACKER_ADMIN_EMAIL": "admin@example.org",
        "TRACKER_ADMIN_PASSWORD": "ein-langes-admin-passwort",
    }
    processes, logs = [], []

    def start(*args):
        logs.append(open(tmp_path / f"{len(processes)}.log", "wb"))  # noqa: SIM115
        processes.append(
            subprocess.Popen(args, env=env, cwd=tmp_path, stdout=logs[-1], stderr=logs[-1])
        )
        return processes[-1]

    def read_logs() -> list[str]:
        return [(tmp_path / f"{i}.log").read_text(errors="replace") for i in range(len(logs))]

    def ran_already() -> int:
        """How often a weekly job found its week claimed (each scheduler logs that)."""
        return sum(text.count(CLAIMED) for text in read_logs())

    yield {
        "env": env,
        "start": start,
        "sink": sink,
        "tmp": tmp_path,
        "bin": installed.bin,
        "logs": read_logs,
        "ran_already": ran_already,
    }
    for process in processes:
        process.terminate()
    for process in processes:
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
    for log in logs:
        log.close()
    smtp.stop()
    pg.stop()


def test_refuses_to_start_without_secret_key(installed, tmp_path):
    env = {k: v for k, v in installed.env.items() if k != "TRACKER_SECRET_KEY"}
    env["TRACKER_ENV"] = "production"
    result = subprocess.run(
        [installed.bin / "tracker", "routes"], env=env, cwd=tmp_path, capture_output=True, text=True
    )
    assert result.returncode != 0
    assert "TRACKER_SECRET_KEY must be set" in result.stderr


def test_three_workers_and_two_schedulers_send_one_digest_per_body(stack):
    env, venv = stack["env"], stack["bin"]
    subprocess.run(
        [venv / "tracker", "bootstrap"], env=env, cwd=stack["tmp"], check=True, capture_output=True
    )
    port = free_port()
    stack["start"](
        venv / "gunicorn", "--workers", "3", "--bind", f"127.0.0.1:{port}", "tracker:create_app()"
    )
    # Two schedulers started on purpose: the second waits on the advisory lock.
    stack["start"](venv / "tracker", "scheduler")
    stack["start"](venv / "tracker", "scheduler")

    health = wait_for_url(f"http://127.0.0.1:{port}/healthz")
    assert b'"ok"' in health

    # The scheduler's start-up catch-up sends this week's digest; wait for it, then for the
    # next cron firing (every minute) to have run and found the week claimed: a duplicate
    # would have shown by then.
    wait_until(lambda: stack["sink"].messages, 60, "this week's digests")
    firings = stack["ran_already"]()
    wait_until(
        lambda: stack["ran_already"]() > firings,
        90,
        "the next minute's firing of the weekly job",
        lambda: "\n".join(stack["logs"]()),
    )
    subprocess.run(
        [venv / "tracker", "reminders", "send"],
        env=env,
        cwd=stack["tmp"],
        check=True,
        capture_output=True,
    )

    keys = [m["X-Tracker-Key"] for m in stack["sink"].messages]
    digests = [k for k in keys if k.startswith("digest:")]
    assert digests and len(digests) == len(set(digests)), keys
    bodies = {k.split(":")[1] for k in digests}
    assert {"ms", "mi", "bamf"} <= bodies
    for message in stack["sink"].messages:
        assert (
            "https://forderungen.example.org/antwort/" in message.get_body(("plain",)).get_content()
        )

    # Several workers answer pages concurrently.
    for path in ("/", "/stellen/", "/stellen/ms"):
        with urllib.request.urlopen(f"http://127.0.0.1:{port}{path}", timeout=10) as r:
            assert r.status == 200
