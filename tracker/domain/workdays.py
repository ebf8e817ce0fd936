"""Working days in Sachsen-Anhalt: weekends and the Land's public holidays do not count."""

from __future__ import annotations

import datetime as dt
import threading
from bisect import bisect_left
from functools import cache, lru_cache
from zoneinfo import ZoneInfo

BERLIN = ZoneInfo("Europe/Berlin")


@lru_cache(maxsize=64)
def _holidays(year: int) -> frozenset[dt.date]:
    import holidays  # imported on first use: it takes a tenth of a second

    return frozenset(holidays.Germany(subdiv="ST", years=year).keys())


def is_workday(day: dt.date) -> bool:
    """Tell whether ``day`` is a working day in Sachsen-Anhalt."""
    return day.weekday() < 5 and day not in _holidays(day.year)


def local_date(moment: dt.datetime) -> dt.date:
    """Return the calendar date of ``moment`` in Germany."""
    return moment.astimezone(BERLIN).date()


def today() -> dt.date:
    """Return today's date in Germany."""
    return dt.datetime.now(BERLIN).date()


# Counting works on a running total of working days per calendar year, so that both functions
# below cost a lookup instead of a walk over every day (statistics call them for every demand).
FIRST_YEAR = 1990


@cache
def _running_total(year: int) -> tuple[int, ...]:
    """Return, for each day of ``year``, the working days from 1 January up to that day."""
    day, totals, count = dt.date(year, 1, 1), [0], 0
    while day.year == year:
        count += is_workday(day)
        totals.append(count)
        day += dt.timedelta(days=1)
    return tuple(totals)  # totals[n]: working days among the first n days of the year


_BEFORE = [0]  # _BEFORE[n]: the working days of the n years from FIRST_YEAR on
_BEFORE_LOCK = threading.Lock()


def _before(year: int) -> int:
    """Return the working days from FIRST_YEAR up to the end of the year before ``year``.

    Added up year by year, as far as asked, once per process (a loop: a date centuries ahead
    must not recurse a call per year).
    """
    if year <= FIRST_YEAR:
        return 0
    with _BEFORE_LOCK:
        while len(_BEFORE) <= year - FIRST_YEAR:
            _BEFORE.append(_BEFORE[-1] + _running_total(FIRST_YEAR + len(_BEFORE) - 1)[-1])
        return _BEFORE[year - FIRST_YEAR]


def _count(day: dt.date) -> int:
    """Return the working days from FIRST_YEAR up to and including ``day``."""
    return _before(day.year) + _running_total(day.year)[day.timetuple().tm_yday]


def workdays_between(start: dt.date, end: dt.date) -> int:
    """Count the working days after ``start`` up to and including ``end`` (0 if end <= start)."""
    if end <= start:
        return 0
    if start.year < FIRST_YEAR:
        return sum(
            is_workday(start + dt.timedelta(days=n)) for n in range(1, (end - start).days + 1)
        )
    return _count(end) - _count(start)


def add_workdays(start: dt.date, days: int) -> dt.date:
    """Return the date ``days`` working days after ``start``."""
    if days <= 0:
        return start
    if start.year < FIRST_YEAR:
        day = start
        while days > 0:
            day += dt.timedelta(days=1)
            days -= is_workday(day)
        return day
    wanted, year = _count(start) + days, start.year
    while _before(year) + _running_total(year)[-1] < wanted:
        year += 1
    index = bisect_left(_running_total(year), wanted - _before(year))
    return dt.date(year, 1, 1) + dt.timedelta(days=index - 1)
