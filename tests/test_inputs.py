"""The parsing layer: odd input anywhere is a clear 4xx, never a 5xx (issue 9, points 6 and 7)."""

from __future__ import annotations

import json
import re

import pytest
from helpers import csrf_token, make_body, make_demand, make_evidence, make_user
from itsdangerous import URLSafeTimedSerializer

from tracker import inputs
from tracker.domain.models import Contact
from tracker.extensions import db
from tracker.services import api_tokens
from tracker.services.statements import add_statement

# Values that once answered 500 (or could): Unicode digits, 32- and 64-bit overflows, NUL and
# other control characters, an over-long segment.
BAD_IDS = ["2147483648", "9223372036854775808", "99999999999999999999999", "²", "٣", "0"]
BAD_TEXT = ["%00", "a%01b", "x%C2%85", "%7F", "%E2%80%AE", "x" * 2000]
BAD_QUERY = [
    "page=%C2%B2",
    "per_page=%C2%B2",
    "page=99999999999999999999999",
    "page=-1",
    "state=nonsense",
    "topic=%00",
    "body=a%01",
    "event=%00",
    "q=%00",
    "fassung=%00",
    "next=%00",
]
DEEP = "[" * 100_000 + "]" * 100_000
BAD_JSON = [
    DEEP,
    json.dumps({"title": "a\x00b", "text": "t\x07", "version": "²", "trigger": "\x00"}),
    json.dumps({"title": "t", "text": "t", "topics": [f"t{i}" for i in range(70_000)]}),
    json.dumps({"title": "t", "text": "t", "version": 2**70, "notes": {"a": {"b": []}}}),
    json.dumps({"title": "t", "text": "t", "bodies": [{"slug": "\x00", "role": "lead"}]}),
]
BAD_FORM = {
    "version": "²",
    "title": "Titel\x00\x07",
    "text": "Text\x00",
    "event_part": "²",
    "topics": ["²", "99999999999"],
    "locale": "\x00",
    "next": "/\x00",
    "email": "a\x00@example.org",
    "password": "\x00",
    "name": "\x00",
    "slug": "a\x00",
    "escalation_level": "²",
    "starts_on": "²",
    "ends_on": "2025-13-45",
    "role": "\x00",
    "csv": "titel;text\n\x00;x",
}


@pytest.fixture
def world(app, event):
    """One of everything a route can name, so that each route gets past its lookups."""
    staff = make_user()
    body = make_body()
    body.contacts.append(Contact(name="Zweite", email="zwei@ms.example.org", escalation_level=2))
    demand = make_demand(bodies=[body], user=staff, event_id=event.id)
    _row, token = api_tokens.create_token(staff, "Test")
    statement = add_statement(body, demand.assignments[0], "Wir prüfen das.")
    consultation, meeting = make_evidence(body)
    staff.get_id()  # gives the user a session token, kept in the session as Flask-Login does
    db.session.commit()
    return {
        "staff": staff,
        "values": {
            "demand_id": str(demand.id),
            "entry_id": str(statement.id),
            "consultation_id": str(consultation.id),
            "meeting_id": str(meeting.id),
            "body_id": str(body.id),
            "contact_id": str(body.contacts[0].id),
            "user_id": str(staff.id),
            "message_id": "1",
            "pause_id": "1",
            "token_id": "1",
            "trigger": "address",
            "slug": body.slug,
            "token": "kein-gueltiger-token",
            "filename": "style.css",
        },
        "token": token,
    }


def _requests(app, values):
    """Yield (method, url, kwargs) for every rule and method, with each kind of bad input."""
    for rule in app.url_map.iter_rules():
        methods = sorted(rule.methods - {"HEAD", "OPTIONS"})
        good = rule.rule
        for name in rule.arguments:
            good = re.sub(rf"<(?:[^:>]+:)?{name}>", values.get(name, "1"), good)
        for method in methods:
            for name, converter in rule._converters.items():
                bad_values = BAD_IDS if isinstance(converter, inputs.IdConverter) else BAD_TEXT
                for bad in bad_values:
                    url = re.sub(rf"<(?:[^:>]+:)?{name}>", bad, rule.rule)
                    for other in rule.arguments - {name}:
                        url = re.sub(rf"<(?:[^:>]+:)?{other}>", values.get(other, "1"), url)
                    yield method, url, {}
            for query in BAD_QUERY:
                yield method, f"{good}?{query}", {}
            if method == "POST":
                yield method, good, {"data": BAD_FORM}
                for body in BAD_JSON:
                    yield method, good, {"data": body, "content_type": "application/json"}


@pytest.mark.parametrize("who", ["anonymous", "staff"])
def test_every_route_answers_odd_input_below_500(app, client, world, who):
    """Send bad path, query, form and JSON values to every route: never a 5xx."""
    # a valid CSRF token in every request: the forms' own checks are what is under test
    raw = "0" * 40
    headers = {
        "X-CSRFToken": URLSafeTimedSerializer(app.secret_key, salt="wtf-csrf-token").dumps(raw)
    }
    if who == "staff":
        headers["Authorization"] = f"Bearer {world['token']}"
    failures = []
    for method, url, kwargs in _requests(app, world["values"]):
        with client.session_transaction() as session:
            session["csrf_token"] = raw
            if who == "staff":
                session["_user_id"] = world["staff"].get_id()
                session["_fresh"] = True
        response = client.open(url, method=method, headers=headers, **kwargs)
        response.close()  # static files are streamed from an open file
        if response.status_code >= 500:
            failures.append(f"{method} {url[:120]} {str(kwargs)[:80]} -> {response.status_code}")
    assert not failures, "\n".join(failures)


# Point 6: one parsing layer ------------------------------------------------------------------


@pytest.fixture
def token(world):
    return {"Authorization": f"Bearer {world['token']}"}


@pytest.mark.parametrize(
    "path",
    [
        "/forderungen/2147483648",
        "/api/v1/demands/2147483648",
        "/forderungen/%C2%B2",
        "/stellen/%00",
        "/api/v1/bodies/%00",
        "/veranstaltungen/%00",
        "/stellen/a%C2%85",
    ],
)
def test_out_of_range_ids_and_control_characters_in_paths_are_404(client, world, path):
    assert client.get(path).status_code == 404


@pytest.mark.parametrize("query", ["page=%C2%B2", "per_page=%C2%B2", "page=0", "per_page=101"])
def test_api_paging_needs_ascii_digits_in_bounds(client, world, query):
    response = client.get(f"/api/v1/demands?{query}")
    assert response.status_code == 400
    problem = response.get_json()
    assert problem["code"] == "invalid_parameter"
    assert query.split("=")[0] in problem["errors"]


def test_overview_page_number_must_be_ascii_digits(client, world):
    response = client.get("/?page=%C2%B2")
    assert response.status_code == 400
    assert "„page“ muss eine Zahl zwischen 1 und" in response.get_data(as_text=True)


def test_version_field_with_unicode_digit_is_refused_in_german(client, auth, world, db):
    from tracker.domain.models import Demand

    auth.login_as(world["staff"])
    demand_id = int(world["values"]["demand_id"])
    page = client.get(f"/verwaltung/forderungen/{demand_id}").get_data(as_text=True)
    before = db.session.get(Demand, demand_id).version
    response = client.post(
        f"/verwaltung/forderungen/{demand_id}/schritt/address",
        data={"csrf_token": csrf_token(page), "address-version": "²", "address-note": "x"},
    )
    assert response.status_code == 422
    assert "Das Formular ist ungültig (Versionsangabe)" in response.get_data(as_text=True)
    db.session.expire_all()
    assert db.session.get(Demand, demand_id).version == before


@pytest.mark.parametrize(
    ("body", "status", "code"),
    [
        (DEEP, 400, "invalid_json"),
        (
            json.dumps({"title": "t", "text": "t", "topics": ["x"] * 70_000}),
            422,
            "validation_failed",
        ),
        (json.dumps({"title": "t\x00", "text": "t"}), 422, "validation_failed"),
        (json.dumps({"title": "t", "text": "t\x1b[31m"}), 422, "validation_failed"),
        (
            json.dumps({"title": "t", "text": "t", "x": {"y": [[[[[[[[[[1]]]]]]]]]]}}),
            400,
            "invalid_json",
        ),
    ],
)
def test_api_json_bodies_are_checked_before_any_sql(client, world, token, db, body, status, code):
    import sqlalchemy as sa

    from tracker.domain.models import Demand

    statements = []

    def record(conn, cursor, statement, *args):
        statements.append(statement)

    before = db.session.scalar(sa.select(sa.func.count(Demand.id)))
    sa.event.listen(db.engine, "before_cursor_execute", record)
    try:
        response = client.post(
            "/api/v1/demands", data=body, content_type="application/json", headers=token
        )
    finally:
        sa.event.remove(db.engine, "before_cursor_execute", record)
    assert response.status_code == status
    assert response.get_json()["code"] == code
    assert not [s for s in statements if "topics" in s]  # refused before the topic lookup
    assert db.session.scalar(sa.select(sa.func.count(Demand.id))) == before


# Point 7: control characters -----------------------------------------------------------------


def test_forms_strip_control_characters_and_normalise_newlines(client, auth, world, db):
    import sqlalchemy as sa

    from tracker.domain.models import Demand

    auth.login_as(world["staff"])
    page = client.get("/verwaltung/forderungen/neu").get_data(as_text=True)
    response = client.post(
        "/verwaltung/forderungen/neu",
        data={
            "csrf_token": csrf_token(page),
            "title": "Steuer\x00zeichen\x07 \x1b[31mweg\x85",
            "text": "Zeile eins\r\nZeile zwei\rZeile drei\tmit Tab\x7f",
            "is_public": "y",
        },
    )
    assert response.status_code == 302
    demand = db.session.scalar(sa.select(Demand).order_by(Demand.id.desc()))
    assert demand.title == "Steuerzeichen [31mweg"
    assert demand.text == "Zeile eins\nZeile zwei\nZeile drei\tmit Tab"


@pytest.mark.parametrize("char", ["\x00", "\x07", "\x1b", "\x7f", "\x85", "\x9f"])
def test_api_refuses_control_characters_naming_the_field(client, world, token, char):
    url = f"/api/v1/demands/{world['values']['demand_id']}/updates"
    response = client.post(url, json={"text": f"Stand{char}"}, headers=token)
    assert response.status_code == 422
    problem = response.get_json()
    assert problem["code"] == "validation_failed"
    assert "text" in problem["errors"]
    assert f"U+{ord(char):04X}" in problem["detail"]


@pytest.mark.parametrize(
    ("url", "fields", "field"),
    [
        ("/api/v1/demands/{id}/updates", ["text"], "text"),
        ("/api/v1/demands", ["title", "text"], "title"),
    ],
)
def test_api_refuses_a_lone_surrogate_and_keeps_a_pair(client, world, token, url, fields, field):
    """JSON can escape half of a UTF-16 pair ("\\ud800"): no database or page can hold it."""
    url = url.format(id=world["values"]["demand_id"])
    values = {name: "T" for name in fields}
    body = json.dumps({**values, field: "Stand @"}).replace("@", "\\ud800")
    response = client.post(url, data=body, content_type="application/json", headers=token)
    assert response.status_code == 422, response.get_data(as_text=True)
    problem = response.get_json()
    assert problem["code"] == "validation_failed" and field in problem["errors"]
    assert "Surrogat" in problem["detail"]
    paired = client.post(url, json={**values, field: "Stand 😀"}, headers=token)
    assert paired.status_code == 201, paired.get_data(as_text=True)


def test_api_keeps_tabs_and_newlines_and_normalises_cr(client, world, token):
    url = f"/api/v1/demands/{world['values']['demand_id']}/updates"
    response = client.post(url, json={"text": "a\r\nb\tc\rd"}, headers=token)
    assert response.status_code == 201
    assert response.get_json()["text"] == "a\nb\tc\nd"


def test_csv_import_refuses_control_characters(app, world, request_ctx):
    from tracker.services import csv_import

    created, errors = csv_import.import_demands_csv("titel;text\nGut;Text\nTitel\x07;Text\n", None)
    assert created == []
    assert errors == ["Zeile 3: die Spalte „titel“ enthält ein Steuerzeichen (U+0007)"]


def test_inputs_control_character_definition():
    allowed = "\t\n\r" + "".join(map(chr, range(0x20, 0x7F))) + "\xa0äß€\u2028"
    assert inputs.control_character(allowed) is None
    refused = [chr(c) for c in [*range(0x00, 0x09), 0x0B, 0x0C, *range(0x0E, 0x20)]]
    refused += [chr(c) for c in range(0x7F, 0xA0)]
    assert all(inputs.control_character(f"a{c}b") for c in refused)
    assert inputs.clean_text("a\r\nb\rc" + "".join(refused)) == "a\nb\nc"


# Point 8: unknown filter values --------------------------------------------------------------


UNKNOWN_FILTERS = [
    ("state", "nonsense"),
    ("topic", "unbekannt"),
    ("body", "xy"),
    ("event", "sommerfest"),
    ("state", "%00"),
]


@pytest.mark.parametrize(("name", "value"), UNKNOWN_FILTERS)
def test_api_unknown_filter_is_400_naming_it(client, world, name, value):
    response = client.get(f"/api/v1/demands?{name}={value}")
    assert response.status_code == 400
    problem = response.get_json()
    assert problem["code"] == "invalid_parameter"
    assert name in problem["errors"]
    assert f"„{name}“" in problem["detail"]


@pytest.mark.parametrize(("name", "value"), UNKNOWN_FILTERS)
@pytest.mark.parametrize("path", ["/", "/forderungen.csv", "/verwaltung/"])
def test_pages_and_csv_say_the_filter_is_unknown(client, world, path, name, value):
    with client.session_transaction() as session:
        session["_user_id"] = world["staff"].get_id()
    response = client.get(f"{path}?{name}={value}")
    assert response.status_code == 400
    page = response.get_data(as_text=True)
    said = "enthält ein Steuerzeichen" if value == "%00" else "Unbekannter Filter"
    assert f"„{name}“" in page and said in page
    assert "Bezahlkarte evaluieren" not in page  # not silently everything


def test_known_filters_still_work(client, world):
    for query in ("state=raised", "state=open", "topic=bezahlkarte", "body=ms", "event=fachtag"):
        assert client.get(f"/api/v1/demands?{query}").status_code == 200, query
        assert client.get(f"/?{query}").status_code == 200, query
        assert client.get(f"/forderungen.csv?{query}").status_code == 200, query


# Point 9: `tracker import` checks every row's shape before writing ---------------------------


def _export_with(runner, db, tmp_path, change):
    """Export the world, empty the database, change the export and write it to a file."""
    result = runner.invoke(args=["export", str(tmp_path / "x.json")])
    assert result.exit_code == 0, result.output
    data = json.loads((tmp_path / "x.json").read_text(encoding="utf-8"))
    change(data["tables"])
    db.session.remove()
    db.drop_all()
    db.create_all()
    path = tmp_path / "changed.json"
    path.write_text(json.dumps(data), encoding="utf-8")
    return path


def _outbox_row(db):
    from tracker.domain.models import OutboxMessage

    db.session.add(
        OutboxMessage(key="k1", kind="weekly", to=["a@example.org"], subject="S", text="T")
    )
    db.session.commit()


def _set(table, column, value, index=0):
    def change(tables):
        tables[table][index][column] = value

    return change


@pytest.mark.parametrize(
    ("change", "message"),
    [
        (_set("timeline_entries", "data", ["kein", "Objekt"]), "„data“ hat eine ungültige Form"),
        (_set("timeline_entries", "data", {"after": ["x"]}), "„data“ hat eine ungültige Form"),
        (_set("outbox", "to", "a@example.org"), "„to“ hat eine ungültige Form"),
        (_set("outbox", "to", [1, 2]), "„to“ hat eine ungültige Form"),
        (_set("outbox", "data", {"demand_ids": ["1"]}), "„data“ hat eine ungültige Form"),
        (_set("timeline_entries", "data", {"x": json.loads("[" * 50 + "]" * 50)}), "verschachtelt"),
        (_set("demands", "title", "Titel\x07"), "„title“ hat einen ungültigen Wert"),
        (_set("demands", "title", 5), "„title“ hat einen ungültigen Wert"),
    ],
)
def test_import_refuses_wrong_shapes_and_writes_nothing(
    runner, db, world, tmp_path, change, message
):
    import sqlalchemy as sa

    from tracker.domain.models import Demand

    _outbox_row(db)
    path = _export_with(runner, db, tmp_path, change)
    result = runner.invoke(args=["import", str(path)])
    assert result.exit_code == 1
    assert message in result.output
    assert "Traceback" not in result.output and result.exception.__class__ is SystemExit
    assert db.session.scalar(sa.select(sa.func.count(Demand.id))) == 0  # nothing written


def test_import_of_a_deeply_nested_file_is_a_clear_error(runner, app, tmp_path):
    path = tmp_path / "tief.json"
    path.write_text(DEEP, encoding="utf-8")
    result = runner.invoke(args=["import", str(path)])
    assert result.exit_code == 1
    assert "zu tief verschachtelt" in result.output
    assert result.exception.__class__ is SystemExit


def test_import_of_a_good_export_still_works(runner, db, world, tmp_path, client):
    _outbox_row(db)
    path = _export_with(runner, db, tmp_path, lambda tables: None)
    result = runner.invoke(args=["import", str(path)])
    assert result.exit_code == 0, result.output
    assert client.get("/feed.atom").status_code == 200
    assert client.get(f"/forderungen/{world['values']['demand_id']}").status_code == 200


def test_control_characters_stored_earlier_do_not_reach_html_csv_or_atom(client, db):
    """Rows written before the boundary refused them are printed without them."""
    # (no NUL: PostgreSQL never stored one)
    demand = make_demand(title="Alt\x07Titel\x1b", text="Text\x08\x85 mit\tTab")
    for path in ("/", f"/forderungen/{demand.id}", "/forderungen.csv", "/feed.atom"):
        body = client.get(path).get_data()
        assert b"AltTitel" in body, path
        assert not inputs.CONTROL.search(body.decode("utf-8").replace("\r", "")), path


def test_overview_with_an_unknown_filter_keeps_the_filter_form(client, world):
    response = client.get("/?state=nonsense&topic=bezahlkarte")
    assert response.status_code == 400
    page = response.get_data(as_text=True)
    assert 'role="search"' in page  # choose again right there
    assert "Unbekannter Filter „state“: „nonsense“." in page
    assert "Bezahlkarte evaluieren" not in page
    english = client.get("/?state=nonsense", headers={"Accept-Language": "en"})
    assert "Unknown filter “state”: “nonsense”." in english.get_data(as_text=True)


def test_a_control_character_in_a_filter_is_named_as_such(client, world):
    response = client.get("/?q=a%00b&body=x%07")  # (the API's schema says it in its own words)
    assert response.status_code == 400
    assert "„body“ enthält ein Steuerzeichen (U+0007)." in response.get_data(as_text=True)
