"""Background work of the one-stop app.

``warning_sweep`` (a django-tasks task, run by the huey worker) classifies open dossiers and
sends reminders and escalations (``onestop.warnings``); ``quarter_hourly_warnings`` is the huey
periodic job that enqueues it every 15 minutes, around the clock: a sweep is a handful of
indexed range updates, and running it at night keeps the overdue lists right at any hour. The
reminders themselves (due soon, due today) wait for ``ONESTOP_REMINDER_HOURS`` of a working day,
so nobody gets an e-mail at midnight; overdue and escalation notices go out when they happen.

``send_status_notices`` sends the applicant's notices of one dossier step (``onestop.notify``);
it is enqueued after the step commits and is safe to retry.
"""

from __future__ import annotations

import datetime as dt

from django_tasks import task
from huey import crontab
from huey.contrib.djhuey import db_periodic_task

from ansinh.onestop import notify as notices
from ansinh.onestop import warnings


@task()
def warning_sweep(now: str | None = None, notify: bool = True) -> dict[str, int | float]:
    """Run the warning sweep at ``now`` (ISO date-time with offset; default: the current time)."""
    moment = dt.datetime.fromisoformat(now) if now else None
    return warnings.sweep(moment, notify=notify).as_dict()


@db_periodic_task(crontab(minute="*/15"))
def quarter_hourly_warnings() -> None:
    warning_sweep.enqueue()


@task()
def send_status_notices(step_id: int) -> dict[str, int]:
    """Notify the applicant of one dossier step (Decree 224/2026/NĐ-CP Art. 15)."""
    return notices.send_status_notices(step_id)
