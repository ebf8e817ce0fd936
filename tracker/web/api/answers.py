"""API writes for answers that count: classify statements, reassign, re-checks, repeats."""

from __future__ import annotations

from flask import g
from flask_babel import lazy_gettext as _l

from tracker.domain.models import TimelineEntry
from tracker.extensions import db
from tracker.services import answers, rechecks, repeats
from tracker.web.api import schemas
from tracker.web.api.views import (
    APIError,
    demand_or_404,
    earlier_demand,
    service_call,
    write,
)


def _statement(demand_id: int, entry_id: int) -> TimelineEntry:
    demand = demand_or_404(demand_id)
    entry = db.session.get(TimelineEntry, entry_id)
    if entry is None or entry.demand_id != demand.id or entry.kind != "statement":
        raise APIError(404, "not_found", _l("Diese Stellungnahme gibt es nicht."))
    return entry


@write(
    "POST /demands/<int:demand_id>/statements/<int:entry_id>/classification",
    schemas.ClassificationRequest,
    schemas.TimelineEntry,
    201,
)
def classify_statement(data: dict, demand_id: int, entry_id: int):
    """Classify a body's statement; the class change is a new timeline entry (only substantive
    answers count as answered)."""
    statement = _statement(demand_id, entry_id)
    return service_call(answers.classify, statement, data["classification"], g.api_user)


@write(
    "POST /demands/<int:demand_id>/statements/<int:entry_id>/reassign",
    schemas.ReassignRequest,
    schemas.TimelineEntry,
)
def reassign_statement(data: dict, demand_id: int, entry_id: int):
    """Move the assignment from a body that is not responsible to the body it named."""
    statement = _statement(demand_id, entry_id)
    return service_call(answers.reassign, statement, g.api_user, data["version"])


@write("POST /demands/<int:demand_id>/rechecks", schemas.RecheckRequest, schemas.TimelineEntry, 201)
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


@write("PUT /demands/<int:demand_id>/repeats", schemas.RepeatsRequest, schemas.Demand)
def set_repeats(data: dict, demand_id: int):
    """Link a demand to the earlier demand it repeats (null removes the link)."""
    demand = demand_or_404(demand_id)
    earlier = earlier_demand(data["repeats"])
    service_call(repeats.set_repeats, demand, earlier, g.api_user, data["version"])
    return demand_or_404(demand.id)
