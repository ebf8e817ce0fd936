"""One transaction per request, job or command: a change and the mail it causes, or neither."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
import sqlalchemy as sa
from helpers import csrf_token, make_body, make_demand, make_user

from tracker.domain.models import Demand, OutboxMessage, Subscription, TimelineEntry, utcnow
from tracker.extensions import db as _db
from tracker.services import answer_links, api_tokens, subscriptions

SERVICES = Path(__file__).resolve().parent.parent / "tracker" / "services"


@pytest.fixture
def followed(app, db):
    """A public demand with a body and a confirmed follower, and an API token for staff."""
    body = make_body()
    demand = make_demand(bodies=[body])
    db.session.add(
        Subscription(
            demand=demand, email="leser@example.org", token="t" * 40, confirmed_at=utcnow()
        )
    )
    _row, plain = api_tokens.create_token(make_user(), "Skript")
    db.session.commit()
    return {"demand": demand, "body": body, "headers": {"Authorization": f"Bearer {plain}"}}


def _stored(db, demand_id):
    db.session.expire_all()
    demand = db.session.get(Demand, demand_id)
    kinds = db.session.scalars(
        sa.select(TimelineEntry.kind).where(TimelineEntry.demand_id == demand_id)
    ).all()
    mails = db.session.scalars(sa.select(OutboxMessage.kind).order_by(OutboxMessage.id)).all()
    return demand.state, sorted(kinds), mails


def _address(client, followed):
    demand = followed["demand"]
    return client.post(
        f"/api/v1/demands/{demand.id}/transitions",
        json={"trigger": "address", "version": demand.version, "notes": {"note": "Zugesagt."}},
        headers=followed["headers"],
    )


def test_no_service_commits():
    offenders = [
        f"{path.name}:{number}"
        for path in sorted(SERVICES.glob("*.py"))
        for number, line in enumerate(path.read_text().splitlines(), 1)
        if re.search(r"\.commit\(\)", line)
    ]
    assert offenders == []


def test_a_transition_and_its_follower_notice_are_one_commit(client, db, followed):
    commits = []  # real COMMITs on the database connection (savepoints do not count)
    record = commits.append
    sa.event.listen(_db.engine, "commit", record)
    response = _address(client, followed)
    sa.event.remove(_db.engine, "commit", record)
    assert response.status_code == 200
    assert len(commits) == 1
    assert _stored(db, followed["demand"].id) == (
        "addressed",
        ["assigned", "created", "transition"],
        ["subscription"],
    )


def test_a_crash_between_transition_and_notice_stores_neither(client, db, followed, monkeypatch):
    def crash(entry):
        raise RuntimeError("the process died while queueing the followers' mail")

    monkeypatch.setattr(subscriptions, "notify", crash)
    assert _address(client, followed).status_code == 500
    assert _stored(db, followed["demand"].id) == ("raised", ["assigned", "created"], [])


def test_a_failed_commit_stores_neither(client, db, followed, monkeypatch):
    def fail(self):
        raise sa.exc.OperationalError("COMMIT", {}, Exception("disk full"))

    monkeypatch.setattr(sa.orm.Session, "commit", fail)
    assert _address(client, followed).status_code == 500
    monkeypatch.undo()
    assert _stored(db, followed["demand"].id) == ("raised", ["assigned", "created"], [])


def test_a_crash_after_a_statement_loses_the_statement_and_its_staff_notice(
    app, client, db, followed, monkeypatch
):
    app.config["STAFF_EMAIL"] = "team@liga.example.org"
    demand, body = followed["demand"], followed["body"]
    token = answer_links.answer_token(body)
    page = client.get(f"/antwort/{token}").get_data(as_text=True)
    csrf = csrf_token(page)

    def crash(entry):
        raise RuntimeError("the process died while queueing the followers' mail")

    monkeypatch.setattr(subscriptions, "notify", crash)
    response = client.post(
        f"/antwort/{token}/{demand.id}/stellungnahme",
        data={f"d{demand.id}-csrf_token": csrf, f"d{demand.id}-text": "Wir prüfen das."},
    )
    assert response.status_code == 500
    assert _stored(db, demand.id) == ("raised", ["assigned", "created"], [])
    monkeypatch.undo()
    response = client.post(
        f"/antwort/{token}/{demand.id}/stellungnahme",
        data={f"d{demand.id}-csrf_token": csrf, f"d{demand.id}-text": "Wir prüfen das."},
    )
    assert response.status_code == 302
    assert _stored(db, demand.id) == (
        "raised",
        ["assigned", "created", "statement"],
        ["staff_notice", "subscription"],
    )


def test_reading_pages_commits_nothing(client, db, followed):
    commits = []
    record = commits.append
    sa.event.listen(_db.engine, "commit", record)
    for path in ("/", f"/forderungen/{followed['demand'].id}", "/statistik", "/api/v1/demands"):
        assert client.get(path).status_code == 200, path
    sa.event.remove(_db.engine, "commit", record)
    assert commits == []
