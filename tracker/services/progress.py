"""How long a demand has waited in its state, its target date and whether it is overdue."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from functools import lru_cache

from .. import workflow
from ..models import Demand
from ..workdays import add_workdays, local_date, today, workdays_between


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


def progress(demand: Demand, on: dt.date | None = None) -> Progress:
    """Return how long ``demand`` has waited in its state as of ``on`` (default: today)."""
    return progress_of(demand.state, demand.state_changed_at, on)


def progress_of(state: str, changed_at: dt.datetime, on: dt.date | None = None) -> Progress:
    """Return the standing of a demand in ``state`` since ``changed_at``."""
    return _progress(state, changed_at, on or today())


@lru_cache(maxsize=16384)  # pure, and asked for several times per demand on a page
def _progress(state: str, changed_at: dt.datetime, on: dt.date) -> Progress:
    since = local_date(changed_at)
    limit = workflow.STATE_BY_NAME[state].target_workdays
    target = add_workdays(since, limit) if limit is not None else None
    overdue_by = workdays_between(target, on) if target is not None else 0
    return Progress(since, workdays_between(since, on), target, overdue_by)
