"""Consultations and the dialogue register: services, public pages, staff pages, open data."""

from __future__ import annotations

import datetime as dt

import pytest
import sqlalchemy as sa
from forms_as_rendered import forms_of
from helpers import count, csrf_token, make_body, make_demand, send_at_once

from tracker.domain.models import Consultation, Meeting, NextStep
from tracker.domain.workdays import add_workdays, today
from tracker.services import consultations as cs
from tracker.services import meetings as ms
from tracker.services.errors import ServiceError


def consultation(db, body, received, deadline, **fields):
    item, _changed = cs.save_consultation(
        None,
        body_id=body.id,
        kind=fields.pop("kind", "law"),
        title=fields.pop("title", "Entwurf eines Gesetzes"),
        consulted=fields.pop("consulted", True),
        received_on=received,
        deadline_on=deadline,
        **fields,
    )
    db.session.commit()
    return item


# ------------------------------------------------------------------------- periods and figures


@pytest.mark.parametrize(
    ("received", "deadline", "days", "kind"),
    [
        # Mon 2 Nov 2026 to Wed 18 Nov 2026: 12 working days (no holiday in between)
        (dt.date(2026, 11, 2), dt.date(2026, 11, 18), 12, "short"),
        # over Reformationstag (31 Oct, a holiday in Sachsen-Anhalt) and Allerheiligen (not)
        (dt.date(2025, 10, 27), dt.date(2025, 11, 3), 4, "very_short"),
        # Christmas and New Year: 24 Dec to 7 Jan 2026 counts 25, 26 Dec, 1 Jan, 6 Jan out
        (dt.date(2025, 12, 23), dt.date(2026, 1, 7), 7, "short"),
        (dt.date(2026, 3, 2), dt.date(2026, 3, 30), 20, "normal"),
        (dt.date(2026, 3, 2), dt.date(2026, 3, 27), 19, "short"),
        (dt.date(2026, 3, 2), dt.date(2026, 3, 9), 5, "very_short"),
        (dt.date(2026, 3, 2), dt.date(2026, 3, 10), 6, "short"),
    ],
)
def test_period_in_working_days_with_holidays(app, db, received, deadline, days, kind):
    body = make_body()
    item = consultation(db, body, received, deadline)
    assert cs.period_workdays(item) == days
    assert cs.period_class(days) == kind


def test_figures_per_body(app, db):
    ms_body, mi = make_body(), make_body(slug="mi", name="Innenministerium")
    start = dt.date(2026, 3, 2)
    for n in (4, 12, 25):
        consultation(db, ms_body, start, add_workdays(start, n))
    consultation(db, mi, start, add_workdays(start, 30))
    cs.save_consultation(
        None,
        body_id=mi.id,
        kind="measure",
        title="Neue Verwaltungsvorschrift",
        consulted=False,
        learned_on=dt.date(2026, 4, 1),
        source="Pressemitteilung",
    )
    db.session.commit()
    total, per_body = cs.figures_by_body()
    assert (total.count, total.median_period, total.without_consultation) == (4, 18.5, 1)
    by_slug = {f.body.slug: f for f in per_body}
    assert by_slug["ms"].count == 3 and by_slug["ms"].median_period == 12
    assert by_slug["ms"].short_share == pytest.approx(2 / 3)
    assert by_slug["ms"].very_short == 1
    assert by_slug["mi"].short_share == 0 and by_slug["mi"].without_consultation == 1
    assert cs.body_figures(ms_body).periods == [4, 12, 25]


TOMORROW = today() + dt.timedelta(days=1)


@pytest.mark.parametrize(
    ("fields", "error_field"),
    [
        ({"title": " "}, "title"),
        ({"received_on": None}, "received_on"),
        ({"deadline_on": dt.date(2026, 2, 1)}, "deadline_on"),
        ({"url": "javascript:alert(1)"}, "url"),
        ({"kind": "gesetz"}, "kind"),
        ({"body_id": 999}, "body_id"),
        ({"consulted": False}, "learned_on"),
        ({"consulted": False, "learned_on": dt.date(2026, 1, 1)}, "source"),
        ({"deadline_on": dt.date(3026, 3, 20)}, "deadline_on"),  # a typo for 2026
        ({"received_on": dt.date(1, 3, 2)}, "received_on"),
        ({"statement_on": dt.date(9999, 12, 31)}, "statement_on"),
        ({"consulted": False, "learned_on": dt.date(1989, 12, 31), "source": "x"}, "learned_on"),
        # what is recorded after it happened cannot be in the future; the deadline can
        ({"received_on": TOMORROW, "deadline_on": TOMORROW}, "received_on"),
        ({"statement_on": TOMORROW}, "statement_on"),
        ({"consulted": False, "learned_on": TOMORROW, "source": "x"}, "learned_on"),
    ],
)
def test_bad_consultation_is_refused_and_writes_nothing(app, db, request_ctx, fields, error_field):
    body = make_body()
    values = {
        "body_id": body.id,
        "kind": "law",
        "title": "Entwurf",
        "consulted": True,
        "received_on": dt.date(2026, 3, 2),
        "deadline_on": dt.date(2026, 3, 20),
        **fields,
    }
    with pytest.raises(ServiceError) as caught:
        cs.save_consultation(None, **values)
    assert error_field in caught.value.errors
    db.session.commit()
    assert count(Consultation) == 0


def test_a_consultation_received_today_may_have_its_deadline_ahead(app, db, request_ctx):
    body = make_body()
    values = {"body_id": body.id, "kind": "law", "title": "Entwurf", "consulted": True}
    item, _ = cs.save_consultation(None, **values, received_on=today(), deadline_on=TOMORROW)
    assert item.deadline_on == TOMORROW


def test_saving_unchanged_consultation_changes_nothing(app, db):
    body = make_body()
    item = consultation(db, body, dt.date(2026, 3, 2), dt.date(2026, 3, 20))
    stamp = item.updated_at
    same = {k: getattr(item, k) for k in cs.FIELDS}
    _item, changed = cs.save_consultation(item, **same)
    assert not changed
    db.session.commit()
    assert item.updated_at == stamp


# ------------------------------------------------------------------------- meetings


def meeting(db, body, held_on, steps=(), **fields):
    item, _changed = ms.save_meeting(
        None,
        body_id=body.id,
        held_on=held_on,
        format=fields.pop("format", "video"),
        summary=fields.pop("summary", "Austausch zur Bezahlkarte."),
        steps=[ms.StepValues(**s) for s in steps],
        **fields,
    )
    db.session.commit()
    return item


def test_meeting_with_next_steps_and_done(app, db):
    body = make_body()
    item = meeting(
        db,
        body,
        dt.date(2026, 10, 1),
        steps=[
            {"text": "Zahlen liefern", "due_on": dt.date(2026, 11, 1), "body_id": body.id},
            {"text": "Einladung verschicken"},
            {"text": "  "},
        ],
    )
    assert [s.text for s in item.next_steps] == ["Zahlen liefern", "Einladung verschicken"]
    assert [s.text for s in ms.open_steps(body)] == ["Zahlen liefern"]
    first, second = item.next_steps
    on = dt.date(2026, 11, 2)
    assert ms.is_step_overdue(first, on) and not ms.is_step_overdue(second, on)
    values = [
        ms.StepValues(
            id=first.id, text=first.text, due_on=first.due_on, body_id=body.id, done=True
        ),
        ms.StepValues(id=second.id, text=second.text),
    ]
    _item, changed = ms.save_meeting(
        item,
        body_id=body.id,
        held_on=item.held_on,
        format=item.format,
        summary=item.summary,
        steps=values,
        on=on,
    )
    db.session.commit()
    assert changed and first.done_on == on and ms.open_steps(body) == []
    _item, changed = ms.save_meeting(
        item,
        body_id=body.id,
        held_on=item.held_on,
        format=item.format,
        summary=item.summary,
        steps=values,
        on=on + dt.timedelta(days=3),
    )
    assert not changed and first.done_on == on


def test_bad_meeting_is_refused(app, db, request_ctx):
    body = make_body()
    with pytest.raises(ServiceError) as caught:
        ms.save_meeting(None, body_id=body.id, held_on=None, format="brief", summary="")
    assert {"held_on", "format", "summary"} <= set(caught.value.errors)
    db.session.commit()
    assert count(Meeting) == 0


def test_last_meeting_and_missed_rhythm(app, db):
    kept, missed = make_body(), make_body(slug="mi", name="Innenministerium")
    never = make_body(slug="bamf", name="BAMF")
    none_agreed = make_body(slug="stk", name="Staatskanzlei")
    for b in (kept, missed, never):
        b.dialogue_rhythm_weeks = 13
    on = dt.date(2026, 12, 1)
    meeting(db, kept, on - dt.timedelta(weeks=5))
    meeting(db, missed, on - dt.timedelta(weeks=20))
    meeting(db, none_agreed, on - dt.timedelta(weeks=40))
    standing = {s.body.slug: s for s in ms.standings(on)}
    assert standing["ms"].weeks_since == 5 and not standing["ms"].missed
    assert standing["mi"].weeks_since == 20 and standing["mi"].missed
    assert standing["bamf"].last_held_on is None and standing["bamf"].missed
    assert standing["stk"].weeks_since == 40 and not standing["stk"].missed


# ------------------------------------------------------------------------- public pages


@pytest.fixture
def evidence(app, db):
    body = make_body()
    body.dialogue_rhythm_weeks = 13
    demand = make_demand("Migrationsfachdienste frühzeitig einbeziehen", bodies=[body])
    demand.key = "fruehzeitige-einbeziehung"
    db.session.commit()
    start = dt.date(2026, 11, 2)
    item = consultation(
        db,
        body,
        start,
        add_workdays(start, 12),
        title="Entwurf <Aufnahmegesetz>",
        demands=[demand],
        statement_url="https://liga.example.org/stellungnahme.pdf",
    )
    talk = meeting(
        db,
        body,
        dt.date(2026, 11, 10),
        steps=[
            {
                "text": "Daten zur Bezahlkarte liefern",
                "due_on": dt.date(2026, 12, 15),
                "body_id": body.id,
            },
            {"text": "Protokoll versenden", "body_id": None},
        ],
        summary="=SUMME(A1) Gute Gespräche.",
    )
    return {"body": body, "demand": demand, "consultation": item, "meeting": talk}


def test_consultations_page_lists_filters_and_counts(client, evidence):
    html = client.get("/beteiligungen").get_data(as_text=True)
    assert "Entwurf &lt;Aufnahmegesetz&gt;" in html
    assert "12 Arbeitstage" in html and "kurze Frist" in html
    assert "Migrationsfachdienste frühzeitig einbeziehen" in html
    other = client.get("/beteiligungen?jahr=2025").get_data(as_text=True)
    assert "Aufnahmegesetz" not in other
    assert "Aufnahmegesetz" in client.get("/beteiligungen?stelle=ms&jahr=2026").get_data(True)
    # a filter that names nothing says so (as the overview does) instead of showing everything
    for query, said in [
        ("stelle=nix", "Unbekannter Filter „stelle“: „nix“."),
        ("jahr=abc", "„jahr“ muss eine Zahl zwischen 1990 und 2100 sein."),
        ("jahr=99999999999", "„jahr“ muss eine Zahl zwischen 1990 und 2100 sein."),
    ]:
        for path in ("/beteiligungen", "/beteiligungen.csv", "/dialog"):
            refused = client.get(f"{path}?{query}")
            assert refused.status_code == 400 and said in refused.get_data(as_text=True), path
    assert client.get("/ablauf.mmd?stand=nope").status_code == 400


def test_dialogue_page_and_body_page(client, evidence):
    html = client.get("/dialog").get_data(as_text=True)
    assert "Daten zur Bezahlkarte liefern" in html and "Protokoll versenden" in html
    assert "letztes Gespräch vor" in html
    body_page = client.get("/stellen/ms").get_data(as_text=True)
    assert "Beteiligung und Dialog" in body_page and "letztes Gespräch vor" in body_page
    assert "1 offener nächster Schritt" in body_page


def test_statistics_and_report_show_the_evidence(client, evidence, event, db):
    html = client.get("/statistik").get_data(as_text=True)
    assert "Beteiligungsverfahren: Fristen je Stelle" in html
    assert "Dialog: Regelmäßigkeit je Stelle" in html
    report = client.get("/berichte/fachtag").get_data(as_text=True)
    assert "Entwurf &lt;Aufnahmegesetz&gt;" in report and "12 Arbeitstage" in report
    assert "Gespräch mit Sozialministerium am 10.11.2026" in report
    assert "Daten zur Bezahlkarte liefern" in report and "Protokoll versenden" in report
    assert "=SUMME(A1) Gute Gespräche." in report


def test_report_evidence_in_one_query(app, db, evidence):
    from helpers import make_body as body

    other = body(slug="mi", name="Innenministerium")
    meeting(db, other, dt.date(2026, 11, 10), summary="Ohne Schritte")
    meeting(db, other, dt.date(2026, 11, 10), steps=[{"text": "A"}, {"text": "B"}])
    consultation(db, other, dt.date(2026, 1, 5), dt.date(2026, 1, 6), title="Alt")
    statements = []

    def record(*args):
        statements.append(args)

    sa.event.listen(db.engine, "before_cursor_execute", record)
    try:
        found, talks = ms.evidence_since(dt.date(2026, 2, 1))
    finally:
        sa.event.remove(db.engine, "before_cursor_execute", record)
    assert len(statements) == 1
    assert [(c.title, c.period) for c in found] == [("Entwurf <Aufnahmegesetz>", 12)]
    assert [(m.body, [s[0] for s in m.steps]) for m in talks] == [
        ("Sozialministerium", ["Daten zur Bezahlkarte liefern", "Protokoll versenden"]),
        ("Innenministerium", []),
        ("Innenministerium", ["A", "B"]),
    ]
    assert talks[0].steps[1][2] is None and talks[0].format == "video"


def test_demand_links_to_its_evidence(client, evidence, db):
    html = client.get(f"/forderungen/{evidence['demand'].id}").get_data(as_text=True)
    assert 'href="/beteiligungen">Belege: Beteiligungsverfahren' in html
    assert "Beteiligungsverfahren zu dieser Forderung" in html
    assert "Entwurf &lt;Aufnahmegesetz&gt;</a> – Sozialministerium, 12 Arbeitstage" in html
    dialogue = make_demand("Dialogkultur", bodies=[evidence["body"]])
    dialogue.key = "dialogkultur"
    other = make_demand("Bezahlkarte")
    db.session.commit()
    assert 'href="/dialog">Belege: Gespräche' in client.get(f"/forderungen/{dialogue.id}").text
    html = client.get(f"/forderungen/{other.id}").text
    assert "Belege:" not in html and "Beteiligungsverfahren zu dieser" not in html


def test_csv_exports(client, evidence):
    response = client.get("/beteiligungen.csv")
    text = response.data.decode("utf-8-sig")
    assert response.mimetype == "text/csv"
    header, row = text.splitlines()[:2]
    assert header.startswith("id;stelle;art;titel")
    assert ";12;kurze Frist;" in row
    dialog = client.get("/dialog.csv").data.decode("utf-8-sig")
    assert ";'=SUMME(A1) Gute Gespräche.;" in dialog and "Daten zur Bezahlkarte liefern" in dialog


def test_feeds(client, evidence):
    feed = client.get("/beteiligungen/feed.atom")
    assert feed.mimetype == "application/atom+xml"
    assert b"Aufnahmegesetz" in feed.data and b"12 Arbeitstage" in feed.data
    assert b"Gespr" in client.get("/dialog/feed.atom").data


# ------------------------------------------------------------------------- staff pages


def test_staff_only(client, evidence):
    for path in ("/verwaltung/beteiligungen/neu", "/verwaltung/gespraeche/neu"):
        assert client.get(path).status_code == 302
        assert client.post(path, data={}).status_code in (302, 400)
    assert count(Consultation) == 1


def test_staff_records_consultation(client, auth, staff, evidence, db):
    auth.login_as(staff)
    page = client.get("/verwaltung/beteiligungen/neu").get_data(as_text=True)
    data = {
        "csrf_token": csrf_token(page),
        "body_id": str(evidence["body"].id),
        "kind": "ordinance",
        "title": "Verordnung zur Bezahlkarte",
        "consulted": "1",
        "received_on": "02.03.2026",
        "deadline_on": "2026-03-09",
        "demands": [str(evidence["demand"].id)],
    }
    response = client.post("/verwaltung/beteiligungen/neu", data=data)
    assert response.status_code == 302
    item = db.session.scalar(sa.select(Consultation).where(Consultation.kind == "ordinance"))
    assert cs.period_workdays(item) == 5 and item.demands == [evidence["demand"]]
    # the edit form shows the current values; saving them unchanged changes nothing
    edit = client.get(f"/verwaltung/beteiligungen/{item.id}").get_data(as_text=True)
    assert 'value="2026-03-02"' in edit and "Verordnung zur Bezahlkarte" in edit
    stamp = item.updated_at
    data["version"] = str(item.version)  # as the edit form carries it
    response = client.post(f"/verwaltung/beteiligungen/{item.id}", data=data, follow_redirects=True)
    assert "Keine Änderung." in response.get_data(as_text=True)
    db.session.expire_all()
    assert db.session.get(Consultation, item.id).updated_at == stamp


def test_staff_consultation_form_shows_consulted_and_demands_and_keeps_them(
    client, auth, staff, evidence, db
):
    """The black-box finding: „Beteiligung“ and the linked demands were shown unchecked."""
    auth.login_as(staff)
    item = evidence["consultation"]
    second = make_demand("Sprachmittlung finanzieren", bodies=[evidence["body"]])
    item.demands.append(second)
    db.session.commit()
    linked = sorted(str(d.id) for d in item.demands)
    page = f"/verwaltung/beteiligungen/{item.id}"
    (form,) = [f for f in forms_of(client.get(page).get_data(as_text=True)) if f.action == page]
    assert ("consulted", "1") in form.fields
    assert sorted(value for name, value in form.fields if name == "demands") == linked
    stamp = item.updated_at
    response = client.post(page, data=form.data())
    assert response.status_code == 302
    assert "Keine Änderung." in client.get(response.headers["Location"]).get_data(as_text=True)
    db.session.expire_all()
    saved = db.session.get(Consultation, item.id)
    assert saved.consulted is True and saved.updated_at == stamp
    assert sorted(str(d.id) for d in saved.demands) == linked


def test_staff_meeting_form_shows_next_steps_and_saving_as_shown_changes_nothing(
    client, auth, staff, evidence, db
):
    auth.login_as(staff)
    item = evidence["meeting"]
    page = f"/verwaltung/gespraeche/{item.id}"
    (form,) = [f for f in forms_of(client.get(page).get_data(as_text=True)) if f.action == page]
    fields = dict(form.fields)
    assert fields["steps-0-text"] == "Daten zur Bezahlkarte liefern"
    assert fields["steps-0-due_on"] == "2026-12-15"
    assert fields["steps-0-body_id"] == str(evidence["body"].id)
    assert (fields["steps-1-text"], fields["steps-1-body_id"]) == ("Protokoll versenden", "")
    response = client.post(page, data=form.data())
    assert response.status_code == 302
    assert "Keine Änderung." in client.get(response.headers["Location"]).get_data(as_text=True)
    db.session.expire_all()
    assert [s.text for s in db.session.get(Meeting, item.id).next_steps] == [
        "Daten zur Bezahlkarte liefern",
        "Protokoll versenden",
    ]


@pytest.mark.parametrize(
    ("changes", "message"),
    [
        ({"deadline_on": "01.03.2026"}, "Die Frist kann nicht vor dem Eingang liegen."),
        ({"received_on": "32.13.2026"}, "Bitte ein Datum wie 30.11.2026 angeben."),
        ({"consulted": "0"}, "Bitte angeben, wann die LIGA davon erfahren hat."),
        ({"body_id": "abc"}, "Stelle"),
    ],
)
def test_staff_bad_consultation_gets_german_error(client, auth, staff, evidence, changes, message):
    auth.login_as(staff)
    page = client.get("/verwaltung/beteiligungen/neu").get_data(as_text=True)
    data = {
        "csrf_token": csrf_token(page),
        "body_id": str(evidence["body"].id),
        "kind": "law",
        "title": "Gesetz",
        "consulted": "1",
        "received_on": "02.03.2026",
        "deadline_on": "2026-03-20",
        **changes,
    }
    response = client.post("/verwaltung/beteiligungen/neu", data=data)
    assert response.status_code == 422
    assert message in response.get_data(as_text=True)
    assert count(Consultation) == 1


def test_staff_records_meeting_and_marks_step_done(client, auth, staff, evidence, db):
    auth.login_as(staff)
    body = evidence["body"]
    page = client.get("/verwaltung/gespraeche/neu").get_data(as_text=True)
    data = {
        "csrf_token": csrf_token(page),
        "body_id": str(body.id),
        "held_on": "2026-11-20",
        "format": "in_person",
        "participants": "LIGA, Referat 42",
        "topics": "Gesundheitsversorgung",
        "summary": "Vereinbart: zwei Schritte.",
        "steps-0-text": "Erlass prüfen",
        "steps-0-due_on": "2026-12-20",
        "steps-0-body_id": str(body.id),
        "steps-1-text": "Fallbeispiele sammeln",
        "steps-1-body_id": "",
        "steps-2-text": "",
    }
    assert client.post("/verwaltung/gespraeche/neu", data=data).status_code == 302
    item = db.session.scalar(sa.select(Meeting).where(Meeting.format == "in_person"))
    assert [s.text for s in item.next_steps] == ["Erlass prüfen", "Fallbeispiele sammeln"]
    edit = client.get(f"/verwaltung/gespraeche/{item.id}").get_data(as_text=True)
    assert 'value="Erlass prüfen"' in edit
    first, second = item.next_steps
    data.update(
        {
            "csrf_token": csrf_token(edit),
            "steps-0-id": str(first.id),
            "steps-1-id": str(second.id),
            "steps-0-done": "y",
            "version": str(item.version),  # as the edit form carries it
        }
    )
    client.post(f"/verwaltung/gespraeche/{item.id}", data=data)
    db.session.expire_all()
    assert db.session.get(NextStep, first.id).done_on is not None
    data["version"] = str(db.session.get(Meeting, item.id).version)  # the form loaded again
    unchanged = client.post(f"/verwaltung/gespraeche/{item.id}", data=data, follow_redirects=True)
    assert "Keine Änderung." in unchanged.get_data(as_text=True)


def test_staff_sets_rhythm_on_body(client, auth, staff, evidence, db):
    auth.login_as(staff)
    body = evidence["body"]
    page = client.get(f"/verwaltung/stellen/{body.id}").get_data(as_text=True)
    assert '<option selected value="13">' in page or 'value="13" selected' in page
    data = {
        "csrf_token": csrf_token(page),
        "name": body.name,
        "short_name": body.short_name,
        "slug": body.slug,
        "kind": body.kind,
        "description": "",
        "dialogue_rhythm_weeks": "4",
    }
    assert client.post(f"/verwaltung/stellen/{body.id}", data=data).status_code == 302
    db.session.expire_all()
    assert db.session.get(type(body), body.id).dialogue_rhythm_weeks == 4


@pytest.mark.parametrize("tampered", ["zwei", "²", "99999999999999999999"])
def test_a_tampered_rhythm_is_refused_and_keeps_the_agreed_one(
    client, auth, staff, evidence, db, tampered
):
    auth.login_as(staff)
    body = evidence["body"]
    url = f"/verwaltung/stellen/{body.id}"
    (form,) = [f for f in forms_of(client.get(url).text) if f.method == "post" and f.action == url]
    refused = client.post(url, data=form.data(dialogue_rhythm_weeks=tampered))
    assert refused.status_code == 422, refused.text
    assert "Bitte eine der angebotenen Möglichkeiten wählen." in refused.text
    db.session.expire_all()
    assert db.session.get(type(body), body.id).dialogue_rhythm_weeks == 13


# ------------------------------------------------------------------------- weekly digest


def test_digest_lists_the_bodys_open_next_steps(app, db, evidence):
    from tracker.services import reminders

    (digest,) = reminders.build_digests(on=dt.date(2026, 11, 30))
    assert [s.text for s in digest.next_steps] == ["Daten zur Bezahlkarte liefern"]
    ((_digest, _subject, text, html),) = reminders.render_digests([digest])
    assert "Offene nächste Schritte aus Gesprächen mit der LIGA:" in text
    assert "Daten zur Bezahlkarte liefern (bis 15.12.2026)" in text
    assert "Protokoll versenden" not in text  # the LIGA's own step is not the body's
    assert "Daten zur Bezahlkarte liefern" in html


def test_a_body_with_only_open_next_steps_gets_a_digest(app, client, auth, staff, db):
    """No open demand, but a next step agreed with it: the body is reminded of the step."""
    from tracker.domain.models import OutboxMessage
    from tracker.services import reminders

    body = make_body("mi", "Innenministerium", (("Büro", "buero@mi.example.org", 1),))
    make_body("stk", "Staatskanzlei", (("Amt", "amt@stk.example.org", 1),))  # nothing open
    meeting(
        db,
        body,
        dt.date(2026, 11, 10),
        steps=[
            {"text": "Erlass zur Bezahlkarte prüfen", "due_on": dt.date(2026, 12, 15)},
            {"text": "Ansprechperson benennen"},
        ],
    )
    for step in db.session.scalars(sa.select(NextStep)):
        step.body_id = body.id
    db.session.commit()
    on = dt.date(2026, 11, 30)
    (digest,) = reminders.build_digests(on=on)
    assert digest.body.slug == "mi" and digest.items == [] and digest.to == ["buero@mi.example.org"]
    ((_d, subject, text, html),) = reminders.render_digests([digest])
    assert subject == (
        "Innenministerium: 2 offene nächste Schritte aus Gesprächen mit der LIGA – Erinnerung KW 49"
    )
    assert "Innenministerium) 2 nächste Schritte übernommen, die noch offen sind." in text
    assert "0 Forderungen" not in text and "Stellungnahme abgeben" not in text
    assert "- Erlass zur Bezahlkarte prüfen (bis 15.12.2026) – vereinbart am 10.11.2026" in text
    assert "Ansprechperson benennen" in html and "Jetzt antworten" not in html
    # the reminders page says the body gets one, and why the other gets none
    auth.login_as(staff)
    page = " ".join(client.get("/verwaltung/erinnerungen").get_data(as_text=True).split())
    row = '<td>Innenministerium</td> <td class="num">0</td> <td class="num">2</td>'
    assert f"{row} <td>noch nicht geschrieben</td>" in page
    assert (
        "keine: keine offenen öffentlichen Forderungen und keine offenen nächsten Schritte" in page
    )
    assert "0 offene Forderungen, 2 offene nächste Schritte" in page
    assert db.session.scalar(sa.select(sa.func.count(OutboxMessage.id))) == 0
    (message,) = reminders.write_digests(on=on, by="test")
    assert message.key == "digest:mi:2026-W49" and message.data["demand_ids"] == []
    assert len(message.data["next_step_ids"]) == 2


def test_a_done_step_alone_brings_no_digest(app, db):
    from tracker.services import reminders

    body = make_body()
    item = meeting(db, body, dt.date(2026, 11, 10), steps=[{"text": "Liefern", "body_id": body.id}])
    item.next_steps[0].done_on = dt.date(2026, 11, 20)
    db.session.commit()
    assert reminders.build_digests(on=dt.date(2026, 11, 30)) == []


def test_staff_bad_next_step_gets_german_error(client, auth, staff, evidence):
    auth.login_as(staff)
    page = client.get("/verwaltung/gespraeche/neu").get_data(as_text=True)
    data = {
        "csrf_token": csrf_token(page),
        "body_id": str(evidence["body"].id),
        "held_on": "2026-11-20",
        "format": "video",
        "summary": "Zusammenfassung",
        "steps-0-text": "Schritt",
        "steps-0-body_id": "999",
        "steps-0-due_on": "morgen",
    }
    response = client.post("/verwaltung/gespraeche/neu", data=data)
    html = response.get_data(as_text=True)
    assert response.status_code == 422
    assert "zuständig: Bitte eine der angebotenen Möglichkeiten wählen." in html
    assert "fällig bis: Bitte ein Datum wie 30.11.2026 angeben." in html
    assert "Steps" not in html and "Not a valid" not in html
    assert count(Meeting) == 1


def test_digest_marks_an_overdue_next_step_like_the_dialogue_page(app, client, db):
    """A step past its due date is „überfällig“ on /dialog and in both parts of the digest."""
    from tracker.services import reminders

    body = make_body("mi", "Innenministerium", (("Büro", "buero@mi.example.org", 1),))
    meeting(
        db,
        body,
        dt.date(2026, 11, 20),
        steps=[
            {"text": "Erlass prüfen", "due_on": dt.date(2026, 11, 25), "body_id": body.id},
            {"text": "Zahlen liefern", "due_on": dt.date(2026, 12, 15), "body_id": body.id},
        ],
    )
    on = dt.date(2026, 11, 30)
    (digest,) = reminders.build_digests(on=on)
    late, due = digest.next_steps
    assert digest.step_overdue(late) and not digest.step_overdue(due)
    ((_d, _subject, text, html),) = reminders.render_digests([digest])
    assert "- Erlass prüfen (bis 25.11.2026, ÜBERFÄLLIG) – vereinbart am 20.11.2026" in text
    assert "- Zahlen liefern (bis 15.12.2026) – vereinbart am 20.11.2026" in text
    assert html.count("– überfällig</span>") == 1
    assert html.index("Erlass prüfen") < html.index("– überfällig</span>")
    assert html.index("– überfällig</span>") < html.index("Zahlen liefern")


NEW_RECORDS = {
    "meeting": (
        "/verwaltung/gespraeche/neu",
        Meeting,
        {
            "held_on": "2026-11-20",
            "format": "video",
            "summary": "Vereinbart: ein Schritt.",
            "steps-0-text": "Erlass prüfen",
        },
        {"summary": "Vereinbart: zwei Schritte."},
    ),
    "consultation": (
        "/verwaltung/beteiligungen/neu",
        Consultation,
        {
            "kind": "ordinance",
            "title": "Verordnung zur Bezahlkarte",
            "consulted": "1",
            "received_on": "2026-03-02",
            "deadline_on": "2026-03-09",
        },
        {"deadline_on": "2026-03-16"},
    ),
}


def _new_record_form(client, path, body, values):
    (form,) = [f for f in forms_of(client.get(path).text) if f.method == "post"]
    return form.data(body_id=str(body.id), **values)


@pytest.mark.parametrize("kind", NEW_RECORDS)
def test_a_new_record_form_sent_twice_records_it_once(client, auth, staff, evidence, db, kind):
    """A double click (or the page sent again) on a new meeting or consultation records it
    once and leads to it both times; sent again with a value changed (Back, edit, send), it is
    a record of its own."""
    path, model, values, change = NEW_RECORDS[kind]
    auth.login_as(staff)
    before = count(model)
    data = _new_record_form(client, path, evidence["body"], values)
    first, second = (client.post(path, data=data) for _ in range(2))
    assert first.status_code == second.status_code == 302
    assert first.headers["Location"] == second.headers["Location"]
    assert "Gespeichert." in client.get(second.headers["Location"]).text
    assert count(model) == before + 1
    for name, value in change.items():
        data[name] = value  # replaces what the form held
    assert client.post(path, data=data).status_code == 302
    assert count(model) == before + 2


@pytest.mark.parametrize("kind", NEW_RECORDS)
def test_a_new_record_form_sent_twice_at_once_records_it_once(
    app, client, auth, staff, evidence, db, kind
):
    """Two requests at the same moment: the second waits for the first and finds it."""
    path, model, values, _ = NEW_RECORDS[kind]
    auth.login_as(staff)
    before = count(model)
    data = _new_record_form(client, path, evidence["body"], values)
    answers = send_at_once(app, client, path, data)
    assert answers == [302, 302]
    assert count(model) == before + 1


@pytest.mark.parametrize(
    ("kind", "first_change", "second_change", "kept"),
    [
        (
            "meeting",
            {"steps-2-text": "Von B ergänzt"},  # B adds a step in an empty row
            {"summary": "A ändert die Zusammenfassung."},
            lambda item: [s.text for s in item.next_steps][-1] == "Von B ergänzt",
        ),
        (
            "consultation",
            {"title": "Von B umbenannt"},
            {"statement_url": "https://liga.example.org/a.pdf"},
            lambda item: item.title == "Von B umbenannt",
        ),
    ],
)
def test_a_form_loaded_before_someone_elses_save_is_refused(
    client, auth, staff, evidence, db, kind, first_change, second_change, kept
):
    """Two tabs load the same record; B saves first; A's save would undo B's: refused (409)
    with a German message, and B's change stays."""
    auth.login_as(staff)
    item = evidence[kind]
    url = f"/verwaltung/{'gespraeche' if kind == 'meeting' else 'beteiligungen'}/{item.id}"
    page = client.get(url).text
    tab_a, tab_b = ([f for f in forms_of(page) if f.method == "post"][0] for _ in "ab")
    assert client.post(url, data=tab_b.data(**first_change)).status_code == 302
    refused = client.post(url, data=tab_a.data(**second_change))
    assert refused.status_code == 409
    assert "Inzwischen hat jemand anderes hier gespeichert." in refused.text
    db.session.expire_all()
    assert kept(db.session.get(type(item), item.id))


def test_a_next_step_row_with_a_date_but_no_text_is_asked_for_at_its_row(
    client, auth, staff, evidence
):
    """Row 2 (after an empty row 1) has a due date and a body but no words: refused there,
    not dropped without a word; the message stands at that row."""
    auth.login_as(staff)
    path = "/verwaltung/gespraeche/neu"
    (form,) = [f for f in forms_of(client.get(path).text) if f.method == "post"]
    body = str(evidence["body"].id)
    data = form.data(
        body_id=body,
        held_on="2026-11-20",
        summary="Zusammenfassung",
        **{"steps-0-text": "Erster", "steps-2-due_on": "2026-12-01", "steps-2-body_id": body},
    )
    before = count(Meeting)
    refused = client.post(path, data=data)
    assert refused.status_code == 422
    assert "Bitte den Schritt beschreiben oder die Zeile leeren." in refused.text
    row = refused.text.split("Schritt 3</legend>")[1].split("</fieldset>")[0]
    assert "Bitte den Schritt beschreiben" in row
    assert count(Meeting) == before


@pytest.mark.parametrize("hidden_id", ["first", "x1", "1.0", "²"])
def test_one_next_step_in_two_rows_or_a_tampered_id_is_refused(
    client, auth, staff, evidence, db, hidden_id
):
    auth.login_as(staff)
    meeting = evidence["meeting"]
    url = f"/verwaltung/gespraeche/{meeting.id}"
    (form,) = [f for f in forms_of(client.get(url).text) if f.method == "post"]
    if hidden_id == "first":
        hidden_id = dict(form.fields)["steps-0-id"]
    refused = client.post(url, data=form.data(**{"steps-1-id": hidden_id, "steps-1-text": "dupe"}))
    assert refused.status_code == 422 and "Unbekannter Schritt." in refused.text
    db.session.expire_all()
    assert [s.text for s in meeting.next_steps] == [
        "Daten zur Bezahlkarte liefern",
        "Protokoll versenden",
    ]
