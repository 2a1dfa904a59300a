"""Builders for the benefits tests: a worker with a real contribution ledger, and decision
messages as the centre sends them."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any


@dataclass
class Worker:
    person: Any
    employer: Any
    personal_id: str


def employ(
    *,
    start: dt.date = dt.date(2025, 1, 1),
    end: dt.date = dt.date(2025, 9, 30),
    salary: int = 10_000_000,
    person: Any = None,
    employer: Any = None,
    build_to: int | None = None,
) -> Worker:
    from ansinh.contributions import services as ledger
    from ansinh.registry.testing import make_employer, make_person

    person = person or make_person(date_of_birth=dt.date(1990, 5, 17))
    employer = employer or make_employer(wage_region=1)
    ledger.report_increase(
        employer=employer,
        person=person,
        start=start,
        contract_type="indefinite",
        salary=salary,
        reported_on=start,
    )
    period = start.year * 100 + start.month
    last = build_to or end.year * 100 + end.month
    while period <= last:
        ledger.build_month(employer, period)
        period = period + 89 if period % 100 == 12 else period + 1
    ledger.report_decrease(employer=employer, person=person, end=end, reason="contract_ended")
    return Worker(person, employer, person.personal_id)


def grant_message(worker: Worker, **kw: Any) -> dict[str, Any]:
    """The grant of a worker terminated on 2025-09-30: 3 months from 2025-10-26 at 60% of
    10,000,000 (Law 38/2013 Art. 50 cl. 1)."""
    msg = {
        "kind": "grant",
        "decision_no": "123/QĐ-SNV",
        "personal_id": worker.personal_id,
        "province_code": "01",
        "law": "38/2013",
        "signed_on": "2025-10-20",
        "signer": "Giám đốc Sở Nội vụ",
        "termination_date": "2025-09-30",
        "filed_on": "2025-10-06",
        "start": "2025-10-26",
        "end": "2026-01-25",
        "months": 3,
        "monthly_amount": 6_000_000,
        "average_salary": 10_000_000,
        "contribution_months": 9,
        "reserved_months": 0,
        "last_period_used": "2025-09",
        "payment_method": "bank",
        "paying_office": "BHXH-HN",
    }
    msg.update(kw)
    return msg


def change_message(worker: Worker, kind: str, effective_on: str, **kw: Any) -> dict[str, Any]:
    msg = {
        "kind": kind,
        "decision_no": "123/QĐ-SNV",
        "personal_id": worker.personal_id,
        "effective_on": effective_on,
        "reason": "reemployed",
        "signed_on": effective_on,
        "signer": "Giám đốc Sở Nội vụ",
    }
    msg.update(kw)
    return msg
