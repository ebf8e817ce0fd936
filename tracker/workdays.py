"""Working days in Sachsen-Anhalt: weekends and the Land's public holidays do not count."""

from __future__ import annotations

import datetime as dt
from functools import lru_cache
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


@lru_cache(maxsize=4096)
def workdays_between(start: dt.date, end: dt.date) -> int:
    """Count the working days after ``start`` up to and including ``end`` (0 if end <= start)."""
    count, day = 0, start
    while day < end:
        day += dt.timedelta(days=1)
        count += is_workday(day)
    return count


@lru_cache(maxsize=4096)
def add_workdays(start: dt.date, days: int) -> dt.date:
    """Return the date ``days`` working days after ``start``."""
    day = start
    while days > 0:
        day += dt.timedelta(days=1)
        days -= is_workday(day)
    return day
