"""Background work of the ledger.

``accrue_interest_sweep`` is a django-tasks task (the ``django.tasks`` API of Django 6, run by the
huey worker); ``nightly_interest`` is the huey periodic job that enqueues it every night, so
late-payment interest (Law 41/2024 Art. 40) is charged day by day without anyone pressing a
button. The sweep is idempotent: a day already charged is never charged again.
"""

from __future__ import annotations

import datetime as dt

from django.utils import timezone
from django_tasks import task
from huey import crontab
from huey.contrib.djhuey import db_periodic_task

from ansinh.contributions.models import BillStatus, EmployerBill
from ansinh.contributions.services import accrue_all
from ansinh.registry.models import Employer


@task()
def accrue_interest_sweep(until: str | None = None) -> dict[str, int]:
    """Charge interest through ``until`` (ISO date, default yesterday) on every overdue bill."""
    day = dt.date.fromisoformat(until) if until else timezone.localdate() - dt.timedelta(days=1)
    employer_ids = (
        EmployerBill.objects.filter(due_on__lt=day)
        .exclude(status=BillStatus.PAID)
        .values_list("employer_id", flat=True)
        .distinct()
    )
    charges = 0
    employers = 0
    for employer in Employer.objects.filter(pk__in=list(employer_ids)).iterator():
        charges += len(accrue_all(employer, until=day))
        employers += 1
    return {"employers": employers, "charges": charges}


@db_periodic_task(crontab(hour="1", minute="10"))
def nightly_interest() -> None:
    accrue_interest_sweep.enqueue()
