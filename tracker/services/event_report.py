"""What an event's progress report shows: each demand with the bodies' statements, the LIGA's
assessments and re-checks, repeated demands first."""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from dataclasses import dataclass, field

import sqlalchemy as sa
from sqlalchemy.orm import joinedload, subqueryload

from tracker.domain.models import Assignment, Demand, Event, EventPart, TimelineEntry
from tracker.extensions import db
from tracker.services.answers import classifications
from tracker.services.queries import visible
from tracker.services.repeats import demanded_since_map


@dataclass(frozen=True)
class ReportItem:
    """A demand in an event's report with the bodies' statements and the LIGA's assessments."""

    demand: Demand
    statements: list[TimelineEntry]
    assessments: list[TimelineEntry]
    rechecks: list[TimelineEntry] = field(default_factory=list)
    classes: dict[int, str] = field(default_factory=dict)
    demanded_since: dt.date | None = None

    @property
    def repeated(self) -> bool:
        return self.demand.repeats_id is not None


def event_report(event: Event, include_internal: bool = False) -> list[ReportItem]:
    """Return the event's demands with what each report shows: repeated ones first, then the rest,
    each in the order of the event's parts."""
    stmt = (
        sa.select(Demand)
        .outerjoin(EventPart, EventPart.id == Demand.event_part_id)
        .where(Demand.event_id == event.id)
        # all the event's demands, unpaged: subqueryload reads topics and bodies in one query
        # each, where selectinload would send one per 500 demands
        .options(
            subqueryload(Demand.topics),
            subqueryload(Demand.assignments).joinedload(Assignment.body),
            joinedload(Demand.event_part),
            joinedload(Demand.event),
        )
        .where(*visible(Demand, include_internal=include_internal))
        .order_by(EventPart.position.is_(None), EventPart.position, Demand.id)
    )
    demands = db.session.scalars(stmt).unique().all()
    entries: dict[int, list[TimelineEntry]] = defaultdict(list)
    if demands:
        stmt = (
            sa.select(TimelineEntry)
            .where(
                TimelineEntry.demand_id.in_([d.id for d in demands]),
                TimelineEntry.kind.in_(
                    ("statement", "update", "transition", "classification", "recheck")
                ),
                *visible(TimelineEntry, include_internal=include_internal),
            )
            .options(joinedload(TimelineEntry.body))
            .order_by(TimelineEntry.created_at, TimelineEntry.id)
        )
        for entry in db.session.scalars(stmt):
            entries[entry.demand_id].append(entry)
    since = demanded_since_map(demands)
    items = [
        ReportItem(
            demand,
            [e for e in entries[demand.id] if e.kind == "statement"],
            [e for e in entries[demand.id] if _is_assessment(e)],
            [e for e in entries[demand.id] if e.kind == "recheck"],
            classifications(entries[demand.id]),
            since.get(demand.id),
        )
        for demand in demands
    ]
    return sorted(items, key=lambda item: not item.repeated)  # stable: parts order kept


def _is_assessment(entry: TimelineEntry) -> bool:
    """Tell whether an entry is the LIGA's own word: an update, or a transition with notes."""
    if entry.kind == "update":
        return True
    return entry.kind == "transition" and bool(entry.text or entry.data)
