"""The API of consultations and meetings, validated against the OpenAPI document."""

from __future__ import annotations

import pytest
from helpers import count, make_body, make_demand, make_user
from test_api import check

from tracker.domain.models import Consultation, Meeting
from tracker.services import api_tokens


@pytest.fixture
def spec(client):
    return client.get("/api/v1/openapi.json").get_json()


@pytest.fixture
def token(app):
    _row, plain = api_tokens.create_token(make_user(), "Skript")
    return {"Authorization": f"Bearer {plain}"}


@pytest.fixture
def body(app):
    return make_body()


def test_document_describes_the_new_paths(spec):
    assert {"/consultations", "/consultations/{consultation_id}", "/meetings"} <= set(spec["paths"])


def test_create_and_read_consultation(client, spec, token, body):
    demand = make_demand("Frühzeitig einbeziehen", bodies=[body])
    payload = {
        "body": "ms",
        "kind": "law",
        "title": "Entwurf Aufnahmegesetz",
        "received_on": "2026-11-02",
        "deadline_on": "2026-11-18",
        "demands": [demand.id],
    }
    created = client.post("/api/v1/consultations", json=payload, headers=token)
    assert created.status_code == 201
    data = check(spec, created, "/consultations", "post")
    assert (data["period_workdays"], data["period_class"]) == (12, "short")
    listing = check(spec, client.get("/api/v1/consultations?body=ms&year=2026"), "/consultations")
    assert listing["figures"]["count"] == 1 and listing["figures"]["short_share"] == 1
    one = client.get(f"/api/v1/consultations/{data['id']}")
    assert check(spec, one, "/consultations/{consultation_id}")["demands"] == [demand.id]
    missing = client.get("/api/v1/consultations/999")
    assert check(spec, missing, "/consultations/{consultation_id}")["code"] == "not_found"


@pytest.mark.parametrize(
    ("payload", "field"),
    [
        ({"title": "X", "received_on": "2026-11-02"}, "body"),
        (
            {"body": "ms", "title": "X", "received_on": "gestern", "deadline_on": "2026-11-18"},
            "received_on",
        ),
        (
            {"body": "ms", "title": "X", "received_on": "2026-11-20", "deadline_on": "2026-11-18"},
            "deadline_on",
        ),
        (
            {"body": "ms", "title": "", "received_on": "2026-11-02", "deadline_on": "2026-11-18"},
            "title",
        ),
        ({"body": "ms", "title": "X", "consulted": "nein"}, "consulted"),
        ({"body": "ms", "title": "X", "consulted": False}, "learned_on"),
        ({"body": "ms", "title": "X", "demands": [99]}, "demands"),
    ],
)
def test_bad_consultation_is_a_problem(client, spec, token, body, payload, field):
    response = client.post("/api/v1/consultations", json=payload, headers=token)
    assert response.status_code == 422
    assert field in check(spec, response, "/consultations", "post")["errors"]
    assert count(Consultation) == 0


def test_writes_need_a_token(client, spec, body):
    response = client.post("/api/v1/consultations", json={"body": "ms"})
    assert check(spec, response, "/consultations", "post")["code"] == "unauthorized"
    response = client.post("/api/v1/meetings", json={"body": "ms"})
    assert check(spec, response, "/meetings", "post")["code"] == "unauthorized"
    assert count(Consultation) == count(Meeting) == 0


def test_create_and_read_meeting(client, spec, token, body):
    payload = {
        "body": "ms",
        "held_on": "2026-11-10",
        "format": "video",
        "summary": "Austausch",
        "next_steps": [
            {"text": "Zahlen liefern", "due_on": "2026-12-15", "body": "ms"},
            {"text": "Protokoll", "body": None},
        ],
    }
    created = client.post("/api/v1/meetings", json=payload, headers=token)
    data = check(spec, created, "/meetings", "post")
    assert [s["body"] for s in data["next_steps"]] == ["ms", None]
    listing = check(spec, client.get("/api/v1/meetings?year=2026"), "/meetings")
    assert len(listing["items"]) == 1
    check(spec, client.get(f"/api/v1/meetings/{data['id']}"), "/meetings/{meeting_id}")
    bad = client.get("/api/v1/meetings?body=nix")
    assert check(spec, bad, "/meetings")["code"] == "invalid_parameter"


@pytest.mark.parametrize(
    "payload",
    [
        {"body": "ms", "held_on": "2026-13-01", "summary": "x"},
        {"body": "ms", "held_on": "2026-11-10", "summary": "x", "format": "brief"},
        {"body": "ms", "held_on": "2026-11-10", "summary": ""},
        {"body": "ms", "held_on": "2026-11-10", "summary": "x", "next_steps": [{"text": ""}]},
        {"body": "ms", "held_on": "2026-11-10", "summary": "x", "next_steps": "a"},
    ],
)
def test_bad_meeting_is_a_problem(client, spec, token, body, payload):
    response = client.post("/api/v1/meetings", json=payload, headers=token)
    assert response.status_code == 422
    check(spec, response, "/meetings", "post")
    assert count(Meeting) == 0


def test_invalid_json(client, spec, token, body):
    response = client.post("/api/v1/meetings", data="x", headers=token)
    assert check(spec, response, "/meetings", "post")["code"] == "invalid_json"


def test_a_meeting_posted_again_is_the_one_recorded_first(client, spec, token, body):
    """A retried POST (the answer got lost) records nothing new; other values are a new one."""
    payload = {
        "body": "ms",
        "held_on": "2026-11-20",
        "format": "video",
        "summary": "Austausch zur Bezahlkarte.",
        "next_steps": [{"text": "Zahlen liefern", "due_on": "2026-12-20", "body": "ms"}],
    }
    first, again = (client.post("/api/v1/meetings", json=payload, headers=token) for _ in "12")
    assert first.status_code == again.status_code == 201
    assert check(spec, again, "/meetings", "post")["id"] == first.get_json()["id"]
    assert first.headers["Location"] == again.headers["Location"]
    assert count(Meeting) == 1
    other = client.post("/api/v1/meetings", json={**payload, "format": "phone"}, headers=token)
    assert other.status_code == 201 and count(Meeting) == 2
