"""A body's answer through its signed link: every token failure, statements, confirmations."""

from __future__ import annotations

import time

import pytest
import sqlalchemy as sa
from helpers import csrf_token, make_body, make_demand, make_user
from itsdangerous import URLSafeTimedSerializer
from smtp import parts

from tracker.domain.models import Assignment, OutboxMessage, TimelineEntry
from tracker.jobs import sender
from tracker.services import answer_links

DAY = 86400


@pytest.fixture
def app_config():
    return {"STAFF_EMAIL": "team@liga.example.org"}


@pytest.fixture
def world(app, db):
    """The Sozialministerium's open, internal and closed demands; the Innenministerium's one."""
    ms = make_body()
    mi = make_body("mi", "Innenministerium", contacts=(("Büro", "buero@mi.example.org", 1),))
    open_raised = make_demand("Bezahlkarte evaluieren", bodies=[ms])
    open_addressed = make_demand("Sprachkurse ausbauen", bodies=[ms, mi])
    open_addressed.state = "addressed"
    internal = make_demand("Interner Entwurf", bodies=[ms], is_public=False)
    closed = make_demand("Längst erledigt", bodies=[ms])
    closed.state = "closed"
    other = make_demand("Abschiebehaft prüfen", bodies=[mi])
    db.session.commit()
    return {
        "ms": ms,
        "mi": mi,
        "raised": open_raised,
        "addressed": open_addressed,
        "internal": internal,
        "closed": closed,
        "other": other,
    }


def _written(db):
    """Everything an answer could write: timeline entries, outbox rows, confirmations."""
    db.session.expire_all()
    return (
        db.session.scalar(sa.select(sa.func.count(TimelineEntry.id))),
        db.session.scalar(sa.select(sa.func.count(OutboxMessage.id))),
        db.session.scalar(
            sa.select(sa.func.count())
            .select_from(Assignment)
            .where(Assignment.confirmed_at.is_not(None))
        ),
    )


def _token_page(client, token):
    response = client.get(f"/antwort/{token}")
    assert response.status_code == 200
    return response.get_data(as_text=True)


def _statement(client, token, demand, text, csrf, author="", addressed=False):
    prefix = f"d{demand.id}-"
    data = {prefix + "text": text, prefix + "author": author, prefix + "csrf_token": csrf}
    if addressed:
        data[prefix + "reports_addressed"] = "y"
    return client.post(f"/antwort/{token}/{demand.id}/stellungnahme", data=data)


def _confirm(client, token, demand, csrf):
    return client.post(f"/antwort/{token}/{demand.id}/bestaetigen", data={"csrf_token": csrf})


def _sign(payload, secret="test-secret", salt=answer_links.SALT):
    return URLSafeTimedSerializer(secret, salt=salt).dumps(payload)


INVALID = "Dieser Antwort-Link ist ungültig oder gehört nicht zu dieser Forderung."
EXPIRED = "Dieser Antwort-Link ist abgelaufen."


# 9: every way a token can be wrong ----------------------------------------------------------


def _assert_refused(client, db, world, token, status, message, csrf):
    before = _written(db)
    response = client.get(f"/antwort/{token}")
    assert response.status_code == status
    page = response.get_data(as_text=True)
    assert message in page and '<html lang="de"' in page
    assert "Bezahlkarte evaluieren" not in page
    for demand in (world["raised"], world["other"]):
        posted = _statement(client, token, demand, "Sollte nicht erscheinen", csrf)
        assert posted.status_code == status
        assert message in posted.get_data(as_text=True)
        assert _confirm(client, token, demand, csrf).status_code == status
    assert _written(db) == before


def _valid(world):
    return answer_links.answer_token(world["ms"])


def test_tampered_token_is_refused_and_writes_nothing(client, db, world):
    token = _valid(world)
    csrf = csrf_token(_token_page(client, token))
    # change one character of the signed payload (not the last one of the signature: its
    # low bits are padding in base64 and may decode to the same bytes)
    i = 3
    tampered = token[:i] + ("A" if token[i] != "A" else "B") + token[i + 1 :]
    assert tampered != token
    _assert_refused(client, db, world, tampered, 403, INVALID, csrf)
    # a payload swapped in from another body's token, with this token's signature
    other = answer_links.answer_token(world["mi"])
    spliced = other.split(".")[0] + "." + ".".join(token.split(".")[1:])
    _assert_refused(client, db, world, spliced, 403, INVALID, csrf)


def test_token_signed_with_another_secret_is_refused(client, db, world):
    csrf = csrf_token(_token_page(client, _valid(world)))
    foreign = _sign({"body": world["ms"].id, "slug": "ms"}, secret="someone-elses-secret")
    _assert_refused(client, db, world, foreign, 403, INVALID, csrf)
    other_salt = _sign({"body": world["ms"].id, "slug": "ms"}, salt="tracker.web.follow.views")
    _assert_refused(client, db, world, other_salt, 403, INVALID, csrf)


@pytest.mark.parametrize("body_id", [10**30, 2**31, 0, -1, True, "1"])
def test_signed_token_naming_an_id_no_row_can_have_is_refused(client, db, world, body_id):
    """Only someone with the secret could sign it; still a clear refusal, never a 500."""
    csrf = csrf_token(_token_page(client, _valid(world)))
    _assert_refused(client, db, world, _sign({"body": body_id, "slug": "ms"}), 403, INVALID, csrf)


def test_expired_token_is_gone(app, client, db, world, clock):
    csrf = csrf_token(_token_page(client, _valid(world)))
    days = app.config["ANSWER_LINK_DAYS"]
    assert days == 56
    payload = {"body": world["ms"].id, "slug": "ms"}
    now = time.time()
    clock.move_to(now - (days + 1) * DAY)
    old = _sign(payload)
    clock.move_to(now)
    _assert_refused(client, db, world, old, 410, EXPIRED, csrf)
    # one day before the end it still works
    clock.move_to(now - (days - 1) * DAY)
    recent = _sign(payload)
    clock.move_to(now)
    assert "Bezahlkarte evaluieren" in _token_page(client, recent)


def test_token_expires_after_answer_link_days(app, client, db, world, clock):
    token = _valid(world)
    _token_page(client, token)
    app.config["ANSWER_LINK_DAYS"] = 1
    clock.shift(DAY + 5)
    assert client.get(f"/antwort/{token}").status_code == 410


def test_token_of_one_body_cannot_answer_for_another(client, db, world):
    token = _valid(world)  # Sozialministerium
    csrf = csrf_token(_token_page(client, token))
    before = _written(db)
    for demand in (world["other"], world["internal"], world["closed"]):
        response = _statement(client, token, demand, "Fremde Stellungnahme", csrf)
        assert response.status_code == 403, demand.title
        assert INVALID in response.get_data(as_text=True)
        assert _confirm(client, token, demand, csrf).status_code == 403
    assert (
        client.post(
            f"/antwort/{token}/999999/stellungnahme",
            data={"d999999-text": "x", "d999999-csrf_token": csrf},
        ).status_code
        == 403
    )
    assert _written(db) == before
    page = _token_page(client, token)
    assert "Abschiebehaft prüfen" not in page


def test_token_of_a_deleted_body_is_gone(client, db, world):
    gone = make_body("tmp", "Aufgelöstes Amt", contacts=())
    token = answer_links.answer_token(gone)
    assert "keine Forderungen an Ihr Haus offen" in _token_page(client, token)
    csrf = csrf_token(_token_page(client, _valid(world)))
    db.session.delete(gone)
    db.session.commit()
    _assert_refused(client, db, world, token, 410, EXPIRED, csrf)


def test_a_new_slug_leaves_the_links_sent_before_it_working(client, db, world):
    """Staff may give a body a new slug (a ministry renamed): the links in the digests it got
    this week still open its page and take its statements."""
    token = _valid(world)
    world["ms"].slug = "sozial"
    db.session.commit()
    page = _token_page(client, token)
    assert "Bezahlkarte evaluieren" in page
    posted = _statement(client, token, world["raised"], "Nach der Umbenennung", csrf_token(page))
    assert posted.status_code == 302
    assert "Nach der Umbenennung" in client.get(f"/forderungen/{world['raised'].id}").get_data(True)


@pytest.mark.parametrize(
    "junk",
    ["junk", "a.b.c", "eyJib2R5IjoxfQ", "....", "x" * 500],
)
def test_malformed_token_is_refused(client, db, world, junk):
    csrf = csrf_token(_token_page(client, _valid(world)))
    _assert_refused(client, db, world, junk, 403, INVALID, csrf)


def test_control_characters_in_a_token_are_404(client, db, world):
    """The URL converter refuses control characters in any path segment, before the view."""
    before = _written(db)
    assert client.get("/antwort/%00").status_code == 404
    assert client.post("/antwort/%00/1/stellungnahme").status_code == 404
    assert _written(db) == before


@pytest.mark.parametrize("payload", [[1, "ms"], {"body": "1", "slug": "ms"}, {"slug": "ms"}, 1])
def test_signed_but_wrong_shape_is_refused(client, db, world, payload):
    csrf = csrf_token(_token_page(client, _valid(world)))
    _assert_refused(client, db, world, _sign(payload), 403, INVALID, csrf)


# 10: the answer flow -----------------------------------------------------------------------


def test_answer_page_lists_the_bodys_open_public_demands(client, world):
    page = _token_page(client, _valid(world))
    assert "Rückmeldung von Sozialministerium" in page
    assert "Bezahlkarte evaluieren" in page and "Sprachkurse ausbauen" in page
    for absent in ("Interner Entwurf", "Längst erledigt", "Abschiebehaft prüfen"):
        assert absent not in page
    # the 'aufgegriffen' checkbox only for the demand still 'raised'
    assert f'name="d{world["raised"].id}-reports_addressed"' in page
    assert f'name="d{world["addressed"].id}-reports_addressed"' not in page
    assert 'name="robots" content="noindex"' in page


def test_statement_appears_on_the_public_page_escaped(client, db, world, mailserver, app):
    app.config["SMTP_URL"] = mailserver.url
    token = _valid(world)
    demand = world["raised"]
    csrf = csrf_token(_token_page(client, token))
    text = "Wir prüfen das.\n<script>alert('x')</script> & mehr"
    response = _statement(
        client, token, demand, text, csrf, author="Dr. Erika Muster, Referat 31", addressed=True
    )
    assert response.status_code == 302
    assert response.headers["Location"].endswith(f"/antwort/{token}#forderung-{demand.id}")
    thanks = client.get(response.headers["Location"]).get_data(as_text=True)
    assert "Vielen Dank. Ihre Stellungnahme steht jetzt in der öffentlichen Chronik." in thanks
    assert "Ihr Haus hat 1 Stellungnahme abgegeben" in thanks

    entry = db.session.scalar(sa.select(TimelineEntry).where(TimelineEntry.kind == "statement"))
    assert (entry.body_id, entry.demand_id, entry.is_public) == (world["ms"].id, demand.id, True)
    assert entry.text == text.strip()
    assert entry.author_name == "Dr. Erika Muster, Referat 31"
    assert entry.data == {"reports_addressed": True}
    assert entry.author_id is None

    public = client.get(f"/forderungen/{demand.id}").get_data(as_text=True)
    assert "Stellungnahme: Sozialministerium" in public
    assert "&lt;script&gt;alert(&#39;x&#39;)&lt;/script&gt; &amp; mehr" in public
    assert "<script>alert('x')</script>" not in public
    # a statement does not move the demand: the LIGA confirms 'aufgegriffen' itself
    db.session.refresh(demand)
    assert demand.state == "raised"

    # the staff notice goes through the outbox to the real server
    (notice,) = db.session.scalars(
        sa.select(OutboxMessage).where(OutboxMessage.kind == "staff_notice")
    ).all()
    assert notice.key == f"statement:{entry.id}" and notice.to == ["team@liga.example.org"]
    assert sender.flush()["sent"] == 1
    (mail,) = mailserver.messages
    assert str(mail["Subject"]) == "Rückmeldung von Sozialministerium: Bezahlkarte evaluieren"
    assert str(mail["To"]) == "team@liga.example.org"
    mail_text, mail_html = parts(mail)
    assert "Die Stelle meldet: aufgegriffen" in mail_text
    assert f"http://tracker.test/verwaltung/forderungen/{demand.id}" in mail_text
    assert "<script>alert('x')</script>" in mail_text  # plain text is not HTML
    assert "&lt;script&gt;" in mail_html and "<script>" not in mail_html
    assert "Dr. Erika Muster, Referat 31" in mail_text


def test_each_statement_queues_a_staff_notice(client, db, world):
    token = _valid(world)
    csrf = csrf_token(_token_page(client, token))
    for demand, text in (
        (world["raised"], "Erste"),
        (world["addressed"], "Zweite"),
        (world["raised"], "Dritte"),
    ):
        assert _statement(client, token, demand, text, csrf).status_code == 302
    notices = db.session.scalars(
        sa.select(OutboxMessage)
        .where(OutboxMessage.kind == "staff_notice")
        .order_by(OutboxMessage.id)
    ).all()
    assert len(notices) == 3
    texts = ("Erste", "Zweite", "Dritte")
    assert [n.text.count(t) for n, t in zip(notices, texts, strict=True)] == [1, 1, 1]
    assert all(n.body_id == world["ms"].id for n in notices)
    # reports_addressed is ignored on a demand that is not 'raised' any more
    entries = db.session.scalars(
        sa.select(TimelineEntry).where(TimelineEntry.kind == "statement").order_by(TimelineEntry.id)
    ).all()
    assert [e.data["reports_addressed"] for e in entries] == [False, False, False]


def test_staff_notice_without_staff_email_goes_to_active_users(app, client, db, world):
    app.config["STAFF_EMAIL"] = ""
    make_user("a@liga.example.org")
    gone = make_user("b@liga.example.org")
    gone.active = False
    make_user("c@liga.example.org")
    db.session.commit()
    token = _valid(world)
    assert (
        _statement(
            client, token, world["raised"], "Text", csrf_token(_token_page(client, token))
        ).status_code
        == 302
    )
    (notice,) = db.session.scalars(sa.select(OutboxMessage)).all()
    assert notice.to == ["a@liga.example.org", "c@liga.example.org"]


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("x" * 5001, "Höchstens 5000 Zeichen."),
        ("", "Bitte eine Stellungnahme eingeben."),
        ("   \n  ", "Bitte eine Stellungnahme eingeben."),
    ],
)
def test_invalid_statement_is_refused_in_german_and_writes_nothing(
    client, db, world, text, message
):
    token = _valid(world)
    csrf = csrf_token(_token_page(client, token))
    before = _written(db)
    response = _statement(client, token, world["raised"], text, csrf)
    assert response.status_code == 422
    page = response.get_data(as_text=True)
    assert message in page
    assert "Bitte prüfen Sie Ihre Angaben" in page
    assert _written(db) == before


def test_statement_of_exactly_5000_characters_is_accepted(client, db, world):
    token = _valid(world)
    response = _statement(
        client, token, world["raised"], "y" * 5000, csrf_token(_token_page(client, token))
    )
    assert response.status_code == 302


def test_too_long_author_is_refused(client, db, world):
    token = _valid(world)
    before = _written(db)
    csrf = csrf_token(_token_page(client, token))
    response = _statement(client, token, world["raised"], "Text", csrf, author="n" * 201)
    assert response.status_code == 422
    assert _written(db) == before


def test_post_without_csrf_token_is_refused(client, db, world):
    token = _valid(world)
    before = _written(db)
    d = world["raised"]
    assert (
        client.post(
            f"/antwort/{token}/{d.id}/stellungnahme", data={f"d{d.id}-text": "Text"}
        ).status_code
        == 400
    )
    assert client.post(f"/antwort/{token}/{d.id}/bestaetigen").status_code == 400
    assert _written(db) == before


def test_confirmation_once_a_day(client, db, world):
    token = _valid(world)
    demand = world["addressed"]
    csrf = csrf_token(_token_page(client, token))
    response = _confirm(client, token, demand, csrf)
    assert response.status_code == 302
    page = client.get(response.headers["Location"]).get_data(as_text=True)
    assert "„unverändert in Bearbeitung“ ist vermerkt" in page
    assert "zuletzt bestätigt am" in page

    public = client.get(f"/forderungen/{demand.id}").get_data(as_text=True)
    assert "Sozialministerium bestätigt: unverändert in Bearbeitung" in public
    assert "zuletzt bestätigt:" in public
    body_page = client.get("/stellen/ms").get_data(as_text=True)
    assert "zuletzt bestätigt:" in body_page

    entries = db.session.scalars(
        sa.select(TimelineEntry).where(TimelineEntry.kind == "confirmation")
    ).all()
    assert len(entries) == 1 and entries[0].is_public and entries[0].body_id == world["ms"].id
    notices = db.session.scalars(
        sa.select(OutboxMessage).where(OutboxMessage.kind == "staff_notice")
    ).all()
    assert len(notices) == 1 and "unverändert in Bearbeitung" in notices[0].text

    # the second click the same day adds nothing
    before = _written(db)
    assert _confirm(client, token, demand, csrf).status_code == 302
    assert _written(db) == before

    # the Innenministerium confirms the same demand for itself
    mi_token = answer_links.answer_token(world["mi"])
    assert _confirm(client, mi_token, demand, csrf).status_code == 302
    assert (
        db.session.scalar(
            sa.select(sa.func.count(TimelineEntry.id)).where(TimelineEntry.kind == "confirmation")
        )
        == 2
    )


def test_link_works_through_the_whole_promised_last_day(app, client, db, world, clock):
    # The digest says "gültig bis <date>": the link must still open at the end of that day.
    import datetime as dt

    from tracker.domain.workdays import BERLIN

    token = _valid(world)
    promised = answer_links.expiry_date()
    assert promised > dt.date.today()
    end_of_day = dt.datetime.combine(promised, dt.time(23, 59, 59), BERLIN).timestamp()
    clock.move_to(end_of_day)
    assert client.get(f"/antwort/{token}").status_code == 200
    # and it does expire soon after
    clock.move_to(end_of_day + DAY + 1)
    assert client.get(f"/antwort/{token}").status_code == 410
