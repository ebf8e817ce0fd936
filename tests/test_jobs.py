"""Scheduled jobs: the weekly digest claims its ISO week, catch-up after downtime, the scheduler."""

from __future__ import annotations

import datetime as dt

import pytest
import sqlalchemy as sa
from apscheduler.events import EVENT_JOB_ERROR, EVENT_JOB_EXECUTED
from apscheduler.schedulers.background import BackgroundScheduler
from apscheduler.triggers.cron import CronTrigger
from helpers import make_body, make_demand, wait_until

from tracker.domain.models import JobRun, OutboxMessage
from tracker.domain.workdays import BERLIN, today
from tracker.jobs import scheduler as jobs
from tracker.services import reminders

B = BERLIN
UTC = dt.UTC


@pytest.fixture
def bodies(app, db):
    ms = make_body()
    mi = make_body("mi", "Innenministerium", contacts=(("Büro", "buero@mi.example.org", 1),))
    make_demand("Bezahlkarte evaluieren", bodies=[ms])
    make_demand("Sprachkurse ausbauen", bodies=[mi, ms])
    return ms, mi


def _week() -> str:
    return reminders.iso_week(today())


def _expected(week=None):
    week = week or _week()
    return {f"digest:ms:{week}": 1, f"digest:mi:{week}": 1}


# 2 -----------------------------------------------------------------------------------------


def test_weekly_digest_twice_in_a_week_sends_once(smtp_app, db, mailserver, bodies):
    first = jobs.weekly_digest()
    assert first == "2 digests written, 2 sent, 0 to retry"
    assert jobs.weekly_digest() == "claimed elsewhere"
    assert jobs.weekly_digest(dt.datetime.now(B) + dt.timedelta(seconds=1)) == "claimed elsewhere"
    assert mailserver.keys() == _expected()
    (run,) = db.session.scalars(sa.select(JobRun)).all()
    assert (run.job, run.period, run.result) == (jobs.WEEKLY, _week(), first)
    assert run.finished_at is not None


def test_weekly_job_and_cli_in_the_same_week_send_once(smtp_app, runner, db, mailserver, bodies):
    result = runner.invoke(args=["reminders", "send"])
    assert result.exit_code == 0 and "2 new digests" in result.output
    # the CLI claimed the week: the scheduler firing later writes nothing
    assert jobs.weekly_digest() == "claimed elsewhere"
    again = runner.invoke(args=["reminders", "send"])
    assert again.exit_code == 0 and "0 new digests" in again.output
    assert mailserver.keys() == _expected()
    assert db.session.scalar(sa.select(sa.func.count(OutboxMessage.id))) == 2


def test_next_week_is_a_new_claim(app, db, bodies):
    assert reminders.claim(jobs.WEEKLY, "2025-W45")
    assert not reminders.claim(jobs.WEEKLY, "2025-W45")
    assert reminders.claim(jobs.WEEKLY, "2025-W46")
    assert reminders.claim("other-job", "2025-W45")
    assert db.session.scalar(sa.select(sa.func.count(JobRun.id))) == 3


# 12: missed_this_week ----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("now", "missed"),
    [
        (dt.datetime(2025, 11, 4, 10, 0, tzinfo=B), True),  # Tuesday
        (dt.datetime(2025, 11, 9, 23, 59, tzinfo=B), True),  # Sunday night, same ISO week
        (dt.datetime(2025, 11, 3, 7, 0, tzinfo=B), False),  # Monday 07:00 Berlin
        (dt.datetime(2025, 11, 3, 7, 59, 59, tzinfo=B), False),
        (dt.datetime(2025, 11, 3, 8, 0, tzinfo=B), True),  # the due time itself
        (dt.datetime(2025, 11, 3, 0, 0, tzinfo=B), False),  # the week has just begun
        # given in UTC: winter (CET, +1) and summer (CEST, +2)
        (dt.datetime(2025, 10, 27, 6, 30, tzinfo=UTC), False),  # 07:30 Berlin
        (dt.datetime(2025, 10, 27, 7, 30, tzinfo=UTC), True),  # 08:30 Berlin
        (dt.datetime(2025, 6, 30, 5, 30, tzinfo=UTC), False),  # 07:30 Berlin
        (dt.datetime(2025, 6, 30, 6, 30, tzinfo=UTC), True),  # 08:30 Berlin
        # Sunday 23:30 UTC is already Monday 00:30 in Berlin: a new week, not yet due
        (dt.datetime(2025, 11, 9, 23, 30, tzinfo=UTC), False),
    ],
)
def test_missed_this_week(app, now, missed):
    assert app.config["REMINDER_CRON"] == "0 8 * * mon"
    assert jobs.missed_this_week(app, now) is missed


def test_missed_this_week_follows_the_configured_cron(app):
    app.config["REMINDER_CRON"] = "30 14 * * fri"
    assert not jobs.missed_this_week(app, dt.datetime(2025, 11, 4, 10, 0, tzinfo=B))  # Tuesday
    assert not jobs.missed_this_week(app, dt.datetime(2025, 11, 7, 14, 29, tzinfo=B))
    assert jobs.missed_this_week(app, dt.datetime(2025, 11, 7, 14, 30, tzinfo=B))
    assert jobs.missed_this_week(app, dt.datetime(2025, 11, 8, 9, 0, tzinfo=B))  # Saturday


def test_reminder_trigger_is_berlin_time_across_daylight_saving(app):
    trigger = jobs.reminder_trigger(app)
    assert isinstance(trigger, CronTrigger)
    after_summer = trigger.get_next_fire_time(None, dt.datetime(2025, 10, 21, 12, 0, tzinfo=B))
    assert after_summer == dt.datetime(2025, 10, 27, 8, 0, tzinfo=B)
    assert after_summer.astimezone(UTC).hour == 7  # CET
    in_summer = trigger.get_next_fire_time(None, dt.datetime(2025, 6, 25, 12, 0, tzinfo=B))
    assert in_summer.astimezone(UTC) == dt.datetime(2025, 6, 30, 6, 0, tzinfo=UTC)  # CEST


# 12: catch-up ------------------------------------------------------------------------------


def test_catch_up_sends_this_weeks_digest_once(smtp_app, db, mailserver, bodies):
    # due at Monday 00:00: always passed, whatever day the suite runs
    smtp_app.config["REMINDER_CRON"] = "0 0 * * mon"
    jobs.catch_up(smtp_app)
    jobs.catch_up(smtp_app)
    assert mailserver.keys() == _expected()
    db.session.expire_all()
    (run,) = db.session.scalars(sa.select(JobRun)).all()
    assert run.period == _week() and run.result.startswith("2 digests written, 2 sent")


def test_catch_up_before_the_due_time_sends_nothing(smtp_app, db, mailserver, bodies, clock):
    # Monday 07:00 Berlin of this week, an hour before the digest is due
    monday = today() - dt.timedelta(days=today().weekday())
    clock.move_to(dt.datetime.combine(monday, dt.time(7, 0), B))
    jobs.catch_up(smtp_app)
    assert mailserver.messages == []
    assert db.session.scalar(sa.select(sa.func.count(JobRun.id))) == 0
    assert db.session.scalar(sa.select(sa.func.count(OutboxMessage.id))) == 0


def test_catch_up_after_the_job_ran_sends_nothing_more(smtp_app, db, mailserver, bodies):
    smtp_app.config["REMINDER_CRON"] = "0 0 * * mon"
    jobs.weekly_digest()
    assert len(mailserver.messages) == 2
    jobs.catch_up(smtp_app)
    assert mailserver.keys() == _expected()


# configure() and real schedulers -----------------------------------------------------------


def test_configure_adds_the_three_jobs(app):
    scheduler = jobs.configure(BackgroundScheduler(timezone=app.config["TIMEZONE"]), app)
    by_id = {job.id: job for job in scheduler.get_jobs()}
    assert set(by_id) == {jobs.WEEKLY, "outbox-flush", "catch-up"}
    weekly = by_id[jobs.WEEKLY]
    assert weekly.misfire_grace_time == 6 * 3600  # a scheduler down at 08:00 still sends at 10
    assert weekly.coalesce is True and weekly.max_instances == 1
    assert weekly.args == (app, jobs.weekly_digest)
    fields = {f.name: str(f) for f in weekly.trigger.fields}
    assert (fields["day_of_week"], fields["hour"], fields["minute"]) == ("mon", "8", "0")
    assert str(weekly.trigger.timezone) == "Europe/Berlin"
    assert by_id["outbox-flush"].trigger.interval == dt.timedelta(minutes=1)
    assert by_id["catch-up"].args == (app,)
    # once started (paused: nothing runs), configuring again replaces rather than duplicates
    scheduler.start(paused=True)
    try:
        jobs.configure(scheduler, app)
        assert sorted(job.id for job in scheduler.get_jobs()) == sorted(by_id)
    finally:
        scheduler.shutdown(wait=True)


def test_two_schedulers_started_on_purpose_send_once(smtp_app, db, mailserver, bodies):
    smtp_app.config["REMINDER_CRON"] = "0 0 * * mon"  # passed: the catch-up job sends at start
    db.session.remove()
    schedulers = [
        jobs.configure(BackgroundScheduler(timezone=smtp_app.config["TIMEZONE"]), smtp_app)
        for _ in range(2)
    ]
    caught_up = []  # one event per scheduler whose catch-up run has finished (sending included)
    for scheduler in schedulers:
        scheduler.add_listener(
            lambda event: event.job_id == "catch-up" and caught_up.append(event),
            EVENT_JOB_EXECUTED | EVENT_JOB_ERROR,
        )
    try:
        for scheduler in schedulers:
            scheduler.start()
        wait_until(lambda: len(caught_up) == 2, 30, "both schedulers' catch-up runs")
        assert not any(event.exception for event in caught_up)
    finally:
        for scheduler in schedulers:
            scheduler.shutdown(wait=True)
    assert mailserver.keys() == _expected()
    assert db.session.scalar(sa.select(sa.func.count(JobRun.id))) == 1


def test_a_failed_run_releases_its_claim_for_a_retry(app, db, bodies, monkeypatch):
    def broken(on=None, by=""):
        raise RuntimeError("database went away")

    monkeypatch.setattr(reminders, "write_digests", broken)
    with pytest.raises(RuntimeError):
        jobs.weekly_digest()
    assert db.session.scalar(sa.select(sa.func.count(JobRun.id))) == 0
    monkeypatch.undo()
    assert "digests written" in jobs.weekly_digest()
    assert db.session.scalar(sa.select(sa.func.count(OutboxMessage.id))) > 0
