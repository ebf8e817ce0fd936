"""API for the evidence: /api/v1/consultations and /api/v1/meetings (reads public, writes staff)."""

from __future__ import annotations

import datetime as dt

import sqlalchemy as sa
from flask import g, jsonify, request

from tracker.domain.models import Body, Consultation, Demand, Meeting
from tracker.extensions import db
from tracker.services import consultations as consultation_service
from tracker.services import meetings as meeting_service
from tracker.services.errors import ServiceError
from tracker.services.links import external_url
from tracker.web.api.views import APIError, _json_body, _service_error, bp, token_required


def _iso(value):
    return value.isoformat() if value is not None else None


def consultation_json(c: Consultation) -> dict:
    """Return one consultation as JSON."""
    days = consultation_service.period_workdays(c)
    return {
        "id": c.id,
        "body": c.body.slug,
        "kind": c.kind,
        "title": c.title,
        "url": c.url or None,
        "consulted": c.consulted,
        "received_on": _iso(c.received_on),
        "deadline_on": _iso(c.deadline_on),
        "period_workdays": days,
        "period_class": consultation_service.period_class(days),
        "learned_on": _iso(c.learned_on),
        "source": c.source or None,
        "statement_on": _iso(c.statement_on),
        "statement_text": c.statement_text or None,
        "statement_url": c.statement_url or None,
        "demands": [d.id for d in c.demands if d.is_public or g.api_user is not None],
        "created_at": _iso(c.created_at),
        "updated_at": _iso(c.updated_at),
    }


def meeting_json(m: Meeting) -> dict:
    """Return one meeting with its next steps as JSON."""
    return {
        "id": m.id,
        "body": m.body.slug,
        "held_on": m.held_on.isoformat(),
        "format": m.format,
        "participants": m.participants,
        "topics": m.topics,
        "summary": m.summary,
        "next_steps": [
            {
                "id": s.id,
                "text": s.text,
                "due_on": _iso(s.due_on),
                "body": s.body.slug if s.body else None,
                "done": s.is_done,
                "done_on": _iso(s.done_on),
            }
            for s in m.next_steps
        ],
        "created_at": _iso(m.created_at),
        "updated_at": _iso(m.updated_at),
        "url": external_url("evidence.dialogue") + f"#gespraech-{m.id}",
    }


YEARS = (1990, 2100)  # the years a filter may name: checked here, declared in the document


def _filters() -> tuple[Body | None, int | None]:
    slug, year = request.args.get("body"), request.args.get("year")
    body = None
    if slug:
        body = db.session.scalar(sa.select(Body).where(Body.slug == slug))
        if body is None:
            raise APIError(400, "invalid_parameter", "Unbekannte Stelle in „body“.")
    if year and not (year.isascii() and year.isdigit() and YEARS[0] <= int(year) <= YEARS[1]):
        raise APIError(400, "invalid_parameter", "„year“ muss eine Jahreszahl sein.")
    return body, int(year) if year else None


def _date(data: dict, name: str, required: bool = False) -> dt.date | None:
    value = data.get(name)
    if value is None and not required:
        return None
    try:
        return dt.date.fromisoformat(value) if isinstance(value, str) else _bad(name)
    except ValueError:
        _bad(name)


def _bad(name: str, expected: str = "Datum im Format JJJJ-MM-TT erwartet."):
    raise APIError(422, "validation_failed", f"„{name}“ ist ungültig.", {name: expected})


def _text(data: dict, name: str) -> str:
    value = data.get(name, "")
    if value is None:
        return ""
    return value if isinstance(value, str) else _bad(name, "Text erwartet.")


def _body_id(data: dict, name: str = "body", required: bool = True) -> int | None:
    slug = data.get(name)
    if slug is None and not required:
        return None
    body = (
        db.session.scalar(sa.select(Body).where(Body.slug == slug))
        if isinstance(slug, str)
        else None
    )
    return body.id if body else _bad(name, "Kürzel einer Stelle erwartet.")


@bp.get("/consultations")
def consultations():
    """List consultations (filters: body, year) with the figures over them."""
    body, year = _filters()
    items = consultation_service.list_consultations(body, year)
    total, _per_body = consultation_service.figures(items)
    return jsonify(
        {
            "items": [consultation_json(c) for c in items],
            "figures": {
                "count": total.count,
                "median_period_workdays": total.median_period,
                "short_share": total.short_share,
                "very_short_share": total.very_short_share,
                "without_consultation": total.without_consultation,
            },
        }
    )


@bp.get("/consultations/<int:consultation_id>")
def consultation(consultation_id: int):
    """Return one consultation."""
    item = db.session.get(Consultation, consultation_id)
    if item is None:
        raise APIError(404, "not_found", "Dieses Beteiligungsverfahren gibt es nicht.")
    return jsonify(consultation_json(item))


@bp.post("/consultations")
@token_required
def create_consultation():
    """Record a consultation, or a measure introduced without one (``consulted`` false)."""
    data = _json_body()
    consulted = data.get("consulted", True)
    if not isinstance(consulted, bool):
        _bad("consulted", "boolean")
    demand_ids = data.get("demands", [])
    if not isinstance(demand_ids, list) or not all(
        isinstance(i, int) and not isinstance(i, bool) for i in demand_ids
    ):
        _bad("demands", "Liste von Forderungs-IDs erwartet.")
    demands = db.session.scalars(sa.select(Demand).where(Demand.id.in_(demand_ids))).all()
    if len(demands) != len(set(demand_ids)):
        _bad("demands", "Unbekannte Forderung.")
    try:
        item, _changed = consultation_service.save_consultation(
            None,
            demands=demands,
            body_id=_body_id(data),
            kind=data.get("kind", "law"),
            title=_text(data, "title"),
            url=_text(data, "url"),
            consulted=consulted,
            received_on=_date(data, "received_on"),
            deadline_on=_date(data, "deadline_on"),
            learned_on=_date(data, "learned_on"),
            source=_text(data, "source"),
            statement_on=_date(data, "statement_on"),
            statement_text=_text(data, "statement_text"),
            statement_url=_text(data, "statement_url"),
        )
    except ServiceError as error:
        raise _service_error(error) from None
    response = jsonify(consultation_json(item))
    response.status_code = 201
    response.headers["Location"] = external_url("api.consultation", consultation_id=item.id)
    return response


@bp.get("/meetings")
def meetings():
    """List meetings (filters: body, year) with their next steps."""
    body, year = _filters()
    return jsonify({"items": [meeting_json(m) for m in meeting_service.list_meetings(body, year)]})


@bp.get("/meetings/<int:meeting_id>")
def meeting(meeting_id: int):
    """Return one meeting with its next steps."""
    item = db.session.get(Meeting, meeting_id)
    if item is None:
        raise APIError(404, "not_found", "Dieses Gespräch gibt es nicht.")
    return jsonify(meeting_json(item))


@bp.post("/meetings")
@token_required
def create_meeting():
    """Record a meeting with its agreed next steps."""
    data = _json_body()
    raw_steps = data.get("next_steps", [])
    if not isinstance(raw_steps, list) or not all(isinstance(s, dict) for s in raw_steps):
        _bad("next_steps", "Liste von Objekten erwartet.")
    steps = []
    for step in raw_steps:
        done = step.get("done", False)
        if not isinstance(done, bool):
            _bad("next_steps", "„done“ muss true oder false sein.")
        text = _text(step, "text")
        if not text.strip():
            _bad("next_steps", "Jeder Schritt braucht einen Text.")
        steps.append(
            meeting_service.StepValues(
                text=text,
                due_on=_date(step, "due_on"),
                body_id=_body_id(step, required=False),
                done=done,
            )
        )
    fmt = data.get("format", "in_person")
    try:
        item, _changed = meeting_service.save_meeting(
            None,
            body_id=_body_id(data),
            held_on=_date(data, "held_on", required=True),
            format=fmt if isinstance(fmt, str) else "",
            participants=_text(data, "participants"),
            topics=_text(data, "topics"),
            summary=_text(data, "summary"),
            steps=steps,
        )
    except ServiceError as error:
        raise _service_error(error) from None
    response = jsonify(meeting_json(item))
    response.status_code = 201
    response.headers["Location"] = external_url("api.meeting", meeting_id=item.id)
    return response


DATE = {"type": ["string", "null"], "format": "date"}
TEXT = {"type": ["string", "null"]}
SCHEMAS = {
    "Consultation": {
        "type": "object",
        "required": ["id", "body", "kind", "title", "consulted", "period_workdays", "period_class"],
        "properties": {
            "id": {"type": "integer"},
            "body": {"type": "string", "description": "body slug"},
            "kind": {"enum": list(Consultation.KINDS)},
            "title": {"type": "string"},
            "url": TEXT,
            "consulted": {
                "type": "boolean",
                "description": "false: a measure introduced without consulting the LIGA",
            },
            "received_on": DATE,
            "deadline_on": DATE,
            "period_workdays": {
                "type": ["integer", "null"],
                "description": "working days from receipt to deadline (Sachsen-Anhalt holidays)",
            },
            "period_class": {"enum": ["very_short", "short", "normal", None]},
            "learned_on": DATE,
            "source": TEXT,
            "statement_on": DATE,
            "statement_text": TEXT,
            "statement_url": TEXT,
            "demands": {"type": "array", "items": {"type": "integer"}},
            "created_at": {"type": "string", "format": "date-time"},
            "updated_at": {"type": "string", "format": "date-time"},
        },
        "additionalProperties": False,
    },
    "ConsultationList": {
        "type": "object",
        "required": ["items", "figures"],
        "properties": {
            "items": {"type": "array", "items": {"$ref": "#/components/schemas/Consultation"}},
            "figures": {
                "type": "object",
                "properties": {
                    "count": {"type": "integer"},
                    "median_period_workdays": {"type": ["number", "null"]},
                    "short_share": {"type": ["number", "null"]},
                    "very_short_share": {"type": ["number", "null"]},
                    "without_consultation": {"type": "integer"},
                },
                "additionalProperties": False,
            },
        },
        "additionalProperties": False,
    },
    "NewConsultation": {
        "type": "object",
        "required": ["body", "title"],
        "properties": {
            "body": {"type": "string"},
            "kind": {"enum": list(Consultation.KINDS)},
            "title": {"type": "string", "maxLength": 300},
            "url": {"type": "string"},
            "consulted": {"type": "boolean", "default": True},
            "received_on": {"type": "string", "format": "date"},
            "deadline_on": {"type": "string", "format": "date"},
            "learned_on": {"type": "string", "format": "date"},
            "source": {"type": "string"},
            "statement_on": {"type": "string", "format": "date"},
            "statement_text": {"type": "string"},
            "statement_url": {"type": "string"},
            "demands": {"type": "array", "items": {"type": "integer"}},
        },
    },
    "NextStep": {
        "type": "object",
        "required": ["id", "text", "due_on", "body", "done", "done_on"],
        "properties": {
            "id": {"type": "integer"},
            "text": {"type": "string"},
            "due_on": DATE,
            "body": {"type": ["string", "null"], "description": "responsible body; null: LIGA"},
            "done": {"type": "boolean"},
            "done_on": DATE,
        },
        "additionalProperties": False,
    },
    "Meeting": {
        "type": "object",
        "required": ["id", "body", "held_on", "format", "summary", "next_steps", "url"],
        "properties": {
            "id": {"type": "integer"},
            "body": {"type": "string"},
            "held_on": {"type": "string", "format": "date"},
            "format": {"enum": list(Meeting.FORMATS)},
            "participants": {"type": "string"},
            "topics": {"type": "string"},
            "summary": {"type": "string"},
            "next_steps": {"type": "array", "items": {"$ref": "#/components/schemas/NextStep"}},
            "created_at": {"type": "string", "format": "date-time"},
            "updated_at": {"type": "string", "format": "date-time"},
            "url": {"type": "string"},
        },
        "additionalProperties": False,
    },
    "MeetingList": {
        "type": "object",
        "required": ["items"],
        "properties": {
            "items": {"type": "array", "items": {"$ref": "#/components/schemas/Meeting"}}
        },
        "additionalProperties": False,
    },
    "NewMeeting": {
        "type": "object",
        "required": ["body", "held_on", "summary"],
        "properties": {
            "body": {"type": "string"},
            "held_on": {"type": "string", "format": "date"},
            "format": {"enum": list(Meeting.FORMATS)},
            "participants": {"type": "string"},
            "topics": {"type": "string"},
            "summary": {"type": "string"},
            "next_steps": {
                "type": "array",
                "items": {
                    "type": "object",
                    "required": ["text"],
                    "properties": {
                        "text": {"type": "string"},
                        "due_on": {"type": "string", "format": "date"},
                        "body": {"type": ["string", "null"]},
                        "done": {"type": "boolean"},
                    },
                },
            },
        },
    },
}


def paths(json, problem, write_errors, secured) -> dict:
    """Return the OpenAPI paths of these endpoints (helpers from ``openapi``)."""
    filters = [
        {"name": "body", "in": "query", "required": False, "schema": {"type": "string"}},
        {
            "name": "year",
            "in": "query",
            "required": False,
            "schema": {"type": "integer", "minimum": YEARS[0], "maximum": YEARS[1]},
        },
    ]

    def one(name: str, op: str, schema: str, what: str) -> dict:
        param = {"name": name, "in": "path", "required": True, "schema": {"type": "integer"}}
        return {
            "get": {
                "operationId": op,
                "parameters": [param],
                "responses": {
                    "200": {"description": what, **json(schema)},
                    "404": problem(f"unknown {what}"),
                },
            }
        }

    def listing(op_list, op_new, list_schema, schema, new_schema) -> dict:
        return {
            "get": {
                "operationId": op_list,
                "parameters": filters,
                "responses": {
                    "200": {"description": "list", **json(list_schema)},
                    "400": problem("unknown body or invalid year"),
                },
            },
            "post": {
                "operationId": op_new,
                "security": secured,
                "requestBody": {"required": True, **json(new_schema)},
                "responses": {
                    "201": {"description": "created", **json(schema)},
                    "400": problem("code invalid_json"),
                    **write_errors,
                },
            },
        }

    return {
        "/consultations": listing(
            "listConsultations",
            "createConsultation",
            "ConsultationList",
            "Consultation",
            "NewConsultation",
        ),
        "/consultations/{consultation_id}": one(
            "consultation_id", "getConsultation", "Consultation", "consultation"
        ),
        "/meetings": listing(
            "listMeetings", "createMeeting", "MeetingList", "Meeting", "NewMeeting"
        ),
        "/meetings/{meeting_id}": one("meeting_id", "getMeeting", "Meeting", "meeting"),
    }
