"""Scheduled jobs and the scheduler process. Jobs push their own app context and are idempotent.

Production runs exactly one ``tracker scheduler`` (a BlockingScheduler); the dev server may run a
BackgroundScheduler in-process. Even if two schedulers run, the weekly job claims (job, ISO week)
in the database first, so only one writes digests; the outbox sends each row once.
"""

from __future__ import annotations

import datetime as dt
import logging
import time

import sqlalchemy as sa
from apscheduler.schedulers.background import BackgroundScheduler
from apscheduler.schedulers.blocking import BlockingScheduler
from apscheduler.triggers.cron import CronTrigger
from flask import Flask

from . import crashpoints, sender
from .extensions import db
from .services import reminders
from .transactions import commit
from .workdays import BERLIN

log = logging.getLogger(__name__)
WEEKLY = reminders.WEEKLY


def weekly_digest(now: dt.datetime | None = None) -> str:
    """Write this week's digests once (claimed per ISO week), then deliver them."""
    now = now or dt.datetime.now(BERLIN)
    week = reminders.iso_week(now.astimezone(BERLIN).date())
    try:
        if not reminders.claim(WEEKLY, week):
            db.session.rollback()
            # Its digests are in the outbox already (they commit with the claim); deliver any
            # still waiting, e.g. after a crash between writing and sending.
            sent = sender.flush()
            log.info("weekly digest for %s ran already; %d waiting sent", week, sent["sent"])
            return "claimed elsewhere"
        crashpoints.reached("weekly:claimed")
        written = reminders.write_digests(now.astimezone(BERLIN).date())
        crashpoints.reached("weekly:written")
        commit()  # the claim and the week's outbox rows together, or neither
    except Exception:
        db.session.rollback()  # the claim goes too: the next firing or a restart tries again
        raise
    crashpoints.reached("weekly:committed")
    sent = sender.flush()
    result = f"{len(written)} digests written, {sent['sent']} sent, {sent['retry']} to retry"
    reminders.finish(WEEKLY, week, result)
    commit()
    log.info("weekly digest %s: %s", week, result)
    return result


def reminder_trigger(app: Flask) -> CronTrigger:
    """Build the weekly trigger from TRACKER_REMINDER_CRON (crontab syntax, Berlin time)."""
    return CronTrigger.from_crontab(app.config["REMINDER_CRON"], timezone=app.config["TIMEZONE"])


def missed_this_week(app: Flask, now: dt.datetime) -> bool:
    """Tell whether this week's due time has passed (a scheduler that was down catches up)."""
    trigger = reminder_trigger(app)
    local = now.astimezone(trigger.timezone)
    monday = dt.datetime.combine(
        local.date() - dt.timedelta(days=local.weekday()), dt.time(), trigger.timezone
    )
    due = trigger.get_next_fire_time(None, monday)
    return due is not None and due <= local


def _in_context(app: Flask, func, *args):
    """Run a job in its own app context and transaction, committed when it succeeds."""
    with app.app_context():
        try:
            result = func(*args)
            commit()
            return result
        except Exception:  # a job must not kill the scheduler; the next run tries again
            db.session.rollback()
            log.exception("job %s failed", getattr(func, "__name__", func))
            return None


def catch_up(app: Flask) -> None:
    """Send this week's digest now if its time has passed and nobody sent it (run at start)."""
    with app.app_context():
        if missed_this_week(app, dt.datetime.now(BERLIN)):
            _in_context(app, weekly_digest)


def configure(scheduler, app: Flask):
    """Add the weekly digest, the outbox flush every minute and the start-up catch-up."""
    scheduler.add_job(
        _in_context,
        reminder_trigger(app),
        args=(app, weekly_digest),
        id=WEEKLY,
        misfire_grace_time=6 * 3600,
        coalesce=True,
        max_instances=1,
        replace_existing=True,
    )
    scheduler.add_job(
        _in_context,
        "interval",
        minutes=1,
        args=(app, sender.flush),
        id="outbox-flush",
        coalesce=True,
        max_instances=1,
        replace_existing=True,
    )
    scheduler.add_job(catch_up, args=(app,), id="catch-up", replace_existing=True)
    return scheduler


SCHEDULER_LOCK = 0x7472_6163  # PostgreSQL advisory lock key held by the one running scheduler


def hold_scheduler_lock(app: Flask, wait: float = 30.0):
    """On PostgreSQL, block until this process holds the scheduler lock; return its connection.

    A second ``tracker scheduler`` started by mistake waits as a standby instead of running jobs;
    it takes over when the first one's connection ends. SQLite has no such lock: there the
    per-week claim and the outbox's row claims keep duplicates out.
    """
    with app.app_context():
        engine = db.engine
        if engine.dialect.name != "postgresql":
            return None
        connection = engine.connect()
        while not connection.execute(
            sa.text("SELECT pg_try_advisory_lock(:key)"), {"key": SCHEDULER_LOCK}
        ).scalar():
            connection.rollback()
            log.warning("another scheduler holds the lock; waiting as standby")
            time.sleep(wait)
        connection.commit()
        return connection


def run_blocking(app: Flask) -> None:
    """Run the scheduler in this process until stopped (``tracker scheduler``)."""
    lock = hold_scheduler_lock(app)
    scheduler = configure(BlockingScheduler(timezone=app.config["TIMEZONE"]), app)
    log.info(
        "scheduler started: weekly digest at '%s' (%s)",
        app.config["REMINDER_CRON"],
        app.config["TIMEZONE"],
    )
    try:
        scheduler.start()
    except (KeyboardInterrupt, SystemExit):
        pass
    finally:
        if lock is not None:
            lock.close()


def start_background(app: Flask) -> BackgroundScheduler:
    """Start the scheduler in a thread of the dev server."""
    scheduler = configure(BackgroundScheduler(timezone=app.config["TIMEZONE"]), app)
    scheduler.start()
    return scheduler
