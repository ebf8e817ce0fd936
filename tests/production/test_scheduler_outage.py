"""Two ``tracker scheduler`` processes on a real PostgreSQL that restarts under them."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
from helpers import wait_until
from pgserver import PostgresServer
from smtp import MailServer

BIN = Path(sys.executable).parent
HELD = "scheduler lock held: running jobs"
STANDBY = "another scheduler holds the lock; waiting as standby"
LOST = "lost the scheduler lock: jobs paused until it is held again"
OUTBOX_RUN = 'Running job "_in_context (trigger: interval'


class Scheduler:
    """A ``tracker scheduler`` subprocess whose log can be read while it runs."""

    def __init__(self, env: dict, log: Path):
        self.log_path = log
        self._log = open(log, "wb")  # noqa: SIM115 - closed in stop()
        self.process = subprocess.Popen(
            [BIN / "tracker", "scheduler"],
            env=env,
            cwd=log.parent,
            stdout=self._log,
            stderr=subprocess.STDOUT,
        )

    def lines(self, since: int = 0) -> list[str]:
        return self.log_path.read_text(errors="replace").splitlines()[since:]

    def count(self, text: str, since: int = 0) -> int:
        return sum(text in line for line in self.lines(since))

    def last_state(self) -> str | None:
        states = [
            line
            for line in self.lines()
            if any(state in line for state in (HELD, STANDBY, LOST, "unreachable, waiting"))
        ]
        return states[-1] if states else None

    def holds(self) -> bool:
        state = self.last_state()
        return state is not None and HELD in state

    def stop(self) -> None:
        self.process.terminate()
        try:
            self.process.wait(timeout=15)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()
        self._log.close()


@pytest.fixture
def stack(tmp_path):
    pg = PostgresServer()
    pg.start()
    mail = MailServer().start()
    env = {
        **os.environ,
        "TRACKER_ENV": "production",
        "TRACKER_DATABASE_URL": pg.create_database("outage"),
        "TRACKER_SECRET_KEY": "a-production-secret-for-the-test",
        "TRACKER_SMTP_URL": mail.url,
        "TRACKER_BASE_URL": "https://forderungen.example.org",
        "TRACKER_REMINDER_CRON": "* * * * *",  # fires every minute: only the claim stops repeats
        "TRACKER_OUTBOX_INTERVAL": "1",
        "TRACKER_SCHEDULER_LOCK_CHECK": "1",
    }
    subprocess.run(
        [BIN / "tracker", "bootstrap"], env=env, cwd=tmp_path, check=True, capture_output=True
    )
    schedulers: list[Scheduler] = []

    def start() -> Scheduler:
        schedulers.append(Scheduler(env, tmp_path / f"scheduler-{len(schedulers)}.log"))
        return schedulers[-1]

    yield {"pg": pg, "mail": mail, "start": start}
    for scheduler in schedulers:
        scheduler.stop()
    mail.stop()
    pg.stop()


def test_after_a_database_restart_exactly_one_scheduler_runs_jobs(stack):
    first = stack["start"]()
    wait_until(first.holds, 60, "the first scheduler to take the lock")
    second = stack["start"]()
    wait_until(lambda: second.count(STANDBY), 60, "the second scheduler to wait as standby")
    digests = wait_until(lambda: stack["mail"].of_kind("digest"), 60, "this week's digests")

    stack["pg"].restart()

    # Both survive; one of them holds the lock again, the other waits.
    holder = wait_until(
        lambda: next((s for s in (first, second) if s.holds() and s.process.poll() is None), None),
        90,
        "a scheduler holding the lock after the restart",
    )
    other = second if holder is first else first
    wait_until(
        lambda: other.last_state() and HELD not in other.last_state(), 60, "the other to wait"
    )
    assert first.process.poll() is None and second.process.poll() is None
    # A scheduler started now waits too: there is never a second active one.
    third = stack["start"]()
    wait_until(
        lambda: third.count(STANDBY),
        120,  # a new process on a loaded 2-core machine can take long to start
        "a third scheduler to wait as standby",
        lambda: {
            "third": third.lines(),
            "holder": holder.lines()[-5:],
            "other": other.lines()[-5:],
        },
    )

    # From here on, only the holder runs jobs: watch it run the outbox job five times.
    marks = {s: len(s.lines()) for s in (holder, other, third)}
    wait_until(lambda: holder.count(OUTBOX_RUN, marks[holder]) >= 5, 60, "the holder's jobs")
    assert other.count("Running job", marks[other]) == 0, other.lines(marks[other])
    assert third.count("Running job", marks[third]) == 0, third.lines(marks[third])
    assert all(p.process.poll() is None for p in (first, second, third))
    # a job that ran into the outage logged one line and no traceback; the process lived on
    assert not any("Traceback" in line for s in (first, second, third) for line in s.lines())

    # Every body got this week's digest once; the restart and the firings every minute added none.
    keys = [str(m["X-Tracker-Key"]) for m in stack["mail"].of_kind("digest")]
    assert len(keys) == len(set(keys)) == len(digests)
