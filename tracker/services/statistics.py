"""Figures on how the demands fare, overall and per body, and the content of an event's report.

Everything is computed from the timeline in a fixed handful of queries: the needed columns are
loaded at once and the working days, medians and month-end states are worked out in Python.
Only public demands count; a body's figures stay hidden below ``MIN_DEMANDS`` demands.
"""

from __future__ import annotations

import bisect
import datetime as dt
import statistics as pystats
from collections import defaultdict
from dataclasses import dataclass, field
from typing import ClassVar

import sqlalchemy as sa
from flask_babel import lazy_gettext as _l

from tracker.domain import workflow
from tracker.domain.models import Assignment, Body, Demand, TimelineEntry, utcnow
from tracker.domain.workdays import BERLIN, local_date, workdays_between
from tracker.extensions import db
from tracker.services.answers import ANSWERED
from tracker.services.progress import progress_of
from tracker.services.queries import lead_committed_until, visible

MIN_DEMANDS = 3
TOO_FEW = _l("zu wenige Forderungen für eine faire Aussage")
# The steps whose duration is reported: (from state, to state).
STEPS = (("raised", "addressed"), ("addressed", "evaluated"))


@dataclass
class _Record:
    """One demand as the figures need it: its state, start and state changes."""

    id: int
    state: str
    state_changed_at: dt.datetime
    start: dt.datetime
    transitions: list[tuple[dt.datetime, str | None, str | None]] = field(default_factory=list)
    answered_by: set[int | None] = field(default_factory=set)
    committed_until: dt.date | None = None  # a lead body's commitment: the demand's target
    _durations: dict[tuple[str, str], int] | None = field(default=None, repr=False)

    def durations(self) -> dict[tuple[str, str], int]:
        """Return the working days each step took (computed once: overall and per body)."""
        if self._durations is None:
            self._durations = self._compute_durations()
        return self._durations

    def _compute_durations(self) -> dict[tuple[str, str], int]:
        """Return the working days each step of ``STEPS`` took the first time it was made.

        A step is measured from the last time the demand entered its source state, so a
        reopened demand counts from its reopening, not from when it was first raised.
        """
        entered = {workflow.STATES[0].name: self.start}
        found: dict[tuple[str, str], int] = {}
        for at, source, dest in self.transitions:
            step = (source, dest)
            if step in STEPS and step not in found and source in entered:
                found[step] = workdays_between(local_date(entered[source]), local_date(at))
            if dest:
                entered[dest] = at
        return found

    def state_before(self, moment: dt.datetime) -> str | None:
        """Return the state just before ``moment``, None if the demand did not exist yet.

        Counted back from the current state, so demands whose history predates the timeline
        (or was imported without it) still end in the state they are in.
        """
        if self.start >= moment:
            return None
        for at, source, _dest in self.transitions:
            if at >= moment:
                return source or self.state
        return self.state


@dataclass(frozen=True)
class Figures:
    """Counts, median working days per step and the share of demands answered by a statement.

    When ``fair`` is False (too few demands) medians and shares are None: show ``note`` instead.
    """

    demands: int
    open: int
    overdue: int
    fair: bool = True
    median_to_addressed: float | None = None
    count_to_addressed: int = 0
    median_to_evaluated: float | None = None
    count_to_evaluated: int = 0
    answered: int | None = None
    min_demands: ClassVar[int] = MIN_DEMANDS

    @property
    def answered_share(self) -> float | None:
        if self.answered is None or not self.demands:
            return None
        return self.answered / self.demands

    @property
    def note(self):
        return None if self.fair else TOO_FEW


@dataclass(frozen=True)
class BodyFigures:
    """A body's figures and its rank (None for bodies with too few demands)."""

    body: Body
    figures: Figures
    rank: int | None = None


@dataclass(frozen=True)
class MonthCounts:
    """How many public demands were in each state at the end of a month (or today)."""

    month: dt.date
    counts: dict[str, int]

    @property
    def total(self) -> int:
        return sum(self.counts.values())


@dataclass(frozen=True)
class Statistics:
    """All figures of the statistics page."""

    as_of: dt.date
    overall: Figures
    bodies: list[BodyFigures]
    by_month: list[MonthCounts]


def _median(values: list[int]) -> float | None:
    return float(pystats.median(values)) if values else None


def _records(*where) -> list[_Record]:
    """Load public demands with creation, transitions, public statements and their classes."""
    entry = TimelineEntry
    rows = db.session.execute(
        sa.select(
            Demand.id,
            Demand.state,
            Demand.state_changed_at,
            Demand.created_at,
            entry.kind,
            entry.created_at.label("at"),
            entry.from_state,
            entry.to_state,
            entry.body_id,
            entry.id.label("entry_id"),
            # only a classification's data is read: the others' JSON is not decoded
            sa.case((entry.kind == "classification", entry.data)).label("data"),
            lead_committed_until(),
        )
        .outerjoin(
            entry,
            sa.and_(
                entry.demand_id == Demand.id,
                sa.or_(
                    entry.kind.in_(("created", "transition")),
                    sa.and_(
                        entry.kind.in_(("statement", "classification")),
                        *visible(entry),
                    ),
                ),
            ),
        )
        .where(*visible(Demand), *where)
        .order_by(Demand.id, entry.created_at, entry.id)
    ).all()
    records: dict[int, _Record] = {}
    # only a statement classified (lastly) as a substantive answer counts as answered
    classes: dict[int, str] = {}
    for row in rows:
        record = records.get(row.id)
        if record is None:
            record = records[row.id] = _Record(
                row.id,
                row.state,
                row.state_changed_at,
                row.created_at,
                committed_until=row.lead_committed_until,
            )
        if row.kind == "created":
            record.start = row.at
        elif row.kind == "transition":
            record.transitions.append((row.at, row.from_state, row.to_state))
        elif row.kind == "classification" and (row.data or {}).get("statement_id"):
            classes[int(row.data["statement_id"])] = row.data.get("classification")
    answered_statements = {i for i, c in classes.items() if c == ANSWERED}
    for row in rows:
        if row.kind == "statement" and row.entry_id in answered_statements:
            records[row.id].answered_by.add(row.body_id)
    return list(records.values())


def _figures(records: list[_Record], on: dt.date, body_id: int | None = None) -> Figures:
    """Compute the figures of ``records``; with ``body_id`` only that body's statements count."""
    open_records = [r for r in records if r.state in workflow.OPEN_STATES]
    overdue = sum(
        progress_of(r.state, r.state_changed_at, on, r.committed_until).overdue
        for r in open_records
    )
    if body_id is not None and len(records) < MIN_DEMANDS:
        return Figures(len(records), len(open_records), overdue, fair=False)
    samples: dict[tuple[str, str], list[int]] = defaultdict(list)
    for record in records:
        for step, days in record.durations().items():
            samples[step].append(days)
    answered = sum(
        bool(r.answered_by if body_id is None else body_id in r.answered_by) for r in records
    )
    to_addressed, to_evaluated = (samples[step] for step in STEPS)
    return Figures(
        demands=len(records),
        open=len(open_records),
        overdue=overdue,
        median_to_addressed=_median(to_addressed),
        count_to_addressed=len(to_addressed),
        median_to_evaluated=_median(to_evaluated),
        count_to_evaluated=len(to_evaluated),
        answered=answered,
    )


def _month_starts(first: dt.date, last: dt.date) -> list[dt.date]:
    months, month = [], first.replace(day=1)
    while month <= last:
        months.append(month)
        month = (month + dt.timedelta(days=32)).replace(day=1)
    return months


def _by_month(records: list[_Record], today: dt.date) -> list[MonthCounts]:
    """Count the demands in each state at the end of every month since the first demand.

    One pass over each record's transitions (bisecting the month ends), instead of asking every
    record for its state at every month end.
    """
    if not records:
        return []
    months = _month_starts(min(local_date(r.start) for r in records), today)
    # midnight in Germany after each month, in UTC like the loaded times (fast comparisons)
    ends = [
        dt.datetime.combine(
            (m + dt.timedelta(days=32)).replace(day=1), dt.time(), BERLIN
        ).astimezone(dt.UTC)
        for m in months
    ]
    table = [{s.name: 0 for s in workflow.STATES} for _ in months]
    for record in records:
        position = bisect.bisect_right(ends, record.start)  # month ends after the start
        for at, source, _dest in record.transitions:
            stop = bisect.bisect_right(ends, at)  # month ends up to ``at``: still in ``source``
            state = source or record.state
            if state in table[0]:
                for i in range(position, stop):
                    table[i][state] += 1
            position = max(position, stop)
        if record.state in table[0]:
            for i in range(position, len(ends)):
                table[i][record.state] += 1
    return [MonthCounts(month, counts) for month, counts in zip(months, table, strict=True)]


def _ranked(items: list[BodyFigures]) -> list[BodyFigures]:
    """Rank fair bodies by share answered, then by the median to 'addressed'; ties share a rank."""

    def key(item: BodyFigures):
        f = item.figures
        median = f.median_to_addressed
        return (-(f.answered_share or 0.0), median if median is not None else float("inf"))

    fair = sorted((i for i in items if i.figures.fair), key=lambda i: (key(i), i.body.name))
    result, previous, rank = [], None, 0
    for position, item in enumerate(fair, start=1):
        if key(item) != previous:
            rank, previous = position, key(item)
        result.append(BodyFigures(item.body, item.figures, rank))
    unfair = sorted((i for i in items if not i.figures.fair), key=lambda i: i.body.name)
    return result + unfair


# Figures are recomputed only when the data changed: every change to a demand touches its
# updated_at or adds a timeline entry, so these aggregates tell a stale result from a fresh one.
# Only plain data is kept (numbers keyed by ids, never ORM objects: they belong to one session
# and would show a body's old name); a change of assignments adds a timeline entry too.
_CACHE: dict[tuple, object] = {}


def _data_version(today: dt.date) -> tuple:
    row = db.session.execute(
        sa.select(
            sa.select(sa.func.max(TimelineEntry.id)).scalar_subquery(),
            sa.select(sa.func.count(TimelineEntry.id)).scalar_subquery(),
            sa.select(sa.func.max(Demand.updated_at)).scalar_subquery(),
            sa.select(sa.func.count(Demand.id)).scalar_subquery(),
        )
    ).one()
    return (str(db.engine.url), today, *row)


def cached(name: str, compute, *args):
    """Return ``compute(*args)``, reusing the last result while the data is unchanged."""
    key = (name, args, _data_version(local_date(utcnow())))
    if key not in _CACHE:
        if len(_CACHE) > 500:
            _CACHE.clear()
        _CACHE[key] = compute(*args)
    return _CACHE[key]


def _all_figures(now: dt.datetime | None = None) -> tuple:
    """Compute the figures of all public demands, per body id and by month: plain data only."""
    today = local_date(now or utcnow())
    records = _records()
    assigned: dict[int, list[_Record]] = defaultdict(list)
    by_id = {r.id: r for r in records}
    for demand_id, body_id in db.session.execute(
        sa.select(Assignment.demand_id, Assignment.body_id)
        .join(Demand, Demand.id == Assignment.demand_id)
        .where(*visible(Demand))
    ):
        if demand_id in by_id:
            assigned[body_id].append(by_id[demand_id])
    per_body = {
        body_id: _figures(rows, today, body_id=body_id) for body_id, rows in assigned.items()
    }
    return today, _figures(records, today), per_body, _by_month(records, today)


def statistics(now: dt.datetime | None = None) -> Statistics:
    """Compute the figures of all public demands, of each body and by month, in three queries.

    Without ``now`` the figures come from the cache; the bodies (names, slugs, and so the
    ranking of ties by name) are always read afresh, so a renamed body shows its new name.
    """
    if now is None:
        today, overall, per_body, by_month = cached("all", _all_figures)
    else:
        today, overall, per_body, by_month = _all_figures(now)
    bodies = db.session.scalars(sa.select(Body).where(Body.id.in_(list(per_body)))).all()
    return Statistics(
        as_of=today,
        overall=overall,
        bodies=_ranked([BodyFigures(b, per_body[b.id]) for b in bodies]),
        by_month=by_month,
    )


def body_figures(body: Body, now: dt.datetime | None = None) -> Figures:
    """Compute one body's figures over its public demands, in one query."""
    records = _records(Demand.assignments.any(Assignment.body_id == body.id))
    return _figures(records, local_date(now or utcnow()), body_id=body.id)
