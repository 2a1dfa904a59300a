"""Legal deadlines (thời hạn giải quyết) on the working-day calendar: the one place where a
reception time and a deadline become a due time. The one-stop dossiers, the gateway and the
unemployment claims all call these functions.

The convention (Decree 61/2018/NĐ-CP as amended by Decree 107/2021 and Decree 118/2025; Labour
Code 2019 Art. 112 for the days off), with office hours 08:00–17:00 by default:

1. **Counting start.** A dossier received during office hours of a working day counts from that
   moment. Received before opening on a working day: it counts from the opening. Received after
   closing, or on a rest day or a holiday: it counts as received at the opening of the next
   working day. Friday 17:30 → Monday 08:00; Saturday → Monday 08:00; Tuesday 07:40 → Tuesday
   08:00.
2. **Deadlines in working days.** The day of reception does not count. A deadline of N working
   days falls at closing time of the N-th working day after the counting day. Received Monday
   2026-11-16 10:00 with 5 days → due Monday 2026-11-23 17:00 (Tue, Wed, Thu, Fri, Mon).
   Received Friday 2026-02-13 with 3 days → Tết (14–22 February) is skipped → due Wednesday
   2026-02-25 17:00. N = 0 means by closing time on the counting day.
3. **Deadlines in hours** (same-day procedures) run in office hours only, from the counting
   start. Received Monday 15:00 with 4 hours → due Tuesday 10:00 (2 hours on Monday, 2 on
   Tuesday). Received Saturday with 4 hours → Monday 12:00.
4. **Pause for a supplement** (chờ bổ sung). The clock stops when the agency asks for missing
   documents and restarts when they arrive, with the time that was left: for day deadlines the
   whole working days after the pause day up to the due day, for hour deadlines the office
   minutes up to the due time. The restart is counted like a new reception with that time left.
   Paused Wednesday with the dossier due Friday → 2 days left; supplement arrives the next
   Monday 09:00 → due Wednesday 17:00.
5. **Late stays late.** A dossier paused after its due time has no time left; on restart it
   keeps its old due time.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from django.utils import timezone

from ansinh.law.calendar import add_working_days, is_working_day

_ONE_DAY = dt.timedelta(days=1)


@dataclass(frozen=True)
class OfficeHours:
    """Giờ làm việc: the daily window in which dossiers are received and hour deadlines run."""

    opens: dt.time = dt.time(8, 0)
    closes: dt.time = dt.time(17, 0)

    def __post_init__(self) -> None:
        if self.closes <= self.opens:
            raise ValueError("office hours must close after they open")

    @property
    def minutes_per_day(self) -> int:
        return (self.closes.hour * 60 + self.closes.minute) - (
            self.opens.hour * 60 + self.opens.minute
        )

    @classmethod
    def parse(cls, text: str) -> OfficeHours:
        """``"08:00-17:00"`` → OfficeHours."""
        start, _, end = text.partition("-")
        return cls(dt.time.fromisoformat(start.strip()), dt.time.fromisoformat(end.strip()))


DEFAULT_HOURS = OfficeHours()


@dataclass(frozen=True)
class Deadline:
    """The time the law allows: whole working days, or office hours for same-day procedures."""

    days: int | None = None
    hours: int | None = None

    def __post_init__(self) -> None:
        if (self.days is None) == (self.hours is None):
            raise ValueError("a deadline is either in working days or in hours")
        if (self.days or 0) < 0 or (self.hours or 0) < 0:
            raise ValueError("a deadline cannot be negative")

    @property
    def in_hours(self) -> bool:
        return self.hours is not None

    def __str__(self) -> str:
        return f"{self.hours} h" if self.in_hours else f"{self.days} d"


def _local(moment: dt.datetime) -> dt.datetime:
    if timezone.is_naive(moment):
        raise ValueError("deadlines need aware datetimes")
    return timezone.localtime(moment)


def _at(day: dt.date, time: dt.time) -> dt.datetime:
    return timezone.make_aware(dt.datetime.combine(day, time))


def _next_working_day(day: dt.date) -> dt.date:
    day += _ONE_DAY
    while not is_working_day(day):
        day += _ONE_DAY
    return day


def counting_start(received_at: dt.datetime, hours: OfficeHours = DEFAULT_HOURS) -> dt.datetime:
    """The moment a reception counts from (rule 1)."""
    local = _local(received_at)
    day = local.date()
    if is_working_day(day):
        if local.time() < hours.opens:
            return _at(day, hours.opens)
        if local.time() < hours.closes:
            return local
    return _at(_next_working_day(day), hours.opens)


def add_office_minutes(
    start: dt.datetime, minutes: int, hours: OfficeHours = DEFAULT_HOURS
) -> dt.datetime:
    """The moment ``minutes`` of office time after ``start`` (itself moved to a counting start).
    Work ending exactly at closing time ends that day, not at the next opening."""
    current = counting_start(start, hours)
    left = minutes
    while True:
        closing = _at(current.date(), hours.closes)
        room = int((closing - current).total_seconds() // 60)
        if left <= room:
            return current + dt.timedelta(minutes=left)
        left -= room
        current = _at(_next_working_day(current.date()), hours.opens)


def office_minutes_between(
    start: dt.datetime, end: dt.datetime, hours: OfficeHours = DEFAULT_HOURS
) -> int:
    """Office minutes in ``[start, end]``: the working time a dossier spent (0 if end ≤ start)."""
    a, b = _local(start), _local(end)
    if b <= a:
        return 0
    total = 0.0
    day = a.date()
    while day <= b.date():
        if is_working_day(day):
            lo = max(a, _at(day, hours.opens))
            hi = min(b, _at(day, hours.closes))
            if hi > lo:
                total += (hi - lo).total_seconds()
        day += _ONE_DAY
    return int(total // 60)


def due_at(
    received_at: dt.datetime, deadline: Deadline, hours: OfficeHours = DEFAULT_HOURS
) -> dt.datetime:
    """When a dossier received at ``received_at`` falls due (rules 1–3)."""
    start = counting_start(received_at, hours)
    if deadline.in_hours:
        return add_office_minutes(start, (deadline.hours or 0) * 60, hours)
    return _at(add_working_days(start.date(), deadline.days or 0), hours.closes)


def time_left(
    paused_at: dt.datetime, due: dt.datetime, deadline: Deadline, hours: OfficeHours = DEFAULT_HOURS
) -> int | None:
    """What is left when the clock stops at ``paused_at`` (rule 4): whole working days for a
    day deadline, office minutes for an hour deadline; ``None`` when already overdue (rule 5)."""
    if paused_at >= due:
        return None
    if deadline.in_hours:
        return office_minutes_between(paused_at, due, hours)
    pause_day = _local(paused_at).date()
    return working_days_after(pause_day, _local(due).date())


def resume_due(
    resumed_at: dt.datetime,
    left: int | None,
    deadline: Deadline,
    previous_due: dt.datetime,
    hours: OfficeHours = DEFAULT_HOURS,
) -> dt.datetime:
    """The new due time when the clock restarts with ``left`` (from :func:`time_left`)."""
    if left is None:
        return previous_due
    if deadline.in_hours:
        return add_office_minutes(resumed_at, left, hours)
    return due_at(resumed_at, Deadline(days=left), hours)


def working_days_after(day: dt.date, until: dt.date) -> int:
    """Working days in ``(day, until]``: 0 when ``until`` is ``day`` or earlier."""
    n = 0
    current = day + _ONE_DAY
    while current <= until:
        if is_working_day(current):
            n += 1
        current += _ONE_DAY
    return n
