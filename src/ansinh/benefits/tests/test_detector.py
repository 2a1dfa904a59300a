"""The four findings of the detector, each planted beside a clean control, idempotency, and
detection on each incoming contribution."""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest

from ansinh.benefits import detector, services
from ansinh.benefits.models import (
    Award,
    CaseKind,
    FraudCase,
    PaymentStatus,
    ReemploymentEvent,
)
from ansinh.benefits.tests.conftest import CENTRE, at
from ansinh.benefits.tests.helpers import employ, grant_message

pytestmark = pytest.mark.django_db


def _grant(worker: Any, **kw: Any) -> Award:
    return services.grant(grant_message(worker, **kw), client=CENTRE, at=at("2025-10-21")).award


def _kinds() -> list[tuple[str, str]]:
    return sorted(FraudCase.objects.values_list("award__decision_no", "kind"))


def test_a_clean_award_gives_no_finding(worker: Any) -> None:
    _grant(worker)
    run = detector.run()
    assert run.findings == 0 and FraudCase.objects.count() == 0


def test_new_employer_contributing_during_the_benefit_opens_a_case_at_once(
    worker: Any, django_capture_on_commit_callbacks: Any
) -> None:
    """Law 38/2013 Art. 53 cl. 1(b): benefit ends on new employment. The ledger's signal runs
    the detector for the person as soon as the new rows commit."""
    from ansinh.contributions import services as ledger
    from ansinh.registry.testing import make_employer

    award = _grant(worker)
    control = employ(person=None)  # another worker, no new job
    other = _grant(control, decision_no="124/QĐ-SNV")
    new_employer = make_employer(wage_region=2)
    with django_capture_on_commit_callbacks(execute=True):
        ledger.report_increase(
            employer=new_employer,
            person=worker.person,
            start=dt.date(2025, 11, 3),
            contract_type="indefinite",
            salary=8_000_000,
            reported_on=dt.date(2025, 11, 3),
        )
        ledger.build_month(new_employer, 202511)
    case = FraudCase.objects.get()
    assert case.award == award and case.kind == CaseKind.REEMPLOYED
    assert case.subject == new_employer.unit_code
    assert case.evidence["ledger_rows"][0]["period"] == "2025-11"
    assert case.evidence["spell"]["start"] == "2025-11-03"
    award.refresh_from_db()
    other.refresh_from_db()
    assert award.held and not other.held
    assert set(award.payments.values_list("status", flat=True)) == {PaymentStatus.HELD}
    feed = list(ReemploymentEvent.objects.values_list("kind", "employer_code", "centre"))
    assert sorted(feed) == [
        ("contribution", new_employer.unit_code, CENTRE),
        ("enrolment", new_employer.unit_code, CENTRE),
    ]
    # Idempotent: a full run finds the same and opens nothing.
    run = detector.run()
    assert run.findings == 1 and run.opened == 0
    assert FraudCase.objects.count() == 1 and ReemploymentEvent.objects.count() == 2


def test_a_report_of_a_new_job_opens_a_case_before_any_contribution(
    worker: Any, django_capture_on_commit_callbacks: Any
) -> None:
    """Law 38/2013 Art. 53 cl. 1(b): the benefit ends on new employment, which the employer's
    report of increase (báo tăng) tells before the month is billed: the report alone holds
    the payments."""
    from ansinh.contributions import services as ledger
    from ansinh.registry.testing import make_employer

    award = _grant(worker)
    new_employer = make_employer(wage_region=2)
    with django_capture_on_commit_callbacks(execute=True):
        ledger.report_increase(
            employer=new_employer,
            person=worker.person,
            start=dt.date(2025, 11, 17),
            contract_type="indefinite",
            salary=8_000_000,
            reported_on=dt.date(2025, 11, 17),
        )
    case = FraudCase.objects.get()
    assert case.award == award and case.kind == CaseKind.REEMPLOYED
    assert case.evidence["spell"]["start"] == "2025-11-17"
    assert "ledger_rows" not in case.evidence or not case.evidence["ledger_rows"]
    award.refresh_from_db()
    assert award.held


def test_overlapping_awards_in_two_provinces(worker: Any) -> None:
    """Law 38/2013 Art. 49: one benefit at a time."""
    a = _grant(worker)
    b = _grant(
        worker, decision_no="9/QĐ-SNV-HP", province_code="31", start="2026-02-01", end="2026-04-30"
    )
    assert detector.run().findings == 0  # consecutive, not overlapping: control
    Award.objects.filter(pk=b.pk).update(start=dt.date(2026, 1, 1))  # e.g. a corrected import
    run = detector.run()
    assert run.opened == 2
    assert _kinds() == [("123/QĐ-SNV", "overlapping_claim"), ("9/QĐ-SNV-HP", "overlapping_claim")]
    case = FraudCase.objects.get(award=a)
    assert case.evidence["other"]["decision_no"] == "9/QĐ-SNV-HP"
    assert detector.run().opened == 0


def test_payments_after_death(worker: Any) -> None:
    """Law 38/2013 Art. 53 cl. 1: benefit ends on death."""
    from ansinh.registry.services import mark_deceased

    award = _grant(worker)
    control = employ()
    late = _grant(control, decision_no="124/QĐ-SNV")
    services.pay_due(dt.date(2025, 10, 31), detect=False)
    mark_deceased(worker.person, date_of_death=dt.date(2025, 11, 10))
    mark_deceased(control.person, date_of_death=dt.date(2026, 2, 1))  # after the benefit
    run = detector.run()
    assert run.opened == 1
    case = FraudCase.objects.get()
    assert case.award == award and case.kind == CaseKind.AFTER_DEATH
    assert case.evidence["date_of_death"] == "2025-11-10"
    assert [p["month_no"] for p in case.evidence["payments"]] == [2, 3]
    late.refresh_from_db()
    assert not late.held


def test_benefit_above_the_computed_entitlement(worker: Any) -> None:
    """Law 38/2013 Art. 50 cl. 1: 60% of the average BHTN salary of the last 6 months."""
    award = _grant(worker, monthly_amount=7_000_000)
    control = employ()
    _grant(control, decision_no="124/QĐ-SNV", monthly_amount=6_000_000)
    run = detector.run()
    assert run.opened == 1
    case = FraudCase.objects.get()
    assert case.award == award and case.kind == CaseKind.ABOVE_ENTITLEMENT
    assert case.evidence["entitlement"] == 6_000_000
    assert case.evidence["average_salary"] == 10_000_000
    assert case.evidence["months_averaged"] == 6


def test_cap_of_five_regional_minimum_wages(units: None) -> None:
    """Law 38/2013 Art. 50 cl. 1: at most 5 × the regional minimum wage (region I in 2025:
    4,960,000, Decree 74/2024) = 24,800,000 for a worker on the employer's pay scale."""
    high = employ(salary=50_000_000)
    at_cap = employ(salary=50_000_000)
    _grant(high, decision_no="1/QĐ", monthly_amount=30_000_000, average_salary=50_000_000)
    _grant(at_cap, decision_no="2/QĐ", monthly_amount=24_800_000, average_salary=50_000_000)
    detector.run()
    case = FraudCase.objects.get()
    assert case.award.decision_no == "1/QĐ"
    assert case.evidence["cap"] == 24_800_000 and case.evidence["entitlement"] == 24_800_000
