"""The JSON API, every response validated against the OpenAPI document."""

from __future__ import annotations

import jsonschema
import pytest
from helpers import make_body, make_demand, make_user
from referencing import Registry, Resource
from referencing.jsonschema import DRAFT202012
from sqlalchemy import func, select

from tracker.domain.models import ApiToken, Demand, TimelineEntry
from tracker.extensions import db as _db
from tracker.services import api_tokens


@pytest.fixture
def spec(client):
    return client.get("/api/v1/openapi.json").get_json()


def check(spec, response, path, method="get"):
    """Validate ``response`` against the schema the document declares for it."""
    operation = spec["paths"][path][method]
    declared = operation["responses"][str(response.status_code)]
    if "$ref" in declared:  # a response declared once for the whole API (the problems)
        declared = spec["components"]["responses"][declared["$ref"].rsplit("/", 1)[1]]
    ((media_type, content),) = declared["content"].items()
    assert response.mimetype == media_type
    registry = Registry().with_resource(
        "urn:openapi", Resource.from_contents(spec, default_specification=DRAFT202012)
    )
    schema = {"$ref": "urn:openapi" + content["schema"]["$ref"]}
    jsonschema.Draft202012Validator(
        schema, registry=registry, format_checker=jsonschema.FormatChecker()
    ).validate(response.get_json())
    if media_type == "application/problem+json":
        assert_problem(response.get_json())
    return response.get_json()


# every problem's German title, through the catalogue (the same language as its detail)
TITLES = {
    "invalid_parameter": "Ungültiger Parameter",
    "invalid_json": "Ungültiges JSON",
    "unauthorized": "API-Token fehlt oder ist ungültig",
    "not_found": "Nicht gefunden",
    "method_not_allowed": "Methode nicht erlaubt",
    "stale": "Inzwischen geändert",
    "transition_not_allowed": "Schritt nicht möglich",
    "validation_failed": "Ungültige Angaben",
}


def assert_problem(body: dict) -> dict:
    """A problem's type is its page under the configured base URL; its title is German."""
    from flask import current_app

    base = current_app.config["BASE_URL"]
    assert body["type"] == f"{base}/api/v1/problems/{body['code']}", body
    assert body["title"] == TITLES[body["code"]], body
    return body


@pytest.fixture
def data(app):
    ms = make_body()
    mi = make_body(slug="mi", name="Innenministerium")
    public = make_demand("Bezahlkarte evaluieren", bodies=[mi, ms])
    make_demand("Dialogkultur", bodies=[ms])
    internal = make_demand("Interne Nachbereitung", is_public=False, bodies=[ms])
    return {"ms": ms, "mi": mi, "public": public, "internal": internal}


@pytest.fixture
def token(app):
    user = make_user()
    _row, plain = api_tokens.create_token(user, "Skript")
    _db.session.commit()  # the service leaves committing to its caller
    return {"Authorization": f"Bearer {plain}"}


def test_openapi_document_is_valid_3_1(spec):
    assert spec["openapi"] == "3.1.0"
    for _name, schema in spec["components"]["schemas"].items():
        jsonschema.Draft202012Validator.check_schema(schema)
    assert {"/demands", "/demands/{demand_id}", "/bodies", "/events"} <= set(spec["paths"])
    from openapi_spec_validator import validate

    validate(spec)


def _resolve(spec, ref: dict) -> dict:
    return spec["components"]["schemas"][ref["$ref"].rsplit("/", 1)[1]]


def test_document_lists_what_each_operation_answers(spec):
    for path, item in spec["paths"].items():
        for method, operation in item.items():
            if method == "parameters":
                continue
            statuses = set(operation["responses"])
            assert {"401", "503"} <= statuses, (method, path)  # a revoked token, no database
            if "requestBody" in operation:  # invalid JSON, too large, refused by the schema
                assert {"400", "413", "422"} <= statuses, (method, path)
                body = operation["requestBody"]["content"]["application/json"]["schema"]
                variants = _resolve(spec, body).get("oneOf", [body])
                assert all(_resolve(spec, v)["additionalProperties"] is False for v in variants)
            if any(p["in"] == "path" for p in item.get("parameters", [])):
                assert "404" in statuses, (method, path)


def test_transition_requests_declare_each_triggers_notes(spec):
    from tracker.domain import workflow

    union = spec["components"]["schemas"]["TransitionRequest"]
    assert union["discriminator"]["propertyName"] == "trigger"
    for step in workflow.TRANSITIONS:
        request = _resolve(spec, {"$ref": union["discriminator"]["mapping"][step.trigger]})
        assert request["properties"]["trigger"]["enum"] == [step.trigger]
        notes = _resolve(spec, request["properties"]["notes"])
        assert set(notes["properties"]) == {n.name for n in step.notes}
        assert set(notes.get("required", [])) == {n.name for n in step.notes if n.required}
        assert ("notes" in request["required"]) == any(n.required for n in step.notes)
    outcome = _resolve(spec, {"$ref": union["discriminator"]["mapping"]["close"]})
    close_notes = _resolve(spec, outcome["properties"]["notes"])
    assert close_notes["properties"]["outcome"]["enum"] == [o for o, _ in workflow.OUTCOMES]


def test_english_clients_get_english_details(client, data, token):
    english = {**token, "Accept-Language": "en"}
    response = client.post("/api/v1/demands", json={"text": "x"}, headers=english)
    problem = response.get_json()
    assert response.status_code == 422 and problem["title"] != TITLES["validation_failed"]
    assert "Ungültig" not in problem["detail"] and "“title”" in problem["detail"]
    assert "fehlt" not in problem["errors"]["title"]
    missing = client.get("/api/v1/demands/999", headers={"Accept-Language": "en"}).get_json()
    assert "gibt es nicht" not in missing["detail"]


@pytest.mark.parametrize(
    ("query", "titles"),
    [
        ("", ["Bezahlkarte evaluieren", "Dialogkultur"]),
        ("?body=mi", ["Bezahlkarte evaluieren"]),
        ("?q=dialog", ["Dialogkultur"]),
        ("?state=closed", []),
        ("?state=open", ["Bezahlkarte evaluieren", "Dialogkultur"]),
    ],
)
def test_list_filters_and_hides_internal(client, spec, data, query, titles):
    body = check(spec, client.get("/api/v1/demands" + query), "/demands")
    assert [d["title"] for d in body["items"]] == titles
    assert body["total"] == len(titles)


def test_pagination_links(client, spec, data):
    body = check(spec, client.get("/api/v1/demands?per_page=1&page=1"), "/demands")
    assert body["total"] == 2 and len(body["items"]) == 1
    assert "page=2" in body["links"]["next"] and "prev" not in body["links"]
    second = client.get(body["links"]["next"].replace("http://tracker.test", ""))
    body2 = check(spec, second, "/demands")
    assert body2["items"][0]["id"] != body["items"][0]["id"]
    assert "prev" in body2["links"] and "next" not in body2["links"]


def test_a_page_past_the_end_is_not_found(client, spec, data):
    """As the overview: a page past the end is a 404 that says how many there are, not an
    empty page linking to one before it that does not exist either."""
    past = client.get("/api/v1/demands?per_page=1&page=99")
    assert past.status_code == 404
    problem = check(spec, past, "/demands")
    assert problem["code"] == "not_found"
    assert problem["detail"] == "Seite 99 gibt es nicht: die Liste hat 2 Seiten."
    english = client.get("/api/v1/demands?page=3&per_page=1", headers={"Accept-Language": "en"})
    assert english.get_json()["detail"] == "There is no page 3: the list has 2 pages."
    nothing = client.get("/api/v1/demands?q=nirgends")  # no match: page 1 is empty, not missing
    assert check(spec, nothing, "/demands")["items"] == []
    beyond = client.get("/api/v1/demands?q=nirgends&page=3")
    assert beyond.status_code == 404
    assert (
        check(spec, beyond, "/demands")["detail"] == "Seite 3 gibt es nicht: die Liste hat 1 Seite."
    )


@pytest.mark.parametrize("query", ["?page=0", "?per_page=101", "?per_page=x"])
def test_bad_paging_is_a_problem(client, spec, data, query):
    response = client.get("/api/v1/demands" + query)
    assert response.status_code == 400
    assert check(spec, response, "/demands")["code"] == "invalid_parameter"


def test_one_demand_with_public_timeline(client, spec, data, db):
    from tracker.services.demands import add_update

    add_update(data["public"], None, "intern notiert", is_public=False)
    add_update(data["public"], None, "öffentlicher Stand", is_public=True)
    body = check(spec, client.get(f"/api/v1/demands/{data['public'].id}"), "/demands/{demand_id}")
    texts = [e["text"] for e in body["timeline"]]
    assert "öffentlicher Stand" in texts and "intern notiert" not in texts
    assert body["bodies"][0] == {"slug": "mi", "name": "Innenministerium", "role": "lead"}


def test_internal_demand_is_404_without_token(client, spec, data, token):
    response = client.get(f"/api/v1/demands/{data['internal'].id}")
    assert response.status_code == 404
    assert check(spec, response, "/demands/{demand_id}")["code"] == "not_found"
    assert client.get(f"/api/v1/demands/{data['internal'].id}", headers=token).status_code == 200


def test_bodies_and_events(client, spec, data, event):
    bodies = check(spec, client.get("/api/v1/bodies"), "/bodies")
    ms = next(b for b in bodies["items"] if b["slug"] == "ms")
    assert ms["counts"]["raised"] == 2 and ms["open"] == 2  # the internal one is not counted
    body = check(spec, client.get("/api/v1/bodies/ms"), "/bodies/{slug}")
    assert len(body["demands"]) == 2
    assert check(spec, client.get("/api/v1/bodies/nope"), "/bodies/{slug}")["code"] == "not_found"
    events = check(spec, client.get("/api/v1/events"), "/events")
    assert events["items"][0]["parts"][0]["slug"] == "podium"
    check(spec, client.get("/api/v1/events/fachtag"), "/events/{slug}")


def test_create_demand_with_token(client, spec, data, token, event):
    payload = {
        "title": "Neue Forderung",
        "text": "Text",
        "topics": ["bezahlkarte"],
        "bodies": [{"slug": "ms", "role": "lead"}, {"slug": "mi", "role": "involved"}],
        "event": "fachtag",
        "event_part": "podium",
    }
    response = client.post("/api/v1/demands", json=payload, headers=token)
    assert response.status_code == 201
    body = check(spec, response, "/demands", "post")
    assert body["state"] == "raised" and body["topics"] == ["bezahlkarte"]
    assert response.headers["Location"].endswith(f"/api/v1/demands/{body['id']}")
    demand = db_demand(body["id"])
    assert [e.kind for e in demand.timeline] == ["created", "assigned"]
    assert demand.timeline[0].author.email == "staff@example.org"


def db_demand(demand_id):
    from tracker.extensions import db

    db.session.expire_all()
    return db.session.get(Demand, demand_id)


@pytest.mark.parametrize(
    ("payload", "field"),
    [
        ({"text": "ohne Titel"}, "title"),
        ({"title": "", "text": "x"}, "title"),
        ({"title": "x" * 301, "text": "x"}, "title"),
        ({"title": "x", "text": "x", "is_public": "ja"}, "is_public"),
        ({"title": "x", "text": "x", "topics": ["gibt-es-nicht"]}, "topics"),
        ({"title": "x", "text": "x", "bodies": [{"slug": "nope", "role": "lead"}]}, "bodies"),
        ({"title": "x", "text": "x", "bodies": [{"slug": "ms", "role": "involved"}]}, "bodies"),
        ({"title": "x", "text": "x", "bodies": [{"slug": "ms", "role": "chef"}]}, "bodies[0].role"),
        ({"title": "x", "text": "x", "event": "nope", "event_part": "podium"}, "event_part"),
    ],
)
def test_create_demand_validation(client, spec, data, token, event, payload, field, db):
    count = db.select(db.func.count(Demand.id))
    before = db.session.scalar(count)
    response = client.post("/api/v1/demands", json=payload, headers=token)
    assert response.status_code == 422
    body = check(spec, response, "/demands", "post")
    assert body["code"] == "validation_failed" and field in body["errors"]
    assert db.session.scalar(count) == before


def test_writes_need_a_valid_token(client, spec, data, token, db):
    url = "/api/v1/demands"
    response = client.post(url, json={"title": "x", "text": "y"})
    assert check(spec, response, "/demands", "post")["code"] == "unauthorized"
    bad = {"Authorization": "Bearer ft_falsch"}
    assert client.post(url, json={"title": "x", "text": "y"}, headers=bad).status_code == 401
    row = db.session.scalar(db.select(ApiToken))
    api_tokens.revoke(row)
    assert client.post(url, json={"title": "x", "text": "y"}, headers=token).status_code == 401


def test_invalid_json_body(client, spec, data, token):
    response = client.post(
        "/api/v1/demands", data="{kaputt", headers={**token, "Content-Type": "application/json"}
    )
    assert response.status_code == 400
    assert assert_problem(response.get_json())["code"] == "invalid_json"


def test_transition_through_api_same_rules_as_web(client, spec, data, token, db):
    demand = data["public"]
    url = f"/api/v1/demands/{demand.id}/transitions"
    path = "/demands/{demand_id}/transitions"
    version = demand.version

    notes = {"summary": "gut", "participants": "alle"}
    evaluate = {"trigger": "evaluate", "version": version, "notes": notes}
    response = client.post(url, json=evaluate, headers=token)
    assert response.status_code == 409
    assert check(spec, response, path, "post")["code"] == "transition_not_allowed"

    response = client.post(url, json={"trigger": "address", "version": version}, headers=token)
    body = check(spec, response, path, "post")
    assert body["demand"]["state"] == "addressed" and body["entry"]["to_state"] == "addressed"

    response = client.post(url, json=evaluate, headers=token)
    assert response.status_code == 409
    assert check(spec, response, path, "post")["code"] == "stale"

    new_version = body["demand"]["version"]
    response = client.post(
        url,
        json={"trigger": "evaluate", "version": new_version, "notes": {"summary": "gut"}},
        headers=token,
    )
    assert response.status_code == 422
    problem = check(spec, response, path, "post")
    assert "notes.participants" in problem["errors"]  # the declaration's required notes

    count = (
        db.session.query(TimelineEntry).filter_by(demand_id=demand.id, kind="transition").count()
    )
    assert count == 1


def test_add_update_through_api(client, spec, data, token):
    url = f"/api/v1/demands/{data['public'].id}/updates"
    response = client.post(
        url, json={"text": "Gespräch im Ministerium", "is_public": True}, headers=token
    )
    assert response.status_code == 201
    entry = check(spec, response, "/demands/{demand_id}/updates", "post")
    assert entry["kind"] == "update" and entry["author"] == "Sam Staff"
    assert client.post(url, json={"text": ""}, headers=token).status_code == 422


def test_unknown_route_and_method_are_problems(client):
    response = client.get("/api/v1/gibt-es-nicht")
    assert response.status_code == 404 and response.get_json()["code"] == "not_found"
    assert_problem(response.get_json())
    response = client.delete("/api/v1/demands")
    assert response.status_code == 405 and response.get_json()["code"] == "method_not_allowed"
    assert_problem(response.get_json())
    # RFC 9110: a 405 names the methods the resource supports
    assert set(response.headers["Allow"].split(", ")) >= {"GET", "POST"}


def test_each_problem_type_resolves_to_its_description(app, client, spec):
    base = app.config["BASE_URL"]
    for code, title in TITLES.items():
        response = client.get(f"/api/v1/problems/{code}")
        assert response.status_code == 200, code
        described = check(spec, response, "/problems/{code}")
        assert described["type"] == f"{base}/api/v1/problems/{code}"
        assert described["title"] == title and described["code"] == code
    assert client.get("/api/v1/problems/bad_request").get_json()["status"] == 400
    response = client.get("/api/v1/problems/gibt-es-nicht")
    assert check(spec, response, "/problems/{code}")["code"] == "not_found"


@pytest.mark.parametrize("app_config", [{"BASE_URL": "https://liga.example.net/tracker"}])
def test_problem_type_follows_the_configured_base_url(client):
    body = client.get("/api/v1/demands/999").get_json()
    assert body["type"] == "https://liga.example.net/tracker/api/v1/problems/not_found"


def test_tokens_page_creates_shows_once_and_revokes(client, auth, app, db):
    from helpers import csrf_token

    make_user()
    auth.login()
    page = client.get("/verwaltung/api-tokens").get_data(as_text=True)
    response = client.post(
        "/verwaltung/api-tokens", data={"name": "Skript", "csrf_token": csrf_token(page)}
    )
    html = response.get_data(as_text=True)
    assert "nur jetzt angezeigt" in html
    row = db.session.scalar(db.select(ApiToken))
    assert row.prefix in html and row.token_hash not in html
    plain = html.split('<code class="token">')[1].split("<")[0]
    assert (
        client.get("/api/v1/demands", headers={"Authorization": f"Bearer {plain}"}).status_code
        == 200
    )
    page = client.get("/verwaltung/api-tokens").get_data(as_text=True)
    assert plain not in page
    client.post(
        f"/verwaltung/api-tokens/{row.id}/widerrufen", data={"csrf_token": csrf_token(page)}
    )
    assert (
        client.post(
            "/api/v1/demands", json={}, headers={"Authorization": f"Bearer {plain}"}
        ).status_code
        == 401
    )


STEP_NOTES = [
    ("address", {}),
    ("evaluate", {"summary": "Ausgewertet.", "participants": "MS, LIGA"}),
    ("close", {"outcome": "rejected"}),
    ("close", {"outcome": "implemented"}),  # refused by the guard unless evaluated
    ("reopen", {"reason": "Neue Lage."}),
]


@pytest.mark.parametrize(("trigger", "notes"), STEP_NOTES)
@pytest.mark.parametrize("state", ["raised", "addressed", "evaluated", "closed"])
def test_api_offers_and_accepts_what_the_machine_allows(client, spec, token, state, trigger, notes):
    from helpers import put_in_state

    from tracker.domain import workflow

    demand = put_in_state(make_demand(), state)
    allowed = workflow.may(demand, trigger, notes)
    shown = client.get(f"/api/v1/demands/{demand.id}").get_json()
    assert shown["allowed_triggers"] == [t.trigger for t in workflow.allowed_triggers(state)]
    assert allowed <= (trigger in shown["allowed_triggers"])
    refusal = str(workflow.refusal(demand, trigger, notes))

    response = client.post(
        f"/api/v1/demands/{demand.id}/transitions",
        json={"trigger": trigger, "version": demand.version, "notes": notes},
        headers=token,
    )

    body = check(spec, response, "/demands/{demand_id}/transitions", "post")
    if allowed:
        assert response.status_code == 200 and body["demand"]["state"] != state
    else:
        assert response.status_code == 409
        assert (body["code"], body["detail"]) == ("transition_not_allowed", refusal)


def test_refusals_name_the_parameter_in_the_readers_language(client, spec, data):
    """English readers get English quotation marks, and the allowed values without the empty
    one (no filter) in front."""
    english = {"Accept-Language": "en"}
    refused = client.get("/api/v1/demands?state=nonsense", headers=english).get_json()
    assert refused["detail"] == "Invalid parameters: “state”."
    assert refused["errors"]["state"].startswith("Allowed: raised, addressed, ")
    german = check(spec, client.get("/api/v1/demands?state=nonsense"), "/demands")
    assert german["detail"] == "Ungültige Parameter: „state“."
    assert german["errors"]["state"].startswith("Erlaubt sind: raised, addressed, ")


def test_a_body_named_twice_in_a_new_demand_is_refused(client, spec, data, token):
    twice = [{"slug": "ms", "role": "lead"}, {"slug": "ms", "role": "involved"}]
    answer = client.post(
        "/api/v1/demands", json={"title": "T", "text": "X", "bodies": twice}, headers=token
    )
    problem = check(spec, answer, "/demands", "post")
    assert answer.status_code == 422 and problem["errors"] == {
        "bodies": "Die Stelle „ms“ ist zweimal genannt."
    }
    assert _db.session.scalar(select(func.count()).where(Demand.title == "T")) == 0


def test_a_demand_may_come_from_an_event_without_naming_a_part(client, spec, token, event):
    """As the staff form allows: the event alone is the source."""
    payload = {"title": "Vom ganzen Tag", "text": "t", "event": "fachtag"}
    for event_part in ("absent", None, ""):
        sent = payload if event_part == "absent" else {**payload, "event_part": event_part}
        created = client.post("/api/v1/demands", json=sent, headers=token)
        assert created.status_code == 201, created.get_json()
        body = check(spec, created, "/demands", "post")
        assert (body["event"], body["event_part"]) == ("fachtag", None)
    unknown = client.post("/api/v1/demands", json={**payload, "event": "nie"}, headers=token)
    assert unknown.status_code == 422 and "event" in unknown.get_json()["errors"]
