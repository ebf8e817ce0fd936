"""After closing: a demand closed as implemented is re-checked after RECHECK_MONTHS."""

from __future__ import annotations

import datetime as dt

import pytest
import sqlalchemy as sa
from helpers import csrf_token, make_body, make_demand, make_user, timeline
from test_api import check

from tracker.domain.models import OutboxMessage, TimelineEntry, utcnow
from tracker.domain.workdays import today
from tracker.jobs import scheduler as jobs
from tracker.services import api_tokens, rechecks, reminders
from tracker.services import demands as demand_service


def close(demand, outcome="implemented", days_ago=200):
    """Move ``demand`` to closed with ``outcome`` and pretend it was closed ``days_ago``."""
    for trigger, notes in (
        ("address", {}),
        ("evaluate", {"summary": "Ausgewertet", "participants": "LIGA, MS"}),
        ("close", {"outcome": outcome}),
    ):
        demand_service.advance(demand, trigger, None, demand.version, notes)
    demand.state_changed_at = utcnow() - dt.timedelta(days=days_ago)
    from tracker.extensions import db

    db.session.commit()
    return demand


@pytest.fixture
def closed(app, db):
    ms = make_body()
    done = close(make_demand("Sprachkurse ausbauen", bodies=[ms]))
    partly = close(make_demand("Beratung stärken", bodies=[ms]), "partly_implemented")
    recent = close(make_demand("Frisch umgesetzt", bodies=[ms]), days_ago=30)
    rejected = close(make_demand("Abgelehnt", bodies=[ms]), "rejected")
    return {"done": done, "partly": partly, "recent": recent, "rejected": rejected}


@pytest.mark.parametrize(
    ("day", "months", "due"),
    [
        (dt.date(2025, 6, 18), 6, dt.date(2025, 12, 18)),
        (dt.date(2025, 8, 31), 6, dt.date(2026, 2, 28)),
        (dt.date(2025, 12, 1), 1, dt.date(2026, 1, 1)),
    ],
)
def test_add_months(day, months, due):
    assert rechecks.add_months(day, months) == due


def test_due_after_six_months_only_when_implemented(closed):
    due = {item.demand.title for item in rechecks.due_rechecks()}
    assert due == {"Sprachkurse ausbauen", "Beratung stärken"}
    assert rechecks.due_date(closed["rejected"]) is None


def test_months_are_configurable(app, closed):
    app.config["RECHECK_MONTHS"] = 1
    due = {item.demand.title for item in rechecks.due_rechecks()}
    assert "Frisch umgesetzt" in due
    app.config["RECHECK_MONTHS"] = 12
    assert rechecks.due_rechecks() == []


def test_staff_record_the_result_on_the_timeline_and_the_report(client, auth, db, closed, staff):
    from tracker.domain.models import Event

    event = Event(slug="fachtag", title="Fachtag", date=dt.date(2025, 6, 18))
    db.session.add(event)
    closed["done"].event = event
    db.session.commit()
    auth.login_as(staff)
    url = f"/verwaltung/forderungen/{closed['done'].id}"
    page = client.get(url).get_data(as_text=True)
    assert "Nachprüfung: in der Praxis angekommen?" in page
    response = client.post(
        url + "/nachpruefung",
        data={
            "recheck-csrf_token": csrf_token(page),
            "recheck-result": "partly",
            "recheck-note": "In zwei Landkreisen angekommen.",
            "recheck-is_public": "y",
        },
    )
    assert response.status_code == 302
    (entry,) = timeline(closed["done"], "recheck")
    assert entry.data == {"result": "partly"} and entry.author_id == staff.id
    assert entry.text == "In zwei Landkreisen angekommen."
    assert "Sprachkurse ausbauen" not in {i.demand.title for i in rechecks.due_rechecks()}
    public = client.get(f"/forderungen/{closed['done'].id}").get_data(as_text=True)
    assert "Nachprüfung: teilweise angekommen" in public
    report = client.get("/berichte/fachtag?fassung=oeffentlich").get_data(as_text=True)
    assert "teilweise angekommen" in report and "In zwei Landkreisen angekommen." in report


@pytest.mark.parametrize("result", ["", "vielleicht"])
def test_bad_result_is_refused(client, auth, db, closed, staff, result):
    auth.login_as(staff)
    url = f"/verwaltung/forderungen/{closed['done'].id}"
    page = client.get(url).get_data(as_text=True)
    before = db.session.scalar(sa.select(sa.func.count(TimelineEntry.id)))
    response = client.post(
        url + "/nachpruefung",
        data={"recheck-csrf_token": csrf_token(page), "recheck-result": result},
    )
    assert response.status_code == 422
    assert "Bitte" in response.get_data(as_text=True)
    assert db.session.scalar(sa.select(sa.func.count(TimelineEntry.id))) == before


def test_recheck_only_for_a_demand_closed_as_implemented(request_ctx, closed):
    from tracker.services.errors import ServiceError

    with pytest.raises(ServiceError, match="Nachprüfen lässt sich nur"):
        rechecks.record_recheck(closed["rejected"], None, "yes", "")


def test_staff_reminded_on_the_page_and_once_a_week_by_mail(client, auth, db, closed, staff):
    auth.login_as(staff)
    page = client.get("/verwaltung/erinnerungen").get_data(as_text=True)
    assert "Sprachkurse ausbauen" in page and "Beratung stärken" in page
    jobs.weekly_digest()
    notices = db.session.scalars(
        sa.select(OutboxMessage).where(OutboxMessage.key.like("staff-due:%"))
    ).all()
    assert len(notices) == 1 and notices[0].kind == "staff_notice"
    assert "Sprachkurse ausbauen" in notices[0].text and "Nachprüfung fällig" in notices[0].text
    assert "Sprachkurse ausbauen" in notices[0].html
    assert rechecks.queue_staff_notice(today(), notices[0].key.split(":")[1]) is False


def _staff_notices(db):
    return db.session.scalars(
        sa.select(OutboxMessage).where(OutboxMessage.key.like("staff-due:%"))
    ).all()


def test_reminders_send_command_writes_the_staff_notice_once_a_week(runner, db, closed, staff):
    for _ in range(2):
        result = runner.invoke(args=["reminders", "send"])
        assert result.exit_code == 0, result.output
    db.session.expire_all()
    (notice,) = _staff_notices(db)
    assert notice.key == f"staff-due:{reminders.iso_week(today())}"
    assert "Sprachkurse ausbauen" in notice.text and notice.to == [staff.email]
    jobs.weekly_digest()  # the scheduler firing later the same week adds none
    assert len(_staff_notices(db)) == 1


def test_staff_send_button_writes_the_staff_notice_once_a_week(client, auth, db, closed, staff):
    auth.login_as(staff)
    for _ in range(2):
        page = client.get("/verwaltung/erinnerungen").get_data(as_text=True)
        response = client.post(
            "/verwaltung/erinnerungen/senden", data={"csrf_token": csrf_token(page)}
        )
        assert response.status_code == 302
    db.session.expire_all()
    (notice,) = _staff_notices(db)
    assert "Beratung stärken" in notice.text and "Nachprüfung fällig" in notice.text


def test_api_records_a_recheck(client, db, closed):
    user = make_user(email="api@example.org")
    _row, plain = api_tokens.create_token(user, "Skript")
    headers = {"Authorization": f"Bearer {plain}"}
    spec = client.get("/api/v1/openapi.json").get_json()
    path = "/demands/{demand_id}/rechecks"
    url = f"/api/v1/demands/{closed['done'].id}/rechecks"
    assert check(spec, client.post(url, json={"result": "yes"}), path, "post")["code"] == (
        "unauthorized"
    )
    bad = client.post(url, json={"result": "maybe"}, headers=headers)
    assert check(spec, bad, path, "post")["code"] == "validation_failed"
    wrong = client.post(
        f"/api/v1/demands/{closed['rejected'].id}/rechecks", json={"result": "yes"}, headers=headers
    )
    assert check(spec, wrong, path, "post")["code"] == "validation_failed"
    made = client.post(url, json={"result": "no", "note": "Kommt nicht an."}, headers=headers)
    body = check(spec, made, path, "post")
    assert body["kind"] == "recheck" and body["data"] == {"result": "no"}
