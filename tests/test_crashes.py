"""Kill the weekly run at named moments (SIGKILL, in a subprocess), restart it, count the mail.

``TRACKER_KILL_AT`` makes the process kill itself when it reaches a point
(tracker/jobs/crashpoints.py).
The mail goes to a real SMTP server (aiosmtpd); the database is the one under test.
"""

from __future__ import annotations

import datetime as dt
import os
import signal
import subprocess
import sys
from collections import Counter

import pytest
import sqlalchemy as sa
from helpers import make_body, make_demand
from smtp import BASE_URL

from tracker.domain.models import JobRun, OutboxMessage, TimelineEntry, utcnow
from tracker.jobs import sender
from tracker.services import outbox

RUN_WEEKLY = (
    "from tracker import create_app\nfrom tracker.jobs import scheduler as jobs\n"
    "app = create_app()\n"
    "print(jobs._in_context(app, jobs.weekly_digest))\n"
)
SLUGS = ("ms", "mi", "mj")


@pytest.fixture
def three_bodies(app, db, mailserver):
    """Three bodies with a contact and two open public demands each; mail to the test server."""
    app.config["SMTP_URL"] = mailserver.url
    for slug in SLUGS:
        body = make_body(
            slug, f"Ministerium {slug}", ((f"Referat {slug}", f"r@{slug}.example.org", 1),)
        )
        make_demand(f"Erste an {slug}", bodies=[body])
        make_demand(f"Zweite an {slug}", bodies=[body])
    db.session.commit()
    db.session.remove()


def _run(
    app, mailserver, tmp_path, kill_at: str = "", connections: int = 1
) -> subprocess.CompletedProcess:
    """Run the weekly job in a new process; by default over one SMTP connection, whose crash
    leaves at most one row uncertain."""
    env = {
        **os.environ,
        "TRACKER_DATABASE_URL": app.config["SQLALCHEMY_DATABASE_URI"],
        "TRACKER_SECRET_KEY": "test-secret",
        "TRACKER_SMTP_URL": mailserver.url,
        "TRACKER_BASE_URL": BASE_URL,
        "TRACKER_KILL_AT": kill_at,
        "TRACKER_SMTP_CONNECTIONS": str(connections),
    }
    return subprocess.run(
        [sys.executable, "-c", RUN_WEEKLY],
        env=env,
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=120,
    )


def _digests(db) -> list[OutboxMessage]:
    db.session.expire_all()
    return db.session.scalars(
        sa.select(OutboxMessage).where(OutboxMessage.kind == "digest").order_by(OutboxMessage.id)
    ).all()


def _reminder_entries(db) -> Counter:
    """How many „Erinnerung verschickt“ entries each outbox row left on the timeline."""
    rows = db.session.scalars(sa.select(TimelineEntry).where(TimelineEntry.kind == "reminder"))
    return Counter(entry.data["outbox_id"] for entry in rows)


def _keys(mailserver) -> Counter:
    return Counter(k.split(":")[1] for k in mailserver.keys() if k.startswith("digest:"))


@pytest.mark.parametrize(
    "point",
    [
        "weekly:claimed",  # the week claimed, no digest written yet, nothing committed
        "weekly:written",  # every digest written, not committed
        "weekly:committed",  # claim and digests committed, nothing sent
        "outbox:accepted:3",  # the last digest accepted by the server, not yet booked
    ],
)
def test_a_killed_weekly_run_is_finished_by_the_restart_each_body_once(
    app, db, three_bodies, mailserver, tmp_path, point
):
    crashed = _run(app, mailserver, tmp_path, kill_at=point)
    assert crashed.returncode == -signal.SIGKILL, crashed.stderr
    restarted = _run(app, mailserver, tmp_path)
    assert restarted.returncode == 0, restarted.stderr

    mailserver.wait_for(len(SLUGS))
    assert _keys(mailserver) == Counter(dict.fromkeys(SLUGS, 1))
    assert db.session.scalar(sa.select(sa.func.count(JobRun.id))) == 1
    rows = _digests(db)
    assert len(rows) == len(SLUGS)
    booked = [r for r in rows if r.status == "sent"]
    # every delivered message is booked with the server's reply and its timeline entries ...
    assert all(r.data["smtp_reply"].startswith("250") for r in booked)
    assert _reminder_entries(db) == Counter({r.id: 2 for r in booked})
    if point.startswith("outbox:accepted"):
        # ... except the one whose reply the crash cut off: it stays uncertain, never resent
        (uncertain,) = [r for r in rows if r.status != "sent"]
        assert uncertain.status == "sending"
        later = utcnow() + outbox.STUCK_AFTER + dt.timedelta(minutes=1)
        assert sender.flush(now=later)["sent"] == 0
        db.session.expire_all()
        assert outbox.is_uncertain(db.session.get(OutboxMessage, uncertain.id))
        assert _keys(mailserver) == Counter(dict.fromkeys(SLUGS, 1))
    else:
        assert len(booked) == len(SLUGS)


def test_a_kill_before_the_server_got_the_message_leaves_one_uncertain_row(
    app, db, three_bodies, mailserver, tmp_path
):
    crashed = _run(app, mailserver, tmp_path, kill_at="outbox:claimed:2")
    assert crashed.returncode == -signal.SIGKILL, crashed.stderr
    assert _run(app, mailserver, tmp_path).returncode == 0

    rows = _digests(db)
    (uncertain,) = [r for r in rows if r.status != "sent"]
    assert uncertain.status == "sending"
    assert sum(_keys(mailserver).values()) == len(SLUGS) - 1  # that one never reached the server
    assert uncertain.body.slug not in _keys(mailserver)
    assert uncertain.id not in _reminder_entries(db)

    # staff see it uncertain, check, and send it again: now every body has its digest once
    sender.flush(now=utcnow() + outbox.STUCK_AFTER + dt.timedelta(minutes=1))
    row = db.session.get(OutboxMessage, uncertain.id)
    assert outbox.is_uncertain(row)
    outbox.retry(row)
    db.session.commit()
    assert sender.flush()["sent"] == 1
    assert _keys(mailserver) == Counter(dict.fromkeys(SLUGS, 1))
    assert _reminder_entries(db)[uncertain.id] == 2


def test_a_kill_while_three_connections_deliver_leaves_one_uncertain_row_per_connection_at_most(
    app, db, mailserver, tmp_path
):
    app.config["SMTP_URL"] = mailserver.url
    slugs = [f"m{n}" for n in range(9)]
    for slug in slugs:
        body = make_body(
            slug, f"Ministerium {slug}", ((f"Referat {slug}", f"r@{slug}.example.org", 1),)
        )
        make_demand(f"Forderung an {slug}", bodies=[body])
    db.session.commit()
    db.session.remove()

    crashed = _run(app, mailserver, tmp_path, kill_at="outbox:accepted:4", connections=3)
    assert crashed.returncode == -signal.SIGKILL, crashed.stderr
    assert _run(app, mailserver, tmp_path, connections=3).returncode == 0

    rows = _digests(db)
    assert len(rows) == len(slugs)
    uncertain = [r for r in rows if r.status != "sent"]
    assert 1 <= len(uncertain) <= 3  # the killed delivery's row, and those of the other two
    assert all(r.status == "sending" for r in uncertain)
    received = _keys(mailserver)
    assert max(received.values()) == 1  # nobody got a digest twice
    # every body whose row is booked got its digest; an uncertain one at most once (the
    # killed delivery reached the server, the others may have)
    assert {r.body.slug for r in rows if r.status == "sent"} <= set(received)
    assert sum(received[r.body.slug] for r in uncertain) >= 1
    assert _reminder_entries(db) == Counter({r.id: 1 for r in rows if r.status == "sent"})
    later = utcnow() + outbox.STUCK_AFTER + dt.timedelta(minutes=1)
    assert sender.flush(now=later)["sent"] == 0  # uncertain rows are never resent by themselves
    assert _keys(mailserver) == received
