"""API views: thin, calling the same queries and services as the web pages."""

from __future__ import annotations

from functools import wraps

import sqlalchemy as sa
from flask import Blueprint, g, jsonify, request
from flask_babel import force_locale
from flask_babel import gettext as _
from sqlalchemy.orm import selectinload

from tracker import inputs
from tracker.domain import workflow
from tracker.domain.models import Assignment, Body, Demand, Event, EventPart, Topic
from tracker.extensions import csrf, db
from tracker.services import answers, api_tokens, queries, repeats
from tracker.services import demands as demand_service
from tracker.services.errors import ServiceError
from tracker.services.links import external_url
from tracker.services.progress import progress_of
from tracker.web.api import serialize
from tracker.web.api.openapi import document
from tracker.web.errors import problem as problem_response
from tracker.web.errors import problem_status, problem_title

bp = Blueprint("api", __name__, url_prefix="/api/v1")
csrf.exempt(bp)  # token-authenticated, no cookies: CSRF does not apply
MAX_PER_PAGE = 100


class APIError(Exception):
    """A refused API request, answered as RFC 9457 problem details."""

    def __init__(self, status: int, code: str, detail: str, errors: dict | None = None):
        super().__init__(detail)
        self.status, self.code, self.detail, self.errors = status, code, detail, errors or {}


@bp.errorhandler(APIError)
def api_error(error: APIError):
    return problem_response(error.status, error.code, error.detail, error.errors)


@bp.get("/problems/<code>")
def problem(code: str):
    """Describe the problem type ``code``: what the "type" of a problem response points at."""
    status = problem_status(code)
    if status is None:
        raise APIError(404, "not_found", _("Diesen Problemtyp gibt es nicht."))
    return jsonify(
        {
            "type": external_url("api.problem", code=code),
            "code": code,
            "title": problem_title(code, status),
            "status": status,
        }
    )


@bp.errorhandler(inputs.InputError)
def input_error(error: inputs.InputError):
    """Answer a refused parameter or body as a problem naming it."""
    status = 422 if error.kind == "validation_failed" else 400
    errors = {error.name: error.message} if error.name else None
    return api_error(APIError(status, error.kind, error.message, errors))


def _token_user():
    header = request.headers.get("Authorization", "")
    if not header.startswith("Bearer "):
        return None
    user = api_tokens.user_for(header[7:].strip())
    if user is None:
        raise APIError(401, "unauthorized", "Der API-Token ist ungültig oder widerrufen.")
    return user


@bp.before_request
def authenticate():
    """Resolve the bearer token, if any; writes require one."""
    g.api_user = _token_user()


def token_required(view):
    @wraps(view)
    def wrapped(*args, **kwargs):
        if g.api_user is None:
            raise APIError(401, "unauthorized", "Für Änderungen ist ein API-Token nötig.")
        with force_locale("de"):
            return view(*args, **kwargs)

    return wrapped


def _json_body() -> dict:
    """Return the JSON object sent; depth, list lengths and control characters are checked."""
    data = inputs.parse_json(request.get_data(cache=True))  # InputError: a 400/422 problem
    if not isinstance(data, dict):
        raise APIError(400, "invalid_json", "Der Anfragetext muss ein JSON-Objekt sein.")
    return data


def _demand_or_404(demand_id: int) -> Demand:
    demand = db.session.get(Demand, demand_id, options=[*queries.demand_options()])
    if demand is None or (not demand.is_public and g.api_user is None):
        raise APIError(404, "not_found", "Diese Forderung gibt es nicht.")
    return demand


def _service_error(error: ServiceError) -> APIError:
    status = {"stale": 409, "transition_not_allowed": 409}.get(error.code, 422)
    code = error.code if error.code != "invalid" else "validation_failed"
    return APIError(status, code, error.message, error.errors)


@bp.get("/openapi.json")
def openapi():
    """Return the OpenAPI 3.1 description of this API."""
    return jsonify(document(external_url("api.openapi").rsplit("/", 1)[0]))


@bp.get("/demands")
def demands():
    """List demands with filters and pagination."""
    f = queries.DemandFilter.from_args(request.args)  # InputError: a 400 naming the filter
    page = inputs.int_arg(request.args, "page", 1)
    per_page = inputs.int_arg(request.args, "per_page", 50, maximum=MAX_PER_PAGE)
    pagination = queries.list_demands(
        f, include_internal=g.api_user is not None, page=page, per_page=per_page
    )
    args = {k: v for k, v in request.args.items() if k not in ("page", "per_page") and v}

    def link(n):
        return external_url("api.demands", page=n, per_page=per_page, **args)

    last = max(pagination.pages, 1)
    links = {"self": link(page), "first": link(1), "last": link(last)}
    if pagination.has_next:
        links["next"] = link(page + 1)
    if pagination.has_prev:
        links["prev"] = link(page - 1)
    return jsonify(
        {
            "items": [serialize.demand(d) for d in pagination.items],
            "page": page,
            "per_page": per_page,
            "total": pagination.total,
            "links": links,
        }
    )


@bp.get("/demands/<int:demand_id>")
def demand(demand_id: int):
    """Return one demand with its (public) timeline."""
    item = _demand_or_404(demand_id)
    entries = queries.timeline(item.id, include_internal=g.api_user is not None, newest_first=False)
    classes = answers.classifications(entries)
    return jsonify(
        {
            **serialize.demand(item),
            "demanded_since": repeats.demanded_since(item).isoformat(),
            "timeline": [serialize.entry(e, classes) for e in entries],
        }
    )


def _body_figures(body_ids: list[int] | None = None):
    """Return per body: counts by state, and how many open demands are overdue."""
    stmt = (
        sa.select(
            Assignment.body_id,
            Demand.state,
            Demand.state_changed_at,
            Assignment.committed_until,
            queries.lead_committed_until(),
        )
        .join(Demand, Demand.id == Assignment.demand_id)
        .where(Demand.is_public.is_(True))
    )
    if body_ids is not None:
        stmt = stmt.where(Assignment.body_id.in_(body_ids))
    counts: dict[int, dict[str, int]] = {}
    overdue: dict[int, int] = {}
    for body_id, state, since, own, lead in db.session.execute(stmt):
        counts.setdefault(body_id, {}).setdefault(state, 0)
        counts[body_id][state] += 1
        if state in workflow.OPEN_STATES and progress_of(state, since, None, own or lead).overdue:
            overdue[body_id] = overdue.get(body_id, 0) + 1
    return counts, overdue


@bp.get("/bodies")
def bodies():
    """List the bodies with their figures."""
    items = db.session.scalars(sa.select(Body).order_by(Body.name)).all()
    counts, overdue = _body_figures()
    return jsonify(
        {"items": [serialize.body(b, counts.get(b.id, {}), overdue.get(b.id, 0)) for b in items]}
    )


@bp.get("/bodies/<slug>")
def body(slug: str):
    """Return one body with its figures and its demands."""
    item = db.session.scalar(sa.select(Body).where(Body.slug == slug))
    if item is None:
        raise APIError(404, "not_found", "Diese Stelle gibt es nicht.")
    counts, overdue = _body_figures([item.id])
    rows = queries.body_demands(item, include_internal=g.api_user is not None)
    return jsonify(
        {
            **serialize.body(item, counts.get(item.id, {}), overdue.get(item.id, 0)),
            "demands": [{**serialize.demand(d), "role": role} for d, role in rows],
        }
    )


@bp.get("/events")
def events():
    """List the events with their parts."""
    items = db.session.scalars(
        sa.select(Event).options(selectinload(Event.parts)).order_by(Event.date.desc())
    ).all()
    return jsonify({"items": [serialize.event(e) for e in items]})


@bp.get("/events/<slug>")
def event(slug: str):
    """Return one event with its parts."""
    item = db.session.scalar(
        sa.select(Event).where(Event.slug == slug).options(selectinload(Event.parts))
    )
    if item is None:
        raise APIError(404, "not_found", "Diese Veranstaltung gibt es nicht.")
    return jsonify(serialize.event(item))


def _string(data: dict, name: str, max_length: int, required: bool = True) -> str | None:
    value = data.get(name)
    if value is None and not required:
        return None
    if not isinstance(value, str) or (required and not value.strip()) or len(value) > max_length:
        raise APIError(
            422,
            "validation_failed",
            f"„{name}“ fehlt oder ist ungültig.",
            {name: f"Text mit 1 bis {max_length} Zeichen erwartet."},
        )
    return inputs.normalise_newlines(value).strip()


def _boolean(data: dict, name: str, default: bool) -> bool:
    value = data.get(name, default)
    if not isinstance(value, bool):
        raise APIError(
            422, "validation_failed", f"„{name}“ muss true oder false sein.", {name: "boolean"}
        )
    return value


def _earlier_demand(value) -> Demand:
    """Return the demand a ``repeats`` field names, or refuse with 422."""
    earlier = (
        db.session.get(Demand, value)
        if isinstance(value, int) and not isinstance(value, bool)
        else None
    )
    if earlier is None:
        raise APIError(
            422,
            "validation_failed",
            "„repeats“ muss die Nummer einer vorhandenen Forderung sein.",
            {"repeats": "unknown demand"},
        )
    return earlier


@bp.post("/demands")
@token_required
def create_demand():
    """Record a new demand, optionally with topics, bodies and its source."""
    data = _json_body()
    title = _string(data, "title", 300)
    text = _string(data, "text", 20000)
    is_public = _boolean(data, "is_public", True)
    topic_slugs = data.get("topics", [])
    body_roles = data.get("bodies", [])
    if not isinstance(topic_slugs, list) or not all(isinstance(t, str) for t in topic_slugs):
        raise APIError(
            422,
            "validation_failed",
            "„topics“ muss eine Liste von Kürzeln sein.",
            {"topics": "list of slugs"},
        )
    topics = db.session.scalars(sa.select(Topic).where(Topic.slug.in_(topic_slugs))).all()
    if len(topics) != len(set(topic_slugs)):
        raise APIError(422, "validation_failed", "Unbekanntes Thema.", {"topics": "unknown"})
    if not isinstance(body_roles, list) or not all(
        isinstance(b, dict) and isinstance(b.get("slug"), str) and b.get("role") in Assignment.ROLES
        for b in body_roles
    ):
        raise APIError(
            422,
            "validation_failed",
            "„bodies“ muss eine Liste von {slug, role: lead|involved} sein.",
            {"bodies": "invalid"},
        )
    slugs = {b["slug"]: b["role"] for b in body_roles}
    found = {b.slug: b for b in db.session.scalars(sa.select(Body).where(Body.slug.in_(slugs)))}
    if len(found) != len(slugs):
        raise APIError(422, "validation_failed", "Unbekannte Stelle.", {"bodies": "unknown"})
    problem = demand_service.roles_problem(slugs.values())  # the rule of every entry point
    if problem:
        raise APIError(422, "validation_failed", problem, {"bodies": problem})
    part = None
    if data.get("event") is not None or data.get("event_part") is not None:
        part = db.session.scalar(
            sa.select(EventPart)
            .join(EventPart.event)
            .where(
                Event.slug == str(data.get("event")), EventPart.slug == str(data.get("event_part"))
            )
        )
        if part is None:
            raise APIError(
                422,
                "validation_failed",
                "Unbekannte Veranstaltung oder unbekannter Teil.",
                {"event_part": "unknown"},
            )
    earlier = None
    if data.get("repeats") is not None:
        earlier = _earlier_demand(data["repeats"])
    item = demand_service.create_demand(
        g.api_user,
        title=title,
        text=text,
        is_public=is_public,
        topics=topics,
        event_id=part.event_id if part else None,
        event_part_id=part.id if part else None,
    )
    if slugs:
        demand_service.assign_bodies(
            item, g.api_user, item.version, {found[s].id: role for s, role in slugs.items()}
        )
    if earlier is not None:
        repeats.set_repeats(item, earlier, g.api_user, None)
        db.session.commit()
    response = jsonify(serialize.demand(_demand_or_404(item.id)))
    response.status_code = 201
    response.headers["Location"] = external_url("api.demand", demand_id=item.id)
    return response


@bp.post("/demands/<int:demand_id>/updates")
@token_required
def add_update(demand_id: int):
    """Add a progress note of the LIGA to a demand's timeline."""
    item = _demand_or_404(demand_id)
    data = _json_body()
    text = _string(data, "text", 10000)
    is_public = _boolean(data, "is_public", True)
    try:
        entry = demand_service.add_update(item, g.api_user, text, is_public=is_public)
    except ServiceError as error:
        raise _service_error(error) from None
    response = jsonify(serialize.entry(entry))
    response.status_code = 201
    return response


@bp.post("/demands/<int:demand_id>/transitions")
@token_required
def transition(demand_id: int):
    """Move a demand by a workflow trigger; the version guards against concurrent changes."""
    item = _demand_or_404(demand_id)
    data = _json_body()
    trigger, version, notes = data.get("trigger"), data.get("version"), data.get("notes", {})
    if not isinstance(trigger, str) or not isinstance(version, int) or isinstance(version, bool):
        raise APIError(
            422,
            "validation_failed",
            "„trigger“ (Text) und „version“ (Zahl) sind nötig.",
            {"trigger": "string", "version": "integer"},
        )
    if not isinstance(notes, dict) or not all(isinstance(v, str) for v in notes.values()):
        raise APIError(
            422,
            "validation_failed",
            "„notes“ muss ein Objekt mit Texten sein.",
            {"notes": "object of strings"},
        )
    try:
        entry = demand_service.advance(item, trigger, g.api_user, version, notes)
    except ServiceError as error:
        raise _service_error(error) from None
    return jsonify(
        {"demand": serialize.demand(_demand_or_404(item.id)), "entry": serialize.entry(entry)}
    )


@bp.get("/workflow")
def workflow_description():
    """Describe the workflow: states, triggers and the notes each needs."""
    return jsonify(
        {
            "states": [
                {
                    "name": s.name,
                    "label": str(s.label),
                    "target_workdays": s.target_workdays,
                    "open": s.is_open,
                }
                for s in workflow.STATES
            ],
            "transitions": [
                {
                    "trigger": t.trigger,
                    "label": str(t.label),
                    "source": list(t.source),
                    "dest": t.dest,
                    "notes": [
                        {
                            "name": n.name,
                            "label": str(n.label),
                            "required": n.required,
                            "choices": [c for c, _ in n.choices] or None,
                        }
                        for n in t.notes
                    ],
                }
                for t in workflow.TRANSITIONS
            ],
        }
    )
