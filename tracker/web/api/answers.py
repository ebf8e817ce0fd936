"""API writes for answers that count: classify statements, reassign, re-checks, repeats."""

from __future__ import annotations

from flask import g
from flask_babel import lazy_gettext as _l

from tracker.domain.models import TimelineEntry
from tracker.extensions import db
from tracker.services import answers, rechecks, repeats
from tracker.web.api import schemas
from tracker.web.api.views import (
    BODY,
    APIError,
    bp,
    demand_or_404,
    earlier_demand,
    problems,
    service_call,
    token_required,
)


def _statement(demand_id: int, entry_id: int) -> TimelineEntry:
    demand = demand_or_404(demand_id)
    entry = db.session.get(TimelineEntry, entry_id)
    if entry is None or entry.demand_id != demand.id or entry.kind != "statement":
        raise APIError(404, "not_found", _l("Diese Stellungnahme gibt es nicht."))
    return entry


@bp.post("/demands/<int:demand_id>/statements/<int:entry_id>/classification")
@token_required
@bp.arguments(schemas.ClassificationRequestSchema)
@bp.response(201, schemas.TimelineEntrySchema)
@problems(*BODY, 404, 409)
def classify_statement(data: dict, demand_id: int, entry_id: int):
    """Classify a body's statement; the class change is a new timeline entry (only substantive
    answers count as answered)."""
    statement = _statement(demand_id, entry_id)
    return service_call(answers.classify, statement, data["classification"], g.api_user)


@bp.post("/demands/<int:demand_id>/statements/<int:entry_id>/reassign")
@token_required
@bp.arguments(schemas.ReassignRequestSchema)
@bp.response(200, schemas.TimelineEntrySchema)
@problems(*BODY, 404, 409)
def reassign_statement(data: dict, demand_id: int, entry_id: int):
    """Move the assignment from a body that is not responsible to the body it named."""
    statement = _statement(demand_id, entry_id)
    return service_call(answers.reassign, statement, g.api_user, data["version"])


@bp.post("/demands/<int:demand_id>/rechecks")
@token_required
@bp.arguments(schemas.RecheckRequestSchema)
@bp.response(201, schemas.TimelineEntrySchema)
@problems(*BODY, 404, 409)
def add_recheck(data: dict, demand_id: int):
    """Record whether a demand closed as implemented reached practice."""
    demand = demand_or_404(demand_id)
    return service_call(
        rechecks.record_recheck,
        demand,
        g.api_user,
        data["result"],
        data["note"],
        is_public=data["is_public"],
    )


@bp.put("/demands/<int:demand_id>/repeats")
@token_required
@bp.arguments(schemas.RepeatsRequestSchema)
@bp.response(200, schemas.DemandSchema)
@problems(*BODY, 404, 409)
def set_repeats(data: dict, demand_id: int):
    """Link a demand to the earlier demand it repeats (null removes the link)."""
    demand = demand_or_404(demand_id)
    earlier = earlier_demand(data["repeats"])
    service_call(repeats.set_repeats, demand, earlier, g.api_user, data["version"])
    return demand_or_404(demand.id)
