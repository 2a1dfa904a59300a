"""Working-day calendar: Monday to Friday minus Vietnam's public holidays (Labour Code 2019
Art. 112, including the substitute days and announced swaps the ``holidays`` package knows).

Used by the ledger's 14-working-day rule and by deadlines counted in working days.
"""

from __future__ import annotations

import calendar as _cal
import datetime as dt
from functools import lru_cache

import holidays


@lru_cache(maxsize=64)
def _calendar(year: int) -> tuple[frozenset[dt.date], frozenset[dt.date]]:
    table = holidays.country_holidays("VN", years=year)
    swapped = frozenset(d for d in table.weekend_workdays if d.year == year)
    return frozenset(table.keys()), swapped


def holidays_of(year: int) -> frozenset[dt.date]:
    """Public holidays (ngày nghỉ lễ, tết) of a year, including days off swapped from a
    weekend day, as days."""
    return _calendar(year)[0]


def weekend_workdays_of(year: int) -> frozenset[dt.date]:
    """Weekend days the government turned into working days in exchange for a day off
    (e.g. Saturday 2026-08-22 worked for Monday 2026-08-31)."""
    return _calendar(year)[1]


def is_working_day(day: dt.date) -> bool:
    if day in holidays_of(day.year):
        return False
    return day.weekday() < 5 or day in weekend_workdays_of(day.year)


def working_days_between(start: dt.date, end: dt.date) -> int:
    """Working days from ``start`` to ``end``, both included (0 when end < start)."""
    if end < start:
        return 0
    n = 0
    day = start
    one = dt.timedelta(days=1)
    while day <= end:
        if is_working_day(day):
            n += 1
        day += one
    return n


@lru_cache(maxsize=512)
def working_days_in_month(year: int, month: int) -> int:
    last = _cal.monthrange(year, month)[1]
    return working_days_between(dt.date(year, month, 1), dt.date(year, month, last))


def add_working_days(day: dt.date, n: int) -> dt.date:
    """The ``n``-th working day after ``day`` (n ≥ 0; n = 0 gives ``day`` itself)."""
    one = dt.timedelta(days=1)
    while n > 0:
        day += one
        if is_working_day(day):
            n -= 1
    return day
