"""Every kind of automatic message, as the SMTP server receives it, parsed strictly."""

from __future__ import annotations

import email
import email.policy
import re

import pytest
import sqlalchemy as sa
from helpers import make_body, make_demand, make_user

from tracker.domain.models import Subscription, utcnow
from tracker.jobs import sender
from tracker.services import demands, outbox, reminders, statements, subscriptions

KINDS = ("digest", "subscribe", "notify", "statement", "confirmation")


@pytest.fixture
def received(smtp_app, db, mailserver):
    """One message of each kind, delivered to the test SMTP server; raw bytes by kind."""
    smtp_app.config["STAFF_EMAIL"] = "team@liga.example.org"
    body = make_body()
    demand = make_demand("Bezahlkarte gemeinsam evaluieren", bodies=[body])
    make_user()
    reminders.write_digests()
    subscriptions.subscribe(demand, "neu@example.org")
    db.session.add(
        Subscription(
            demand=demand, email="leser@example.org", token="t" * 43, confirmed_at=utcnow()
        )
    )
    db.session.flush()
    demands.advance(demand, "address", None, demand.version, {"note": "Zugesagt."})
    statements.add_statement(body, demand.assignments[0], "Wir prüfen das.")
    statements.confirm_in_progress(body, demand.assignments[0])
    db.session.commit()
    assert sender.flush()["failed"] == 0
    raw = {}
    for envelope in mailserver.envelopes:
        key = email.message_from_bytes(envelope.content, policy=email.policy.default)[
            "X-Tracker-Key"
        ]
        kind = {"digest": "digest", "subscribe": "subscribe", "notify": "notify"}.get(
            key.split(":")[0], "statement" if key.startswith("statement") else "confirmation"
        )
        raw.setdefault(kind, envelope.content)
    assert set(raw) == set(KINDS)
    return raw


def _strict(raw: bytes):
    return email.message_from_bytes(raw, policy=email.policy.strict)


@pytest.mark.parametrize("kind", KINDS)
def test_every_message_parses_strictly_with_one_mime_version_and_auto_submitted(received, kind):
    raw = received[kind]
    message = _strict(raw)
    assert message.defects == [] and all(not p.defects for p in message.walk())
    assert raw.count(b"MIME-Version:") == 1
    assert message["Auto-Submitted"] == "auto-generated"
    assert (message["List-Id"] is not None) == (kind == "digest")


@pytest.mark.parametrize("kind", ["subscribe", "notify"])
def test_follow_mail_has_a_plain_one_click_unsubscribe(received, kind):
    raw = received[kind]
    line = re.search(rb"^List-Unsubscribe: (.*?)\r?\n(?![ \t])", raw, re.M | re.S)[1]
    assert re.fullmatch(rb"<http://tracker\.test/folgen/[\w-]+/abmelden/ein-klick>", line), line
    assert _strict(raw)["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"


@pytest.mark.parametrize("kind", ["digest", "statement", "confirmation"])
def test_other_mail_offers_no_unsubscribe(received, kind):
    message = _strict(received[kind])
    assert message["List-Unsubscribe"] is None and message["List-Unsubscribe-Post"] is None


def test_digest_list_id_names_the_site(received):
    assert _strict(received["digest"])["List-Id"] == (
        "Erinnerungen des Forderungstrackers <erinnerungen.tracker.test>"
    )


@pytest.mark.parametrize("kind", KINDS)
def test_html_part_has_no_empty_paragraph_or_dangling_colon(received, kind):
    html = _strict(received[kind]).get_body(preferencelist=("html",)).get_content()
    assert not re.search(r"<p[^>]*>\s*</p>", html)
    # a colon must lead somewhere: not right before the end of its paragraph, link or button
    assert not re.search(r":\s*</(p|a|strong|td|li)>", html), html


def test_one_click_unsubscribe_works_without_session_or_csrf(app, client, db):
    demand = make_demand(bodies=[make_body()])
    sub = Subscription(
        demand=demand, email="leser@example.org", token="k" * 43, confirmed_at=utcnow()
    )
    db.session.add(sub)
    db.session.commit()
    url = f"/folgen/{sub.token}/abmelden/ein-klick"
    # opening it in a browser (or a link scanner fetching it) only leads to the confirm page
    for response in (client.get(url), client.head(url)):  # scanners often send HEAD
        assert response.status_code == 302 and response.headers["Location"].endswith("/abmelden")
    db.session.expire_all()
    assert db.session.get(Subscription, sub.id).active
    # the regular form still needs its CSRF token
    assert client.post(f"/folgen/{sub.token}/abmelden").status_code == 400
    assert client.post("/folgen/unknown/abmelden/ein-klick").status_code == 404
    response = client.post(
        url,
        data="List-Unsubscribe=One-Click",
        content_type="application/x-www-form-urlencoded",
    )
    assert response.status_code == 200
    assert "keine E-Mails mehr" in response.get_data(as_text=True)
    db.session.expire_all()
    assert db.session.get(Subscription, sub.id).ended_at is not None
    assert db.session.scalar(sa.select(sa.func.count(Subscription.id))) == 1


def _built(message) -> bytes:
    """The message as the sender flattens it (smtplib's send_message: CRLF line ends)."""
    email_message = outbox.build_email(message)
    return email_message.as_bytes(policy=email_message.policy.clone(linesep="\r\n"))


def test_a_long_subject_with_umlauts_is_folded_into_valid_encoded_words(app, db):
    subject = "Überfällige Forderungen an das Ministerium für Arbeit, Soziales, Gesundheit " * 3
    message = outbox.queue("k:lang", kind="test", to=["a@example.org"], subject=subject, text="x")
    raw = _built(message)
    head = raw.split(b"\r\n\r\n", 1)[0]
    assert max(len(line) for line in head.split(b"\r\n")) <= 78
    assert head.isascii()
    parsed = _strict(raw)
    assert parsed.defects == [] and str(parsed["Subject"]) == " ".join(subject.split())


def test_a_sender_name_with_umlauts_is_encoded_not_sent_raw(app, db):
    app.config["MAIL_FROM"] = "LIGA Sachsen-Anhalt – Öffentlichkeitsarbeit <tracker@example.org>"
    message = outbox.queue(
        "k:von", kind="test", to=["a@example.org"], subject="Grüße", text="Grüße", html="<p>ä</p>"
    )
    raw = _built(message)
    assert raw.split(b"\r\n\r\n", 1)[0].isascii()
    parsed = _strict(raw)
    assert parsed.defects == [] and all(not p.defects for p in parsed.walk())
    assert parsed["From"].addresses[0].display_name == "LIGA Sachsen-Anhalt – Öffentlichkeitsarbeit"
    assert parsed["From"].addresses[0].addr_spec == "tracker@example.org"
    assert raw.count(b"MIME-Version:") == 1
    assert parsed.get_body(preferencelist=("plain",)).get_content().strip() == "Grüße"
