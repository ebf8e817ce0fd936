"""Working days in Sachsen-Anhalt: weekends and the Land's holidays do not count."""

from __future__ import annotations

import datetime as dt

import pytest

from tracker.domain.workdays import add_workdays, is_workday, local_date, workdays_between

D = dt.date


@pytest.mark.parametrize(
    ("day", "expected"),
    [
        (D(2025, 10, 30), True),  # Thursday
        (D(2025, 10, 31), False),  # Friday, Reformationstag: a holiday in Sachsen-Anhalt
        (D(2025, 11, 1), False),  # Saturday
        (D(2025, 11, 2), False),  # Sunday
        (D(2025, 11, 3), True),  # Monday
        (D(2025, 10, 3), False),  # Friday, Tag der Deutschen Einheit
        (D(2025, 10, 2), True),  # Thursday before it
        (D(2026, 1, 6), False),  # Tuesday, Heilige Drei Könige: a holiday in Sachsen-Anhalt
        (D(2025, 11, 19), True),  # Wednesday, Buß- und Bettag: a holiday in Saxony only
        (D(2025, 6, 19), True),  # Thursday, Fronleichnam: not a holiday in Sachsen-Anhalt
        (D(2025, 12, 25), False),  # Christmas
    ],
)
def test_is_workday(day, expected):
    assert is_workday(day) is expected


def test_workdays_between_over_reformationstag_and_weekend():
    # after 30 Oct up to and including 3 Nov: 31 (holiday), 1 (Sat), 2 (Sun), 3 (Mon) -> 1
    assert workdays_between(D(2025, 10, 30), D(2025, 11, 3)) == 1
    assert workdays_between(D(2025, 10, 30), D(2025, 11, 2)) == 0
    assert workdays_between(D(2025, 10, 29), D(2025, 11, 3)) == 2  # 30 Oct and 3 Nov


def test_workdays_between_over_german_unity_day():
    # after 2 Oct up to 6 Oct: 3 (holiday), 4 (Sat), 5 (Sun), 6 (Mon) -> 1
    assert workdays_between(D(2025, 10, 2), D(2025, 10, 6)) == 1
    # the whole of October 2025: 23 weekdays, minus 3 and 31 October
    assert workdays_between(D(2025, 9, 30), D(2025, 10, 31)) == 21


def test_workdays_between_saturday_and_empty_ranges():
    assert workdays_between(D(2025, 11, 7), D(2025, 11, 8)) == 0  # Friday -> Saturday
    assert workdays_between(D(2025, 11, 8), D(2025, 11, 10)) == 1  # Saturday -> Monday
    assert workdays_between(D(2025, 11, 3), D(2025, 11, 3)) == 0
    assert workdays_between(D(2025, 11, 5), D(2025, 11, 3)) == 0  # end before start


def test_add_workdays_skips_holidays_and_weekends():
    assert add_workdays(D(2025, 10, 30), 1) == D(2025, 11, 3)
    assert add_workdays(D(2025, 10, 2), 1) == D(2025, 10, 6)
    assert add_workdays(D(2025, 11, 8), 1) == D(2025, 11, 10)  # from a Saturday
    assert add_workdays(D(2025, 11, 3), 0) == D(2025, 11, 3)
    # 20 working days after 1 Sep 2025 (Oct 3 is not among them): 29 Sep
    assert add_workdays(D(2025, 9, 1), 20) == D(2025, 9, 29)
    # 20 working days after 29 Oct 2025, skipping Reformationstag: 27 Nov
    assert add_workdays(D(2025, 10, 29), 20) == D(2025, 11, 27)


def test_local_date_is_berlin_time():
    # 23:30 UTC on 30 Oct is already 31 Oct in Berlin (CET, UTC+1 after the clocks went back)
    assert local_date(dt.datetime(2025, 10, 30, 23, 30, tzinfo=dt.UTC)) == D(2025, 10, 31)
    # 22:30 UTC on 30 June is 00:30 on 1 July in Berlin (CEST, UTC+2)
    assert local_date(dt.datetime(2025, 6, 30, 22, 30, tzinfo=dt.UTC)) == D(2025, 7, 1)


def test_running_totals_agree_with_walking_day_by_day():
    """The fast counting must give what counting each day gives, across years and holidays."""
    import random

    from tracker.domain import workdays

    def walk_between(start, end):
        return sum(
            workdays.is_workday(start + dt.timedelta(days=n))
            for n in range(1, (end - start).days + 1)
        )

    def walk_add(start, days):
        day = start
        while days > 0:
            day += dt.timedelta(days=1)
            days -= workdays.is_workday(day)
        return day

    rng = random.Random(2025)
    for _ in range(500):
        start = dt.date(2023, 1, 1) + dt.timedelta(days=rng.randint(0, 1500))
        end = start + dt.timedelta(days=rng.randint(-20, 700))
        days = rng.randint(0, 90)
        assert workdays.workdays_between(start, end) == walk_between(start, end)
        assert workdays.add_workdays(start, days) == walk_add(start, days)


def test_far_years_are_counted_without_recursing_a_call_per_year():
    """A date a thousand years ahead (a typo that once got in) counts; it used to recurse once
    per year from 1990 and fail with RecursionError on every page that showed it."""
    assert workdays_between(dt.date(2026, 10, 1), dt.date(3026, 10, 20)) > 250_000
    assert add_workdays(dt.date(2026, 10, 1), 5) == dt.date(2026, 10, 8)  # the counts still fit


def test_the_rules_refuse_days_before_1990_and_more_than_ten_years_ahead():
    from tracker.domain.rules import day_problem

    on = dt.date(2026, 12, 4)
    assert day_problem(dt.date(1990, 1, 1), on) is None
    assert day_problem(dt.date(2036, 12, 4), on) is None
    assert day_problem(None, on) is None
    assert "1990" in day_problem(dt.date(1989, 12, 31), on)
    assert "Zukunft" in day_problem(dt.date(2036, 12, 5), on)
    assert day_problem(dt.date(2038, 2, 28), dt.date(2028, 2, 29)) is None  # a leap day asked
