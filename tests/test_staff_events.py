"""Staff record events with their parts, and topics: through the forms as rendered."""

from __future__ import annotations

import datetime as dt

import pytest
import sqlalchemy as sa
from forms_as_rendered import forms_of
from helpers import count, make_demand

from tracker.domain.models import Event, EventPart, Topic


def _form(client, url, action=None):
    page = client.get(url)
    assert page.status_code == 200, page.text
    action = action or url
    (form,) = [f for f in forms_of(page.text) if f.method == "post" and f.action == action]
    return form


@pytest.fixture
def logged_in(client, auth, staff):
    auth.login_as(staff)
    return client


def test_staff_record_an_event_with_parts_and_change_it(logged_in, db):
    client = logged_in
    form = _form(client, "/verwaltung/veranstaltungen/neu")
    data = form.data(
        slug="fachtag-2026",
        title="Fachtag Migration 2026",
        date="18.06.2026",
        organiser="LIGA Sachsen-Anhalt",
        location="Magdeburg",
        **{
            "parts-0-title": "Podium: Teilhabe",
            "parts-0-kind": "panel",
            "parts-0-slug": "podium",
            "parts-1-title": "Workshop Gesundheit",
            "parts-1-kind": "workshop",
            "parts-1-slug": "ws-gesundheit",
        },
    )
    saved = client.post("/verwaltung/veranstaltungen/neu", data=data)
    assert saved.status_code == 302, saved.text
    event = db.session.scalar(sa.select(Event).where(Event.slug == "fachtag-2026"))
    assert str(event.date) == "2026-06-18" and event.location == "Magdeburg"
    assert [(p.slug, p.kind, p.position) for p in event.parts] == [
        ("podium", "panel", 0),
        ("ws-gesundheit", "workshop", 1),
    ]
    public = client.get("/veranstaltungen/fachtag-2026").text
    assert "Podium: Teilhabe" in public and "Workshop Gesundheit" in public

    # saved unchanged as rendered: nothing changes; then one field changed
    url = saved.headers["Location"]
    edit = _form(client, url)
    again = client.post(url, data=edit.data(), follow_redirects=True)
    assert "Keine Änderung." in again.text
    assert "/veranstaltungen/fachtag-2026" in again.text  # the address is shown, not a field
    changed = client.post(url, data=edit.data(**{"parts-1-title": "Workshop Gesundheit II"}))
    assert changed.status_code == 302
    db.session.expire_all()
    assert [p.title for p in event.parts] == ["Podium: Teilhabe", "Workshop Gesundheit II"]
    assert event.slug == "fachtag-2026"
    # a part emptied is removed; a new row adds one
    edit = _form(client, url)
    removed = edit.data(
        **{"parts-0-title": "", "parts-0-slug": ""},
        **{"parts-2-title": "Input Recht", "parts-2-kind": "input", "parts-2-slug": "in"},
    )
    assert client.post(url, data=removed).status_code == 302
    db.session.expire_all()
    assert [p.slug for p in event.parts] == ["ws-gesundheit", "in"]
    assert count(EventPart) == 2


def test_a_part_that_demands_come_from_stays(logged_in, db, event):
    client = logged_in
    part = event.parts[0]
    make_demand("Aus dem Podium", event_id=event.id, event_part_id=part.id)
    url = f"/verwaltung/veranstaltungen/{event.id}"
    edit = _form(client, url)
    refused = client.post(url, data=edit.data(**{"parts-0-title": "", "parts-0-slug": ""}))
    assert refused.status_code == 422
    assert "Aus „Podium“ stammen Forderungen" in refused.text
    db.session.expire_all()
    assert [p.slug for p in event.parts] == ["podium"]


@pytest.mark.parametrize(
    ("changes", "message"),
    [
        ({"slug": "fachtag"}, "Dieses Kürzel ist schon vergeben."),
        ({"slug": "Mit Leer"}, "Nur Kleinbuchstaben, Ziffern und Bindestriche."),
        ({"title": ""}, "Bitte ausfüllen."),
        ({"date": "31.02.2026"}, "Bitte ein Datum wie 30.11.2026 angeben."),
        ({"date": "", "title": ""}, "Datum: Bitte ausfüllen."),  # with the other fields' errors
        ({"date": "01.01.0001"}, "Bitte ein Datum ab dem 1. Januar 1990 angeben."),
        ({"date": "18.06.3026"}, "Das Datum liegt zu weit in der Zukunft."),
        ({"parts-0-title": "Ohne Kürzel"}, "Bitte ausfüllen."),
        (
            {
                "parts-0-title": "A",
                "parts-0-slug": "a",
                "parts-1-title": "B",
                "parts-1-slug": "a",
            },
            "Zwei Teile können nicht dasselbe Kürzel haben.",
        ),
        (
            {"parts-0-title": "A", "parts-0-slug": "a", "parts-0-kind": "party"},
            "angebotenen Möglichkeiten",
        ),
        ({"title": "T" * 301}, "Höchstens 300 Zeichen."),
    ],
)
def test_a_wrong_event_is_refused_in_german_and_records_nothing(logged_in, event, changes, message):
    form = _form(logged_in, "/verwaltung/veranstaltungen/neu")
    data = form.data(**{"slug": "neu", "title": "Neu", "date": "2026-06-18", **changes})
    before = count(Event), count(EventPart)
    refused = logged_in.post("/verwaltung/veranstaltungen/neu", data=data)
    assert refused.status_code == 422
    assert 'class="error-summary"' in refused.text and message in refused.text
    assert (count(Event), count(EventPart)) == before


def test_staff_add_and_rename_a_topic(logged_in, db):
    client = logged_in
    form = _form(client, "/verwaltung/veranstaltungen/", "/verwaltung/themen/")
    added = client.post("/verwaltung/themen/", data=form.data(name="Wohnen", slug="wohnen"))
    assert added.status_code == 302
    page = client.get(added.headers["Location"]).text
    assert "Das Thema „Wohnen“ ist angelegt." in page
    topic = db.session.scalar(sa.select(Topic).where(Topic.slug == "wohnen"))
    twice = client.post("/verwaltung/themen/", data=form.data(name="wohnen", slug="wohnen-2"))
    assert twice.status_code == 422 and "Ein Thema dieses Namens gibt es schon." in twice.text
    taken = client.post("/verwaltung/themen/", data=form.data(name="Anderes", slug="wohnen"))
    assert taken.status_code == 422 and "Dieses Kürzel ist schon vergeben." in taken.text
    assert count(Topic) == 1
    url = f"/verwaltung/themen/{topic.id}"
    edit = _form(client, url)
    assert client.post(url, data=edit.data(), follow_redirects=True).text.count("Keine Änderung.")
    assert client.post(url, data=edit.data(name="Wohnen und Unterkunft")).status_code == 302
    db.session.expire_all()
    assert (topic.name, topic.slug) == ("Wohnen und Unterkunft", "wohnen")
    make_demand("Wohnungen", topics=[topic])
    overview = client.get("/?topic=wohnen").text
    assert "Wohnungen" in overview


def test_event_and_topic_pages_are_staff_only(client, event):
    for path in ("/verwaltung/veranstaltungen/", "/verwaltung/veranstaltungen/neu"):
        answer = client.get(path)
        assert answer.status_code == 302 and answer.headers["Location"].startswith("/anmelden")
    assert client.post("/verwaltung/themen/", data={"name": "X", "slug": "x"}).status_code == 400


def _event_with_parts(db, *slugs):
    event = Event(slug="tag", title="Tag", date=dt.date(2026, 6, 18))
    for position, slug in enumerate(slugs):
        event.parts.append(
            EventPart(slug=slug, kind="workshop", title=slug.upper(), position=position)
        )
    db.session.add(event)
    db.session.commit()
    return event


def test_the_edit_form_has_empty_rows_for_new_parts(logged_in, db):
    event = _event_with_parts(db, *(f"teil-{n}" for n in range(6)))
    url = f"/verwaltung/veranstaltungen/{event.id}"
    form = _form(logged_in, url)
    names = {name for name, _ in form.fields}
    assert {"parts-6-title", "parts-7-title"} <= names and "parts-8-title" not in names
    data = form.data(**{"parts-6-title": "Siebter", "parts-6-slug": "teil-6"})
    assert logged_in.post(url, data=data).status_code == 302
    db.session.expire_all()
    assert [p.slug for p in event.parts][-2:] == ["teil-5", "teil-6"]


@pytest.mark.parametrize(
    ("changes", "slugs"),
    [
        ({"parts-0-slug": "b", "parts-1-slug": "a"}, ["b", "a", "c"]),  # swapped
        ({"parts-0-slug": "b", "parts-1-slug": "neu"}, ["b", "neu", "c"]),  # passed along
        ({"parts-0-slug": "", "parts-0-title": "", "parts-1-slug": "a"}, ["a", "c"]),  # reused
    ],
)
def test_parts_may_swap_and_pass_on_their_slugs_in_one_save(logged_in, db, changes, slugs):
    event = _event_with_parts(db, "a", "b", "c")
    url = f"/verwaltung/veranstaltungen/{event.id}"
    saved = logged_in.post(url, data=_form(logged_in, url).data(**changes))
    assert saved.status_code == 302, saved.text
    db.session.expire_all()
    assert [p.slug for p in event.parts] == slugs


@pytest.mark.parametrize("hidden_id", ["first", "x1", "1.0", "²", " "])
def test_one_part_in_two_rows_or_a_tampered_id_is_refused(logged_in, db, hidden_id):
    event = _event_with_parts(db, "a", "b")
    url = f"/verwaltung/veranstaltungen/{event.id}"
    form = _form(logged_in, url)
    if hidden_id == "first":  # no new row in place of the second part either
        hidden_id = dict(form.fields)["parts-0-id"]
    refused = logged_in.post(url, data=form.data(**{"parts-1-id": hidden_id}))
    assert refused.status_code == 422 and "Unbekannter Teil." in refused.text
    db.session.expire_all()
    assert [p.slug for p in event.parts] == ["a", "b"]


def test_a_demand_may_come_from_an_event_as_a_whole_and_keeps_it_when_saved(logged_in, db):
    """An event without parts (or a demand from no particular part) is a source of its own;
    the demand form saved as shown keeps it."""
    from tracker.domain.models import Demand

    event = _event_with_parts(db)  # no parts
    page = logged_in.get("/verwaltung/forderungen/neu").text
    (form,) = [f for f in forms_of(page) if f.method == "post" and "neu" in (f.action or "neu")]
    choice = f"event-{event.id}"
    data = form.data(title="Aus dem ganzen Tag", text="Text", event_part=choice)
    assert logged_in.post("/verwaltung/forderungen/neu", data=data).status_code == 302
    demand = db.session.scalar(sa.select(Demand).where(Demand.title == "Aus dem ganzen Tag"))
    assert (demand.event_id, demand.event_part_id) == (event.id, None)
    url = f"/verwaltung/forderungen/{demand.id}"
    page = logged_in.get(url).text
    (edit,) = [f for f in forms_of(page) if f.action.endswith("/bearbeiten")]
    assert dict(edit.fields)["edit-event_part"] == choice
    saved = logged_in.post(edit.action, data=edit.data(), follow_redirects=True)
    assert "Keine Änderung." in saved.text
    db.session.expire_all()
    assert demand.event_id == event.id


def test_a_name_in_the_saved_message_is_escaped(logged_in):
    form = _form(logged_in, "/verwaltung/veranstaltungen/", "/verwaltung/themen/")
    name = '<img src=x onerror="alert(1)">Z'
    added = logged_in.post("/verwaltung/themen/", data=form.data(name=name, slug="z"))
    page = logged_in.get(added.headers["Location"]).text
    assert "Das Thema „&lt;img src=x onerror=&#34;alert(1)&#34;&gt;Z“ ist angelegt." in page
    assert "<img src=x" not in page


def test_an_event_form_loaded_before_someone_elses_save_is_refused(logged_in, db):
    """Tab B adds a part; tab A, loaded before, changes the title: refused, B's part stays."""
    event = _event_with_parts(db, "a")
    url = f"/verwaltung/veranstaltungen/{event.id}"
    tab_a, tab_b = _form(logged_in, url), _form(logged_in, url)
    added = tab_b.data(**{"parts-1-title": "Von B ergänzt", "parts-1-slug": "b"})
    assert logged_in.post(url, data=added).status_code == 302
    refused = logged_in.post(url, data=tab_a.data(title="Von A umbenannt"))
    assert refused.status_code == 409
    assert "Inzwischen hat jemand anderes hier gespeichert." in refused.text
    db.session.expire_all()
    assert (event.title, [p.slug for p in event.parts]) == ("Tag", ["a", "b"])
    fresh = _form(logged_in, url)  # loaded again, A's change goes in
    assert logged_in.post(url, data=fresh.data(title="Von A umbenannt")).status_code == 302
    db.session.expire_all()
    assert (event.title, [p.slug for p in event.parts]) == ("Von A umbenannt", ["a", "b"])


def test_more_parts_than_allowed_are_refused_not_dropped(logged_in, db):
    from tracker.domain import rules

    form = _form(logged_in, "/verwaltung/veranstaltungen/neu")
    rows = {}
    for n in range(rules.PARTS_MAX + 1):
        rows |= {f"parts-{n}-title": f"Teil {n}", f"parts-{n}-slug": f"t{n}"}
        rows[f"parts-{n}-kind"] = "workshop"
    data = form.data(slug="viele", title="Viele Teile", date="2026-06-18", **rows)
    refused = logged_in.post("/verwaltung/veranstaltungen/neu", data=data)
    assert refused.status_code == 422 and "Zu viele Teile." in refused.text
    assert count(Event) == 0


def test_a_part_error_stands_at_the_row_it_was_typed_in(logged_in, db):
    """Row 3 filled after two empty rows: its missing slug is said at row 3."""
    form = _form(logged_in, "/verwaltung/veranstaltungen/neu")
    data = form.data(slug="tag", title="Tag", date="2026-06-18", **{"parts-2-title": "Ohne"})
    refused = logged_in.post("/verwaltung/veranstaltungen/neu", data=data)
    assert refused.status_code == 422
    row = refused.text.split("Teil 3</legend>")[1].split("</fieldset>")[0]
    assert "Bitte ausfüllen." in row


def test_a_part_too_long_is_refused_at_its_row_in_our_words(logged_in, db):
    """Parts are sub-forms: their length errors are worded as every other field's."""
    from tracker.domain import rules

    form = _form(logged_in, "/verwaltung/veranstaltungen/neu")
    long_title = {"parts-0-title": "x" * (rules.TITLE_MAX + 1), "parts-0-slug": "lang"}
    data = form.data(slug="tag", title="Tag", date="2026-06-18", **long_title)
    refused = logged_in.post("/verwaltung/veranstaltungen/neu", data=data)
    assert refused.status_code == 422
    row = refused.text.split("Teil 1</legend>")[1].split("</fieldset>")[0]
    assert f"Höchstens {rules.TITLE_MAX} Zeichen." in row
    assert count(Event) == 0


@pytest.mark.parametrize("kind", ["event", "meeting"])
def test_a_record_at_its_maximum_of_rows_can_still_be_edited(logged_in, db, kind):
    """At the maximum the edit form offers no empty row (it answered 500: WTForms' list
    would have held more rows than allowed), and a row more is refused."""
    from helpers import make_body

    from tracker.domain import rules
    from tracker.domain.models import Meeting, NextStep

    if kind == "event":
        event = _event_with_parts(db, *(f"t{n}" for n in range(rules.PARTS_MAX)))
        url, row = f"/verwaltung/veranstaltungen/{event.id}", "parts"
    else:
        meeting = Meeting(body=make_body(), held_on=dt.date(2026, 11, 2), summary="S")
        meeting.next_steps = [NextStep(text=f"S{n}", position=n) for n in range(rules.STEPS_MAX)]
        db.session.add(meeting)
        db.session.commit()
        url, row = f"/verwaltung/gespraeche/{meeting.id}", "steps"
    form = _form(logged_in, url)
    assert logged_in.post(url, data=form.data()).status_code == 302  # saved as shown
    first = "title" if kind == "event" else "text"
    more = {f"{row}-{n}-{first}": f"X{n}" for n in range(1, 60)}  # past the list's maximum
    if kind == "event":
        more |= {f"parts-{n}-slug": f"x{n}" for n in range(1, 60)}
        more |= {f"parts-{n}-kind": "input" for n in range(1, 60)}
    refused = logged_in.post(url, data=form.data(**more))
    assert refused.status_code == 422 and "Zu viele" in refused.text
