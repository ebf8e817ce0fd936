"""API writes for answers that count: classify statements, reassign, re-checks, repeats."""

from __future__ import annotations

from flask import g, jsonify
from sqlalchemy.orm.exc import StaleDataError

from tracker.domain.models import TimelineEntry
from tracker.extensions import db
from tracker.services import answers, rechecks, repeats
from tracker.services.errors import ServiceError, StaleDemand
from tracker.web.api import serialize
from tracker.web.api.views import (
    APIError,
    _boolean,
    _demand_or_404,
    _earlier_demand,
    _json_body,
    _service_error,
    bp,
    token_required,
)


def _commit() -> None:
    try:
        db.session.commit()
    except StaleDataError:
        db.session.rollback()
        raise _service_error(StaleDemand()) from None


def _statement(demand_id: int, entry_id: int) -> TimelineEntry:
    demand = _demand_or_404(demand_id)
    entry = db.session.get(TimelineEntry, entry_id)
    if entry is None or entry.demand_id != demand.id or entry.kind != "statement":
        raise APIError(404, "not_found", "Diese Stellungnahme gibt es nicht.")
    return entry


@bp.post("/demands/<int:demand_id>/statements/<int:entry_id>/classification")
@token_required
def classify_statement(demand_id: int, entry_id: int):
    """Classify a body's statement; the class change is a new timeline entry."""
    statement = _statement(demand_id, entry_id)
    value = _json_body().get("classification")
    if value not in answers.CLASSIFICATION_LABELS:
        raise APIError(
            422,
            "validation_failed",
            "„classification“ muss substantive, interim, boilerplate oder not_responsible sein.",
            {"classification": "invalid"},
        )
    try:
        entry = answers.classify(statement, value, g.api_user)
        _commit()
    except ServiceError as error:
        db.session.rollback()
        raise _service_error(error) from None
    response = jsonify(serialize.entry(entry))
    response.status_code = 201
    return response


@bp.post("/demands/<int:demand_id>/statements/<int:entry_id>/reassign")
@token_required
def reassign_statement(demand_id: int, entry_id: int):
    """Move the assignment from a body that is not responsible to the body it named."""
    statement = _statement(demand_id, entry_id)
    data = _json_body()
    version = data.get("version")
    if version is not None and (not isinstance(version, int) or isinstance(version, bool)):
        raise APIError(
            422, "validation_failed", "„version“ muss eine Zahl sein.", {"version": "integer"}
        )
    try:
        entry = answers.reassign(statement, g.api_user, version)
    except ServiceError as error:
        db.session.rollback()
        raise _service_error(error) from None
    return jsonify(serialize.entry(entry))


@bp.post("/demands/<int:demand_id>/rechecks")
@token_required
def add_recheck(demand_id: int):
    """Record whether a demand closed as implemented reached practice."""
    demand = _demand_or_404(demand_id)
    data = _json_body()
    result, note = data.get("result"), data.get("note", "")
    if not isinstance(note, str):
        raise APIError(422, "validation_failed", "„note“ muss ein Text sein.", {"note": "string"})
    is_public = _boolean(data, "is_public", True)
    try:
        entry = rechecks.record_recheck(
            demand, g.api_user, result if isinstance(result, str) else "", note, is_public=is_public
        )
        _commit()
    except ServiceError as error:
        db.session.rollback()
        raise _service_error(error) from None
    response = jsonify(serialize.entry(entry))
    response.status_code = 201
    return response


@bp.put("/demands/<int:demand_id>/repeats")
@token_required
def set_repeats(demand_id: int):
    """Link a demand to the earlier demand it repeats (null removes the link)."""
    demand = _demand_or_404(demand_id)
    data = _json_body()
    version = data.get("version")
    if "repeats" not in data or not isinstance(version, int) or isinstance(version, bool):
        raise APIError(
            422,
            "validation_failed",
            "„repeats“ (Nummer oder null) und „version“ (Zahl) sind nötig.",
            {"repeats": "integer or null", "version": "integer"},
        )
    earlier = _earlier_demand(data["repeats"]) if data["repeats"] is not None else None
    try:
        repeats.set_repeats(demand, earlier, g.api_user, version)
        _commit()
    except ServiceError as error:
        db.session.rollback()
        raise _service_error(error) from None
    return jsonify(serialize.demand(_demand_or_404(demand.id)))
