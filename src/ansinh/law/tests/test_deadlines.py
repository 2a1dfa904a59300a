"""Legal deadlines on the working-day calendar: the convention of ``ansinh.law.deadlines``
(Decree 61/2018/NĐ-CP as amended by Decree 107/2021 and Decree 118/2025 — deadlines in working
days, the reception day not counted, supplements pausing the clock; Labour Code 2019 Art. 112
for the days off)."""

from __future__ import annotations

import datetime as dt
from zoneinfo import ZoneInfo

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from ansinh.law.calendar import is_working_day
from ansinh.law.deadlines import (
    Deadline,
    OfficeHours,
    add_office_minutes,
    counting_start,
    due_at,
    office_minutes_between,
    resume_due,
    time_left,
    working_days_after,
)

pytestmark = pytest.mark.django_db
VN = ZoneInfo("Asia/Ho_Chi_Minh")


def at(y: int, m: int, d: int, hh: int = 10, mm: int = 0) -> dt.datetime:
    return dt.datetime(y, m, d, hh, mm, tzinfo=VN)


def test_reception_during_office_hours_counts_from_that_moment() -> None:
    assert counting_start(at(2026, 11, 17, 14, 5)) == at(2026, 11, 17, 14, 5)


def test_reception_before_opening_counts_from_the_opening() -> None:
    assert counting_start(at(2026, 11, 17, 7, 40)) == at(2026, 11, 17, 8, 0)


def test_reception_after_closing_or_on_a_rest_day_counts_from_the_next_working_day() -> None:
    """Friday 17:30 and Saturday both count from Monday 08:00."""
    assert counting_start(at(2026, 11, 20, 17, 30)) == at(2026, 11, 23, 8, 0)
    assert counting_start(at(2026, 11, 21, 9, 0)) == at(2026, 11, 23, 8, 0)
    assert counting_start(at(2026, 11, 20, 17, 0)) == at(2026, 11, 23, 8, 0)  # closing time


def test_reception_day_does_not_count() -> None:
    """Five working days from Monday 16 November 2026 end on Monday 23 November at 17:00."""
    assert due_at(at(2026, 11, 16), Deadline(days=5)) == at(2026, 11, 23, 17, 0)


def test_vietnam_culture_day_2026_is_skipped() -> None:
    """From 2026, 24 November (Ngày Văn hóa Việt Nam) is a day off (holidays 0.109, medium)."""
    assert not is_working_day(dt.date(2026, 11, 24))
    assert due_at(at(2026, 11, 23), Deadline(days=1)) == at(2026, 11, 25, 17, 0)


def test_tet_2026_is_skipped() -> None:
    """Labour Code 2019 Art. 112(1)(b): Tết 2026 off from 14 to 22 February. A dossier received
    on Friday 13 February with 3 working days falls due on Wednesday 25 February."""
    assert due_at(at(2026, 2, 13, 15, 0), Deadline(days=3)) == at(2026, 2, 25, 17, 0)


def test_received_on_the_first_day_of_tet_counts_from_after_tet() -> None:
    assert counting_start(at(2026, 2, 16, 9, 0)) == at(2026, 2, 23, 8, 0)
    assert due_at(at(2026, 2, 16, 9, 0), Deadline(days=1)) == at(2026, 2, 24, 17, 0)


def test_national_day_2026_swap() -> None:
    """Labour Code 2019 Art. 112(1)(đ) and the 2026 swap: Saturday 22 August is worked,
    Monday 31 August, 1 and 2 September are off."""
    # Friday 21 August + 1 working day = Saturday 22 August.
    assert due_at(at(2026, 8, 21), Deadline(days=1)) == at(2026, 8, 22, 17, 0)
    # Received on the worked Saturday, it counts from that Saturday.
    assert counting_start(at(2026, 8, 22, 9, 0)) == at(2026, 8, 22, 9, 0)
    # Friday 28 August + 1 working day: 31 Aug, 1 and 2 Sep off → Thursday 3 September.
    assert due_at(at(2026, 8, 28), Deadline(days=1)) == at(2026, 9, 3, 17, 0)


def test_holiday_on_a_weekend_moves_to_the_next_working_day() -> None:
    """Labour Code 2019 Art. 111(3): Hùng Kings' day 2026 is Sunday 26 April, so Monday 27 April
    is off; 30 April and 1 May follow."""
    assert due_at(at(2026, 4, 24), Deadline(days=1)) == at(2026, 4, 28, 17, 0)
    assert due_at(at(2026, 4, 29), Deadline(days=1)) == at(2026, 5, 4, 17, 0)


def test_year_end() -> None:
    """A deadline across New Year (Labour Code 2019 Art. 112(1)(a): 1 January off)."""
    assert due_at(at(2026, 12, 30), Deadline(days=2)) == at(2027, 1, 4, 17, 0)
    assert due_at(at(2026, 12, 31, 18, 0), Deadline(days=0)) == at(2027, 1, 4, 17, 0)


def test_hour_deadlines_run_in_office_hours() -> None:
    """Same-day procedures: Monday 15:00 + 4 hours = Tuesday 10:00."""
    assert due_at(at(2026, 11, 16, 15, 0), Deadline(hours=4)) == at(2026, 11, 17, 10, 0)
    assert due_at(at(2026, 11, 21, 9, 0), Deadline(hours=4)) == at(2026, 11, 23, 12, 0)
    # Eight hours from the opening end at the closing time that same day, not the next morning.
    assert due_at(at(2026, 11, 16, 8, 0), Deadline(hours=9)) == at(2026, 11, 16, 17, 0)


def test_configurable_office_hours() -> None:
    hours = OfficeHours.parse("07:30-16:30")
    assert counting_start(at(2026, 11, 16, 16, 45), hours) == at(2026, 11, 17, 7, 30)
    assert due_at(at(2026, 11, 16, 8, 0), Deadline(days=1), hours) == at(2026, 11, 17, 16, 30)
    with pytest.raises(ValueError):
        OfficeHours.parse("17:00-08:00")


def test_pause_keeps_the_days_that_were_left() -> None:
    """Waiting for a supplement stops the clock; it restarts with the time that was left.
    Due Friday 20 November; paused Wednesday 18 → 2 days left (Thu, Fri); supplement arrives
    Wednesday 25 November (24th is Culture Day) → due Friday 27 November."""
    deadline = Deadline(days=5)
    due = due_at(at(2026, 11, 13), deadline)
    assert due == at(2026, 11, 20, 17, 0)
    left = time_left(at(2026, 11, 18, 11, 0), due, deadline)
    assert left == 2
    assert resume_due(at(2026, 11, 25, 9, 0), left, deadline, due) == at(2026, 11, 27, 17, 0)


def test_pause_of_an_hour_deadline_keeps_the_minutes() -> None:
    deadline = Deadline(hours=8)
    due = due_at(at(2026, 11, 16, 10, 0), deadline)  # 7 hours Monday, 1 hour Tuesday
    assert due == at(2026, 11, 17, 9, 0)
    left = time_left(at(2026, 11, 16, 16, 0), due, deadline)
    assert left == 120  # 16:00–17:00 Monday and 08:00–09:00 Tuesday
    assert resume_due(at(2026, 11, 18, 15, 30), left, deadline, due) == at(2026, 11, 19, 8, 30)


def test_late_stays_late() -> None:
    deadline = Deadline(days=1)
    due = due_at(at(2026, 11, 16), deadline)
    assert time_left(at(2026, 11, 18), due, deadline) is None
    assert resume_due(at(2026, 11, 20), None, deadline, due) == due


def test_office_minutes_between_skips_nights_and_days_off() -> None:
    assert office_minutes_between(at(2026, 11, 20, 16, 0), at(2026, 11, 23, 9, 0)) == 120
    assert office_minutes_between(at(2026, 11, 23, 9, 0), at(2026, 11, 23, 9, 0)) == 0
    assert working_days_after(dt.date(2026, 11, 20), dt.date(2026, 11, 25)) == 2


def test_deadline_is_days_or_hours() -> None:
    with pytest.raises(ValueError):
        Deadline()
    with pytest.raises(ValueError):
        Deadline(days=1, hours=2)
    with pytest.raises(ValueError):
        Deadline(days=-1)
    with pytest.raises(ValueError):
        due_at(dt.datetime(2026, 11, 16, 10, 0), Deadline(days=1))  # naive


moments = st.datetimes(
    min_value=dt.datetime(2025, 1, 1), max_value=dt.datetime(2027, 12, 1), timezones=st.just(VN)
)


@settings(max_examples=200, deadline=None)
@given(moment=moments, days=st.integers(0, 30))
def test_due_is_a_closing_time_on_a_working_day_after_reception(
    moment: dt.datetime, days: int
) -> None:
    due = due_at(moment, Deadline(days=days))
    assert due.time() == dt.time(17, 0)
    assert is_working_day(due.date())
    start = counting_start(moment)
    assert working_days_after(start.date(), due.date()) == days


@settings(max_examples=200, deadline=None)
@given(moment=moments, minutes=st.integers(0, 5000))
def test_office_minutes_added_are_office_minutes_between(moment: dt.datetime, minutes: int) -> None:
    end = add_office_minutes(moment, minutes)
    assert office_minutes_between(counting_start(moment), end) == minutes
