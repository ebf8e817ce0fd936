"""The parsing layer: odd input anywhere is a clear 4xx, never a 5xx (issue 9, points 6 and 7)."""

from __future__ import annotations

import json
import re

import pytest
from conftest import csrf_token, make_body, make_demand, make_user
from itsdangerous import URLSafeTimedSerializer

from tracker import inputs
from tracker.models import Contact
from tracker.services import api_tokens

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
    return {
        "staff": staff,
        "values": {
            "demand_id": str(demand.id),
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
            good = re.sub(rf"<(?:[^:>]+:)?{name}>", values[name], good)
        for method in methods:
            for name, converter in rule._converters.items():
                bad_values = BAD_IDS if isinstance(converter, inputs.IdConverter) else BAD_TEXT
                for bad in bad_values:
                    url = re.sub(rf"<(?:[^:>]+:)?{name}>", bad, rule.rule)
                    for other in rule.arguments - {name}:
                        url = re.sub(rf"<(?:[^:>]+:)?{other}>", values[other], url)
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
                session["_user_id"] = str(world["staff"].id)
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
    from tracker.models import Demand

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

    from tracker.models import Demand

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
