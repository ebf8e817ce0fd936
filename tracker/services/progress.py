"""How long a demand has waited in its state, its target date and whether it is overdue.

The one rule every surface uses: a demand's target is the date its state allows, unless a lead
body committed to answer by a date („Antwort zugesagt bis“); then that date is the target (with
several lead bodies, the earliest promise, so no broken promise is hidden). Where one body's view
is shown (its page, calendar and reminder), that body's own committed date counts, else the
demand's. A commitment ends when its answer is classified as substantive.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from functools import lru_cache

from tracker.domain import workflow
from tracker.domain.models import Assignment, Demand
from tracker.domain.workdays import add_workdays, local_date, today, workdays_between


@dataclass(frozen=True)
class Progress:
    """A demand's standing in its current state, counted in working days."""

    since: dt.date
    waited: int
    target: dt.date | None
    overdue_by: int

    @property
    def overdue(self) -> bool:
        return self.overdue_by > 0


def committed_date(demand: Demand) -> dt.date | None:
    """Return the date a lead body of ``demand`` committed to answer by (its loaded bodies)."""
    dates = [
        a.committed_until
        for a in demand.assignments
        if a.role == "lead" and a.committed_until is not None
    ]
    return min(dates) if dates else None


def progress(
    demand: Demand, on: dt.date | None = None, assignment: Assignment | None = None
) -> Progress:
    """Return how long ``demand`` has waited in its state as of ``on`` (default: today).

    With ``assignment``, the standing as that body sees it: its own committed date first.
    """
    committed = assignment.committed_until if assignment is not None else None
    return progress_of(
        demand.state, demand.state_changed_at, on, committed or committed_date(demand)
    )


def progress_of(
    state: str,
    changed_at: dt.datetime,
    on: dt.date | None = None,
    committed_until: dt.date | None = None,
) -> Progress:
    """Return the standing of a demand in ``state`` since ``changed_at``.

    ``committed_until`` is the date a body committed to answer by; it replaces the target of an
    open demand.
    """
    on = on or today()
    p = _progress(state, changed_at, on)
    if committed_until is None or state not in workflow.OPEN_STATES:
        return p
    return Progress(p.since, p.waited, committed_until, workdays_between(committed_until, on))


@lru_cache(maxsize=16384)  # pure, and asked for several times per demand on a page
def _progress(state: str, changed_at: dt.datetime, on: dt.date) -> Progress:
    since = local_date(changed_at)
    limit = workflow.STATE_BY_NAME[state].target_workdays
    target = add_workdays(since, limit) if limit is not None else None
    overdue_by = workdays_between(target, on) if target is not None else 0
    return Progress(since, workdays_between(since, on), target, overdue_by)
