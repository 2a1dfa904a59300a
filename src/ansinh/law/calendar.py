"""Working-day calendar: Monday to Friday minus Vietnam's public holidays (Labour Code 2019
Art. 112, including the substitute days and announced swaps the ``holidays`` package knows),
corrected by the announcements an administrator enters (``CalendarAnnouncement``): an
announced day off is off, an announced working day is worked, whatever the package says.
Announcements are read once per year and process and re-read after ``ANNOUNCEMENT_TTL``
seconds, so an administrator's entry reaches every worker process within minutes.

Used by the ledger's 14-working-day rule and by deadlines counted in working days.
"""

from __future__ import annotations

import calendar as _cal
import datetime as dt
import time
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


ANNOUNCEMENT_TTL = 300.0
_announced: dict[int, tuple[float, frozenset[dt.date], frozenset[dt.date]]] = {}


def forget_announcements() -> None:
    """Drop the cached announcements (called when one is saved or deleted)."""
    _announced.clear()


def announcements_of(year: int) -> tuple[frozenset[dt.date], frozenset[dt.date]]:
    """(announced days off, announced working days) of a year."""
    hit = _announced.get(year)
    now = time.monotonic()
    if hit is None or now - hit[0] > ANNOUNCEMENT_TTL:
        from ansinh.law.models import CalendarAnnouncement, DayKind

        rows = CalendarAnnouncement.objects.filter(day__year=year).values_list("day", "kind")
        offs = frozenset(d for d, k in rows if k == DayKind.DAY_OFF)
        works = frozenset(d for d, k in rows if k == DayKind.WORKING_DAY)
        hit = _announced[year] = (now, offs, works)
    return hit[1], hit[2]


def is_working_day(day: dt.date) -> bool:
    offs, works = announcements_of(day.year)
    if day in offs:
        return False
    if day in works:
        return True
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
