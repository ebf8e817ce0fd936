"""The outbox: rows first, each delivered exactly once, retried with backoff, expired when late."""

from __future__ import annotations

import datetime as dt
import re
import threading
from email import message_from_bytes, policy

import pytest
import sqlalchemy as sa
from helpers import make_body, make_demand
from smtp import parts

from tracker.domain.models import OutboxMessage, TimelineEntry
from tracker.extensions import db as _db
from tracker.jobs import sender
from tracker.services import outbox, reminders

# A fixed week in the future, so that digests written for it have not expired yet.
ON = dt.date(2030, 1, 9)  # Wednesday of 2030-W02
NOW = dt.datetime(2030, 1, 9, 9, 0, tzinfo=dt.UTC)


def _rows(db, **where):
    db.session.expire_all()
    stmt = sa.select(OutboxMessage).order_by(OutboxMessage.id)
    for name, value in where.items():
        stmt = stmt.where(getattr(OutboxMessage, name) == value)
    return db.session.scalars(stmt).all()


def _two_bodies_with_digests():
    ms = make_body()
    mi = make_body("mi", "Innenministerium", contacts=(("Büro", "buero@mi.example.org", 1),))
    make_demand("Bezahlkarte evaluieren", bodies=[ms])
    make_demand("Sprachkurse ausbauen", bodies=[mi, ms])
    written = reminders.write_digests(ON)
    assert len(written) == 2
    return ms, mi


def _queue(n: int, prefix: str = "test") -> list[str]:
    keys = [f"{prefix}:{i}" for i in range(n)]
    for key in keys:
        outbox.queue(
            key,
            kind="test",
            to=[f"{key.replace(':', '-')}@example.org"],
            subject=f"Nachricht {key}",
            text=f"Text {key}",
            html=f"<p>{key}</p>",
        )
    _db.session.commit()
    return keys


def test_without_smtp_flush_writes_eml_files(app, db, tmp_path):
    assert app.config["SMTP_URL"] == ""
    _two_bodies_with_digests()
    counts = sender.flush(now=NOW)
    assert counts == {"sent": 2, "retry": 0, "failed": 0}
    files = sorted((tmp_path / "mail").glob("*.eml"))
    assert [f.name.endswith("-digest.eml") for f in files] == [True, True]
    subjects = sorted(
        str(message_from_bytes(f.read_bytes(), policy=policy.default)["Subject"]) for f in files
    )
    assert subjects == [
        "1 offene Forderung an Innenministerium – Erinnerung KW 02",
        "2 offene Forderungen an Sozialministerium – Erinnerung KW 02",
    ]
    assert {r.status for r in _rows(db)} == {"sent"}
    assert {r.transport for r in _rows(db)} == {"file"}
    # a second flush writes no new files
    assert sender.flush(now=NOW)["sent"] == 0
    assert len(list((tmp_path / "mail").glob("*.eml"))) == 2


def test_smtp_down_then_up_delivers_each_row_once(app, db, idle_mailserver):
    app.config["SMTP_URL"] = idle_mailserver.url
    _two_bodies_with_digests()

    counts = sender.flush(now=NOW)
    assert counts == {"sent": 0, "retry": 2, "failed": 0}
    rows = _rows(db)
    assert [r.status for r in rows] == ["pending", "pending"]
    for row in rows:
        assert row.attempts == 1
        assert row.last_error  # e.g. "ConnectionRefusedError: [Errno 111] Connection refused"
        assert "Refused" in row.last_error or "refused" in row.last_error
        assert row.next_attempt_at == NOW + dt.timedelta(minutes=5)
        assert row.claimed_by is None and row.sent_at is None
    assert (
        db.session.scalar(
            sa.select(sa.func.count(TimelineEntry.id)).where(TimelineEntry.kind == "reminder")
        )
        == 0
    )

    idle_mailserver.start()
    # not due yet: nothing is tried before the backoff has passed
    assert sender.flush(now=NOW + dt.timedelta(minutes=4)) == {"sent": 0, "retry": 0, "failed": 0}
    assert idle_mailserver.messages == []

    later = NOW + dt.timedelta(minutes=6)
    assert sender.flush(now=later) == {"sent": 2, "retry": 0, "failed": 0}
    assert sorted(idle_mailserver.keys().items()) == [
        ("digest:mi:2030-W02", 1),
        ("digest:ms:2030-W02", 1),
    ]
    for row in _rows(db):
        assert (row.status, row.attempts, row.last_error, row.transport) == ("sent", 2, "", "smtp")
        assert row.sent_at == later

    assert sender.flush(now=later + dt.timedelta(hours=1)) == {"sent": 0, "retry": 0, "failed": 0}
    assert len(idle_mailserver.messages) == 2


def test_backoff_grows_and_gives_up_after_max_attempts(app, db, idle_mailserver):
    app.config["SMTP_URL"] = idle_mailserver.url
    _queue(1)
    now = NOW
    delays = []
    for _ in range(outbox.MAX_ATTEMPTS):
        counts = sender.flush(now=now)
        (row,) = _rows(db)
        if row.status == "failed":
            break
        assert counts["retry"] == 1
        delays.append(row.next_attempt_at - now)
        now = row.next_attempt_at
    assert delays == [*outbox.BACKOFF, outbox.BACKOFF[-1]]
    assert (row.status, row.attempts) == ("failed", outbox.MAX_ATTEMPTS)
    assert counts == {"sent": 0, "retry": 0, "failed": 1}

    # staff put it back in the queue; with the server up it goes out once
    idle_mailserver.start()
    outbox.retry(row)
    assert sender.flush()["sent"] == 1
    assert list(idle_mailserver.keys().values()) == [1]


def test_expired_digest_is_not_sent(smtp_app, db, mailserver):
    _two_bodies_with_digests()
    mi_row = _rows(db, key="digest:mi:2030-W02")[0]
    mi_row.expires_at = NOW - dt.timedelta(seconds=1)
    db.session.commit()

    assert sender.flush(now=NOW) == {"sent": 1, "retry": 0, "failed": 0}
    assert list(mailserver.keys()) == ["digest:ms:2030-W02"]
    mi_row, ms_row = _rows(db)
    assert (mi_row.status, mi_row.attempts, mi_row.sent_at) == ("expired", 0, None)
    assert "Woche" in mi_row.last_error
    assert ms_row.status == "sent"


def test_digest_expires_when_its_week_is_over(smtp_app, db, mailserver):
    _two_bodies_with_digests()
    week_end = reminders.week_end(ON)
    assert week_end == dt.datetime(2030, 1, 13, 23, 0, tzinfo=dt.UTC)  # Monday 00:00 Berlin
    assert sender.flush(now=week_end) == {"sent": 0, "retry": 0, "failed": 0}
    assert {r.status for r in _rows(db)} == {"expired"}
    assert mailserver.messages == []


def test_a_row_stuck_in_sending_is_marked_failed_not_resent(smtp_app, db, mailserver):
    _queue(1)
    (row,) = _rows(db)
    row.status, row.claimed_by, row.claimed_at = "sending", "dead-sender", NOW
    db.session.commit()
    assert sender.flush(now=NOW + dt.timedelta(minutes=10))["sent"] == 0
    assert _rows(db)[0].status == "sending"
    assert sender.flush(now=NOW + dt.timedelta(minutes=16))["sent"] == 0
    row = _rows(db)[0]
    assert row.status == "failed" and "prüfen" in row.last_error
    assert mailserver.messages == []


def test_queue_is_idempotent_per_key(app, db):
    assert outbox.queue("k:1", kind="test", to=["a@example.org"], subject="s", text="t")
    assert outbox.queue("k:1", kind="test", to=["b@example.org"], subject="s2", text="t2") is None
    db.session.commit()
    (row,) = _rows(db)
    assert row.to == ["a@example.org"] and row.status == "pending"


def test_message_headers_and_parts(smtp_app, db, mailserver):
    outbox.queue(
        "k:umlaut",
        kind="test",
        to=["a@example.org", "b@example.org"],
        cc=["c@example.org"],
        subject="Größere Übersicht für Behörden",
        text="Grüße aus Magdeburg",
        html="<p>Grüße aus <b>Magdeburg</b></p>",
    )
    db.session.commit()
    assert sender.flush()["sent"] == 1
    (received,) = mailserver.messages
    (envelope,) = mailserver.envelopes
    assert str(received["Subject"]) == "Größere Übersicht für Behörden"
    assert str(received["To"]) == "a@example.org, b@example.org"
    assert str(received["Cc"]) == "c@example.org"
    assert str(received["From"]) == smtp_app.config["MAIL_FROM"]
    assert str(received["X-Tracker-Key"]) == "k:umlaut"
    assert sorted(envelope.rcpt_tos) == ["a@example.org", "b@example.org", "c@example.org"]
    text, html = parts(received)
    assert text.strip() == "Grüße aus Magdeburg"
    assert "<b>Magdeburg</b>" in html


@pytest.mark.parametrize(
    ("url", "expected"),
    [
        ("smtp://127.0.0.1:2525", ("127.0.0.1", 2525, None, None, False, False)),
        ("smtp://mail.example.org", ("mail.example.org", 25, None, None, False, False)),
        (
            "smtps://u%40x:p%2Fw@mail.example.org",
            ("mail.example.org", 465, "u@x", "p/w", True, False),
        ),
        (
            "smtp://u:p@mail.example.org:587?starttls=1",
            ("mail.example.org", 587, "u", "p", False, True),
        ),
    ],
)
def test_smtp_url(url, expected):
    s = outbox.SMTPSettings.from_url(url)
    assert (s.host, s.port, s.username, s.password, s.ssl, s.starttls) == expected


def test_smtp_url_rejects_other_schemes():
    with pytest.raises(ValueError):
        outbox.SMTPSettings.from_url("http://mail.example.org")


def _flush_in_thread(app, results, errors, barrier):
    try:
        with app.app_context():
            barrier.wait(timeout=10)
            results.append(sender.flush())
            _db.session.remove()
    except Exception as error:  # reported in the main thread
        errors.append(error)


def test_two_senders_at_once_deliver_each_row_exactly_once(app, db):
    # A slow server (20 ms per message) keeps both senders busy at the same time.
    from smtp import MailServer

    server = MailServer(delay=0.02).start()
    try:
        app.config["SMTP_URL"] = server.url
        assert ":memory:" not in app.config["SQLALCHEMY_DATABASE_URI"]  # a file (or PostgreSQL)
        keys = _queue(20, "parallel")
        db.session.remove()

        results, errors = [], []
        barrier = threading.Barrier(2)
        threads = [
            threading.Thread(target=_flush_in_thread, args=(app, results, errors, barrier))
            for _ in range(2)
        ]
        for t in threads:
            t.start()
        for t in threads:
            t.join(timeout=60)
        assert not any(t.is_alive() for t in threads)
        assert errors == []

        received = server.keys()
        assert sorted(received) == sorted(keys)
        assert set(received.values()) == {1}
        assert sum(r["sent"] for r in results) == 20
        assert all(r["retry"] == 0 and r["failed"] == 0 for r in results)
        # Which sender delivers how many varies (seen: 20/0, 17/3, 14/6): a sender whose whole
        # batch was claimed by the other one first stops; no row is ever delivered twice.
        rows = _rows(db)
        assert {r.status for r in rows} == {"sent"}
        assert {r.attempts for r in rows} == {1}
    finally:
        server.stop()


@pytest.mark.parametrize(("connections", "limit"), [(3, 1000), (3, 5), (1, 1000)])
def test_one_flush_delivers_over_the_configured_connections_side_by_side(
    app, db, connections, limit
):
    from smtp import MailServer

    server = MailServer(delay=0.05).start()  # slow enough that every connection gets rows
    try:
        app.config.update(SMTP_URL=server.url, SMTP_CONNECTIONS=connections)
        keys = _queue(12, "side")
        result = sender.flush(limit=limit)

        sent = min(limit, len(keys))
        assert result == {"sent": sent, "retry": 0, "failed": 0}
        received = server.keys()
        assert sum(received.values()) == sent and set(received.values()) == {1}
        assert server.connections == min(connections, sent)
        rows = _rows(db)
        assert sum(r.status == "sent" for r in rows) == sent
        assert {r.status for r in rows} <= {"sent", "pending"}
        # the flush's own session still works afterwards (the connections had their own)
        assert db.session.scalar(sa.select(sa.func.count(OutboxMessage.id))) == len(keys)
    finally:
        server.stop()


def test_subject_with_a_line_break_is_still_delivered(smtp_app, client, db, mailserver):
    # A title may contain a line break (the API accepts any text); header injection is refused
    # by the email package, so the subject must be put on one line before it goes out.
    from tracker.services import statements

    body = make_body()
    demand = make_demand("Zeile eins\nBcc: boese@example.org", bodies=[body])
    smtp_app.config["STAFF_EMAIL"] = "team@liga.example.org"
    statements.add_statement(body, demand.assignments[0], "Wir prüfen das.")
    assert sender.flush() == {"sent": 1, "retry": 0, "failed": 0}
    (mail,) = mailserver.messages
    assert str(mail["Subject"]) == (
        "Rückmeldung von Sozialministerium: Zeile eins Bcc: boese@example.org"
    )
    assert mail["Bcc"] is None
    assert mailserver.envelopes[0].rcpt_tos == ["team@liga.example.org"]


def test_long_subject_fits_the_column(app, db):
    # a body name may have 300 characters; the subject around it must still fit String(300)
    # (SQLite does not enforce the length, PostgreSQL refuses the row and the weekly job with it)
    long_name = "Ministerium für " + "sehr " * 54 + "viele Dinge"
    assert len(long_name) <= 300
    from tracker.domain.models import Body, Contact

    body = Body(slug="lang", name=long_name, short_name="")  # no short name: the subject uses it
    body.contacts.append(Contact(name="Büro", email="buero@lang.example.org", escalation_level=1))
    db.session.add(body)
    db.session.commit()
    make_demand(bodies=[body])
    (row,) = reminders.write_digests(ON)
    assert len(row.subject) <= 300
    assert row.subject.startswith("1 offene Forderung an Ministerium für sehr")


def test_staff_outbox_page_flush_and_retry_without_smtp(app, client, auth, staff, db, tmp_path):
    from helpers import csrf_token

    _queue(2, "seite")
    auth.login()
    page = client.get("/verwaltung/postausgang")
    assert page.status_code == 200
    html = page.get_data(as_text=True)
    assert "Kein SMTP-Server eingerichtet" in html
    assert "Nachricht seite:0" in html and "Nachricht seite:1" in html
    assert "wartet 2" in html
    response = client.post(
        "/verwaltung/postausgang/senden",
        data={"csrf_token": csrf_token(html)},
        follow_redirects=True,
    )
    flashed = response.get_data(as_text=True)
    assert "2 Nachrichten versandt, 0 werden später erneut versucht." in flashed
    assert len(list((tmp_path / "mail").glob("*-test.eml"))) == 2
    assert "gesendet 2" in client.get("/verwaltung/postausgang").get_data(as_text=True)

    row = _rows(db)[0]
    row.status, row.last_error = "failed", "SMTPDataError: 554 abgelehnt"
    db.session.commit()
    detail = client.get(f"/verwaltung/postausgang/{row.id}").get_data(as_text=True)
    assert "SMTPDataError: 554 abgelehnt" in detail and "fehlgeschlagen" in detail
    response = client.post(
        f"/verwaltung/postausgang/{row.id}/erneut", data={"csrf_token": csrf_token(detail)}
    )
    assert response.status_code == 302
    assert _rows(db)[0].status == "pending"
    assert sender.flush()["sent"] == 1
    assert len(list((tmp_path / "mail").glob("*-test.eml"))) == 2  # same file name, rewritten


def test_a_row_keeps_its_message_id_when_it_is_sent_again(smtp_app, db, mailserver):
    """Sent again (after an uncertain delivery), it is recognisably the same message."""
    row = outbox.queue("k:again", kind="test", to=["a@example.org"], subject="S", text="T")
    db.session.commit()
    assert sender.flush()["sent"] == 1
    db.session.get(OutboxMessage, row.id).status = "pending"  # as „Erneut senden“ puts it back
    db.session.commit()
    assert sender.flush()["sent"] == 1
    first, second = (str(m["Message-ID"]) for m in mailserver.messages)
    assert first == second and re.fullmatch(
        rf"<outbox-{row.id}\.[0-9a-f]{{12}}@tracker\.test>", first
    )
    for envelope in mailserver.envelopes:  # one line, not folded
        assert f"\r\nMessage-ID: {first}\r\n".encode() in envelope.content
