"""Read-side queries for the pages, the API and the feeds, loading what they show in few queries."""

from __future__ import annotations

from dataclasses import dataclass

import sqlalchemy as sa
from sqlalchemy.orm import selectinload

from .. import workflow
from ..extensions import db
from ..models import Assignment, Body, Demand, Event, Topic


@dataclass(frozen=True)
class DemandFilter:
    """The filters of the overview; empty strings mean 'all'."""

    state: str = ""
    topic: str = ""
    body: str = ""
    event: str = ""
    q: str = ""

    @classmethod
    def from_args(cls, args) -> DemandFilter:
        """Build a filter from query arguments, ignoring unknown states."""
        state = args.get("state", "")
        if state not in workflow.STATE_BY_NAME and state != "open":
            state = ""
        return cls(
            state=state,
            topic=args.get("topic", "")[:80],
            body=args.get("body", "")[:80],
            event=args.get("event", "")[:80],
            q=args.get("q", "").strip()[:200],
        )

    @property
    def active(self) -> bool:
        return any((self.state, self.topic, self.body, self.event, self.q))


def _where(f: DemandFilter, include_internal: bool, with_state: bool = True) -> list:
    clauses = []
    if not include_internal:
        clauses.append(Demand.is_public.is_(True))
    if with_state and f.state == "open":
        clauses.append(Demand.state.in_(workflow.OPEN_STATES))
    elif with_state and f.state:
        clauses.append(Demand.state == f.state)
    if f.topic:
        clauses.append(Demand.topics.any(Topic.slug == f.topic))
    if f.body:
        clauses.append(Demand.assignments.any(Assignment.body.has(Body.slug == f.body)))
    if f.event:
        clauses.append(Demand.event.has(Event.slug == f.event))
    if f.q:
        pattern = "%" + f.q.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_") + "%"
        clauses.append(
            sa.or_(Demand.title.ilike(pattern, escape="\\"), Demand.text.ilike(pattern, escape="\\"))
        )
    return clauses


def demand_options():
    """Load what lists of demands show: topics, bodies, event part."""
    return (
        selectinload(Demand.topics),
        selectinload(Demand.assignments).joinedload(Assignment.body),
        selectinload(Demand.event_part),
    )


def list_demands(f: DemandFilter, include_internal: bool = False, page: int = 1, per_page: int = 50):
    """Return one page of demands matching ``f``."""
    stmt = (
        sa.select(Demand)
        .where(*_where(f, include_internal))
        .options(*demand_options())
        .order_by(Demand.id)
    )
    return db.paginate(stmt, page=page, per_page=per_page, error_out=False)


def count_by_state(f: DemandFilter, include_internal: bool = False) -> dict[str, int]:
    """Count demands matching ``f`` (except its state) in each state, in workflow order."""
    rows = db.session.execute(
        sa.select(Demand.state, sa.func.count())
        .where(*_where(f, include_internal, with_state=False))
        .group_by(Demand.state)
    ).all()
    counts = dict(rows)
    return {s.name: counts.get(s.name, 0) for s in workflow.STATES}


def filter_choices():
    """Return the topics, bodies and events to filter by."""
    topics = db.session.scalars(sa.select(Topic).order_by(Topic.name)).all()
    bodies = db.session.scalars(sa.select(Body).order_by(Body.name)).all()
    events = db.session.scalars(sa.select(Event).order_by(Event.date.desc())).all()
    return topics, bodies, events


def body_demands(body: Body, include_internal: bool = False) -> list[tuple[Demand, str]]:
    """Return the body's demands with its role in each, ordered by workflow state."""
    order = {s.name: i for i, s in enumerate(workflow.STATES)}
    rows = db.session.execute(
        sa.select(Demand, Assignment.role)
        .join(Assignment, Assignment.demand_id == Demand.id)
        .where(Assignment.body_id == body.id, *_where(DemandFilter(), include_internal))
        .options(*demand_options())
        .order_by(Demand.id)
    ).all()
    return sorted(((d, role) for d, role in rows), key=lambda r: order[r[0].state])
