"""Answers that count: staff classify a body's statements; commitments; reassigning in one step.

A statement is never edited: its class is the latest ``classification`` entry that names it, so
each change of class stays on the timeline. Only a substantive answer counts as answered in the
statistics. What a body commits to through its answer link (file reference, „Antwort zugesagt
bis“) is kept on its assignment; how it becomes a target date is the rule in ``progress``.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable

import sqlalchemy as sa
from flask_babel import lazy_gettext as _l

from tracker.domain import labels, rules
from tracker.domain.labels import classification_label  # noqa: F401  (part of this service)
from tracker.domain.models import Assignment, Body, Demand, TimelineEntry, User, utcnow
from tracker.domain.workdays import today
from tracker.extensions import db
from tracker.services import demands as demand_service
from tracker.services import queries
from tracker.services.errors import ServiceError

CLASSIFICATION_LABELS = labels.CLASSIFICATION_LABELS  # the classes, by code
ANSWERED = "substantive"


def check_commitment(
    file_reference: str | None, committed_until: dt.date | None, on: dt.date | None = None
) -> dict[str, str]:
    """Return a message per invalid field of a body's commitment (empty when all is fine)."""
    on = on or today()
    errors = rules.length_errors({"file_reference": file_reference}, rules.STATEMENT)
    if committed_until is not None:
        if committed_until < on:
            errors["committed_until"] = str(_l("Das Datum darf nicht in der Vergangenheit liegen."))
        elif committed_until > rules.latest_commitment(on):
            errors["committed_until"] = str(_l("Bitte ein Datum innerhalb eines Jahres angeben."))
    return errors


def classifications(entries: Iterable[TimelineEntry]) -> dict[int, str]:
    """Return the current class of each statement named by the classification entries given."""
    current: dict[int, str] = {}
    for entry in sorted(entries, key=lambda e: (e.created_at, e.id)):
        if entry.kind == "classification" and entry.data.get("statement_id"):
            current[int(entry.data["statement_id"])] = entry.data.get("classification")
    return current


def classifications_of(demand_ids: Iterable[int], public_only: bool = True) -> dict[int, str]:
    """Return the current class of every classified statement on the given demands."""
    stmt = sa.select(TimelineEntry).where(
        TimelineEntry.demand_id.in_(list(demand_ids)),
        TimelineEntry.kind == "classification",
        *queries.visible(TimelineEntry, include_internal=not public_only),
    )
    return classifications(db.session.scalars(stmt))


def classify(statement: TimelineEntry, classification: str, user: User | None) -> TimelineEntry:
    """Classify a body's statement; the class change is a new timeline entry (flushed only)."""
    if statement is None or statement.kind != "statement":
        raise ServiceError(_l("Nur Stellungnahmen einer Stelle lassen sich einordnen."))
    if classification not in CLASSIFICATION_LABELS:
        raise ServiceError(
            _l("Bitte eine der angebotenen Möglichkeiten wählen."),
            {"classification": "invalid"},
        )
    before = classifications_of([statement.demand_id], public_only=False).get(statement.id)
    if before == classification:
        raise ServiceError(
            _l("Die Stellungnahme ist schon so eingeordnet."), {"classification": "unchanged"}
        )
    demand = statement.demand
    data = {"statement_id": statement.id, "classification": classification, "before": before}
    if classification == ANSWERED and statement.body_id is not None:
        # the substantive answer fulfils what the body committed to
        assignment = db.session.get(Assignment, (demand.id, statement.body_id))
        if assignment is not None and assignment.committed_until is not None:
            data["fulfils_commitment"] = assignment.committed_until.isoformat()
            assignment.committed_until = None
    entry = TimelineEntry(
        demand=demand,
        kind="classification",
        body_id=statement.body_id,
        author=user,
        author_name=user.name if user else "",
        is_public=statement.is_public,
        created_at=utcnow(),
        data=data,
    )
    db.session.add(entry)
    demand.updated_at = utcnow()
    db.session.flush()
    return entry


def competent_body(statement: TimelineEntry) -> Body | None:
    """Return the body a statement names as competent, if it names one that exists."""
    body_id = (statement.data or {}).get("competent_body_id")
    return db.session.get(Body, body_id) if body_id else None


def reassign(
    statement: TimelineEntry, user: User | None, expected_version: int | None
) -> TimelineEntry:
    """Move the assignment from a body that is not responsible to the body it named."""
    if statement is None or statement.kind != "statement" or statement.body_id is None:
        raise ServiceError(_l("Nur Stellungnahmen einer Stelle lassen sich einordnen."))
    demand: Demand = statement.demand
    if classifications_of([demand.id], public_only=False).get(statement.id) != "not_responsible":
        raise ServiceError(_l("Die Stellungnahme ist nicht als „nicht zuständig“ eingeordnet."))
    target = competent_body(statement)
    if target is None or target.id == statement.body_id:
        raise ServiceError(_l("Die Stelle hat keine andere zuständige Stelle genannt."))
    roles = {a.body_id: a.role for a in demand.assignments}
    if statement.body_id not in roles:
        raise ServiceError(_l("Die Stelle ist dieser Forderung nicht mehr zugeordnet."))
    role = roles.pop(statement.body_id)
    roles[target.id] = "lead" if "lead" in (role, roles.get(target.id)) else "involved"
    entry = demand_service.assign_bodies(demand, user, expected_version, roles)
    if entry is None:  # pragma: no cover - the roles always differ here
        raise ServiceError(_l("Keine Änderung."))
    return entry


def commitments(demand: Demand) -> list[Assignment]:
    """Return the assignments of a demand with a file reference or a committed date."""
    return [a for a in demand.assignments if a.file_reference or a.committed_until]


def passed_commitments(on: dt.date | None = None) -> list[Assignment]:
    """Return the commitments of bodies on open demands whose date has passed."""
    from tracker.domain import workflow

    on = on or today()
    return db.session.scalars(
        sa.select(Assignment)
        .join(Assignment.demand)
        .where(
            Assignment.committed_until.is_not(None),
            Assignment.committed_until < on,
            Demand.state.in_(workflow.OPEN_STATES),
        )
        .order_by(Assignment.committed_until, Assignment.demand_id)
    ).all()
