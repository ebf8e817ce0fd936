"""Public pages: progress of all demands, one demand, bodies, events, health."""

from __future__ import annotations

import sqlalchemy as sa
from flask import (
    Blueprint,
    Response,
    abort,
    current_app,
    redirect,
    render_template,
    request,
    send_from_directory,
    url_for,
)
from flask_login import current_user
from sqlalchemy.orm import selectinload

from tracker import LOCALE_COOKIE, LOCALES, inputs
from tracker.domain import workflow
from tracker.domain.models import Assignment, Body, Demand, Event
from tracker.extensions import db
from tracker.services import queries, statistics
from tracker.services.progress import progress_of
from tracker.web.redirects import body_or_404, safe_next

bp = Blueprint("public", __name__)


def _staff() -> bool:
    return current_user.is_authenticated


@bp.get("/")
def index():
    """Show the progress of all public demands, filtered and searched."""
    try:
        f = queries.DemandFilter.from_args(request.args)
    except inputs.InputError as error:
        return _overview_refused(error)
    page = inputs.int_arg(request.args, "page", 1)
    counts = queries.count_by_state(f)
    pagination = queries.list_rows(
        f,
        page=max(page, 1),
        per_page=current_app.config["PAGE_SIZE"],
        total=queries.total_from_counts(f, counts),
    )
    return render_template(
        "public/index.html",
        f=f,
        pagination=pagination,
        demands=pagination.items,
        counts=counts,
        total=sum(counts.values()),
        **queries.filter_choices(),
    ), pagination.status


def _overview_refused(error: inputs.InputError):
    """Show the overview with nothing listed and why: a filter value that does not exist."""
    return render_template(
        "public/index.html",
        f=queries.DemandFilter(),
        refused=error.message,
        pagination=queries.Page([], 1, current_app.config["PAGE_SIZE"], 0),
        demands=[],
        counts={s.name: 0 for s in workflow.STATES},
        total=0,
        **queries.filter_choices(),
    ), 400


def get_public_demand(demand_id: int) -> Demand:
    """Return the demand, or 404 if it does not exist or is internal (for the public)."""
    return queries.visible_demand(demand_id, include_internal=_staff()) or abort(404)


@bp.get("/forderungen/<int:demand_id>")
def demand(demand_id: int):
    """Show one demand: text, bodies, state, timeline and workflow diagram."""
    item = get_public_demand(demand_id)
    timeline = queries.timeline(item.id, include_internal=_staff())
    return render_template("public/demand.html", demand=item, timeline=timeline)


@bp.get("/stellen/")
def bodies():
    """List the bodies with how many open demands each has."""
    # count over the assignments first, then name the bodies: grouping the join of every body
    # with all its assignments and demands by the body's columns was the page's whole cost
    counted = (
        sa.select(Assignment.body_id, Demand.state, sa.func.count().label("n"))
        .join(Demand, Demand.id == Assignment.demand_id)
        .where(*queries.visible(Demand))
        .group_by(Assignment.body_id, Demand.state)
        .subquery()
    )
    rows = db.session.execute(
        sa.select(Body, counted.c.state, counted.c.n)
        .outerjoin(counted, counted.c.body_id == Body.id)
        .order_by(Body.name)
    ).all()
    figures: dict[int, dict] = {}
    for body, state, count in rows:
        entry = figures.setdefault(body.id, {"body": body, "counts": {}})
        if state:
            entry["counts"][state] = count
    return render_template("public/bodies.html", figures=list(figures.values()))


@bp.get("/stellen/<slug>")
def body(slug: str):
    """Show a body's progress page: its demands by state, days waiting, overdue ones marked."""
    item = body_or_404(slug)
    rows = queries.body_page_rows(item, include_internal=_staff())
    by_state: dict[str, list] = {s.name: [] for s in workflow.STATES}
    overdue = 0
    for row in rows:  # each row carries the body's committed date, if it gave one
        committed = row.committed_until or row.lead_committed_until
        standing = progress_of(row.state, row.state_changed_at, committed_until=committed)
        overdue += row.state in workflow.OPEN_STATES and standing.overdue
        by_state[row.state].append((row, standing))
    figures = statistics.cached("body", lambda _id: statistics.body_figures(item), item.id)
    return render_template(
        "public/body.html",
        body=item,
        by_state=by_state,
        total=len(rows),
        overdue=overdue,
        figures=figures,
    )


@bp.get("/veranstaltungen/")
def events():
    """List the events where demands were raised."""
    items = db.session.scalars(sa.select(Event).order_by(Event.date.desc())).all()
    return render_template("public/events.html", events=items)


@bp.get("/veranstaltungen/<slug>")
def event(slug: str):
    """Show an event, its parts and what was demanded there."""
    item = db.session.scalar(
        sa.select(Event).where(Event.slug == slug).options(selectinload(Event.parts))
    ) or abort(404)
    by_part: dict[int | None, list] = {}
    for row in queries.event_rows(item, include_internal=_staff()):
        standing = progress_of(
            row.state, row.state_changed_at, committed_until=row.lead_committed_until
        )
        by_part.setdefault(row.event_part_id, []).append((row, standing))
    return render_template("public/event.html", event=item, by_part=by_part)


@bp.get("/ablauf")
def workflow_page():
    """Explain the workflow with the diagram from the declaration."""
    return render_template("public/workflow.html")


@bp.get("/favicon.ico")
def favicon():
    """Serve the icon browsers ask for at the root."""
    return send_from_directory(
        current_app.static_folder, "favicon.ico", mimetype="image/vnd.microsoft.icon", max_age=86400
    )


@bp.get("/ablauf.mmd")
def workflow_mermaid():
    """Offer the workflow diagram as Mermaid text (``?stand=`` marks a state)."""
    current = request.args.get("stand") or None
    if current is not None and current not in workflow.STATE_BY_NAME:
        raise queries.unknown_filter("stand", current)
    return Response(
        workflow.mermaid(current),
        mimetype="text/plain",
        headers={"Content-Disposition": 'attachment; filename="ablauf.mmd"'},
    )


@bp.get("/sprache/<locale>")
def language(locale: str):
    """Remember the chosen interface language in a cookie and go back.

    A link, not a form: pages then need no session or CSRF token, so one cached page serves
    every anonymous reader. Changing someone's language is all a forged link could do.
    """
    if locale not in LOCALES:
        abort(404)
    response = redirect(safe_next(request.args.get("next"), url_for("public.index")))
    response.set_cookie(
        LOCALE_COOKIE,
        locale,
        max_age=365 * 24 * 3600,
        secure=current_app.config["SESSION_COOKIE_SECURE"],
        httponly=True,
        samesite="Lax",
    )
    return response


@bp.get("/healthz")
def healthz():
    """Tell operators whether the app and its database answer."""
    try:
        db.session.execute(sa.text("SELECT 1"))
    except sa.exc.SQLAlchemyError:
        return {"status": "error", "database": "unreachable"}, 503
    return {"status": "ok", "database": "ok"}
