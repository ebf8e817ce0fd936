"""API views: thin, calling the same queries and services as the web pages.

flask-smorest validates each request against its schema (``schemas.py``), serialises the
response with its schema and writes the OpenAPI document from the same declarations; every
refusal is answered as problem details (``tracker.web.errors.problem``).
"""

from __future__ import annotations

from functools import wraps
from http import HTTPStatus

import flask
import flask_smorest
import sqlalchemy as sa
from apispec_oneofschema import MarshmallowPlugin
from flask import g, jsonify, request
from flask_babel import gettext, lazy_ngettext
from flask_babel import lazy_gettext as _l
from flask_smorest.utils import prepare_response
from sqlalchemy.orm import selectinload
from webargs.flaskparser import FlaskParser
from werkzeug.exceptions import NotFound

from tracker import inputs
from tracker.domain import workflow
from tracker.domain.models import Assignment, Body, Demand, Event, EventPart, Topic
from tracker.extensions import csrf, db
from tracker.services import answers, api_tokens, queries, repeats
from tracker.services import demands as demand_service
from tracker.services.errors import ServiceError
from tracker.services.links import external_url
from tracker.services.progress import progress_of
from tracker.web.api import schemas
from tracker.web.api.schemas import With
from tracker.web.errors import CODES, PROBLEMS, problem_status, problem_title
from tracker.web.errors import problem as problem_response
from tracker.web.redirects import body_or_404

PROBLEM = "application/problem+json"
# What any operation may answer: a token that is invalid or revoked, the database unreachable.
ALWAYS = (401, 503)
# What an operation with a JSON body may answer besides 422: unparseable JSON, too large a body.
BODY = (400, 413)


class APIError(Exception):
    """A refused API request, answered as RFC 9457 problem details."""

    def __init__(self, status: int, code: str, detail, errors: dict | None = None):
        super().__init__(str(detail))
        self.status, self.code, self.detail, self.errors = status, code, detail, errors or {}


def _flatten(messages: dict, path: str = ""):
    """Yield (JSON path, message) for marshmallow's nested messages, paths as inputs names them."""
    for key, value in messages.items():
        where = f"{path}[{key}]" if isinstance(key, int) else f"{path}.{key}" if path else str(key)
        if isinstance(value, dict):
            yield from _flatten(value, where)
        else:
            yield where, " ".join(map(str, value)) if isinstance(value, list) else str(value)


class Parser(FlaskParser):
    """webargs' parser: bodies through ``tracker.inputs.parse_json``, refusals as problems."""

    def load_json(self, req, schema):
        """Parse the body whatever its content type; depth, lists and control characters are
        checked before any schema sees it (InputError: a 400 or 422 problem naming the field)."""
        data = inputs.parse_json(req.get_data(cache=True))
        if not isinstance(data, dict):
            raise APIError(400, "invalid_json", _l("Der Anfragetext muss ein JSON-Objekt sein."))
        return data

    def handle_error(self, error, req, schema, *, error_status_code, error_headers):
        """A refused body is a 422 ``validation_failed``, a refused query a 400
        ``invalid_parameter``; ``errors`` has a message per field."""
        ((_location, messages),) = error.messages.items()
        errors = dict(_flatten(messages))
        names = ", ".join(gettext("„%(name)s“", name=name) for name in errors)
        if error_status_code == 400:
            detail = _l("Ungültige Parameter: %(names)s.", names=names)
            raise APIError(400, "invalid_parameter", detail, errors)
        detail = _l("Ungültige Angaben: %(names)s.", names=names)
        raise APIError(422, "validation_failed", detail, errors)


class Blueprint(flask_smorest.Blueprint):
    ARGUMENTS_PARSER = Parser()


class Api(flask_smorest.Api):
    """flask-smorest's Api, declaring our problem details instead of its own error payload."""

    ERROR_SCHEMA = schemas.Problem
    DEFAULT_ERROR_RESPONSE_NAME = None  # no catch-all: each operation lists what it answers

    def __init__(self, *args, **kwargs):
        self._undocumented: list[flask_smorest.Blueprint] = []
        super().__init__(*args, **kwargs)

    @property
    def spec(self):
        """The document, its operations written in when it is first read: writing them takes
        ~0.1 s, and every app (each test makes one) would pay it at start-up."""
        while self._undocumented:
            blp = self._undocumented.pop(0)
            blp.register_views_in_doc(self, self._app, self._spec, name=blp.name, parameters=None)
            self._spec.tag({"name": blp.name, "description": blp.description})
        return self._spec

    @spec.setter
    def spec(self, value):
        self._spec = value

    def register_blueprint(self, blp, **options):
        """Register ``blp`` in the app now and in the document when it is read."""
        self._app.extensions["flask-smorest"]["blp_name_to_api"][blp.name] = self
        self._app.register_blueprint(blp, **options)
        self._undocumented.append(blp)

    def _register_error_handlers(self):
        """Keep the app's handlers (``tracker.web.errors``) and the blueprint's below."""

    def _register_responses(self):
        """Declare one problem response per status the API answers with, naming its codes."""
        for status in sorted({*(s for s, _ in PROBLEMS.values()), *CODES}):
            codes = dict.fromkeys([c for c, (s, _t) in PROBLEMS.items() if s == status])
            codes.update(dict.fromkeys([CODES[status]] if status in CODES else []))
            phrase = HTTPStatus(status).phrase
            response = {"description": f"{phrase}: code {' or '.join(codes)}"}
            response["schema"] = self.ERROR_SCHEMA
            prepare_response(response, self.spec, PROBLEM)
            self.spec.components.response(HTTPStatus(status).name, response, lazy=True)


bp = Blueprint("api", __name__, url_prefix="/api/v1")
csrf.exempt(bp)  # token-authenticated, no cookies: CSRF does not apply


def init_app(app: flask.Flask) -> None:
    """Register the API and its document (flask-smorest) on ``app``."""
    api = Api(
        spec_kwargs={
            "title": "Forderungstracker API",
            "version": "1.0.0",
            "openapi_version": "3.1.0",
            "marshmallow_plugin": MarshmallowPlugin(),
            "info": {
                "description": "Public demands of the LIGA Sachsen-Anhalt, their state and "
                "timeline. Reads are public; writes need a personal API token (staff UI → "
                "API-Tokens)."
            },
            "components": {"securitySchemes": {"token": {"type": "http", "scheme": "bearer"}}},
            "security": [{}, {"token": []}],  # reads: anonymous, or with a token (internal too)
        }
    )
    api.init_app(app)
    api.register_field(schemas.Uri, "string", "uri")
    api.register_blueprint(bp)


def problems(*statuses: int):
    """Declare the problem statuses an operation answers with (and those every one may)."""

    def decorate(view):
        for status in sorted({*statuses, *ALWAYS}):
            view = bp.alt_response(status, response=HTTPStatus(status).name)(view)
        return view

    return decorate


def _missing(rule: str) -> tuple[int, ...]:
    """A path with a parameter may name what does not exist: 404."""
    return (404,) if "<" in rule else ()


def read(rule: str, response, query=None, paged: bool = False):
    """Declare a read: ``query`` parameters (refused: 400), the ``response`` schema; a
    ``paged`` list answers a page past its end with 404."""

    def decorate(view):
        missing = (404,) if paged else _missing(rule)
        view = problems(*([400] if query else []), *missing)(view)
        view = bp.response(200, response)(view)
        if query is not None:
            view = bp.arguments(query, location="query", error_status_code=400)(view)
        return bp.route(rule, methods=["GET"])(view)

    return decorate


def write(route: str, request, response, status: int = 200):
    """Declare a staff write (``route``: "METHOD /path"): the token checked first, then the body
    against ``request`` (refused: 422), answered with ``status`` and the ``response`` schema; a
    change to a demand is guarded by its version (409)."""
    method, rule = route.split(" ")
    stale = (409,) if rule.startswith("/demands/<") else ()

    def decorate(view):
        view = bp.response(status, response)(problems(*BODY, *stale, *_missing(rule))(view))
        view = token_required(bp.arguments(request)(view))
        return bp.route(rule, methods=[method])(view)

    return decorate


@bp.errorhandler(APIError)
def api_error(error: APIError):
    return problem_response(error.status, error.code, error.detail, error.errors)


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
        raise APIError(401, "unauthorized", _l("Der API-Token ist ungültig oder widerrufen."))
    return user


@bp.before_request
def authenticate():
    """Resolve the bearer token, if any; writes require one."""
    g.api_user = _token_user()


def token_required(view):
    """Refuse the request without a token before its body is read; declare the security."""

    @wraps(view)
    def wrapped(*args, **kwargs):
        if g.api_user is None:
            raise APIError(401, "unauthorized", _l("Für Änderungen ist ein API-Token nötig."))
        return view(*args, **kwargs)

    return bp.doc(security=[{"token": []}])(wrapped)


def refused(field: str, message) -> APIError:
    """A 422 naming the field whose value (a slug, an id) the database does not know."""
    return APIError(422, "validation_failed", message, {field: message})


def demand_or_404(demand_id: int) -> Demand:
    demand = db.session.get(Demand, demand_id, options=[*queries.demand_options()])
    if demand is None or (not demand.is_public and g.api_user is None):
        raise APIError(404, "not_found", _l("Diese Forderung gibt es nicht."))
    return demand


def _service_error(error: ServiceError) -> APIError:
    status = {"stale": 409, "transition_not_allowed": 409}.get(error.code, 422)
    code = error.code if error.code != "invalid" else "validation_failed"
    return APIError(status, code, error.message, error.errors)


def created(item, endpoint: str, **ids):
    """Answer a write that made ``item``: 201, with its address in ``Location``."""
    return item, 201, {"Location": external_url(endpoint, **ids)}


def service_call(call, *args, **kwargs):
    """Call a service; its refusal becomes a 409 or 422 problem."""
    try:
        return call(*args, **kwargs)
    except ServiceError as error:
        raise _service_error(error) from None


def _openapi():
    """Return the OpenAPI 3.1 description of this API, its paths relative to its server."""
    document = flask_smorest.current_api.spec.to_dict()
    server = external_url("api.openapi").rsplit("/", 1)[0]
    paths = {path.removeprefix(bp.url_prefix): item for path, item in document["paths"].items()}
    return jsonify({**document, "servers": [{"url": server}], "paths": paths})


# The document does not describe itself: a Flask route, not one of the API's operations.
flask.Blueprint.add_url_rule(bp, "/openapi.json", "openapi", _openapi)


@read("/problems/<code>", schemas.ProblemType)
def problem(code: str):
    """Describe the problem type ``code``: what the "type" of a problem response points at."""
    status = problem_status(code)
    if status is None:
        raise APIError(404, "not_found", _l("Diesen Problemtyp gibt es nicht."))
    return {
        "type": external_url("api.problem", code=code),
        "code": code,
        "title": problem_title(code, status),
        "status": status,
    }


@read("/demands", schemas.DemandPage, query=schemas.DemandQuery, paged=True)
def demands(args: dict):
    """List demands with filters and pagination."""
    f = queries.DemandFilter.from_args(args)  # InputError: a 400 naming an unknown filter value
    page, per_page = args["page"], args["per_page"]
    pagination = queries.list_demands(
        f, include_internal=g.api_user is not None, page=page, per_page=per_page
    )
    if pagination.status == 404:  # as the overview: past the end is no empty page
        raise APIError(
            404,
            "not_found",
            lazy_ngettext(
                "Seite %(page)d gibt es nicht: die Liste hat %(num)d Seite.",
                "Seite %(page)d gibt es nicht: die Liste hat %(num)d Seiten.",
                pagination.pages,
                page=page,
            ),
        )
    kept = {k: v for k, v in request.args.items() if k not in ("page", "per_page") and v}

    def link(n):
        return external_url("api.demands", page=n, per_page=per_page, **kept)

    links = {"self": link(page), "first": link(1), "last": link(max(pagination.pages, 1))}
    if pagination.has_next:
        links["next"] = link(page + 1)
    if pagination.has_prev:
        links["prev"] = link(page - 1)
    return {
        "items": pagination.items,
        "page": page,
        "per_page": per_page,
        "total": pagination.total,
        "links": links,
    }


@read("/demands/<int:demand_id>", schemas.DemandDetail)
def demand(demand_id: int):
    """Return one demand with its (public) timeline."""
    item = demand_or_404(demand_id)
    entries = queries.timeline(item.id, include_internal=g.api_user is not None, newest_first=False)
    classes = answers.classifications(entries)
    timeline = [
        With(e, classification=classes.get(e.id)) if e.kind == "statement" else e for e in entries
    ]
    return With(item, timeline=timeline, demanded_since=repeats.demanded_since(item))


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


@read("/bodies", schemas.BodyList)
def bodies():
    """List the bodies with their figures."""
    items = db.session.scalars(sa.select(Body).order_by(Body.name)).all()
    counts, overdue = _body_figures()
    return {
        "items": [With(b, counts=counts.get(b.id, {}), overdue=overdue.get(b.id, 0)) for b in items]
    }


@read("/bodies/<slug>", schemas.BodyDetail)
@bp.alt_response(301, description="A former slug of the body: `Location` names it as it is now.")
def body(slug: str):
    """Return one body with its figures and its demands."""
    try:
        item = body_or_404(slug)
    except NotFound:
        raise APIError(404, "not_found", _l("Diese Stelle gibt es nicht.")) from None
    counts, overdue = _body_figures([item.id])
    rows = queries.body_demands(item, include_internal=g.api_user is not None)
    return With(
        item,
        counts=counts.get(item.id, {}),
        overdue=overdue.get(item.id, 0),
        demands=[With(d, role=role) for d, role in rows],
    )


@read("/events", schemas.EventList)
def events():
    """List the events with their parts."""
    items = db.session.scalars(
        sa.select(Event).options(selectinload(Event.parts)).order_by(Event.date.desc())
    ).all()
    return {"items": items}


@read("/events/<slug>", schemas.Event)
def event(slug: str):
    """Return one event with its parts."""
    item = db.session.scalar(
        sa.select(Event).where(Event.slug == slug).options(selectinload(Event.parts))
    )
    if item is None:
        raise APIError(404, "not_found", _l("Diese Veranstaltung gibt es nicht."))
    return item


@read("/workflow", schemas.Workflow)
def workflow_description():
    """Describe the workflow: states, triggers and the notes each needs."""
    return {"states": workflow.STATES, "transitions": workflow.TRANSITIONS}


def by_slug(model, slugs: list[str], field: str, message) -> dict:
    """Return the rows of ``model`` with these slugs by slug, or refuse naming the unknown ones."""
    found = {r.slug: r for r in db.session.scalars(sa.select(model).where(model.slug.in_(slugs)))}
    unknown = [s for s in slugs if s not in found]
    if unknown:
        raise refused(field, message % {"slugs": ", ".join(unknown)})
    return found


def earlier_demand(demand_id: int | None) -> Demand | None:
    """Return the demand a ``repeats`` field names (None for null), or refuse with 422."""
    if demand_id is None:
        return None
    earlier = db.session.get(Demand, demand_id)
    if earlier is None:
        raise refused("repeats", _l("Eine Forderung mit dieser Nummer gibt es nicht."))
    return earlier


def _source(event: str | None, part: str | None) -> tuple[int | None, int | None]:
    """Return the event's and the part's ids a demand comes from; an event alone (no part
    named) is a source too."""
    if not event and not part:
        return None, None
    if not part:
        event_id = db.session.scalar(sa.select(Event.id).where(Event.slug == event))
        if event_id is None:
            raise refused("event", _l("Unbekannte Veranstaltung."))
        return event_id, None
    found = db.session.scalar(
        sa.select(EventPart)
        .join(EventPart.event)
        .where(Event.slug == (event or ""), EventPart.slug == part)
    )
    if found is None:
        raise refused("event_part", _l("Unbekannte Veranstaltung oder unbekannter Teil."))
    return found.event_id, found.id


@write("POST /demands", schemas.NewDemand, schemas.Demand, 201)
def create_demand(data: dict):
    """Record a new demand, optionally with topics, bodies, its source and the demand it repeats."""
    topics = by_slug(Topic, data["topics"], "topics", _l("Unbekanntes Thema: %(slugs)s"))
    roles = {}
    for b in data["bodies"]:  # one role per body: a body named twice is refused, not merged
        if b["slug"] in roles:
            raise refused(
                "bodies", _l("Die Stelle „%(slug)s“ ist zweimal genannt.", slug=b["slug"])
            )
        roles[b["slug"]] = b["role"]
    found = by_slug(Body, list(roles), "bodies", _l("Unbekannte Stelle: %(slugs)s"))
    event_id, part_id = _source(data["event"], data["event_part"])
    earlier = earlier_demand(data["repeats"])
    item = demand_service.create_demand(
        g.api_user,
        title=data["title"],
        text=data["text"],
        is_public=data["is_public"],
        topics=topics.values(),
        event_id=event_id,
        event_part_id=part_id,
    )
    if roles:
        by_id = {found[s].id: role for s, role in roles.items()}
        service_call(demand_service.assign_bodies, item, g.api_user, item.version, by_id)
    if earlier is not None:
        service_call(repeats.set_repeats, item, earlier, g.api_user, None)
    return created(demand_or_404(item.id), "api.demand", demand_id=item.id)


@write("POST /demands/<int:demand_id>/updates", schemas.NewUpdate, schemas.TimelineEntry, 201)
def add_update(data: dict, demand_id: int):
    """Add a progress note of the LIGA to a demand's timeline."""
    item = demand_or_404(demand_id)
    return service_call(
        demand_service.add_update, item, g.api_user, data["text"], is_public=data["is_public"]
    )


@write(
    "POST /demands/<int:demand_id>/transitions", schemas.TransitionRequest, schemas.TransitionResult
)
def transition(data: dict, demand_id: int):
    """Move a demand by a workflow trigger with the notes it needs; ``version`` guards against
    concurrent changes."""
    item = demand_or_404(demand_id)
    entry = service_call(
        demand_service.advance, item, data["trigger"], g.api_user, data["version"], data["notes"]
    )
    return {"demand": demand_or_404(item.id), "entry": entry}
