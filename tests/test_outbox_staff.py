"""Staff decide about uncertain messages and send every pending one now (issues 10.2 and 10.5)."""

from __future__ import annotations

import datetime as dt

import pytest
import sqlalchemy as sa
from helpers import csrf_token, make_body, make_demand

from tracker.domain.models import OutboxMessage, TimelineEntry, utcnow
from tracker.jobs import sender
from tracker.services import outbox, reminders


@pytest.fixture
def uncertain(smtp_app, db):
    """A digest whose sender died during delivery (left in 'sending' 20 minutes ago)."""
    body = make_body()
    make_demand("Bezahlkarte evaluieren", bodies=[body])
    (row,) = reminders.write_digests()
    row.status, row.claimed_by, row.claimed_at = (
        "sending",
        "dead",
        utcnow() - dt.timedelta(minutes=20),
    )
    db.session.commit()
    assert sender.flush()["sent"] == 0
    db.session.expire_all()
    assert outbox.is_uncertain(db.session.get(OutboxMessage, row.id))
    return row.id


def _reminder_entries(db):
    """How many „Erinnerung verschickt“ entries exist (the fixture has one demand)."""
    return db.session.scalar(
        sa.select(sa.func.count(TimelineEntry.id)).where(TimelineEntry.kind == "reminder")
    )


def test_the_outbox_shows_an_uncertain_row_with_both_choices_and_the_risk(
    client, auth, staff, db, uncertain
):
    assert client.get(f"/verwaltung/postausgang/{uncertain}").status_code == 302  # login first
    auth.login_as(staff)
    listing = client.get("/verwaltung/postausgang").get_data(as_text=True)
    assert "ungewiss" in listing
    page = client.get(f"/verwaltung/postausgang/{uncertain}").get_data(as_text=True)
    assert "Zustellung ungewiss" in page and "Zustellung begonnen" in page
    assert "Als zugestellt markieren" in page and "Erneut senden" in page
    assert "erhält der Empfänger sie zweimal" in page


def test_marking_delivered_books_it_once_without_sending(
    client, auth, staff, db, uncertain, mailserver
):
    auth.login_as(staff)
    page = client.get(f"/verwaltung/postausgang/{uncertain}").get_data(as_text=True)
    url = f"/verwaltung/postausgang/{uncertain}/zugestellt"
    assert client.post(url).status_code == 400  # no CSRF token: refused, nothing changed
    assert _reminder_entries(db) == 0
    response = client.post(url, data={"csrf_token": csrf_token(page)}, follow_redirects=True)
    assert "als zugestellt vermerkt" in response.get_data(as_text=True)
    db.session.expire_all()
    row = db.session.get(OutboxMessage, uncertain)
    assert (row.status, row.transport, row.data["confirmed_by"]) == ("sent", "manual", staff.name)
    assert _reminder_entries(db) == 1
    # a second click changes nothing and says so
    again = client.post(url, data={"csrf_token": csrf_token(page)}, follow_redirects=True)
    assert "Nur eine ungewisse Nachricht" in again.get_data(as_text=True)
    assert _reminder_entries(db) == 1
    assert sender.flush()["sent"] == 0 and mailserver.messages == []


def test_sending_again_delivers_it_once(client, auth, staff, db, uncertain, mailserver):
    auth.login_as(staff)
    page = client.get(f"/verwaltung/postausgang/{uncertain}").get_data(as_text=True)
    client.post(
        f"/verwaltung/postausgang/{uncertain}/erneut", data={"csrf_token": csrf_token(page)}
    )
    assert sender.flush()["sent"] == 1
    assert len(mailserver.messages) == 1
    assert _reminder_entries(db) == 1


def _waiting(db, n=2):
    """``n`` messages that failed once and wait for their next attempt in 5 minutes."""
    for i in range(n):
        message = outbox.queue(
            f"k:{i}", kind="test", to=[f"a{i}@example.org"], subject="S", text="T"
        )
        message.attempts, message.next_attempt_at = 1, utcnow() + dt.timedelta(minutes=5)
    db.session.commit()


def test_send_all_now_ignores_the_backoff(client, auth, staff, db, smtp_app, mailserver):
    _waiting(db)
    assert sender.flush()["sent"] == 0  # not due yet
    auth.login_as(staff)
    page = client.get("/verwaltung/postausgang").get_data(as_text=True)
    assert "Alle 2 wartenden Nachrichten jetzt senden" in page
    assert client.post("/verwaltung/postausgang/alle-senden").status_code == 400  # CSRF
    response = client.post(
        "/verwaltung/postausgang/alle-senden",
        data={"csrf_token": csrf_token(page)},
        follow_redirects=True,
    )
    assert "2 Nachrichten versandt" in response.get_data(as_text=True)
    assert len(mailserver.messages) == 2


def test_cli_flush_all_ignores_the_backoff(runner, db, smtp_app, mailserver):
    _waiting(db)
    assert "sent 0" in runner.invoke(args=["outbox", "flush"]).output
    result = runner.invoke(args=["outbox", "flush", "--all"])
    assert result.exit_code == 0 and "sent 2" in result.output, result.output
    assert len(mailserver.messages) == 2


def _send_all_now(client) -> str:
    """Press „Alle … jetzt senden“ on the outbox page as rendered; return the page after."""
    page = client.get("/verwaltung/postausgang").get_data(as_text=True)
    response = client.post(
        "/verwaltung/postausgang/alle-senden",
        data={"csrf_token": csrf_token(page)},
        follow_redirects=True,
    )
    return response.get_data(as_text=True)


@pytest.mark.parametrize("connections", [1, 3])
def test_send_all_now_with_the_server_down_tries_each_row_once(
    app, db, client, auth, staff, idle_mailserver, connections
):
    """A row that fails goes back to pending at once: ignoring the backoff, the same flush
    must not take it again (it used up all attempts in a few milliseconds)."""
    app.config.update(SMTP_URL=idle_mailserver.url, SMTP_CONNECTIONS=connections)
    _waiting(db)
    assert sender.flush(ignore_backoff=True) == {"sent": 0, "retry": 2, "failed": 0}
    rows = db.session.scalars(sa.select(OutboxMessage).order_by(OutboxMessage.id)).all()
    assert [(r.status, r.attempts) for r in rows] == [("pending", 2), ("pending", 2)]

    auth.login_as(staff)
    listing = _send_all_now(client)
    assert "2 werden später erneut versucht" in listing
    assert listing.count("ConnectionRefusedError") == 2  # why, on the list itself
    db.session.expire_all()
    assert [r.attempts for r in db.session.scalars(sa.select(OutboxMessage))] == [3, 3]

    idle_mailserver.start()  # back: the next flush delivers each one once
    assert sender.flush(ignore_backoff=True) == {"sent": 2, "retry": 0, "failed": 0}
    assert sorted(idle_mailserver.keys().values()) == [1, 1]


def test_send_all_now_says_which_messages_ran_out_of_attempts(
    app, db, client, auth, staff, idle_mailserver
):
    app.config["SMTP_URL"] = idle_mailserver.url  # down
    _waiting(db)
    for row in db.session.scalars(sa.select(OutboxMessage)):
        row.attempts = outbox.MAX_ATTEMPTS - 1
    db.session.commit()
    auth.login_as(staff)
    said = _send_all_now(client)
    assert "0 Nachrichten versandt, 0 werden später erneut versucht, 2 nicht zugestellt" in said
