"""The OpenAPI 3.1 document of /api/v1; the tests validate every response against it."""

from __future__ import annotations

from tracker.domain import workflow

STATES = [s.name for s in workflow.STATES]
TRIGGERS = [t.trigger for t in workflow.TRANSITIONS]
DATE_TIME = {"type": "string", "format": "date-time"}
NULLABLE_STRING = {"type": ["string", "null"]}


def _ref(name: str) -> dict:
    return {"$ref": f"#/components/schemas/{name}"}


SCHEMAS = {
    "Problem": {
        "type": "object",
        "required": ["type", "title", "status", "detail", "code"],
        "properties": {
            "type": {
                "type": "string",
                "format": "uri",
                "description": "<server>/problems/<code>; GET it for the problem type",
            },
            "title": {
                "type": "string",
                "description": "short title of the code, German unless Accept-Language asks "
                "for English (like detail)",
            },
            "status": {"type": "integer"},
            "detail": {"type": "string"},
            "code": {"type": "string", "description": "stable machine-readable error code"},
            "errors": {"type": "object", "additionalProperties": {"type": "string"}},
        },
        "additionalProperties": False,
    },
    "ProblemType": {
        "type": "object",
        "required": ["type", "code", "title", "status"],
        "properties": {
            "type": {"type": "string", "format": "uri"},
            "code": {"type": "string"},
            "title": {"type": "string"},
            "status": {"type": "integer", "description": "the HTTP status it comes with"},
        },
        "additionalProperties": False,
    },
    "BodyRef": {
        "type": "object",
        "required": ["slug", "name", "role"],
        "properties": {
            "slug": {"type": "string"},
            "name": {"type": "string"},
            "role": {"enum": ["lead", "involved"]},
        },
        "additionalProperties": False,
    },
    "Demand": {
        "type": "object",
        "required": [
            "id",
            "title",
            "text",
            "state",
            "state_label",
            "state_since",
            "target_date",
            "waited_workdays",
            "overdue",
            "overdue_workdays",
            "outcome",
            "is_public",
            "version",
            "topics",
            "bodies",
            "event",
            "event_part",
            "created_at",
            "updated_at",
            "allowed_triggers",
            "url",
        ],
        "properties": {
            "id": {"type": "integer"},
            "title": {"type": "string"},
            "text": {"type": "string"},
            "state": {"enum": STATES},
            "state_label": {"type": "string"},
            "state_since": DATE_TIME,
            "target_date": {"type": ["string", "null"], "format": "date"},
            "waited_workdays": {"type": "integer", "minimum": 0},
            "overdue": {"type": "boolean"},
            "overdue_workdays": {"type": "integer", "minimum": 0},
            "outcome": {"enum": [o for o, _ in workflow.OUTCOMES] + [None]},
            "is_public": {"type": "boolean"},
            "version": {"type": "integer", "description": "send back with a transition"},
            "topics": {"type": "array", "items": {"type": "string"}},
            "bodies": {"type": "array", "items": _ref("BodyRef")},
            "event": NULLABLE_STRING,
            "event_part": NULLABLE_STRING,
            "created_at": DATE_TIME,
            "updated_at": DATE_TIME,
            "allowed_triggers": {"type": "array", "items": {"enum": TRIGGERS}},
            "url": {"type": "string", "format": "uri"},
            "role": {"enum": ["lead", "involved"]},
        },
        "additionalProperties": False,
    },
    "TimelineEntry": {
        "type": "object",
        "required": [
            "id",
            "kind",
            "created_at",
            "author",
            "body",
            "is_public",
            "trigger",
            "from_state",
            "to_state",
            "text",
            "data",
        ],
        "properties": {
            "id": {"type": "integer"},
            "kind": {
                "enum": [
                    "created",
                    "edited",
                    "assigned",
                    "transition",
                    "update",
                    "statement",
                    "confirmation",
                    "reminder",
                ]
            },
            "created_at": DATE_TIME,
            "author": NULLABLE_STRING,
            "body": NULLABLE_STRING,
            "is_public": {"type": "boolean"},
            "trigger": {"enum": TRIGGERS + [None]},
            "from_state": {"enum": STATES + [None]},
            "to_state": {"enum": STATES + [None]},
            "text": NULLABLE_STRING,
            "data": {"type": "object"},
        },
        "additionalProperties": False,
    },
    "DemandPage": {
        "type": "object",
        "required": ["items", "page", "per_page", "total", "links"],
        "properties": {
            "items": {"type": "array", "items": _ref("Demand")},
            "page": {"type": "integer", "minimum": 1},
            "per_page": {"type": "integer", "minimum": 1, "maximum": 100},
            "total": {"type": "integer", "minimum": 0},
            "links": {
                "type": "object",
                "required": ["self", "first", "last"],
                "properties": {
                    k: {"type": "string", "format": "uri"}
                    for k in ("self", "first", "last", "next", "prev")
                },
                "additionalProperties": False,
            },
        },
        "additionalProperties": False,
    },
    "Body": {
        "type": "object",
        "required": ["slug", "name", "short_name", "kind", "counts", "open", "overdue", "url"],
        "properties": {
            "slug": {"type": "string"},
            "name": {"type": "string"},
            "short_name": NULLABLE_STRING,
            "kind": {"enum": ["ministry", "authority", "other"]},
            "counts": {
                "type": "object",
                "required": STATES,
                "properties": {s: {"type": "integer", "minimum": 0} for s in STATES},
                "additionalProperties": False,
            },
            "open": {"type": "integer", "minimum": 0},
            "overdue": {"type": "integer", "minimum": 0},
            "url": {"type": "string", "format": "uri"},
            "demands": {"type": "array", "items": _ref("Demand")},
        },
        "additionalProperties": False,
    },
    "BodyList": {
        "type": "object",
        "required": ["items"],
        "properties": {"items": {"type": "array", "items": _ref("Body")}},
        "additionalProperties": False,
    },
    "Event": {
        "type": "object",
        "required": [
            "slug",
            "title",
            "date",
            "organiser",
            "location",
            "description",
            "parts",
            "url",
        ],
        "properties": {
            "slug": {"type": "string"},
            "title": {"type": "string"},
            "date": {"type": "string", "format": "date"},
            "organiser": {"type": "string"},
            "location": NULLABLE_STRING,
            "description": {"type": "string"},
            "parts": {
                "type": "array",
                "items": {
                    "type": "object",
                    "required": ["slug", "kind", "title"],
                    "properties": {
                        "slug": {"type": "string"},
                        "kind": {"enum": ["input", "workshop", "panel"]},
                        "title": {"type": "string"},
                    },
                    "additionalProperties": False,
                },
            },
            "url": {"type": "string", "format": "uri"},
        },
        "additionalProperties": False,
    },
    "EventList": {
        "type": "object",
        "required": ["items"],
        "properties": {"items": {"type": "array", "items": _ref("Event")}},
        "additionalProperties": False,
    },
    "NewDemand": {
        "type": "object",
        "required": ["title", "text"],
        "properties": {
            "title": {"type": "string", "minLength": 1, "maxLength": 300},
            "text": {"type": "string", "minLength": 1, "maxLength": 20000},
            "is_public": {"type": "boolean", "default": True},
            "topics": {"type": "array", "items": {"type": "string"}},
            "bodies": {
                "type": "array",
                "items": {
                    "type": "object",
                    "required": ["slug", "role"],
                    "properties": {
                        "slug": {"type": "string"},
                        "role": {"enum": ["lead", "involved"]},
                    },
                },
            },
            "event": {"type": "string"},
            "event_part": {"type": "string"},
        },
    },
    "NewUpdate": {
        "type": "object",
        "required": ["text"],
        "properties": {
            "text": {"type": "string", "minLength": 1, "maxLength": 10000},
            "is_public": {"type": "boolean", "default": True},
        },
    },
    "TransitionRequest": {
        "type": "object",
        "required": ["trigger", "version"],
        "properties": {
            "trigger": {"enum": TRIGGERS},
            "version": {"type": "integer"},
            "notes": {
                "type": "object",
                "additionalProperties": {"type": "string"},
                "description": "summary and participants for evaluate; outcome "
                "(implemented, partly_implemented, rejected, obsolete) and "
                "note for close; reason for reopen; note for address",
            },
        },
    },
    "TransitionResult": {
        "type": "object",
        "required": ["demand", "entry"],
        "properties": {"demand": _ref("Demand"), "entry": _ref("TimelineEntry")},
        "additionalProperties": False,
    },
    "Workflow": {"type": "object", "required": ["states", "transitions"]},
}


# Answers that count (issue 13): commitments and repeats on every demand, the class of each
# statement, and the writes that classify, reassign, re-check and link repeated demands.
CLASSIFICATIONS = ["substantive", "interim", "boilerplate", "not_responsible"]
SCHEMAS["Commitment"] = {
    "type": "object",
    "required": ["body", "file_reference", "committed_until"],
    "properties": {
        "body": {"type": "string", "description": "body slug"},
        "file_reference": NULLABLE_STRING,
        "committed_until": {
            "type": ["string", "null"],
            "format": "date",
            "description": "the body commits to answer by this date: its target date",
        },
    },
    "additionalProperties": False,
}
SCHEMAS["Demand"]["required"] += ["repeats", "commitments"]
SCHEMAS["Demand"]["properties"].update(
    {
        "repeats": {"type": ["integer", "null"], "description": "id of the earlier demand"},
        "commitments": {"type": "array", "items": _ref("Commitment")},
    }
)
SCHEMAS["TimelineEntry"]["properties"]["kind"]["enum"] += ["classification", "recheck"]
SCHEMAS["TimelineEntry"]["properties"]["classification"] = {
    "enum": CLASSIFICATIONS + [None],
    "description": "statements only: the latest class given by staff (null: not yet)",
}
SCHEMAS["NewDemand"]["properties"]["repeats"] = {"type": "integer"}
SCHEMAS["ClassificationRequest"] = {
    "type": "object",
    "required": ["classification"],
    "properties": {"classification": {"enum": CLASSIFICATIONS}},
}
SCHEMAS["ReassignRequest"] = {"type": "object", "properties": {"version": {"type": "integer"}}}
SCHEMAS["RecheckRequest"] = {
    "type": "object",
    "required": ["result"],
    "properties": {
        "result": {"enum": ["yes", "partly", "no"]},
        "note": {"type": "string", "maxLength": 10000},
        "is_public": {"type": "boolean", "default": True},
    },
}
SCHEMAS["RepeatsRequest"] = {
    "type": "object",
    "required": ["repeats", "version"],
    "properties": {"repeats": {"type": ["integer", "null"]}, "version": {"type": "integer"}},
}

SCHEMAS["DemandWithTimeline"] = {
    **SCHEMAS["Demand"],
    "required": [*SCHEMAS["Demand"]["required"], "timeline"],
    "properties": {
        **SCHEMAS["Demand"]["properties"],
        "timeline": {"type": "array", "items": _ref("TimelineEntry")},
        "demanded_since": {
            "type": "string",
            "format": "date",
            "description": "earliest event date in the chain of demands this one repeats",
        },
    },
}


def _json(schema: str) -> dict:
    return {"content": {"application/json": {"schema": _ref(schema)}}}


def _problem(description: str) -> dict:
    return {
        "description": description,
        "content": {"application/problem+json": {"schema": _ref("Problem")}},
    }


FILTERS = [
    {"name": n, "in": "query", "required": False, "schema": {"type": "string"}, "description": d}
    for n, d in (
        ("state", "raised, addressed, evaluated, closed or open"),
        ("topic", "topic slug"),
        ("body", "body slug"),
        ("event", "event slug"),
        ("q", "search in title and text"),
    )
] + [
    {"name": "page", "in": "query", "required": False, "schema": {"type": "integer", "minimum": 1}},
    {
        "name": "per_page",
        "in": "query",
        "required": False,
        "schema": {"type": "integer", "minimum": 1, "maximum": 100},
    },
]
WRITE_ERRORS = {
    "401": _problem("missing, invalid or revoked token"),
    "404": _problem("unknown demand"),
    "409": _problem("code stale: the demand changed meanwhile; code transition_not_allowed"),
    "422": _problem("code validation_failed, with errors per field"),
}


def _answer_paths(demand_id: dict, secured: list) -> dict:
    """Return the paths that classify, reassign, re-check and link repeated demands."""
    entry_id = {"name": "entry_id", "in": "path", "required": True, "schema": {"type": "integer"}}

    def write(operation, request, status, result, description):
        return {
            "operationId": operation,
            "security": secured,
            "parameters": [demand_id] + ([entry_id] if "Statement" in operation else []),
            "requestBody": {"required": True, **_json(request)},
            "responses": {status: {"description": description, **_json(result)}, **WRITE_ERRORS},
        }

    return {
        "/demands/{demand_id}/statements/{entry_id}/classification": {
            "post": write(
                "classifyStatement",
                "ClassificationRequest",
                "201",
                "TimelineEntry",
                "the classification entry; only substantive answers count as answered",
            )
        },
        "/demands/{demand_id}/statements/{entry_id}/reassign": {
            "post": write(
                "reassignStatement",
                "ReassignRequest",
                "200",
                "TimelineEntry",
                "the assignment moved to the body the statement names as competent",
            )
        },
        "/demands/{demand_id}/rechecks": {
            "post": write(
                "addRecheck", "RecheckRequest", "201", "TimelineEntry", "the re-check entry"
            )
        },
        "/demands/{demand_id}/repeats": {
            "put": write("setRepeats", "RepeatsRequest", "200", "Demand", "the demand")
        },
    }


def document(server: str) -> dict:
    """Return the OpenAPI document with ``server`` as the base URL."""
    demand_id = {"name": "demand_id", "in": "path", "required": True, "schema": {"type": "integer"}}
    slug = {"name": "slug", "in": "path", "required": True, "schema": {"type": "string"}}
    secured = [{"token": []}]
    from tracker.web.api import evidence

    return {
        "openapi": "3.1.0",
        "info": {
            "title": "Forderungstracker API",
            "version": "1.0.0",
            "description": "Public demands of the LIGA Sachsen-Anhalt, their state and timeline. "
            "Reads are public; writes need a personal API token (staff UI → API-Tokens).",
        },
        "servers": [{"url": server}],
        "components": {
            "schemas": {**SCHEMAS, **evidence.SCHEMAS},
            "securitySchemes": {"token": {"type": "http", "scheme": "bearer"}},
        },
        "paths": {
            "/demands": {
                "get": {
                    "operationId": "listDemands",
                    "parameters": FILTERS,
                    "responses": {
                        "200": {"description": "a page of demands", **_json("DemandPage")},
                        "400": _problem("invalid page or per_page"),
                    },
                },
                "post": {
                    "operationId": "createDemand",
                    "security": secured,
                    "requestBody": {"required": True, **_json("NewDemand")},
                    "responses": {
                        "201": {"description": "created", **_json("Demand")},
                        **WRITE_ERRORS,
                    },
                },
            },
            "/demands/{demand_id}": {
                "get": {
                    "operationId": "getDemand",
                    "parameters": [demand_id],
                    "responses": {
                        "200": {"description": "the demand", **_json("DemandWithTimeline")},
                        "404": _problem("unknown or internal demand"),
                    },
                },
            },
            "/demands/{demand_id}/updates": {
                "post": {
                    "operationId": "addUpdate",
                    "security": secured,
                    "parameters": [demand_id],
                    "requestBody": {"required": True, **_json("NewUpdate")},
                    "responses": {
                        "201": {"description": "added", **_json("TimelineEntry")},
                        **WRITE_ERRORS,
                    },
                },
            },
            "/demands/{demand_id}/transitions": {
                "post": {
                    "operationId": "transitionDemand",
                    "security": secured,
                    "parameters": [demand_id],
                    "requestBody": {"required": True, **_json("TransitionRequest")},
                    "responses": {
                        "200": {"description": "moved", **_json("TransitionResult")},
                        **WRITE_ERRORS,
                    },
                },
            },
            **_answer_paths(demand_id, secured),
            "/bodies": {
                "get": {
                    "operationId": "listBodies",
                    "responses": {"200": {"description": "bodies", **_json("BodyList")}},
                }
            },
            "/bodies/{slug}": {
                "get": {
                    "operationId": "getBody",
                    "parameters": [slug],
                    "responses": {
                        "200": {"description": "body", **_json("Body")},
                        "404": _problem("unknown body"),
                    },
                }
            },
            "/events": {
                "get": {
                    "operationId": "listEvents",
                    "responses": {"200": {"description": "events", **_json("EventList")}},
                }
            },
            "/events/{slug}": {
                "get": {
                    "operationId": "getEvent",
                    "parameters": [slug],
                    "responses": {
                        "200": {"description": "event", **_json("Event")},
                        "404": _problem("unknown event"),
                    },
                }
            },
            "/workflow": {
                "get": {
                    "operationId": "getWorkflow",
                    "responses": {
                        "200": {"description": "states and triggers", **_json("Workflow")}
                    },
                }
            },
            "/problems/{code}": {
                "get": {
                    "operationId": "getProblemType",
                    "parameters": [
                        {
                            "name": "code",
                            "in": "path",
                            "required": True,
                            "schema": {"type": "string"},
                        }
                    ],
                    "responses": {
                        "200": {
                            "description": "what a problem's type means",
                            **_json("ProblemType"),
                        },
                        "404": _problem("unknown problem code"),
                    },
                }
            },
            **evidence.paths(_json, _problem, WRITE_ERRORS, secured),
        },
    }
