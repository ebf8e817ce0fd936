"""Answers that count: commitments through the answer link, classification, reassigning."""

from __future__ import annotations

import datetime as dt
import re

import pytest
import sqlalchemy as sa
from forms_as_rendered import forms_of
from helpers import csrf_token, make_body, make_demand, make_user, timeline
from test_api import check

from tracker.domain.models import Assignment, OutboxMessage, TimelineEntry
from tracker.domain.workdays import today
from tracker.services import answer_links, answers, api_tokens, reminders, statements, statistics
from tracker.services.errors import ServiceError


@pytest.fixture
def world(app, db):
    ms = make_body()
    mi = make_body("mi", "Innenministerium", contacts=(("Büro", "buero@mi.example.org", 1),))
    card = make_demand("Bezahlkarte evaluieren", bodies=[mi, ms])
    other = make_demand("Dialogkultur", bodies=[mi])
    return {"ms": ms, "mi": mi, "card": card, "other": other}


def _post_statement(client, body, demand, **fields):
    token = answer_links.answer_token(body)
    page = client.get(f"/antwort/{token}").get_data(as_text=True)
    prefix = f"d{demand.id}-"
    data = {prefix + "csrf_token": csrf_token(page), prefix + "text": "Wir prüfen das."}
    data.update({prefix + k: v for k, v in fields.items()})
    return client.post(f"/antwort/{token}/{demand.id}/stellungnahme", data=data)


def _written(db):
    db.session.expire_all()
    return (
        db.session.scalar(sa.select(sa.func.count(TimelineEntry.id))),
        db.session.scalar(sa.select(sa.func.count(OutboxMessage.id))),
        db.session.scalars(sa.select(Assignment.committed_until)).all(),
        db.session.scalars(sa.select(Assignment.file_reference)).all(),
    )


def test_body_gives_file_reference_and_commitment_shown_publicly(client, db, world):
    promised = today() + dt.timedelta(days=30)
    response = _post_statement(
        client,
        world["mi"],
        world["card"],
        file_reference="MI-21.3/<b>2026</b>",
        committed_until=promised.isoformat(),
    )
    assert response.status_code == 302
    assignment = db.session.get(Assignment, (world["card"].id, world["mi"].id))
    assert (assignment.file_reference, assignment.committed_until) == (
        "MI-21.3/<b>2026</b>",
        promised,
    )
    entry = timeline(world["card"], "statement")[0]
    assert entry.data["committed_until"] == promised.isoformat()
    assert entry.data["file_reference"] == "MI-21.3/<b>2026</b>"
    html = client.get(f"/forderungen/{world['card'].id}").get_data(as_text=True)
    assert "Aktenzeichen: MI-21.3/&lt;b&gt;2026&lt;/b&gt;" in html
    assert f"Antwort zugesagt bis: {promised:%d.%m.%Y}" in html


@pytest.mark.parametrize(
    ("fields", "message"),
    [
        ({"committed_until": "gestern"}, "Kein gültiges Datum."),
        ({"committed_until": "2001-01-01"}, "Das Datum darf nicht in der Vergangenheit liegen."),
        ({"committed_until": "2999-01-01"}, "Bitte ein Datum innerhalb eines Jahres angeben."),
        ({"file_reference": "x" * 101}, ""),
        ({"competent_text": "x" * 301}, ""),
        ({"competent_body": "99999"}, ""),
    ],
)
def test_bad_commitment_is_refused_and_writes_nothing(client, db, world, fields, message):
    before = _written(db)
    response = _post_statement(client, world["mi"], world["card"], **fields)
    assert response.status_code == 422
    assert 'class="error-summary"' in response.get_data(as_text=True)
    if message:
        assert message in response.get_data(as_text=True)
    assert _written(db) == before


def test_body_cannot_name_itself_as_competent(client, db, world):
    before = _written(db)
    response = _post_statement(client, world["mi"], world["card"], competent_body=world["mi"].id)
    assert response.status_code == 422  # not among the choices
    assert _written(db) == before


def test_commitment_is_the_target_date_in_digest_ical_and_body_page(client, db, world):
    assignment = db.session.get(Assignment, (world["card"].id, world["mi"].id))
    passed = today() - dt.timedelta(days=14)
    assignment.committed_until = passed
    db.session.commit()
    (digest,) = reminders.build_digests(body_slug="mi")
    item = next(i for i in digest.items if i.demand.id == world["card"].id)
    assert item.progress.target == passed and item.progress.overdue
    assert item.committed_until == passed
    other = next(i for i in digest.items if i.demand.id == world["other"].id)
    assert other.committed_until is None and not other.progress.overdue
    (_digest, _subject, text, html) = reminders.render_digests([digest])[0]
    assert f"Antwort zugesagt bis: {passed:%d.%m.%Y} (Zusage überschritten" in text
    assert "Zusage überschritten" in html

    ical = client.get("/stellen/mi/termine.ics").get_data(as_text=True)
    assert f"DTSTART;VALUE=DATE:{passed:%Y%m%d}" in ical
    body_page = client.get("/stellen/mi").get_data(as_text=True)
    assert "<strong>1</strong> überfällig" in body_page  # only the demand with the passed date
    assert body_page.count('class="row--overdue"') == 1
    public = client.get(f"/forderungen/{world['card'].id}").get_data(as_text=True)
    assert "Zusage überschritten" in public


@pytest.fixture
def given(db, world):
    """A statement of the Innenministerium: not responsible, the ministry is; with a date."""
    assignment = db.session.get(Assignment, (world["card"].id, world["mi"].id))
    entry = statements.add_statement(
        world["mi"],
        assignment,
        "Dafür sind wir nicht zuständig.",
        committed_until=today() + dt.timedelta(days=10),
        competent_body=world["ms"],
    )
    return entry


def _classify(client, demand, entry, value, with_csrf=True):
    page = client.get(f"/verwaltung/forderungen/{demand.id}").get_data(as_text=True)
    data = {f"c{entry.id}-classification": value}
    if with_csrf:
        data[f"c{entry.id}-csrf_token"] = csrf_token(page)
    return client.post(
        f"/verwaltung/forderungen/{demand.id}/stellungnahmen/{entry.id}/einordnen", data=data
    )


def test_staff_classify_and_reclassify_with_a_trace(client, auth, db, world, given, staff):
    auth.login_as(staff)
    assert _classify(client, world["card"], given, "interim").status_code == 302
    assert _classify(client, world["card"], given, "substantive").status_code == 302
    entries = timeline(world["card"], "classification")
    assert [(e.data["classification"], e.data["before"]) for e in entries] == [
        ("interim", None),
        ("substantive", "interim"),
    ]
    assert entries[1].author_id == staff.id and entries[1].body_id == world["mi"].id
    # the substantive answer fulfils the commitment
    assert db.session.get(Assignment, (world["card"].id, world["mi"].id)).committed_until is None
    assert "fulfils_commitment" in entries[1].data
    public = client.get(f"/forderungen/{world['card'].id}").get_data(as_text=True)
    assert "Stellungnahme eingeordnet: inhaltliche Antwort" in public


@pytest.mark.parametrize("value", ["", "great", "substantive "])
def test_bad_classification_is_refused(client, auth, db, world, given, staff, value):
    auth.login_as(staff)
    before = _written(db)
    response = _classify(client, world["card"], given, value)
    assert response.status_code == 422
    assert "Bitte" in response.get_data(as_text=True)
    assert _written(db) == before


def test_same_classification_twice_is_no_change(client, auth, db, world, given, staff):
    auth.login_as(staff)
    _classify(client, world["card"], given, "boilerplate")
    # the select shows the current class, not „– bitte wählen –“
    page = client.get(f"/verwaltung/forderungen/{world['card'].id}").get_data(as_text=True)
    (form,) = [f for f in forms_of(page) if f.action.endswith(f"/{given.id}/einordnen")]
    assert (f"c{given.id}-classification", "boilerplate") in form.fields
    before = _written(db)
    response = _classify(client, world["card"], given, "boilerplate")
    assert response.status_code == 302
    shown = client.get(response.headers["Location"]).get_data(as_text=True)
    assert "Keine Änderung." in shown and "eingeordnet als „" not in shown
    assert _written(db) == before
    # the service itself still refuses a class a statement already has (the API says so)
    with pytest.raises(ServiceError):
        answers.classify(given, "boilerplate", staff)


def test_classify_needs_staff_and_csrf(client, auth, db, world, given, staff):
    url = f"/verwaltung/forderungen/{world['card'].id}/stellungnahmen/{given.id}/einordnen"
    before = _written(db)
    public = client.get("/anmelden").get_data(as_text=True)  # a token of an anonymous session
    response = client.post(
        url, data={f"c{given.id}-classification": "substantive", "csrf_token": csrf_token(public)}
    )
    assert response.status_code == 302 and "/anmelden" in response.headers["Location"]
    auth.login_as(staff)
    assert _classify(client, world["card"], given, "substantive", with_csrf=False).status_code in (
        400,
        422,
    )
    assert _written(db) == before
    # a statement of another demand is not found under this one
    other_url = f"/verwaltung/forderungen/{world['other'].id}/stellungnahmen/{given.id}/einordnen"
    page = client.get(f"/verwaltung/forderungen/{world['other'].id}").get_data(as_text=True)
    assert client.post(other_url, data={"csrf_token": csrf_token(page)}).status_code == 404


def test_not_responsible_reassigned_in_one_step(client, auth, db, world, given, staff):
    auth.login_as(staff)
    page = client.get(f"/verwaltung/forderungen/{world['card'].id}").get_data(as_text=True)
    assert "Zuständigkeit an Sozialministerium übertragen" not in page  # not classified yet
    url = f"/verwaltung/forderungen/{world['card'].id}/stellungnahmen/{given.id}/uebertragen"
    refused = client.post(url, data={"csrf_token": csrf_token(page)})
    assert refused.status_code == 422
    assert "nicht als „nicht zuständig“ eingeordnet" in refused.get_data(as_text=True)

    _classify(client, world["card"], given, "not_responsible")
    page = client.get(f"/verwaltung/forderungen/{world['card'].id}").get_data(as_text=True)
    assert "Zuständigkeit an Sozialministerium übertragen" in page
    response = client.post(url, data={"csrf_token": csrf_token(page)})
    assert response.status_code == 302
    db.session.expire_all()
    roles = {a.body.slug: a.role for a in world["card"].assignments}
    assert roles == {"ms": "lead"}  # the lead moved; the ministry was already involved
    (assigned,) = [e for e in timeline(world["card"], "assigned") if e.author_id == staff.id]
    assert "mi" in assigned.data["before"] and assigned.data["after"] == {"ms": "lead"}


def test_statistics_count_only_classified_substantive_answers(db, world, given, staff):
    assert statistics.statistics().overall.answered == 0  # not classified yet
    answers.classify(given, "substantive", staff)
    db.session.commit()
    assert statistics.statistics().overall.answered == 1


def test_passed_commitments_on_staff_page_and_in_the_weekly_notice(
    client, auth, db, world, given, staff, app
):
    assignment = db.session.get(Assignment, (world["card"].id, world["mi"].id))
    assignment.committed_until = today() - dt.timedelta(days=1)
    db.session.commit()
    assert answers.passed_commitments() == [assignment]
    auth.login_as(staff)
    page = client.get("/verwaltung/erinnerungen").get_data(as_text=True)
    assert "Zugesagte Antwort überfällig:" in page and "Bezahlkarte evaluieren" in page

    from tracker.jobs import scheduler as jobs

    jobs.weekly_digest()
    notice = db.session.scalar(
        sa.select(OutboxMessage).where(OutboxMessage.key.like("staff-due:%"))
    )
    assert notice is not None and notice.to == [staff.email]
    assert "Bezahlkarte evaluieren" in notice.text and "zugesagt bis" in notice.text


# API ---------------------------------------------------------------------------------------


@pytest.fixture
def token(app):
    user = make_user(email="api@example.org", name="Api")
    _row, plain = api_tokens.create_token(user, "Skript")
    return {"Authorization": f"Bearer {plain}"}


def test_api_shows_commitments_and_classes_and_classifies(client, db, world, given, token):
    spec = client.get("/api/v1/openapi.json").get_json()
    path = "/demands/{demand_id}/statements/{entry_id}/classification"
    url = f"/api/v1/demands/{world['card'].id}/statements/{given.id}/classification"
    denied = client.post(url, json={"classification": "substantive"})
    assert check(spec, denied, path, "post")["code"] == "unauthorized"
    bad = client.post(url, json={"classification": "yes"}, headers=token)
    assert check(spec, bad, path, "post")["code"] == "validation_failed"
    missing = client.post(
        f"/api/v1/demands/{world['card'].id}/statements/999999/classification",
        json={"classification": "interim"},
        headers=token,
    )
    assert check(spec, missing, path, "post")["code"] == "not_found"
    made = check(
        spec, client.post(url, json={"classification": "interim"}, headers=token), path, "post"
    )
    assert made["kind"] == "classification" and made["data"]["classification"] == "interim"

    body = check(spec, client.get(f"/api/v1/demands/{world['card'].id}"), "/demands/{demand_id}")
    assert body["commitments"] == [
        {
            "body": "mi",
            "file_reference": None,
            "committed_until": (today() + dt.timedelta(days=10)).isoformat(),
        }
    ]
    (statement,) = [e for e in body["timeline"] if e["kind"] == "statement"]
    assert statement["classification"] == "interim"
    assert statement["data"]["competent_body_id"] == world["ms"].id


def test_api_reassigns(client, db, world, given, token):
    spec = client.get("/api/v1/openapi.json").get_json()
    path = "/demands/{demand_id}/statements/{entry_id}/reassign"
    url = f"/api/v1/demands/{world['card'].id}/statements/{given.id}/reassign"
    refused = client.post(url, json={}, headers=token)
    assert check(spec, refused, path, "post")["code"] == "validation_failed"
    answers.classify(given, "not_responsible", None)
    db.session.commit()
    stale = client.post(url, json={"version": 1}, headers=token)
    assert check(spec, stale, path, "post")["code"] == "stale"
    done = check(spec, client.post(url, json={}, headers=token), path, "post")
    assert done["kind"] == "assigned" and "mi" not in done["data"]["after"]


def test_feed_names_the_classification_and_the_commitment(client, db, world, given, staff):
    answers.classify(given, "interim", staff)
    db.session.commit()
    feed = client.get(f"/forderungen/{world['card'].id}/feed.atom").get_data(as_text=True)
    assert "Stellungnahme eingeordnet: Zwischenbescheid" in feed
    assert "Antwort zugesagt bis:" in feed


def test_lead_commitment_is_the_target_on_every_surface(client, db, world):
    """A lead body's committed date replaces the state's target wherever overdue shows."""
    card = world["card"]  # lead: mi, involved: ms
    card.state_changed_at = card.state_changed_at - dt.timedelta(days=400)
    db.session.commit()
    assert client.get(f"/api/v1/demands/{card.id}").get_json()["overdue"] is True
    promised = today() + dt.timedelta(days=30)
    response = _post_statement(client, world["mi"], card, committed_until=promised.isoformat())
    assert response.status_code == 302

    for path in (f"/forderungen/{card.id}", "/", "/stellen/mi", "/stellen/ms"):
        html = client.get(path).get_data(as_text=True)
        assert "Arbeitstage überfällig" not in html, path
        assert f"Ziel: {promised:%d.%m.%Y}" in html, path
    for slug in ("mi", "ms"):
        assert "<strong>0</strong> überfällig" in client.get(f"/stellen/{slug}").get_data(
            as_text=True
        )
        assert client.get(f"/api/v1/bodies/{slug}").get_json()["overdue"] == 0
    detail = client.get(f"/api/v1/demands/{card.id}").get_json()
    (listed,) = [d for d in client.get("/api/v1/demands").get_json()["items"] if d["id"] == card.id]
    for item in (detail, listed):
        assert (item["overdue"], item["target_date"]) == (False, promised.isoformat())
    csv = client.get("/forderungen.csv").get_data(as_text=True)
    assert f"{promised.isoformat()};nein" in csv
    assert statistics.statistics().overall.overdue == 0
    digests = {d.body.slug: d for d in reminders.build_digests()}
    for slug in ("mi", "ms"):  # the involved body's reminder counts the lead's promise too
        (item,) = [i for i in digests[slug].items if i.demand.id == card.id]
        assert (item.committed_until, item.progress.target) == (promised, promised)
        assert not item.progress.overdue
    # an involved body's own commitment does not move the demand's target
    db.session.get(Assignment, (card.id, world["mi"].id)).committed_until = None
    db.session.get(Assignment, (card.id, world["ms"].id)).committed_until = promised
    db.session.commit()
    assert client.get(f"/api/v1/demands/{card.id}").get_json()["overdue"] is True
    assert "<strong>0</strong> überfällig" in client.get("/stellen/ms").get_data(as_text=True)
    assert "<strong>1</strong> überfällig" in client.get("/stellen/mi").get_data(as_text=True)


def test_staff_notice_names_file_reference_commitment_and_competent_body(client, db, world):
    """The staff e-mail about a statement carries what the body committed to or named."""
    make_user()  # the staff who get the notice
    bamf = make_body("bamf", "BAMF Außenstelle", contacts=())
    promised = today() + dt.timedelta(days=30)
    response = _post_statement(
        client,
        world["mi"],
        world["card"],
        file_reference="MI-21.3/<b>2026</b>",
        committed_until=promised.isoformat(),
        competent_body=str(bamf.id),
        competent_text="Referat <41>",
    )
    assert response.status_code == 302
    (notice,) = db.session.scalars(
        sa.select(OutboxMessage).where(OutboxMessage.kind == "staff_notice")
    ).all()
    assert "Aktenzeichen: MI-21.3/<b>2026</b>" in notice.text
    assert f"Antwort zugesagt bis: {promised:%d.%m.%Y}" in notice.text
    assert "Zuständig ist nach Angabe der Stelle: BAMF Außenstelle – Referat <41>" in notice.text
    assert "Aktenzeichen: MI-21.3/&lt;b&gt;2026&lt;/b&gt;" in notice.html
    assert f"<strong>{promised:%d.%m.%Y}</strong>" in notice.html
    assert "BAMF Außenstelle – Referat &lt;41&gt;" in notice.html


def test_statement_form_sent_twice_is_recorded_once(client, db, world):
    """A double click or resend of one rendered form writes one statement and one notice."""
    make_user()
    token = answer_links.answer_token(world["mi"])
    page = client.get(f"/antwort/{token}").get_data(as_text=True)
    prefix = f"d{world['card'].id}-"
    nonce = re.search(rf'name="{prefix}nonce" type="hidden" value="([^"]+)"', page).group(1)
    data = {prefix + "csrf_token": csrf_token(page), prefix + "nonce": nonce}
    url = f"/antwort/{token}/{world['card'].id}/stellungnahme"
    first = client.post(url, data={**data, prefix + "text": "Wir prüfen das."})
    assert first.status_code == 302
    written = _written(db)
    for text in ("Wir prüfen das.", "Wir prüfen das, korrigiert."):  # same form, any text
        again = client.post(url, data={**data, prefix + "text": text}, follow_redirects=True)
        assert again.status_code == 200
        assert "Ihre Stellungnahme ist bereits eingegangen." in again.get_data(as_text=True)
        assert _written(db) == written
    # a fresh form with the same text just after is a resend too; with a new text it is news
    fresh = {prefix + "csrf_token": csrf_token(page), prefix + "nonce": "anderes-formular"}
    client.post(url, data={**fresh, prefix + "text": " Wir prüfen das. "})
    assert _written(db) == written
    client.post(url, data={**fresh, prefix + "text": "Ergänzung: Termin steht."})
    assert len(timeline(world["card"], "statement")) == 2
    notices = db.session.scalars(
        sa.select(OutboxMessage).where(OutboxMessage.kind == "staff_notice")
    ).all()
    assert len(notices) == 2


@pytest.mark.parametrize(
    ("on", "latest"),
    [
        (dt.date(2026, 12, 3), dt.date(2027, 12, 3)),
        (dt.date(2027, 3, 1), dt.date(2028, 3, 1)),  # over a 29 February: 366 days
        (dt.date(2028, 2, 29), dt.date(2029, 2, 28)),
    ],
)
def test_a_commitment_may_reach_exactly_one_year_ahead(on, latest):
    assert answers.check_commitment(None, latest, on=on) == {}
    assert "committed_until" in answers.check_commitment(None, latest + dt.timedelta(days=1), on=on)
