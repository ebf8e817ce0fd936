"""Scheduled jobs and the scheduler process. Jobs push their own app context and are idempotent.

Production runs exactly one ``tracker scheduler``: on PostgreSQL it runs jobs only while it holds
an advisory lock, and pauses them whenever it loses it; the dev server may run a
BackgroundScheduler in-process. Even if two schedulers run, the weekly job claims (job, ISO week)
in the database first, so only one writes digests; the outbox sends each row once.
"""

from __future__ import annotations

import datetime as dt
import logging
import signal
import threading

import sqlalchemy as sa
from apscheduler.schedulers.background import BackgroundScheduler
from apscheduler.triggers.cron import CronTrigger
from flask import Flask

from tracker.domain.workdays import BERLIN
from tracker.extensions import db
from tracker.jobs import crashpoints, sender
from tracker.services import reminders
from tracker.transactions import commit

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
        # the digests, and for staff due re-checks and passed commitments (issue 13); a count,
        # not the rows: each of the sender's commits would expire every row still held
        written = len(reminders.write_week(now.astimezone(BERLIN).date(), by="scheduler"))
        crashpoints.reached("weekly:written")
        commit()  # the claim and the week's outbox rows together, or neither
    except Exception:
        db.session.rollback()  # the claim goes too: the next firing or a restart tries again
        raise
    crashpoints.reached("weekly:committed")
    sent = sender.flush()
    result = f"{written} digests written, {sent['sent']} sent, {sent['retry']} to retry"
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
        except sa.exc.OperationalError as error:  # the database is away: one line, no traceback
            db.session.rollback()
            log.warning(
                "job %s: database unreachable, next run tries again: %s",
                getattr(func, "__name__", func),
                str(error.orig or error).splitlines()[0],
            )
            return None
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
        seconds=app.config["OUTBOX_INTERVAL"],
        args=(app, sender.flush),
        id="outbox-flush",
        coalesce=True,
        max_instances=1,
        replace_existing=True,
    )
    scheduler.add_job(catch_up, args=(app,), id="catch-up", replace_existing=True)
    return scheduler


SCHEDULER_LOCK = 0x7472_6163  # PostgreSQL advisory lock key held by the one running scheduler


class SchedulerLock:
    """The PostgreSQL advisory lock that makes exactly one ``tracker scheduler`` the active one.

    The lock lives as long as its connection: when PostgreSQL restarts or the connection breaks,
    it is gone, and another scheduler may take it. So the holder checks it regularly (in
    ``pg_locks``, not just whether some connection answers) and stops running jobs as soon as it
    is lost; waiting for it survives outages instead of ending with a traceback.
    """

    HELD = sa.text(
        "SELECT EXISTS (SELECT 1 FROM pg_locks WHERE locktype = 'advisory' AND granted"
        " AND pid = pg_backend_pid() AND classid = 0 AND objid = :key AND objsubid = 1)"
    )

    def __init__(self, engine, wait: float, stop: threading.Event):
        self.engine, self.wait, self.stop = engine, wait, stop
        self.connection = None

    def acquire(self) -> bool:
        """Wait until this process holds the lock (True), or until asked to stop (False)."""
        told = None
        while not self.stop.is_set():
            try:
                if self.connection is None:
                    self.connection = self.engine.connect()
                held = self.connection.execute(
                    sa.text("SELECT pg_try_advisory_lock(:key)"), {"key": SCHEDULER_LOCK}
                ).scalar()
                self.connection.commit()
                if held:
                    log.info("scheduler lock held: running jobs")
                    return True
                state, message = "standby", "another scheduler holds the lock; waiting as standby"
            except sa.exc.DBAPIError as error:
                self._drop()
                state = "unreachable"
                message = f"database unreachable, waiting for it: {str(error).splitlines()[0]}"
            if state != told:  # one line per change, not one per try
                log.warning(message)
                told = state
            self.stop.wait(self.wait)
        return False

    def held(self) -> bool:
        """Tell whether this process still holds the lock (False also when the database is gone)."""
        if self.connection is None:
            return False
        try:
            held = self.connection.execute(self.HELD, {"key": SCHEDULER_LOCK}).scalar()
            self.connection.commit()
        except sa.exc.DBAPIError:
            held = False
        if not held:
            self._drop()
        return bool(held)

    def _drop(self) -> None:
        if self.connection is not None:
            try:
                self.connection.invalidate()  # never back into the pool: its lock is gone
                self.connection.close()
            except Exception:  # noqa: BLE001 - the connection is dead already
                pass
        self.connection = None

    release = _drop


def run_blocking(app: Flask) -> None:
    """Run the scheduler in this process until stopped (``tracker scheduler``).

    On PostgreSQL it runs jobs only while it holds the scheduler lock: losing it (a database
    restart, a broken connection) pauses every job until the lock is held again.
    """
    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    with app.app_context():
        engine = db.engine
    interval = app.config["SCHEDULER_LOCK_CHECK"]
    lock = None
    if engine.dialect.name == "postgresql":
        lock = SchedulerLock(engine, wait=interval, stop=stop)
        if not lock.acquire():
            return
    scheduler = configure(BackgroundScheduler(timezone=app.config["TIMEZONE"]), app)
    scheduler.start()
    log.info(
        "scheduler started: weekly digest at '%s' (%s)",
        app.config["REMINDER_CRON"],
        app.config["TIMEZONE"],
    )
    try:
        while not stop.wait(interval):
            if lock is not None and not lock.held():
                scheduler.pause()
                log.warning("lost the scheduler lock: jobs paused until it is held again")
                if not lock.acquire():
                    break
                scheduler.resume()
    except KeyboardInterrupt:
        pass
    finally:
        scheduler.shutdown(wait=False)
        if lock is not None:
            lock.release()


def start_background(app: Flask) -> BackgroundScheduler:
    """Start the scheduler in a thread of the dev server."""
    scheduler = configure(BackgroundScheduler(timezone=app.config["TIMEZONE"]), app)
    scheduler.start()
    return scheduler
