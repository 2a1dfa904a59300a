"""The working-day calendar (Labour Code 2019 Art. 111–112 and the government's yearly
announcements of Tết and swapped days)."""

from __future__ import annotations

import datetime as dt

import pytest

from ansinh.law.calendar import add_working_days, is_working_day, working_days_in_month
from ansinh.law.models import CalendarAnnouncement, DayKind

pytestmark = pytest.mark.django_db


def test_tet_2026_from_14_to_22_february_is_off() -> None:
    """Labour Code 2019 Art. 112(1)(b): Tết holidays; 2026 announced as 14–22 February."""
    for day in range(14, 23):
        assert not is_working_day(dt.date(2026, 2, day)), day
    assert is_working_day(dt.date(2026, 2, 13))
    assert is_working_day(dt.date(2026, 2, 23))


def test_national_day_2026_with_the_31_august_swap() -> None:
    """Labour Code 2019 Art. 112(1)(đ) (2 September plus an adjacent day) and the 2026 swap:
    Monday 31 August off, Saturday 22 August worked instead."""
    assert not is_working_day(dt.date(2026, 8, 31))
    assert not is_working_day(dt.date(2026, 9, 1))
    assert not is_working_day(dt.date(2026, 9, 2))
    assert is_working_day(dt.date(2026, 8, 22))  # a Saturday that became a working day
    assert not is_working_day(dt.date(2026, 8, 29))  # an ordinary Saturday
    # August 2026: 21 weekdays, minus 31 August, plus Saturday 22 August.
    assert working_days_in_month(2026, 8) == 21


def test_holiday_on_a_rest_day_moves_to_the_next_working_day() -> None:
    """Labour Code 2019 Art. 111(3): Hùng Kings' day 2026 falls on Sunday 26 April, so
    Monday 27 April is off."""
    assert not is_working_day(dt.date(2026, 4, 27))
    assert add_working_days(dt.date(2026, 4, 24), 1) == dt.date(2026, 4, 28)


def test_year_end_new_year_day() -> None:
    """Labour Code 2019 Art. 112(1)(a): 1 January is off; counting runs across the year end."""
    assert not is_working_day(dt.date(2027, 1, 1))
    assert add_working_days(dt.date(2026, 12, 31), 1) == dt.date(2027, 1, 4)


def test_an_announced_extra_day_off_and_a_swapped_working_day_are_honoured() -> None:
    """Labour Code 2019 Art. 112(3): the government announces extra days off and weekend
    days worked in exchange; an administrator's announcement wins over the package."""
    friday, saturday = dt.date(2027, 3, 5), dt.date(2027, 3, 13)
    assert is_working_day(friday) and not is_working_day(saturday)
    CalendarAnnouncement.objects.create(
        day=friday, kind=DayKind.DAY_OFF, title="Nghỉ bù", legal_source="test notice"
    )
    CalendarAnnouncement.objects.create(
        day=saturday, kind=DayKind.WORKING_DAY, title="Làm bù", legal_source="test notice"
    )
    assert not is_working_day(friday)
    assert is_working_day(saturday)
    assert add_working_days(dt.date(2027, 3, 4), 1) == dt.date(2027, 3, 8)
    # An announcement can also overrule the package: 2026-08-31 worked after all.
    CalendarAnnouncement.objects.create(
        day=dt.date(2026, 8, 31), kind=DayKind.WORKING_DAY, title="x", legal_source="test"
    )
    assert is_working_day(dt.date(2026, 8, 31))
    CalendarAnnouncement.objects.filter(day=dt.date(2026, 8, 31)).delete()
    assert not is_working_day(dt.date(2026, 8, 31))
