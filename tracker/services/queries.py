"""Read-side queries for the pages, the API and the feeds, loading what they show in few queries."""

from __future__ import annotations

import datetime as dt
import math
from dataclasses import dataclass, field
from functools import cache

import sqlalchemy as sa
import sqlalchemy.dialects.postgresql  # noqa: F401  (types of to_tsvector(), needed before use)
from flask_babel import gettext as _
from sqlalchemy.orm import aliased, joinedload, selectinload

from tracker.domain import workflow
from tracker.domain.models import (
    Assignment,
    Body,
    Demand,
    Event,
    TimelineEntry,
    Topic,
    demand_topics,
)
from tracker.extensions import db
from tracker.inputs import InputError, clean_text, control_character


def visible(*models, include_internal: bool = False) -> list:
    """Return the WHERE clauses that keep a query to what anonymous readers may see.

    The public/internal rule, stated once: demands and timeline entries (``models``) carry
    ``is_public``; staff and API tokens (``include_internal``) see everything. Use it as
    ``.where(*visible(Demand, TimelineEntry))``; ``shown`` is the same rule for loaded rows.
    """
    return [] if include_internal else [model.is_public.is_(True) for model in models]


def shown(*rows, include_internal: bool = False) -> bool:
    """Tell whether anonymous readers may see the loaded rows (demand, timeline entry …)."""
    return include_internal or all(row.is_public for row in rows)


def open_and_public() -> list:
    """Return the WHERE clauses of the demands bodies are reminded of: open and public."""
    return [Demand.state.in_(workflow.OPEN_STATES), *visible(Demand)]


def unknown_filter(name: str, value: str) -> InputError:
    shown = clean_text(value)[:80] or "…"
    return InputError(
        name,
        "invalid_parameter",
        _("Unbekannter Filter „%(name)s“: „%(value)s“.", name=name, value=shown),
    )


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
        """Build a filter from query arguments; an unknown value raises InputError naming it."""
        values = {}
        for name in ("state", "topic", "body", "event", "q"):
            value = args.get(name, "")
            char = control_character(value)
            if char:
                raise InputError(
                    name,
                    "invalid_parameter",
                    _("„%(name)s“ enthält ein Steuerzeichen (%(char)s).", name=name, char=char),
                )
            values[name] = value
        if values["state"] and values["state"] not in workflow.STATE_BY_NAME | {"open": None}:
            raise unknown_filter("state", values["state"])
        f = cls(**{**values, "q": values["q"].strip()[:200]})
        f.check_known()
        return f

    def check_known(self) -> None:
        """Raise InputError if the topic, body or event filtered by does not exist (one query)."""
        models = {"topic": Topic, "body": Body, "event": Event}
        given = {name: getattr(self, name) for name in models if getattr(self, name)}
        if not given:
            return
        found = db.session.execute(
            sa.select(
                *(
                    sa.exists().where(models[name].slug == value).label(name)
                    for name, value in given.items()
                )
            )
        ).one()
        for name, value in given.items():
            if not found._mapping[name]:
                raise unknown_filter(name, value)

    @property
    def active(self) -> bool:
        return any((self.state, self.topic, self.body, self.event, self.q))


def _where(f: DemandFilter, include_internal: bool, with_state: bool = True) -> list:
    clauses = visible(Demand, include_internal=include_internal)
    if with_state and f.state == "open":
        clauses.append(Demand.state.in_(workflow.OPEN_STATES))
    elif with_state and f.state:
        clauses.append(Demand.state == f.state)
    # IN (subquery) starts from the one topic or body (by index); SQLite runs a correlated
    # EXISTS for every public demand instead (53 ms -> 2 ms with 10,000 demands)
    if f.topic:
        clauses.append(
            Demand.id.in_(
                sa.select(demand_topics.c.demand_id)
                .join(Topic, Topic.id == demand_topics.c.topic_id)
                .where(Topic.slug == f.topic)
            )
        )
    if f.body:
        clauses.append(
            Demand.id.in_(
                sa.select(Assignment.demand_id)
                .join(Body, Body.id == Assignment.body_id)
                .where(Body.slug == f.body)
            )
        )
    if f.event:
        clauses.append(Demand.event.has(Event.slug == f.event))
    if f.q:
        clauses.append(_search(f.q))
    return clauses


# PostgreSQL searches with the German text-search configuration (stems: "Bezahlkarten" finds
# "Bezahlkarte"), backed by the GIN index of the same expression (see the migrations); SQLite
# matches substrings.
GERMAN = sa.literal_column("'german'::regconfig")
SEARCH_DOCUMENT = sa.func.to_tsvector(
    GERMAN, Demand.title.op("||")(sa.literal_column("' '")).op("||")(Demand.text)
)


def _search(q: str):
    pattern = "%" + q.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_") + "%"
    substring = sa.or_(
        Demand.title.ilike(pattern, escape="\\"), Demand.text.ilike(pattern, escape="\\")
    )
    if db.engine.dialect.name != "postgresql":
        return substring
    return sa.or_(
        SEARCH_DOCUMENT.op("@@")(sa.func.websearch_to_tsquery(GERMAN, q)),
        Demand.title.ilike(pattern, escape="\\"),
    )


def visible_demand(demand_id: int, include_internal: bool) -> Demand | None:
    """Return the demand with what its page shows, or None if it does not exist or is internal."""
    demand = db.session.scalars(_demand_page(), {"demand_id": demand_id}).first()
    if demand is None or not shown(demand, include_internal=include_internal):
        return None
    return demand


# The statements a demand's page runs each time it is rendered are built once: building one
# with its loader options (and its cache key) cost as much as running it.


@cache
def _demand_page() -> sa.Select:
    return (
        sa.select(Demand).where(Demand.id == sa.bindparam("demand_id")).options(*demand_options())
    )


def demand_options():
    """Load what lists of demands show (topics, bodies, source) in two extra queries in all."""
    return (
        selectinload(Demand.topics),
        selectinload(Demand.assignments).joinedload(Assignment.body),
        joinedload(Demand.event_part),
        joinedload(Demand.event),  # the API shows its slug: no lazy load per demand
        # whether the demand it repeats is public (repeats.visible_repeats); a query only
        # when some demand of the list repeats another
        selectinload(Demand.repeats).load_only(Demand.id, Demand.is_public),
    )


# What the lists show of each demand (the overview's rows, ``templating.demand_items``, and the
# staff list's, ``templating.staff_rows``): read as rows, without ORM objects. Loading fifty
# demands with their bodies and topics as objects cost ten times the SQL.


@dataclass(slots=True, frozen=True)
class RowBody:
    name: str
    short_name: str | None

    @property
    def label(self) -> str:
        return self.short_name or self.name


@dataclass(slots=True, frozen=True)
class RowAssignment:
    role: str
    committed_until: dt.date | None
    body: RowBody


@dataclass(slots=True, frozen=True)
class RowTopic:
    slug: str
    name: str


@dataclass(slots=True)
class ListRow:
    """A demand as a list shows it: ``progress()`` and the row templates take it as a demand."""

    id: int
    title: str
    state: str
    state_changed_at: dt.datetime
    outcome: str | None
    is_public: bool
    assignments: list[RowAssignment] = field(default_factory=list)
    topics: list[RowTopic] = field(default_factory=list)


def list_rows(
    f: DemandFilter,
    include_internal: bool = False,
    page: int = 1,
    per_page: int = 50,
    total: int | None = None,
    topics: bool = True,
) -> Page:
    """Return one page of the demands matching ``f`` as ``ListRow``s (``topics``: with theirs).

    Three statements at most: the demands, their bodies, their topics.
    """
    if total is None:
        total = total_from_counts(f, count_by_state(f, include_internal))
    page = max(page, 1)
    if (page - 1) * per_page >= total:  # past the end (a huge page would overflow the OFFSET)
        return Page([], page, per_page, total)
    columns = (Demand.id, Demand.title, Demand.state, Demand.state_changed_at, Demand.outcome)
    stmt = (
        sa.select(*columns, Demand.is_public)
        .where(*_where(f, include_internal))
        .order_by(Demand.id)
        .limit(per_page)
        .offset((page - 1) * per_page)
    )
    rows = {r.id: ListRow(*r) for r in db.session.execute(stmt)}
    if rows:
        ids = {"ids": list(rows)}
        bodies: dict[tuple, RowBody] = {}
        assignments, topics_of = _row_details()
        for demand_id, role, committed_until, name, short_name in db.session.execute(
            assignments, ids
        ):
            body = bodies.setdefault((name, short_name), RowBody(name, short_name))
            rows[demand_id].assignments.append(RowAssignment(role, committed_until, body))
        if topics:
            for demand_id, slug, name in db.session.execute(topics_of, ids):
                rows[demand_id].topics.append(RowTopic(slug, name))
    return Page(list(rows.values()), page, per_page, total)


@cache
def _row_details() -> tuple[sa.Select, sa.Select]:
    """The bodies and the topics of some demands, in the order their relationships keep."""
    ids = sa.bindparam("ids", expanding=True)
    assignments = (
        sa.select(
            Assignment.demand_id,
            Assignment.role,
            Assignment.committed_until,
            Body.name,
            Body.short_name,
        )
        .join(Body, Body.id == Assignment.body_id)
        .where(Assignment.demand_id.in_(ids))
        .order_by(Assignment.demand_id, Assignment.role.desc(), Assignment.body_id)
    )
    topics = (
        sa.select(demand_topics.c.demand_id, Topic.slug, Topic.name)
        .join(Topic, Topic.id == demand_topics.c.topic_id)
        .where(demand_topics.c.demand_id.in_(ids))
        .order_by(demand_topics.c.demand_id, Topic.name)
    )
    return assignments, topics


@dataclass
class Page:
    """One page of results, with what templates and the API need to link to the others."""

    items: list
    page: int
    per_page: int
    total: int

    @property
    def status(self) -> int:
        """The HTTP status of a page of this list: 404 past its end (the page says so)."""
        return 404 if self.page > self.pages else 200  # nothing matching: one (empty) page

    @property
    def pages(self) -> int:
        return max(math.ceil(self.total / self.per_page), 1)

    @property
    def has_prev(self) -> bool:
        return self.page > 1

    @property
    def has_next(self) -> bool:
        return self.page < self.pages

    @property
    def prev_num(self) -> int:
        return self.page - 1

    @property
    def next_num(self) -> int:
        return self.page + 1


def total_from_counts(f: DemandFilter, counts: dict[str, int]) -> int:
    """Return how many demands match ``f`` given the per-state counts (saves a COUNT query)."""
    if f.state == "open":
        return sum(counts[s] for s in workflow.OPEN_STATES)
    if f.state:
        return counts.get(f.state, 0)
    return sum(counts.values())


def list_demands(
    f: DemandFilter,
    include_internal: bool = False,
    page: int = 1,
    per_page: int = 50,
    total: int | None = None,
) -> Page:
    """Return one page of demands matching ``f``; pass ``total`` when it is known already."""
    if total is None:
        total = total_from_counts(f, count_by_state(f, include_internal))
    page = max(page, 1)
    if (page - 1) * per_page >= total:  # past the end (a huge page would overflow the OFFSET)
        return Page([], page, per_page, total)
    stmt = (
        sa.select(Demand)
        .where(*_where(f, include_internal))
        .options(*demand_options())
        .order_by(Demand.id)
        .limit(per_page)
        .offset((max(page, 1) - 1) * per_page)
    )
    return Page(db.session.scalars(stmt).unique().all(), max(page, 1), per_page, total)


def count_by_state(f: DemandFilter, include_internal: bool = False) -> dict[str, int]:
    """Count demands matching ``f`` (except its state) in each state, in workflow order."""
    rows = db.session.execute(
        sa.select(Demand.state, sa.func.count())
        .where(*_where(f, include_internal, with_state=False))
        .group_by(Demand.state)
    ).all()
    counts = dict(rows)
    return {s.name: counts.get(s.name, 0) for s in workflow.STATES}


@dataclass(frozen=True)
class Choice:
    slug: str
    label: str
    name: str = ""
    date: dt.date | None = None


def _as_date(value) -> dt.date:
    # SQLite hands back the dates of a UNION as text
    return value if isinstance(value, dt.date) else dt.date.fromisoformat(str(value)[:10])


def filter_choices() -> dict[str, list[Choice]]:
    """Return the ``topics``, ``bodies`` and ``events`` to filter by, in one query."""
    label = sa.literal_column("label")
    rows = db.session.execute(
        sa.union_all(
            sa.select(
                sa.literal("topic").label("kind"),
                Topic.slug,
                Topic.name.label("label"),
                sa.literal("").label("name"),
                sa.cast(sa.null(), sa.Date).label("date"),
            ),
            sa.select(
                sa.literal("body"),
                Body.slug,
                Body.short_name,
                Body.name,
                sa.cast(sa.null(), sa.Date),
            ),
            sa.select(sa.literal("event"), Event.slug, Event.title, sa.literal(""), Event.date),
        ).order_by(sa.literal_column("kind"), label)
    ).all()
    topics = [Choice(r.slug, r.label) for r in rows if r.kind == "topic"]
    bodies = sorted(
        (Choice(r.slug, r.label or r.name, r.name) for r in rows if r.kind == "body"),
        key=lambda c: c.name,
    )
    events = sorted(
        (Choice(r.slug, r.label, date=_as_date(r.date)) for r in rows if r.kind == "event"),
        key=lambda c: c.date,
        reverse=True,
    )
    return {"topics": topics, "bodies": bodies, "events": events}


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


def timeline(demand_id: int, include_internal: bool, newest_first: bool = True) -> list:
    """Return a demand's timeline entries (public ones only unless ``include_internal``)."""
    stmt = _timeline(include_internal, newest_first)
    return db.session.scalars(stmt, {"demand_id": demand_id}).all()


@cache
def _timeline(include_internal: bool, newest_first: bool) -> sa.Select:
    order = (TimelineEntry.created_at, TimelineEntry.id)
    return (
        sa.select(TimelineEntry)
        .where(TimelineEntry.demand_id == sa.bindparam("demand_id"))
        .options(joinedload(TimelineEntry.body))
        .where(*visible(TimelineEntry, include_internal=include_internal))
        .order_by(*(c.desc() for c in order) if newest_first else order)
    )


def body_page_rows(body: Body, include_internal: bool = False) -> list:
    """Return what a body's page lists of each demand, in one query and without ORM objects.

    Rows have ``id, title, state, state_changed_at, outcome, is_public, updated_at, role,
    confirmed_at, file_reference, committed_until, lead_committed_until`` (the body's role in the
    demand, when it last confirmed it, what it committed to and what the demand's lead bodies
    committed to), ordered by workflow state.
    """
    order = {s.name: i for i, s in enumerate(workflow.STATES)}
    rows = db.session.execute(
        sa.select(
            Demand.id,
            Demand.title,
            Demand.state,
            Demand.state_changed_at,
            Demand.outcome,
            Demand.is_public,
            Demand.updated_at,
            Assignment.role,
            Assignment.confirmed_at,
            Assignment.file_reference,
            Assignment.committed_until,
            lead_committed_until(),
        )
        .join(Assignment, Assignment.demand_id == Demand.id)
        .where(Assignment.body_id == body.id, *_where(DemandFilter(), include_internal))
        .order_by(Demand.id)
    ).all()
    return sorted(rows, key=lambda r: order[r.state])


def event_rows(event: Event, include_internal: bool = False, limit: int = 1000) -> list:
    """Return what an event's page lists of its first ``limit`` demands, in one query, as rows.

    Rows have ``id, title, state, state_changed_at, outcome, event_part_id,
    lead_committed_until``, ordered by id: no ORM objects, and no second query per 500 demands
    for topics and bodies the page does not show.
    """
    return db.session.execute(
        sa.select(
            Demand.id,
            Demand.title,
            Demand.state,
            Demand.state_changed_at,
            Demand.outcome,
            Demand.event_part_id,
            lead_committed_until(),
        )
        .where(Demand.event_id == event.id, *visible(Demand, include_internal=include_internal))
        .order_by(Demand.id)
        .limit(limit)
    ).all()


def lead_committed_until():
    """Return a scalar subquery: the earliest date a lead body of the demand committed to."""
    lead = aliased(Assignment)
    return (
        sa.select(sa.func.min(lead.committed_until))
        .where(lead.demand_id == Demand.id, lead.role == "lead")
        .correlate(Demand)
        .scalar_subquery()
        .label("lead_committed_until")
    )
