"""Open data in and out: CSV export, CSV import (service, staff page, CLI), JSON round trip."""

from __future__ import annotations

import csv
import datetime as dt
import io
import json

import pytest
import sqlalchemy as sa
from helpers import PASSWORD, csrf_token, make_body, make_demand, make_user

from tracker.domain.models import (
    Assignment,
    Body,
    Contact,
    Demand,
    Event,
    EventPart,
    JobRun,
    ReminderPause,
    TimelineEntry,
    Topic,
    User,
    utcnow,
)
from tracker.services import (
    answers,
    api_tokens,
    backup,
    bodies,
    csv_export,
    csv_import,
    outbox,
    rechecks,
    reminders,
    repeats,
    statements,
    subscriptions,
)
from tracker.services import demands as demand_service
from tracker.services.errors import ExchangeError
from tracker.services.progress import progress

HEADER = "titel;text;federfuehrend;beteiligt;themen;veranstaltung;teil;oeffentlich"


# --------------------------------------------------------------------------- CSV export


def read_csv(response) -> list[list[str]]:
    """Check the file is what Excel in Germany expects and return its rows."""
    assert response.status_code == 200
    assert response.mimetype == "text/csv"
    assert response.headers["Content-Disposition"].startswith('attachment; filename="forderungen-')
    assert response.data.startswith(b"\xef\xbb\xbf"), "UTF-8 with BOM"
    text = response.data.decode("utf-8-sig")
    return list(csv.reader(io.StringIO(text, newline=""), delimiter=";"))


@pytest.fixture
def listed(app, event):
    ms = make_body()
    mi = make_body(slug="mi", name="Innenministerium")
    topic = db_topic("bezahlkarte")
    part = event.parts[0]
    card = make_demand(
        "Bezahlkarte evaluieren",
        bodies=[ms, mi],
        topics=[topic],
        event_id=event.id,
        event_part_id=part.id,
    )
    demand_service.advance(card, "address", None, card.version, {})
    dialogue = make_demand("Dialogkultur", bodies=[mi])
    dialogue.state_changed_at = utcnow() - dt.timedelta(days=200)
    from tracker.extensions import db

    db.session.commit()
    make_demand("Interne Nachbereitung", is_public=False, bodies=[ms])
    formula = make_demand('=HYPERLINK("http://evil.example";"klick")', bodies=[ms])
    return {"card": card, "dialogue": dialogue, "formula": formula, "ms": ms, "mi": mi}


def db_topic(slug):
    from tracker.extensions import db

    return db.session.scalar(sa.select(Topic).where(Topic.slug == slug))


def test_csv_export_columns_and_content(client, listed):
    rows = read_csv(client.get("/forderungen.csv"))
    assert rows[0] == [
        "id",
        "titel",
        "zustand",
        "seit",
        "zieldatum",
        "ueberfaellig",
        "federfuehrend",
        "beteiligt",
        "themen",
        "veranstaltung",
        "url",
        "gefordert_seit",
        "wiederholt",
    ]
    by_title = {row[1]: dict(zip(rows[0], row, strict=True)) for row in rows[1:]}
    assert "Interne Nachbereitung" not in by_title
    card = by_title["Bezahlkarte evaluieren"]
    p = progress(listed["card"])
    assert card == {
        "id": str(listed["card"].id),
        "titel": "Bezahlkarte evaluieren",
        "zustand": "aufgegriffen",
        "seit": p.since.isoformat(),
        "zieldatum": p.target.isoformat(),
        "ueberfaellig": "nein",
        "federfuehrend": "Sozialministerium",
        "beteiligt": "Innenministerium",
        "themen": "Bezahlkarte",
        "veranstaltung": "Fachtag Migration – Podium",
        "url": f"http://tracker.test/forderungen/{listed['card'].id}",
        "gefordert_seit": "2025-06-18",
        "wiederholt": "",
    }
    dialogue = by_title["Dialogkultur"]
    assert dialogue["zustand"] == "erhoben" and dialogue["ueberfaellig"] == "ja"
    assert dialogue["federfuehrend"] == "Innenministerium" and dialogue["beteiligt"] == ""


def test_csv_export_says_since_when_a_repeated_demand_is_demanded(client, db, listed):
    """A demand raised again links to its earlier one; the chain's first event date counts."""
    from tracker.services import repeats

    repeats.set_repeats(listed["dialogue"], listed["card"], None, None)
    db.session.commit()
    rows = read_csv(client.get("/forderungen.csv"))
    by_title = {row[1]: dict(zip(rows[0], row, strict=True)) for row in rows[1:]}
    assert by_title["Dialogkultur"]["wiederholt"] == str(listed["card"].id)
    assert by_title["Dialogkultur"]["gefordert_seit"] == "2025-06-18"  # the card's Fachtag


def test_csv_export_english_locale_still_german_labels(client, listed):
    rows = read_csv(client.get("/forderungen.csv", headers={"Accept-Language": "en"}))
    assert {row[2] for row in rows[1:]} == {"aufgegriffen", "erhoben"}


@pytest.mark.parametrize(
    ("query", "titles"),
    [
        ("", {"Bezahlkarte evaluieren", "Dialogkultur", "=HYPERLINK"}),
        ("?body=mi", {"Bezahlkarte evaluieren", "Dialogkultur"}),
        ("?state=addressed", {"Bezahlkarte evaluieren"}),
        ("?state=open&topic=bezahlkarte", {"Bezahlkarte evaluieren"}),
        ("?q=dialog", {"Dialogkultur"}),
        ("?event=fachtag", {"Bezahlkarte evaluieren"}),
        ("?state=closed", set()),
    ],
)
def test_csv_export_filters_like_the_overview(client, listed, query, titles):
    rows = read_csv(client.get("/forderungen.csv" + query))
    found = {row[1].lstrip("'").split("(")[0] for row in rows[1:]}
    assert found == titles


def test_csv_export_has_every_row_beyond_one_page(client, app, monkeypatch):
    from tracker.web.feeds import views as feeds

    monkeypatch.setattr(feeds, "CSV_PAGE", 2)
    for number in range(5):
        make_demand(f"Forderung {number}")
    rows = read_csv(client.get("/forderungen.csv"))
    assert [row[1] for row in rows[1:]] == [f"Forderung {n}" for n in range(5)]


def test_csv_export_guards_against_formulas(client, listed):
    rows = read_csv(client.get("/forderungen.csv"))
    (cell,) = [row[1] for row in rows[1:] if "HYPERLINK" in row[1]]
    assert cell == '\'=HYPERLINK("http://evil.example";"klick")'


@pytest.mark.parametrize(
    ("value", "safe"),
    [
        ("=1+1", "'=1+1"),
        ("+49 30", "'+49 30"),
        ("-5", "'-5"),
        ("@SUMME(A1)", "'@SUMME(A1)"),
        ("\tx", "'\tx"),
        ("Bezahlkarte", "Bezahlkarte"),
        ("a=b", "a=b"),
        (17, 17),
        ("", ""),
    ],
)
def test_safe_cell(value, safe):
    assert csv_export.safe_cell(value) == safe


def test_overview_links_the_csv_with_its_filters(client, listed):
    html = client.get("/?body=mi&state=open&page=2").get_data(as_text=True)
    assert "Als CSV herunterladen" in html
    assert 'href="/forderungen.csv?state=open&amp;body=mi"' in html
    assert 'href="/forderungen.csv"' in client.get("/").get_data(as_text=True)


# --------------------------------------------------------------------------- CSV import


@pytest.fixture
def known(app, event):
    """Bodies, topics and the Fachtag event that import files may refer to."""
    make_body()
    make_body(slug="mi", name="Innenministerium")
    from tracker.extensions import db

    db.session.add(Topic(slug="gesundheit", name="Gesundheit"))
    db.session.commit()
    return event


def count_demands(db) -> int:
    return db.session.scalar(sa.select(sa.func.count(Demand.id)))


GOOD = (
    HEADER + "\n"
    "Bezahlkarte gemeinsam evaluieren;Die Bezahlkarte mit der Zivilgesellschaft auswerten.;"
    "ms;mi;bezahlkarte,gesundheit;fachtag;podium;ja\n"
    '"Dialog; regelmäßig";"Mehrzeiliger\nText";mi;;;;;nein\n'
    "Ohne Stelle;Noch niemandem zugeordnet.;;;;;;\n"
)


def test_import_creates_demands_through_the_service(app, db, known, staff):
    created, errors = csv_import.import_demands_csv(GOOD, staff)
    assert errors == []
    assert [d.title for d in created] == [
        "Bezahlkarte gemeinsam evaluieren",
        "Dialog; regelmäßig",
        "Ohne Stelle",
    ]
    first, second, third = created
    assert first.state == "raised" and first.is_public
    roles = {(a.body.slug, a.role) for a in first.assignments}
    assert roles == {("ms", "lead"), ("mi", "involved")}
    assert sorted(t.slug for t in first.topics) == ["bezahlkarte", "gesundheit"]
    assert first.event.slug == "fachtag" and first.event_part.slug == "podium"
    assert [(e.kind, e.author_id) for e in first.timeline] == [
        ("created", staff.id),
        ("assigned", staff.id),
    ]
    assert second.text == "Mehrzeiliger\nText" and not second.is_public
    assert [e.kind for e in second.timeline] == ["created", "assigned"]
    assert not second.timeline[0].is_public
    assert third.assignments == [] and [e.kind for e in third.timeline] == ["created"]


def test_import_accepts_header_variants_and_commas(app, db, known):
    text = "Titel,Text,Federführend,Öffentlich\r\nA,B,ms,Nein\r\n"
    created, errors = csv_import.import_demands_csv(text, None)
    assert errors == [] and len(created) == 1
    assert not created[0].is_public and created[0].lead_bodies[0].slug == "ms"


ROW_OK = "Gute Zeile;Text;ms;;;;;ja"


@pytest.mark.parametrize(
    ("row", "message"),
    [
        ("Titel;Text;xy;;;;;", "Zeile 3: unbekannte Stelle „xy“"),
        ("Titel;Text;ms;xy;;;;", "Zeile 3: unbekannte Stelle „xy“"),
        ("Titel;Text;;mi;;;;", "Zeile 3: Mindestens eine Stelle muss federführend sein."),
        (
            "Titel;Text;ms;ms;;;;",
            "Zeile 3: die Stelle „ms“ ist federführend und beteiligt zugleich",
        ),
        ("Titel;Text;ms;;wohnen;;;", "Zeile 3: unbekanntes Thema „wohnen“"),
        ("Titel;Text;ms;;;sommerfest;;", "Zeile 3: unbekannte Veranstaltung „sommerfest“"),
        (
            "Titel;Text;ms;;;fachtag;workshop-9;",
            "Zeile 3: die Veranstaltung „fachtag“ hat keinen Teil „workshop-9“",
        ),
        ("Titel;Text;ms;;;;podium;", "Zeile 3: der Teil „podium“ braucht die Veranstaltung"),
        (";Text;ms;;;;;", "Zeile 3, Spalte „titel“: Bitte ausfüllen."),
        ("Titel;;ms;;;;;", "Zeile 3, Spalte „text“: Bitte ausfüllen."),
        ("T" * 301 + ";Text;;;;;;", "Zeile 3, Spalte „titel“: Höchstens 300 Zeichen."),
        ("Titel;" + "x" * 20001 + ";;;;;;", "Zeile 3, Spalte „text“: Höchstens 20000 Zeichen."),
        (
            "Titel;Text;ms;;;;;vielleicht",
            "Zeile 3: „vielleicht“ in der Spalte „oeffentlich“ ist weder „ja“ noch „nein“",
        ),
        (
            "Titel;Text;ms;;;;;ja;zu viel",
            "Zeile 3: mehr Felder (9) als Spalten in der Kopfzeile (8)",
        ),
        ('"Titel;Text;ms;;;;;ja', "kein gültiges CSV"),
    ],
)
def test_import_reports_each_error_and_imports_nothing(app, db, known, row, message):
    text = f"{HEADER}\n{ROW_OK}\n{row}\n{ROW_OK}\n"
    created, errors = csv_import.import_demands_csv(text, None)
    assert created == []
    assert any(message in e for e in errors), errors
    assert count_demands(db) == 0


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("", "Die Datei ist leer."),
        ("\n\n", "Die Datei ist leer."),
        (HEADER + "\n", "Die Datei enthält keine Forderungen (nur die Kopfzeile)."),
        ("titel;text;stelle\nA;B;ms\n", "Zeile 1: unbekannte Spalte „stelle“"),
        ("titel;federfuehrend\nA;ms\n", "Zeile 1: die Spalte „text“ fehlt."),
        ("titel;text;titel\nA;B;C\n", "Zeile 1: die Spalte „titel“ steht mehrfach da."),
    ],
)
def test_import_checks_the_file_as_a_whole(app, db, known, text, message):
    created, errors = csv_import.import_demands_csv(text, None)
    assert created == [] and any(e.startswith(message) for e in errors), errors


def test_import_reports_every_bad_row_with_its_line(app, db, known):
    text = f'{HEADER}\n{ROW_OK}\n\nTitel;Text;xy;;;;;\n"Mehr-\nzeilig";Text;;;wohnen;;;\n'
    created, errors = csv_import.import_demands_csv(text, None)
    assert created == [] and count_demands(db) == 0
    assert errors == ["Zeile 4: unbekannte Stelle „xy“", "Zeile 5: unbekanntes Thema „wohnen“"]


def test_import_refuses_too_many_rows(app, db, known):
    text = HEADER + "\n" + (ROW_OK + "\n") * (csv_import.MAX_IMPORT_ROWS + 1)
    created, errors = csv_import.import_demands_csv(text, None)
    assert created == [] and "Zu viele Zeilen" in errors[0] and count_demands(db) == 0


@pytest.mark.parametrize(
    ("data", "result"),
    [
        ("titel;text\nÄ;ö\n".encode(), "titel;text\nÄ;ö\n"),
        ("titel;text\nÄ;ö\n".encode("utf-8-sig"), "titel;text\nÄ;ö\n"),
        ("titel;text\nÄ;ö\n".encode("utf-16"), "titel;text\nÄ;ö\n"),
        (b"", "Die Datei ist leer."),
        (b"  \n", "Die Datei ist leer."),
        ("titel;text\nÄ;ö\n".encode("latin-1"), "nicht UTF-8-kodiert"),
        (b"PK\x03\x04\x00\x00binary", "keine Textdatei"),
        (b"x" * (csv_import.MAX_IMPORT_BYTES + 1), "zu groß"),
    ],
)
def test_decode_upload(app, data, result):
    try:
        assert csv_import.decode_upload(data) == result
    except ExchangeError as error:
        assert result in str(error)


def _upload(client, content: bytes, filename="forderungen.csv", token=None):
    page = client.get("/verwaltung/import").get_data(as_text=True)
    return client.post(
        "/verwaltung/import",
        data={"csrf_token": token or csrf_token(page), "file": (io.BytesIO(content), filename)},
        content_type="multipart/form-data",
    )


def test_import_page_imports_a_good_file(client, auth, db, known, staff):
    auth.login()
    page = client.get("/verwaltung/import")
    html = page.get_data(as_text=True)
    assert page.status_code == 200 and 'type="file"' in html
    assert 'enctype="multipart/form-data"' in html
    assert "<code>podium</code>" in html and "<code>ms</code>" in html
    response = _upload(client, GOOD.encode("utf-8-sig"))
    assert response.status_code == 302 and response.headers["Location"].endswith("/verwaltung/")
    assert "3 Forderungen importiert." in client.get("/verwaltung/").get_data(as_text=True)
    assert count_demands(db) == 3
    entry = db.session.scalar(sa.select(TimelineEntry).order_by(TimelineEntry.id))
    assert entry.author_id == staff.id


@pytest.mark.parametrize(
    ("content", "message"),
    [
        (f"{HEADER}\n{ROW_OK}\nTitel;Text;xy;;;;;\n".encode(), "Zeile 3: unbekannte Stelle „xy“"),
        ("titel;text\nÄ;ö\n".encode("cp1252"), "nicht UTF-8-kodiert"),
        (b"", "Die Datei ist leer."),
        (b"\x00\x01\x02\x03", "keine Textdatei"),
        (HEADER.encode() + b"\n", "nur die Kopfzeile"),
    ],
)
def test_import_page_shows_errors_and_imports_nothing(
    client, auth, db, known, staff, content, message
):
    auth.login()
    response = _upload(client, content)
    assert response.status_code == 422
    assert message in response.get_data(as_text=True)
    assert count_demands(db) == 0


def test_import_page_without_a_file(client, auth, known, staff):
    auth.login()
    page = client.get("/verwaltung/import").get_data(as_text=True)
    response = client.post("/verwaltung/import", data={"csrf_token": csrf_token(page)})
    assert response.status_code == 422
    assert "Bitte eine CSV-Datei auswählen." in response.get_data(as_text=True)


def _huge_post(client, token: str):
    # built by hand: the test client would spool a body this large to an unclosed temporary file
    body = (
        b'--grenze\r\nContent-Disposition: form-data; name="csrf_token"\r\n\r\n'
        + token.encode()
        + b'\r\n--grenze\r\nContent-Disposition: form-data; name="file"; '
        b'filename="riesig.csv"\r\nContent-Type: text/csv\r\n\r\ntitel;text\n'
        + b"x" * (2 * 1024 * 1024)
        + b"\r\n--grenze--\r\n"
    )
    return client.post(
        "/verwaltung/import", data=body, content_type="multipart/form-data; boundary=grenze"
    )


def test_import_page_huge_file_is_a_german_error(client, auth, db, known, staff):
    auth.login()
    page = client.get("/verwaltung/import").get_data(as_text=True)
    response = _huge_post(client, csrf_token(page))
    assert response.status_code == 413
    html = response.get_data(as_text=True)
    assert "Die Datei ist zu groß (höchstens 1024 KB)." in html
    assert 'type="file"' in html, "the form is shown again"
    assert count_demands(db) == 0


def test_huge_upload_without_login_shows_no_staff_page(client, db, known):
    page = client.get("/anmelden").get_data(as_text=True)
    response = _huge_post(client, csrf_token(page))
    assert response.status_code == 413
    html = response.get_data(as_text=True)
    assert "Zu groß" in html and 'type="file"' not in html
    assert count_demands(db) == 0


def test_import_page_needs_login_and_csrf(client, auth, db, known, staff):
    assert client.get("/verwaltung/import").status_code == 302
    auth.login()
    response = _upload(client, GOOD.encode(), token="falsch")
    assert response.status_code == 400 and count_demands(db) == 0


def test_import_csv_command(runner, db, known, staff, tmp_path):
    path = tmp_path / "forderungen.csv"
    path.write_text(GOOD, encoding="utf-8")
    result = runner.invoke(args=["import-csv", str(path), "--user", staff.email])
    assert result.exit_code == 0, result.output
    assert "3 Forderungen importiert." in result.output
    assert count_demands(db) == 3
    demand = db.session.scalar(sa.select(Demand).order_by(Demand.id))
    assert demand.timeline[0].author_id == staff.id


@pytest.mark.parametrize(
    ("content", "args", "message"),
    [
        (f"{HEADER}\nTitel;Text;xy;;;;;\n".encode(), [], "Zeile 2: unbekannte Stelle „xy“"),
        ("titel;text\nÄ;ö\n".encode("latin-1"), [], "nicht UTF-8-kodiert"),
        (b"", [], "Die Datei ist leer."),
        (GOOD.encode(), ["--user", "niemand@example.org"], "Unbekannte*r Benutzer*in"),
    ],
)
def test_import_csv_command_errors(runner, db, known, tmp_path, content, args, message):
    path = tmp_path / "forderungen.csv"
    path.write_bytes(content)
    result = runner.invoke(args=["import-csv", str(path), *args])
    assert result.exit_code == 1
    assert message in result.output
    assert count_demands(db) == 0


def test_import_csv_command_missing_file(runner, app, tmp_path):
    result = runner.invoke(args=["import-csv", str(tmp_path / "fehlt.csv")])
    assert result.exit_code == 1 and "lässt sich nicht lesen" in result.output


# --------------------------------------------------------------------------- JSON round trip


def build_varied_data(db):
    """Fill every table with something: transitions, statements, outbox, subscriptions, runs."""
    event = Event(
        slug="fachtag",
        title="Fachtag Migration",
        date=dt.date(2025, 6, 18),
        organiser="LIGA",
        location="Magdeburg",
        description="Mit Podium",
    )
    event.parts.append(EventPart(slug="podium", kind="panel", title="Podium", position=0))
    event.parts.append(EventPart(slug="ws-1", kind="workshop", title="Gesundheit", position=1))
    topics = [Topic(slug="bezahlkarte", name="Bezahlkarte"), Topic(slug="dublin", name="Dublin")]
    db.session.add_all([event, *topics])
    db.session.commit()
    admin = make_user(email="admin@example.org", role="admin", name="Ada Admin")
    staff = make_user()
    retired = make_user(email="alt@example.org", name="Ehemalig")
    retired.active = False
    ms = make_body(
        contacts=(
            ("Referat", "ref@ms.example.org", 1),
            ("Abteilungsleitung", "al@ms.example.org", 2),
        )
    )
    mi = make_body(slug="mi-alt", name="Innenministerium", contacts=())
    bodies.save_body(mi, **{**{k: getattr(mi, k) for k in bodies.BODY_FIELDS}, "slug": "mi"})
    ms.pauses.append(
        ReminderPause(
            starts_on=dt.date(2025, 8, 1), ends_on=dt.date(2025, 8, 31), reason="Sommerpause"
        )
    )
    db.session.commit()
    api_tokens.create_token(staff, "Skript")

    card = make_demand(
        "Bezahlkarte evaluieren",
        bodies=[ms, mi],
        user=staff,
        topics=topics,
        event_id=event.id,
        event_part_id=event.parts[0].id,
    )
    demand_service.advance(card, "address", staff, card.version, {"note": "Gespräch"})
    demand_service.advance(
        card,
        "evaluate",
        admin,
        card.version,
        {"summary": "Ausgewertet", "participants": "LIGA, MS"},
    )
    demand_service.advance(
        card, "close", admin, card.version, {"outcome": "partly_implemented", "note": "Teilweise"}
    )
    demand_service.advance(card, "reopen", staff, card.version, {"reason": "Neue Lage"})
    demand_service.edit_demand(card, staff, card.version, text="Neuer Text „mit Anführung“")
    demand_service.add_update(card, staff, "Intern", is_public=False)
    assignment = db.session.get(Assignment, (card.id, ms.id))
    statements.add_statement(
        ms, assignment, "Wir prüfen das.", author="Frau Beispiel", reports_addressed=True
    )
    statements.confirm_in_progress(ms, assignment)
    # issue 13: a commitment, a classification, a re-check and a demand repeating a later one
    mi_assignment = db.session.get(Assignment, (card.id, mi.id))
    given = statements.add_statement(
        mi,
        mi_assignment,
        "Nicht zuständig.",
        file_reference="MI-12/2026",
        committed_until=dt.date.today() + dt.timedelta(days=30),
        competent_body=ms,
        competent_text="Referat 31",
    )
    answers.classify(given, "not_responsible", staff)
    done = make_demand("Umgesetzt", bodies=[ms], user=staff)
    for trigger, notes in (
        ("address", {}),
        ("evaluate", {"summary": "Gut", "participants": "LIGA"}),
        ("close", {"outcome": "implemented"}),
    ):
        demand_service.advance(done, trigger, staff, done.version, notes)
    rechecks.record_recheck(done, staff, "partly", "Kommt langsam an.")
    db.session.commit()
    repeats.set_repeats(card, done, staff, None)  # id order does not matter on import
    db.session.commit()
    internal = make_demand("Interne Nachbereitung", is_public=False, bodies=[mi], user=admin)
    demand_service.advance(internal, "close", None, internal.version, {"outcome": "obsolete"})
    make_demand("Ohne Stelle")
    subscriptions.subscribe(card, "leser@example.org")
    outbox.queue(
        "test:1",
        kind="digest",
        to=["ref@ms.example.org"],
        cc=["al@ms.example.org"],
        subject="Erinnerung",
        text="Text",
        html="<p>Text</p>",
        body_id=ms.id,
        expires_at=utcnow() + dt.timedelta(days=3),
        data={"week": "2025-W30"},
    )
    db.session.commit()
    reminders.claim("weekly", "2025-W30")
    reminders.finish("weekly", "2025-W30", "2 digests")
    db.session.commit()
    _evidence(db, ms, mi, card)
    db.session.remove()


def _evidence(db, ms, mi, card):
    """Consultations (one without consulting the LIGA), a meeting with next steps, a rhythm."""
    from tracker.services import consultations, meetings

    ms.dialogue_rhythm_weeks = 13
    consultations.save_consultation(
        None,
        demands=[card],
        body_id=ms.id,
        kind="law",
        title="Entwurf „Aufnahmegesetz“",
        url="https://example.org/entwurf",
        consulted=True,
        received_on=dt.date(2025, 9, 1),
        deadline_on=dt.date(2025, 9, 17),
        statement_on=dt.date(2025, 9, 16),
        statement_text="Stellungnahme",
    )
    consultations.save_consultation(
        None,
        body_id=mi.id,
        kind="measure",
        title="Erlass",
        consulted=False,
        learned_on=dt.date(2025, 10, 1),
        source="Presse",
    )
    meetings.save_meeting(
        None,
        body_id=ms.id,
        held_on=dt.date(2025, 10, 6),
        format="video",
        participants="LIGA, MS",
        topics="Bezahlkarte",
        summary="Zusammenfassung",
        steps=[
            meetings.StepValues("Zahlen liefern", dt.date(2025, 11, 1), ms.id, done=True),
            meetings.StepValues("Protokoll", None, None),
        ],
        on=dt.date(2025, 10, 20),
    )
    db.session.commit()


def wipe(db):
    db.session.remove()
    db.drop_all()
    db.create_all()


def export(runner, path, *options) -> str:
    result = runner.invoke(args=["export", str(path), *options])
    assert result.exit_code == 0, result.output
    return path.read_text(encoding="utf-8")


@pytest.mark.parametrize("with_hashes", [False, True])
def test_json_round_trip_is_byte_identical(runner, client, auth, db, tmp_path, with_hashes):
    build_varied_data(db)
    options = ["--with-password-hashes"] if with_hashes else []
    first = export(runner, tmp_path / "first.json", *options)
    data = json.loads(first)
    tables = data["tables"]
    for name in (
        "events",
        "event_parts",
        "topics",
        "bodies",
        "contacts",
        "reminder_pauses",
        "body_former_slugs",
        "users",
        "demands",
        "demand_topics",
        "assignments",
        "timeline_entries",
        "outbox",
        "job_runs",
        "subscriptions",
        "consultations",
        "consultation_demands",
        "meetings",
        "next_steps",
    ):
        assert tables[name], f"{name} is exported"
    assert ("api_tokens" in tables) is with_hashes
    assert all(("password_hash" in u) is with_hashes for u in tables["users"])
    kinds = {e["kind"] for e in tables["timeline_entries"]}
    assert {
        "created",
        "assigned",
        "transition",
        "edited",
        "update",
        "statement",
        "confirmation",
        "classification",
        "recheck",
    } <= kinds
    assert any(d["repeats_id"] for d in tables["demands"])
    assert any(a["committed_until"] and a["file_reference"] for a in tables["assignments"])
    assert first == backup.dump_json(data), "sorted keys, fixed layout"
    max_ids = {
        name: max(r["id"] for r in rows)
        for name, rows in tables.items()
        if rows and "id" in rows[0]
    }

    wipe(db)
    result = runner.invoke(args=["import", str(tmp_path / "first.json")])
    assert result.exit_code == 0, result.output
    if with_hashes:
        assert "neues" not in result.output
    else:
        assert "admin@example.org" in result.output and "staff@example.org" in result.output

    second = export(runner, tmp_path / "second.json", *options)
    assert second == first

    # new rows get fresh ids after the imported ones (PostgreSQL: sequences were reset)
    db.session.remove()
    demand = make_demand("Nach dem Import")
    assert demand.id == max_ids["demands"] + 1
    assert demand.timeline[0].id == max_ids["timeline_entries"] + 1
    topic = Topic(slug="neu", name="Neu")
    db.session.add(topic)
    db.session.commit()
    assert topic.id == max_ids["topics"] + 1

    login = auth.login()
    if with_hashes:
        assert login.status_code == 302, "the old password still works"
    else:
        assert login.status_code != 302, "without hashes nobody can log in with the old password"


def test_import_keeps_ids_and_history(runner, db, tmp_path):
    build_varied_data(db)
    before = json.loads(export(runner, tmp_path / "x.json"))
    wipe(db)
    assert runner.invoke(args=["import", str(tmp_path / "x.json")]).exit_code == 0
    card = db.session.scalar(sa.select(Demand).where(Demand.title == "Bezahlkarte evaluieren"))
    rows = [r for r in before["tables"]["timeline_entries"] if r["demand_id"] == card.id]
    assert [e.id for e in card.timeline] == [r["id"] for r in rows]
    assert card.state == "raised" and card.version > 1
    assert card.repeats.title == "Umgesetzt" and card.repeats_id > card.id
    statement = next(e for e in card.timeline if e.kind == "statement")
    assert statement.body.slug == "ms" and statement.author_name == "Frau Beispiel"
    ms = db.session.scalar(sa.select(Body).where(Body.slug == "ms"))
    assert [c.escalation_level for c in ms.contacts] == [1, 2]
    assert ms.pauses[0].reason == "Sommerpause"
    assert db.session.scalar(sa.select(JobRun)).result == "2 digests"
    user = db.session.scalar(sa.select(User).where(User.email == "staff@example.org"))
    assert not user.check_password(PASSWORD)
    # the timeline stays append-only after an import
    entry = card.timeline[0]
    entry.text = "geändert"
    with pytest.raises(ValueError, match="append-only"):
        db.session.commit()
    db.session.rollback()


def test_import_refuses_a_database_that_is_not_empty(runner, db, tmp_path):
    build_varied_data(db)
    export(runner, tmp_path / "x.json")
    before = db.session.scalar(sa.select(sa.func.count(TimelineEntry.id)))
    result = runner.invoke(args=["import", str(tmp_path / "x.json")])
    assert result.exit_code == 1
    assert "Die Datenbank ist nicht leer" in result.output
    db.session.remove()
    assert db.session.scalar(sa.select(sa.func.count(TimelineEntry.id))) == before


@pytest.mark.parametrize(
    ("content", "message"),
    [
        (b"{kaputt", "keine lesbare JSON-Datei"),
        (b"\xff\xfe\x00", "keine lesbare JSON-Datei"),
        (b"[]", "keine Export-Datei des Forderungstrackers"),
        (
            b'{"format": "forderungstracker-export", "version": 99, "tables": {}}',
            "Unbekannte Version 99",
        ),
        (
            b'{"format": "forderungstracker-export", "version": 1, "tables": {"katzen": []}}',
            "Unbekannte Tabellen in der Export-Datei: katzen",
        ),
        (
            b'{"format": "forderungstracker-export", "version": 1, "tables": {"topics": '
            b'[{"id": 1, "slug": "a", "name": "A", "farbe": "rot"}]}}',
            "Tabelle „topics“: unbekannte Felder farbe.",
        ),
        (
            b'{"format": "forderungstracker-export", "version": 1, "tables": {"topics": '
            b'[{"id": "eins", "slug": "a", "name": "A"}]}}',
            "Tabelle „topics“, Eintrag 1: „id“ hat einen ungültigen Wert.",
        ),
        (  # the same limits as every other entry point: a column's length …
            b'{"format": "forderungstracker-export", "version": 1, "tables": {"topics": '
            b'[{"id": 1, "slug": "' + b"s" * 81 + b'", "name": "A"}]}}',
            "Tabelle „topics“, Eintrag 1: „slug“: Höchstens 80 Zeichen.",
        ),
        (  # … and the rules' limit of a text column
            b'{"format": "forderungstracker-export", "version": 1, "tables": {"demands": '
            b'[{"id": 1, "title": "T", "text": "' + b"x" * 20_001 + b'"}]}}',
            "Tabelle „demands“, Eintrag 1: „text“: Höchstens 20000 Zeichen.",
        ),
    ],
)
def test_import_rejects_bad_files(runner, db, tmp_path, content, message):
    path = tmp_path / "x.json"
    path.write_bytes(content)
    result = runner.invoke(args=["import", str(path)])
    assert result.exit_code == 1
    assert message in result.output


def test_import_is_all_or_nothing(runner, db, tmp_path):
    build_varied_data(db)
    data = json.loads(export(runner, tmp_path / "x.json"))
    data["tables"]["timeline_entries"][-1]["created_at"] = "gestern"
    (tmp_path / "bad.json").write_text(json.dumps(data), encoding="utf-8")
    dangling = json.loads(json.dumps(data))
    entries = dangling["tables"]["timeline_entries"]
    entries[-1]["created_at"] = entries[0]["created_at"]
    dangling["tables"]["assignments"].append({**dangling["tables"]["assignments"][0]})
    (tmp_path / "duplicate.json").write_text(json.dumps(dangling), encoding="utf-8")
    wipe(db)
    result = runner.invoke(args=["import", str(tmp_path / "bad.json")])
    assert result.exit_code == 1 and "„created_at“ hat einen ungültigen Wert" in result.output
    result = runner.invoke(args=["import", str(tmp_path / "duplicate.json")])
    assert result.exit_code == 1 and "nichts wurde importiert" in result.output
    db.session.remove()
    assert backup.row_counts() == {}


def test_export_to_stdout(runner, db):
    make_body()
    result = runner.invoke(args=["export", "-"])
    assert result.exit_code == 0
    data = json.loads(result.output)
    assert data["format"] == "forderungstracker-export"
    assert [b["slug"] for b in data["tables"]["bodies"]] == ["ms"]
    assert data["tables"]["contacts"][0]["email"] == "ref@ms.example.org"
    assert db.session.scalar(sa.select(sa.func.count(Contact.id))) == 1
