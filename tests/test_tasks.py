"""Background tasks go through the django-tasks API to the huey backend."""

from __future__ import annotations

import datetime as dt

import pytest
from django_tasks import task_backends
from huey.api import PeriodicTask

from ansinh.contributions import services
from ansinh.contributions.models import InterestCharge
from ansinh.contributions.tasks import accrue_interest_sweep, nightly_interest
from ansinh.places.testing import admin_units, admin_units_package  # noqa: F401
from ansinh.registry.testing import make_employer, make_person


def test_tasks_use_the_huey_backend() -> None:
    assert type(task_backends["default"]).__name__ == "HueyBackend"


@pytest.mark.django_db
def test_interest_sweep_charges_overdue_bills_once(admin_units: None) -> None:  # noqa: F811
    """Late payment accrues interest day by day (Law 41/2024 Art. 40); the nightly sweep is
    idempotent for days already charged."""
    employer, person = make_employer(), make_person()
    services.report_increase(
        employer=employer,
        person=person,
        start=dt.date(2026, 1, 1),
        contract_type="indefinite",
        salary=10_000_000,
    )
    services.build_month(employer, 202601)
    bill = services.issue_bill(employer, 202601)
    until = bill.due_on + dt.timedelta(days=10)
    # The test settings run huey immediately, so enqueue executes the task in-process.
    result = accrue_interest_sweep.enqueue(until=until.isoformat())
    assert result.return_value == {"employers": 1, "charges": 1}
    charge = InterestCharge.objects.get(bill=bill)
    assert charge.days == 10
    # 3,200,000 đồng late × 0.03% × 10 days = 9,600 đồng.
    assert charge.amount == 9_600
    again = accrue_interest_sweep.enqueue(until=until.isoformat())
    assert again.return_value["charges"] == 0


def test_nightly_job_is_a_huey_periodic_task_running_at_0110() -> None:
    job = nightly_interest.task_class()
    assert isinstance(job, PeriodicTask)
    assert job.validate_datetime(dt.datetime(2026, 11, 24, 1, 10))
    assert not job.validate_datetime(dt.datetime(2026, 11, 24, 2, 10))
