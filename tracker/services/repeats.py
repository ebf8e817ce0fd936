"""Repeated demands: a demand raised again at a later event links to its earlier one."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable

import sqlalchemy as sa
from flask_babel import lazy_gettext as _l

from tracker.domain.models import Demand, Event, TimelineEntry, User, utcnow
from tracker.domain.workdays import local_date
from tracker.extensions import db
from tracker.services.errors import ServiceError, StaleDemand, stale_refused


def set_repeats(
    demand: Demand, earlier: Demand | None, user: User | None, expected_version: int | None
) -> TimelineEntry | None:
    """Link ``demand`` to the earlier demand it repeats (None: unlink); flushed, not committed."""
    if expected_version is not None and demand.version != expected_version:
        raise StaleDemand()
    if earlier is not None:
        if earlier.id == demand.id:
            message = _l("Eine Forderung kann sich nicht selbst wiederholen.")
            raise ServiceError(message, {"repeats": str(message)})
        seen, step = {demand.id}, earlier
        while step is not None:
            if step.id in seen:
                message = _l("Diese Verknüpfung ergäbe einen Kreis von Wiederholungen.")
                raise ServiceError(message, {"repeats": str(message)})
            seen.add(step.id)
            step = step.repeats
    before, after = demand.repeats_id, earlier.id if earlier else None
    if before == after:
        return None
    demand.repeats = earlier
    demand.updated_at = utcnow()
    entry = TimelineEntry(
        demand=demand,
        kind="edited",
        author=user,
        author_name=user.name if user else "",
        is_public=False,
        created_at=utcnow(),
        data={"before": {"repeats": before}, "after": {"repeats": after}},
    )
    db.session.add(entry)
    with stale_refused():  # someone changed the demand meanwhile: refused, not a 500
        db.session.flush()
    return entry


def visible_repeats(demand: Demand, include_internal: bool = False) -> int | None:
    """Return the id of the demand ``demand`` repeats if the reader may see that one: an
    internal demand's number is not shown to the public (API, CSV), as its page hides the link.
    """
    if demand.repeats_id is None or include_internal:
        return demand.repeats_id
    earlier = demand.repeats  # lists load it with the demands (queries.demand_options)
    return earlier.id if earlier is not None and earlier.is_public else None


def _own_date(event_date: dt.date | None, created_at: dt.datetime) -> dt.date:
    return event_date or local_date(created_at)


def demanded_since(demand: Demand) -> dt.date:
    """Return the earliest event date in the chain of demands this one repeats."""
    return demanded_since_map([demand])[demand.id]


def demanded_since_map(demands: Iterable[Demand]) -> dict[int, dt.date]:
    """Return, per demand, the earliest event date of its chain (one query if any repeats)."""
    demands = list(demands)
    if not any(d.repeats_id for d in demands):
        return {d.id: _own_date(d.event.date if d.event else None, d.created_at) for d in demands}
    rows = db.session.execute(
        sa.select(Demand.id, Demand.repeats_id, Event.date, Demand.created_at).outerjoin(
            Event, Event.id == Demand.event_id
        )
    ).all()
    by_id = {r.id: r for r in rows}
    result = {}
    for demand in demands:
        since, step, seen = None, by_id.get(demand.id), set()
        while step is not None and step.id not in seen:
            seen.add(step.id)
            own = _own_date(step.date, step.created_at)
            since = own if since is None or own < since else since
            step = by_id.get(step.repeats_id) if step.repeats_id else None
        result[demand.id] = since or _own_date(None, demand.created_at)
    return result


def is_repeated(demand: Demand) -> bool:
    """Tell whether the demand repeats an earlier one."""
    return demand.repeats_id is not None
