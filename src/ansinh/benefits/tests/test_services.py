"""Decisions received, the payment schedule on the working-day calendar, holds, the payment
run and the health insurance card."""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest

from ansinh.benefits import services
from ansinh.benefits.models import Award, AwardEvent, CaseKind, FraudCase, PaymentStatus
from ansinh.benefits.tests.conftest import CENTRE, at
from ansinh.benefits.tests.helpers import change_message, employ, grant_message
from ansinh.core.errors import Conflict, DomainError, NotFound

pytestmark = pytest.mark.django_db


def test_grant_schedules_one_row_per_month_on_the_working_day_calendar(worker: Any) -> None:
    """Decree 28/2015 Art. 18 cl. 2–3: first month within 5 working days of receipt, later
    months within 5 working days counted from the 7th day of the month."""
    result = services.grant(grant_message(worker), client=CENTRE, at=at("2025-10-21"))
    rows = result.payments
    assert [(r.month_no, r.period_start, r.period_end) for r in rows] == [
        (1, dt.date(2025, 10, 26), dt.date(2025, 11, 25)),
        (2, dt.date(2025, 11, 26), dt.date(2025, 12, 25)),
        (3, dt.date(2025, 12, 26), dt.date(2026, 1, 25)),
    ]
    # Received Tue 2025-10-21: five working days → Tue 2025-10-28.
    assert rows[0].due_on == dt.date(2025, 10, 28)
    # Month 2: 7th day is Tue 2025-12-02; five working days later → Tue 2025-12-09.
    assert rows[1].due_on == dt.date(2025, 12, 9)
    # Month 3: 7th day is Thu 2026-01-01 (New Year); 5 working days later → Thu 2026-01-08.
    assert rows[2].due_on == dt.date(2026, 1, 8)
    assert all(r.amount == 6_000_000 and r.status == PaymentStatus.SCHEDULED for r in rows)
    assert result.award.person == worker.person and result.award.termination_period == 202509


def test_a_repeated_grant_is_recorded_once_and_a_different_one_conflicts(worker: Any) -> None:
    msg = grant_message(worker)
    first = services.grant(msg, client=CENTRE, at=at("2025-10-21"))
    again = services.grant(dict(msg), client=CENTRE, at=at("2025-10-22"))
    assert again.repeated and again.award == first.award
    assert Award.objects.count() == 1 and AwardEvent.objects.count() == 1
    with pytest.raises(Conflict) as exc:
        services.grant({**msg, "monthly_amount": 6_500_000}, client=CENTRE, at=at("2025-10-22"))
    assert exc.value.code == "decision_conflict"


def test_grant_fields_are_checked_one_by_one(worker: Any) -> None:
    bad = grant_message(worker, personal_id="12", months=13, start="2025-13-01", law="1/2000")
    with pytest.raises(DomainError) as exc:
        services.grant(bad, client=CENTRE, at=at("2025-10-21"))
    fields = {e.field for e in exc.value.errors}
    assert {"personal_id", "months", "start", "law"} <= fields


def test_unknown_person_is_refused(units: None) -> None:
    from ansinh.benefits.tests.helpers import Worker

    ghost = Worker(None, None, "001090999999")
    with pytest.raises(NotFound) as exc:
        services.grant(grant_message(ghost), client=CENTRE, at=at("2025-10-21"))
    assert exc.value.code == "unknown_person"


def test_overlapping_award_is_refused_and_opens_a_case_holding_the_first(worker: Any) -> None:
    """Law 38/2013 Art. 49: one benefit at a time; a second province's award is a case."""
    first = services.grant(grant_message(worker), client=CENTRE, at=at("2025-10-21")).award
    second = grant_message(worker, decision_no="55/QĐ-SNV-HP", province_code="31")
    result = services.grant(second, client="VN/GOV/SNV-HP/unemployment", at=at("2025-10-23"))
    assert result.refusal is not None and result.refusal.code == "overlapping_award"
    assert result.refusal.status == 409
    case = FraudCase.objects.get()
    assert case.award == first and case.kind == CaseKind.OVERLAPPING
    assert case.evidence["incoming"]["decision_no"] == "55/QĐ-SNV-HP"
    first.refresh_from_db()
    assert first.held
    assert set(first.payments.values_list("status", flat=True)) == {PaymentStatus.HELD}
    assert not Award.objects.filter(decision_no="55/QĐ-SNV-HP").exists()


def test_suspend_holds_and_resume_releases(worker: Any) -> None:
    award = services.grant(grant_message(worker), client=CENTRE, at=at("2025-10-21")).award
    services.change(
        change_message(worker, "suspend", "2025-11-26"), client=CENTRE, at=at("2025-11-20")
    )
    award.refresh_from_db()
    assert award.status == "suspended"
    assert list(award.payments.values_list("status", flat=True)) == ["scheduled", "held", "held"]
    again = services.change(
        change_message(worker, "suspend", "2025-11-26"), client=CENTRE, at=at("2025-11-21")
    )
    assert again.repeated
    with pytest.raises(Conflict):
        services.change(
            change_message(worker, "suspend", "2025-11-27"), client=CENTRE, at=at("2025-11-21")
        )
    services.change(
        change_message(worker, "resume", "2025-12-10"), client=CENTRE, at=at("2025-12-10")
    )
    award.refresh_from_db()
    assert award.status == "active"
    assert list(award.payments.values_list("status", flat=True)) == ["scheduled"] * 3
    # Month 2 was due 2025-12-09, before the resumption: due again within 5 working days.
    assert award.payments.get(month_no=2).due_on == dt.date(2025, 12, 17)


def test_terminate_cancels_later_months_and_unknown_decisions_are_404(worker: Any) -> None:
    award = services.grant(grant_message(worker), client=CENTRE, at=at("2025-10-21")).award
    with pytest.raises(NotFound) as exc:
        services.change(
            change_message(worker, "terminate", "2025-12-01", decision_no="nope"),
            client=CENTRE,
            at=at("2025-12-01"),
        )
    assert exc.value.code == "unknown_decision"
    with pytest.raises(DomainError) as other:
        services.change(
            change_message(worker, "terminate", "2025-12-01"),
            client="VN/GOV/X/y",
            at=at("2025-12-01"),
        )
    assert other.value.code == "not_award_centre"
    services.change(
        change_message(worker, "terminate", "2025-11-26"), client=CENTRE, at=at("2025-11-25")
    )
    award.refresh_from_db()
    assert award.status == "terminated"
    assert list(award.payments.values_list("status", flat=True)) == [
        "scheduled",
        "cancelled",
        "cancelled",
    ]


def test_payment_run_pays_due_months_once_and_issues_the_health_card(worker: Any) -> None:
    """Decision 1351/QĐ-BHXH: card group TN, level 3 (Law on Health Insurance Art. 22)."""
    award = services.grant(grant_message(worker), client=CENTRE, at=at("2025-10-21")).award
    run = services.pay_due(dt.date(2025, 10, 28))
    assert (run.paid, run.amount, run.cards) == (1, 6_000_000, 1)
    assert services.pay_due(dt.date(2025, 10, 28)).paid == 0
    award.refresh_from_db()
    card = award.health_card
    assert card.participant_group == "TN" and card.benefit_level == 3
    assert card.number.startswith("TN301") and len(card.number) == 15
    assert (card.valid_from, card.valid_to) == (award.start, award.end)
    run = services.pay_due(dt.date(2026, 1, 31))
    assert run.paid == 2 and run.cards == 0 and run.completed == 1
    award.refresh_from_db()
    assert award.status == "completed"


def test_held_award_is_not_paid_until_the_case_is_resolved(worker: Any) -> None:
    from ansinh.access.testing import make_user

    award = services.grant(grant_message(worker), client=CENTRE, at=at("2025-10-21")).award
    case, created = services.open_case(
        award, CaseKind.REEMPLOYED, "X", {"k": 1}, at=at("2025-10-22")
    )
    again, created_again = services.open_case(award, CaseKind.REEMPLOYED, "X", {"k": 1})
    assert created and not created_again and again == case
    run = services.pay_due(dt.date(2025, 10, 28), detect=False)
    assert run.paid == 0 and run.held == 1
    officer = make_user("officer")
    with pytest.raises(DomainError):
        services.resolve_case(case, note="  ", actor=officer)
    services.resolve_case(
        case, note="Hợp đồng thử việc không lương", actor=officer, at=at("2025-10-27")
    )
    award.refresh_from_db()
    assert not award.held
    assert services.pay_due(dt.date(2025, 10, 28), detect=False).paid == 1
    with pytest.raises(Conflict):
        services.resolve_case(case, note="again", actor=officer)


def test_employ_helper_writes_nine_months(units: None) -> None:
    from ansinh.contributions.models import LedgerRow

    w = employ()
    assert LedgerRow.objects.filter(person=w.person).count() == 9


def test_the_command_pays_and_detects(worker: Any) -> None:
    from io import StringIO

    from django.core.management import call_command

    services.grant(grant_message(worker), client=CENTRE, at=at("2025-10-21"))
    out = StringIO()
    call_command("benefits", "pay", "--on", "2025-10-28", stdout=out)
    assert "paid 1 months (6000000 đồng)" in out.getvalue() and "1 cards issued" in out.getvalue()
    out = StringIO()
    call_command("benefits", "detect", stdout=out)
    assert '"findings": 0' in out.getvalue()
