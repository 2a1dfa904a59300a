"""How far an open dossier is from its due time, in the words of the warning sweep.

``ONESTOP_DUE_SOON_DAYS`` (default 1) sets "due soon": due within that many working days after
today. A dossier due earlier today but not yet past is "due today"; past its due time it is
"overdue"; waiting for a supplement its clock is paused.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from django.conf import settings
from django.utils import timezone

from ansinh.law.calendar import add_working_days
from ansinh.law.deadlines import OfficeHours
from ansinh.onestop.models import Warning


def due_soon_days() -> int:
    return int(getattr(settings, "ONESTOP_DUE_SOON_DAYS", 1))


@dataclass(frozen=True)
class Cutoffs:
    """The three instants that split open dossiers into classes at ``now``: a dossier due
    before ``now`` is overdue, before ``end_of_today`` due today, before ``end_of_soon`` due
    soon, otherwise on track. Computing them once lets the sweep classify with range queries."""

    now: dt.datetime
    end_of_today: dt.datetime
    end_of_soon: dt.datetime


def cutoffs(now: dt.datetime, soon_days: int | None = None) -> Cutoffs:
    """Day boundaries are midnights: a due time is "today" whatever an office's hours are."""
    soon = due_soon_days() if soon_days is None else soon_days
    today = timezone.localtime(now).date()
    midnight = dt.time(0, 0)
    end_today = timezone.make_aware(dt.datetime.combine(today + dt.timedelta(days=1), midnight))
    soon_day = add_working_days(today, soon)
    end_soon = timezone.make_aware(dt.datetime.combine(soon_day + dt.timedelta(days=1), midnight))
    return Cutoffs(now, end_today, max(end_soon, end_today))


def classify(due_at: dt.datetime, now: dt.datetime, *, paused: bool = False) -> Warning:
    if paused:
        return Warning.PAUSED
    cut = cutoffs(now)
    if due_at < cut.now:
        return Warning.OVERDUE
    if due_at < cut.end_of_today:
        return Warning.DUE_TODAY
    if due_at < cut.end_of_soon:
        return Warning.DUE_SOON
    return Warning.ON_TRACK


def office_hours_default() -> OfficeHours:
    """``ONESTOP_OFFICE_HOURS`` (``"08:00-17:00"``): hours of offices created without their own."""
    return OfficeHours.parse(getattr(settings, "ONESTOP_OFFICE_HOURS", "08:00-17:00"))
