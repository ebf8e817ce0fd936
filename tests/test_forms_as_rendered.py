"""Every form, submitted exactly as rendered, changes nothing (issue 9, point 1).

Each page is loaded, each of its forms is read with a real HTML parser and sent back as a browser
would send it untouched (selected options, checked boxes, textareas with CRLF, the CSRF token);
then the whole database must be as before, and a form that edits something says „Keine Änderung“.
"""

from __future__ import annotations

import datetime as dt
import re

import pytest
import sqlalchemy as sa
from forms_as_rendered import forms_of
from helpers import make_body, make_demand, make_user, put_in_state

from tracker.domain.models import Assignment, EventPart, ReminderPause, Topic
from tracker.extensions import db
from tracker.services import answer_links, answers, api_tokens, repeats, statements
from tracker.services import consultations as consultation_service
from tracker.services import meetings as meeting_service

# Buttons whose whole purpose is a change: pressing one is not "saving unchanged".
ACTIONS = re.compile(
    r"/(loeschen|widerrufen|erneut|senden|bestaetigen|abmelden|uebertragen|alle-senden)$|/schritt/"
)


def dump() -> dict[str, dict]:
    """Return every row of every table, keyed by table and primary key, read from the database."""
    db.session.expire_all()
    tables = {}
    for table in db.metadata.sorted_tables:
        if table.name == "data_versions":  # the page cache's versions (test_page_cache.py)
            continue
        keys = list(table.primary_key.columns)
        rows = db.session.execute(sa.select(table).order_by(*keys)).mappings().all()
        tables[table.name] = {tuple(row[k.name] for k in keys): dict(row) for row in rows}
    return tables


def changes(before: dict, after: dict) -> set[tuple[str, str]]:
    """Return (table, column) of every changed value, and (table, "+") / (table, "-") for rows."""
    found = set()
    for name, rows in after.items():
        old = before[name]
        found |= {(name, "+") for key in rows if key not in old}
        found |= {(name, "-") for key in old if key not in rows}
        for key, row in rows.items():
            if key in old:
                found |= {(name, col) for col, value in row.items() if old[key][col] != value}
    return found


@pytest.fixture
def world(app, event):
    """A demand with source, topics, bodies, an update; bodies with contacts and pauses; users."""
    admin = make_user(email="admin@example.org", role="admin", name="Ada Admin")
    other = make_user(email="kollegin@example.org", name="Kim Kollegin")
    second = Topic(slug="gesundheit", name="Gesundheit")
    db.session.add(second)
    db.session.add(EventPart(event=event, slug="ws-1", kind="workshop", title="Workshop 1"))
    ms = make_body()
    mi = make_body(slug="mi", name="Innenministerium", contacts=(("Büro", "b@mi.example.org", 2),))
    ms.description = "Zuständig für Soziales.\nUnd für Gesundheit."
    db.session.add(
        ReminderPause(body=ms, starts_on=dt.date(2026, 1, 1), ends_on=dt.date(2026, 1, 9))
    )
    db.session.commit()
    part = db.session.scalar(sa.select(EventPart).where(EventPart.slug == "ws-1"))
    topics = db.session.scalars(sa.select(Topic).order_by(Topic.id)).all()
    demand = make_demand(
        text="Erste Zeile.\nZweite Zeile mit <b>Zeichen</b> & „Anführung“.",
        bodies=[ms, mi],
        event_id=event.id,
        event_part_id=part.id,
        topics=topics,
        user=admin,
    )
    from tracker.services.demands import add_update

    add_update(demand, admin, "Ein erster Stand.", is_public=True)
    api_tokens.create_token(admin, "Skript")
    # the evidence: a consultation with linked demands, a measure without one, a meeting
    later = make_demand("Sprachmittlung finanzieren", bodies=[mi], user=admin)
    consulted, _changed = consultation_service.save_consultation(
        None,
        demands=[demand, later],
        body_id=ms.id,
        kind="law",
        title="Entwurf eines Aufnahmegesetzes",
        url="https://ms.example.org/entwurf.pdf",
        consulted=True,
        received_on=dt.date(2026, 3, 2),
        deadline_on=dt.date(2026, 3, 20),
        statement_on=dt.date(2026, 3, 18),
        statement_text="Zeile eins.\nZeile zwei.",
        statement_url="https://liga.example.org/stellungnahme.pdf",
    )
    measure, _changed = consultation_service.save_consultation(
        None,
        body_id=mi.id,
        kind="measure",
        title="Erlass zur Bezahlkarte",
        consulted=False,
        learned_on=dt.date(2026, 4, 1),
        source="Pressemitteilung",
    )
    talk, _changed = meeting_service.save_meeting(
        None,
        body_id=ms.id,
        held_on=dt.date(2026, 5, 4),
        format="video",
        participants="LIGA\nReferat 42",
        topics="Bezahlkarte",
        summary="Gute Gespräche.",
        steps=[
            meeting_service.StepValues(
                text="Daten liefern", due_on=dt.date(2026, 6, 1), body_id=ms.id, done=False
            ),
            meeting_service.StepValues(text="Protokoll versenden", body_id=None, done=True),
        ],
    )
    # a classified statement, a demand closed as implemented (due for re-check), a repeat
    statement = statements.add_statement(
        mi, db.session.get(Assignment, (demand.id, mi.id)), "Dafür sind wir nicht zuständig."
    )
    answers.classify(statement, "not_responsible", admin)
    done = make_demand("Umgesetzte Forderung", bodies=[ms], user=admin)
    put_in_state(done, "closed", outcome="implemented")
    repeats.set_repeats(later, done, admin, None)
    db.session.commit()
    return {
        "admin": admin,
        "other": other,
        "demand": demand,
        "ms": ms,
        "mi": mi,
        "later": later,
        "done": done,
        "statement": statement,
        "consultation": consulted,
        "measure": measure,
        "meeting": talk,
    }


def _pages(world) -> list[tuple[str, str, set[str]]]:
    """(who, page, actions of the forms on it that edit something and must say „Keine Änderung“)."""
    d, ms, admin, other = world["demand"].id, world["ms"].id, world["admin"].id, world["other"].id
    later, done, st = world["later"].id, world["done"].id, world["statement"].id
    c, m = world["consultation"].id, world["meeting"].id
    measure = world["measure"].id
    return [
        ("staff", "/verwaltung/", set()),
        ("staff", "/verwaltung/forderungen/neu", set()),
        (
            "staff",
            f"/verwaltung/forderungen/{d}",
            {
                f"/verwaltung/forderungen/{d}/bearbeiten",
                f"/verwaltung/forderungen/{d}/stellen",
                f"/verwaltung/forderungen/{d}/stellungnahmen/{st}/einordnen",
                f"/verwaltung/forderungen/{d}/wiederholt",
            },
        ),
        # repeats another demand
        (
            "staff",
            f"/verwaltung/forderungen/{later}",
            {f"/verwaltung/forderungen/{later}/wiederholt"},
        ),
        # closed as implemented: the re-check form (an action: sent untouched it is refused)
        (
            "staff",
            f"/verwaltung/forderungen/{done}",
            {f"/verwaltung/forderungen/{done}/wiederholt"},
        ),
        ("staff", "/verwaltung/beteiligungen", set()),
        ("staff", "/verwaltung/beteiligungen/neu", set()),
        ("staff", f"/verwaltung/beteiligungen/{c}", {f"/verwaltung/beteiligungen/{c}"}),
        ("staff", f"/verwaltung/beteiligungen/{measure}", {f"/verwaltung/beteiligungen/{measure}"}),
        ("staff", "/verwaltung/gespraeche", set()),
        ("staff", "/verwaltung/gespraeche/neu", set()),
        ("staff", f"/verwaltung/gespraeche/{m}", {f"/verwaltung/gespraeche/{m}"}),
        ("staff", "/verwaltung/stellen/", set()),
        ("staff", "/verwaltung/stellen/neu", set()),
        ("staff", f"/verwaltung/stellen/{ms}", {f"/verwaltung/stellen/{ms}"}),
        ("staff", f"/verwaltung/stellen/{ms}/pausen", set()),
        ("staff", "/verwaltung/benutzer/", set()),
        ("staff", f"/verwaltung/benutzer/{other}", {""}),
        ("staff", f"/verwaltung/benutzer/{admin}", {""}),
        ("staff", "/verwaltung/api-tokens", set()),
        ("staff", "/verwaltung/import", set()),
        ("staff", "/verwaltung/erinnerungen", set()),
        ("staff", "/verwaltung/postausgang", set()),
        ("public", "/", set()),
        ("public", f"/forderungen/{d}", set()),
        ("public", "/answer", set()),
    ]


def _login(client, user):
    with client.session_transaction() as session:
        session["_user_id"] = user.get_id()
        session["_fresh"] = True


def _forms_on_every_page(client, world):
    """Yield each page of ``_pages`` with its edit actions and the forms on it (but the
    buttons of actions), the client logged in as the admin or not as the page is read."""
    answer = "/antwort/" + answer_links.answer_token(world["ms"])
    for who, page, edit_actions in _pages(world):
        page = answer if page == "/answer" else page
        if who == "public":
            with client.session_transaction() as session:
                session.clear()
        else:
            _login(client, world["admin"])
        html = client.get(page).get_data(as_text=True)
        yield page, edit_actions, [f for f in forms_of(html) if not ACTIONS.search(f.action)]


def _submit(client, page: str, form, **changes):
    target = form.action or page
    if form.method == "get":
        return client.get(target, query_string=form.data(**changes))
    return client.post(target, data=form.data(**changes))


def test_every_form_submitted_as_rendered_changes_nothing(app, world):
    client = app.test_client()
    expected_edit_forms = sum(len(actions) for _who, _page, actions in _pages(world))
    seen_edit_forms = 0
    for page, edit_actions, forms in _forms_on_every_page(client, world):
        for form in forms:
            before = dump()
            # every GET of the page gives a fresh form, as a browser that reloads would
            html = client.get(page).get_data(as_text=True)
            form = next(f for f in forms_of(html) if f.action == form.action)
            response = _submit(client, page, form)
            label = f"{page} -> {form.method} {form.action or page}"
            assert response.status_code < 500, label
            assert changes(before, dump()) == set(), label
            if form.action in edit_actions:
                seen_edit_forms += 1
                assert response.status_code == 302, label
                shown = client.get(response.headers["Location"]).get_data(as_text=True)
                assert "Keine Änderung." in shown, label
                assert "Gespeichert." not in shown, label
    assert seen_edit_forms == expected_edit_forms == 12


ENGLISH = re.compile(r"not a valid|invalid choice|could not coerce|this field", re.I)


def test_a_value_no_option_offers_is_refused_in_german_and_changes_nothing(app, world):
    """Each select, radio and checkbox of every form, sent with a value it does not offer."""
    client = app.test_client()
    tried = 0
    for page, _edit_actions, forms in _forms_on_every_page(client, world):
        for form in forms:
            # a box not ticked is left alone: any value ticks a checkbox, as the browser would
            for name in sorted(form.choices & {n for n, _ in form.fields}):
                before = dump()
                html = client.get(page).get_data(as_text=True)
                fresh = next(f for f in forms_of(html) if f.action == form.action)
                response = _submit(client, page, fresh, **{name: "zwei²"})
                label = f"{page} -> {fresh.method} {fresh.action or page}: {name}"
                assert response.status_code < 500, label
                assert not ENGLISH.search(response.get_data(as_text=True)), label
                if fresh.method == "post":
                    tried += 1
                    assert changes(before, dump()) <= {("users", "last_seen_at")}, label
    assert tried >= 20


def _page_form(client, page: str, action: str):
    html = client.get(page).get_data(as_text=True)
    return next(f for f in forms_of(html) if f.action == action)


def test_demand_form_as_rendered_keeps_source_and_topics(app, world):
    """The example of the issue: „Herkunft“ and „Themen“ are shown selected and kept."""
    client = app.test_client()
    _login(client, world["admin"])
    demand = world["demand"]
    page = f"/verwaltung/forderungen/{demand.id}"
    form = _page_form(client, page, f"{page}/bearbeiten")
    sent = dict((name, value) for name, value in form.fields if name != "edit-topics")
    assert sent["edit-event_part"] == str(demand.event_part_id)
    topic_ids = sorted(value for name, value in form.fields if name == "edit-topics")
    assert topic_ids == sorted(str(t.id) for t in demand.topics) and len(topic_ids) == 2


@pytest.mark.parametrize(
    ("page", "action", "field", "value", "expected"),
    [
        (
            "/verwaltung/forderungen/{d}",
            "/verwaltung/forderungen/{d}/bearbeiten",
            "edit-title",
            "Ein neuer Titel",
            {
                ("demands", "title"),
                ("demands", "updated_at"),
                ("demands", "version"),
                ("timeline_entries", "+"),
            },
        ),
        (
            "/verwaltung/forderungen/{d}",
            "/verwaltung/forderungen/{d}/stellen",
            "assign-body_{mi}",
            "lead",
            {
                ("assignments", "role"),
                ("demands", "updated_at"),
                ("demands", "version"),
                ("timeline_entries", "+"),
            },
        ),
        (
            "/verwaltung/stellen/{ms}",
            "/verwaltung/stellen/{ms}",
            "name",
            "Ministerium für Arbeit und Soziales",
            {("bodies", "name")},
        ),
        (
            "/verwaltung/benutzer/{other}",
            "",
            "name",
            "Kim Neuname",
            {("users", "name")},
        ),
    ],
)
def test_changing_one_field_changes_only_that(app, world, page, action, field, value, expected):
    ids = {
        "d": world["demand"].id,
        "ms": world["ms"].id,
        "mi": world["mi"].id,
        "other": world["other"].id,
    }
    page, action, field = page.format(**ids), action.format(**ids), field.format(**ids)
    client = app.test_client()
    _login(client, world["admin"])
    form = _page_form(client, page, action)
    before = dump()
    response = client.post(action or page, data=form.data(**{field: value}))
    assert response.status_code == 302
    assert changes(before, dump()) == expected
    shown = client.get(response.headers["Location"]).get_data(as_text=True)
    assert "Keine Änderung." not in shown
    assert "Gespeichert." in shown or "Zuständige Stellen gespeichert." in shown


def test_the_parser_reads_forms_as_a_browser_sends_them():
    html = """<form method="post" action="/x"><input type="hidden" name="csrf_token" value="t">
    <input name="a" value="1 &amp; 2"><input type="checkbox" name="c" value="v" checked>
    <input type="checkbox" name="d" value="w"><select name="s"><option value="1">eins</option>
    <option value="2" selected>zwei</option></select><select name="e"><option>erste</option>
    </select><select name="m" multiple><option value="x" selected><option value="y" selected>
    </select><textarea name="t">
Zeile 1
Zeile 2</textarea><input type="radio" name="r" value="a"><input type="radio" name="r"
    value="b" checked><button type="submit">Speichern</button></form>"""
    (form,) = forms_of(html)
    assert form.action == "/x" and form.method == "post"
    assert form.fields == [
        ("csrf_token", "t"),
        ("a", "1 & 2"),
        ("c", "v"),
        ("s", "2"),
        ("e", "erste"),
        ("m", "x"),
        ("m", "y"),
        ("t", "Zeile 1\r\nZeile 2"),
        ("r", "b"),
    ]
