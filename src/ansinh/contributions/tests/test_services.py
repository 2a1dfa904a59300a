"""Ledger services: reports, monthly rows, bills, payments, interest, history. Figures are
hand-computed: a salary of 10,000,000 đồng owes 3,200,000 a month in 2026 (21.5% employer +
10.5% employee, Law 41/2024 Art. 33, Decree 146/2018 Art. 7, Law 38/2013 Art. 57)."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from typing import Any

import pytest

from ansinh.contributions import selectors, services
from ansinh.contributions.models import (
    BillStatus,
    ChangeReport,
    EmployerBill,
    EmployerRateOverride,
    InterestCharge,
    LedgerRow,
    Payment,
    RowKind,
)
from ansinh.core.errors import DomainError
from ansinh.registry.models import EmploymentSpell

pytestmark = pytest.mark.django_db

MONTH = 3_200_000  # 32% of 10,000,000


def enrol(employer: Any, person: Any, start: dt.date, salary: int = 10_000_000, **kw: Any) -> Any:
    return services.report_increase(
        employer=employer,
        person=person,
        start=start,
        contract_type="indefinite",
        salary=salary,
        reported_on=kw.pop("reported_on", start),
        **kw,
    )


def regular(person: Any, period: int) -> LedgerRow:
    return LedgerRow.objects.get(person=person, period=period, kind=RowKind.REGULAR)


def another_person() -> Any:
    from ansinh.registry.testing import make_person

    return make_person(full_name="Trần Thị Bình", sex="F", date_of_birth=dt.date(1995, 2, 3))


# --- reports and monthly rows ------------------------------------------------------------------


def test_build_month_and_bill_is_sum_of_rows(employer: Any, person: Any) -> None:
    enrol(employer, person, dt.date(2026, 1, 1))
    other = another_person()
    enrol(employer, other, dt.date(2026, 1, 1), salary=5_000_100)
    assert services.build_month(employer, 202601) == 2
    assert services.build_month(employer, "2026-01") == 0  # nothing changed
    row = regular(person, 202601)
    assert row.total == MONTH
    assert row.basis.citation
    bill = services.issue_bill(employer, 202601)
    rows = list(LedgerRow.objects.filter(bill=bill))
    assert bill.amount == sum(r.total for r in rows) == MONTH + regular(other, 202601).total
    assert bill.row_count == 2
    # Law 41/2024 Art. 34: due by the last day of the following month.
    assert (bill.issued_on, bill.due_on) == (dt.date(2026, 1, 1), dt.date(2026, 2, 28))
    again = services.issue_bill(employer, 202601)
    assert (again.pk, again.amount) == (bill.pk, bill.amount)


def test_due_date_before_2025_07_decision_595_art_7(employer: Any, person: Any) -> None:
    """Before Law 41/2024, contributions were due by the end of the contribution month."""
    assert services.bill_dates(202503) == (dt.date(2025, 3, 1), dt.date(2025, 3, 31))
    assert services.bill_dates(202507) == (dt.date(2025, 7, 1), dt.date(2025, 8, 31))


def test_salary_change_refreshes_unbilled_row(employer: Any, person: Any) -> None:
    enrol(employer, person, dt.date(2026, 1, 1))
    services.build_month(employer, 202601)
    services.report_adjustment(
        employer=employer, person=person, valid_from=dt.date(2026, 1, 1), salary=12_000_000
    )
    row = regular(person, 202601)
    assert row.insured_salary == 12_000_000 and row.total == 3_840_000
    assert LedgerRow.objects.filter(person=person).count() == 1


def test_retroactive_increase_goes_to_next_bill(employer: Any, person: Any) -> None:
    enrol(employer, person, dt.date(2026, 1, 1))
    services.build_month(employer, 202601)
    services.issue_bill(employer, 202601)
    late = another_person()
    result = enrol(employer, late, dt.date(2026, 1, 5), reported_on=dt.date(2026, 2, 10))
    # Law 41/2024 Art. 28: enrolment more than 30 days after the start is late.
    assert result.report.data["late_enrolment"] is True
    retro = LedgerRow.objects.get(person=late, period=202601)
    assert retro.kind == RowKind.RETROACTIVE and retro.bill_id is None and retro.total == MONTH
    services.build_month(employer, 202602)
    feb = services.issue_bill(employer, 202602)
    assert feb.amount == 3 * MONTH
    retro.refresh_from_db()
    assert retro.bill_id == feb.pk


def test_adjustment_of_billed_month_adds_delta_row(employer: Any, person: Any) -> None:
    enrol(employer, person, dt.date(2026, 1, 1))
    services.build_month(employer, 202601)
    services.issue_bill(employer, 202601)
    services.report_adjustment(
        employer=employer, person=person, valid_from=dt.date(2026, 1, 1), salary=12_000_000
    )
    delta = LedgerRow.objects.get(person=person, kind=RowKind.ADJUSTMENT)
    assert (delta.period, delta.insured_salary, delta.total) == (202601, 2_000_000, 640_000)
    assert regular(person, 202601).total == MONTH  # billed rows never change


def test_decrease_of_billed_month_gives_negative_adjustment(employer: Any, person: Any) -> None:
    enrol(employer, person, dt.date(2026, 1, 1))
    for p in (202601, 202602):
        services.build_month(employer, p)
    services.issue_bill(employer, 202602)  # both months on one bill
    services.report_decrease(employer=employer, person=person, end=dt.date(2026, 1, 31))
    delta = LedgerRow.objects.get(person=person, kind=RowKind.ADJUSTMENT)
    assert (delta.period, delta.total) == (202602, -MONTH)
    assert EmploymentSpell.objects.get(person=person).end == dt.date(2026, 1, 31)


def test_decrease_removes_unbilled_later_rows(employer: Any, person: Any) -> None:
    enrol(employer, person, dt.date(2026, 1, 1))
    for p in (202601, 202602, 202603):
        services.build_month(employer, p)
    services.report_decrease(employer=employer, person=person, end=dt.date(2026, 2, 27))
    assert sorted(LedgerRow.objects.filter(person=person).values_list("period", flat=True)) == [
        202601,
        202602,
    ]


@pytest.mark.parametrize(
    ("start", "exempt"),
    [
        (dt.date(2026, 3, 19), False),  # 9 working days worked, 13 not: owes the month
        (dt.date(2026, 3, 20), True),  # 8 worked, 14 not: owes nothing
    ],
)
def test_partial_first_month_14_working_days_law_41_2024_art_33(
    employer: Any, person: Any, start: dt.date, exempt: bool
) -> None:
    """March 2026 has 22 working days; days before the start count as not worked."""
    enrol(employer, person, start)
    services.build_month(employer, 202603)
    row = regular(person, 202603)
    assert (row.total == 0) is exempt
    assert row.exempt_reason == ("partial_month" if exempt else "")


@pytest.mark.parametrize(("days", "owed"), [(13, MONTH), (14, 0)])
def test_unpaid_leave_13_vs_14_working_days_law_41_2024_art_33(
    employer: Any, person: Any, days: int, owed: int
) -> None:
    """Law 41/2024 Art. 33 (Law 58/2014 Art. 85 cl. 3): 14 working days or more without pay
    in a month → nothing owed for that month."""
    enrol(employer, person, dt.date(2026, 1, 1))
    services.build_month(employer, 202603)
    services.report_unpaid_leave(
        employer=employer, person=person, period="2026-03", working_days=days
    )
    row = regular(person, 202603)
    assert row.total == owed
    assert row.exempt_reason == ("" if owed else "unpaid_leave")
    # Withdrawing the report restores the month.
    services.report_unpaid_leave(employer=employer, person=person, period=202603, working_days=0)
    assert regular(person, 202603).total == MONTH


def test_reduced_tnld_rate_override_decree_58_2020_art_4_cl_1_b(employer: Any, person: Any) -> None:
    EmployerRateOverride.objects.create(
        employer=employer,
        part="bhxh_tnld",
        rate=Decimal("0.003"),
        valid_from=dt.date(2026, 1, 1),
        decision="QĐ 1/2026 (test)",
    )
    enrol(employer, person, dt.date(2026, 1, 1))
    services.build_month(employer, 202601)
    row = regular(person, 202601)
    assert row.er_accident == 30_000
    assert row.total == MONTH - 20_000
    assert "override" in row.basis.citation


# --- validation and idempotency ----------------------------------------------------------------


@pytest.mark.parametrize(
    ("kw", "field"),
    [
        ({"salary": -1}, "salary"),
        ({"salary": 10**11}, "salary"),
        ({"allowances": -5}, "allowances"),
        ({"start": "2026-01-01"}, "start"),
        ({"contract_type": "forever"}, "contract_type"),
    ],
)
def test_bad_increase_names_field_and_writes_nothing(
    employer: Any, person: Any, kw: dict, field: str
) -> None:
    args = {
        "employer": employer,
        "person": person,
        "start": dt.date(2026, 1, 1),
        "contract_type": "indefinite",
        "salary": 10_000_000,
        **kw,
    }
    with pytest.raises(DomainError) as exc:
        services.report_increase(**args)
    assert exc.value.first.field == field
    assert not EmploymentSpell.objects.exists()
    assert not ChangeReport.objects.exists()


def test_decrease_before_start_is_refused(employer: Any, person: Any) -> None:
    enrol(employer, person, dt.date(2026, 2, 1))
    with pytest.raises(DomainError) as exc:
        services.report_decrease(employer=employer, person=person, end=dt.date(2026, 1, 31))
    assert (exc.value.first.code, exc.value.first.field) == ("end_before_start", "end")
    assert EmploymentSpell.objects.get(person=person).end is None


def test_bad_period_and_leave_days(employer: Any, person: Any) -> None:
    enrol(employer, person, dt.date(2026, 1, 1))
    with pytest.raises(DomainError) as exc:
        services.build_month(employer, "2026-13")
    assert exc.value.first.code == "period_invalid"
    with pytest.raises(DomainError) as exc:
        services.report_unpaid_leave(
            employer=employer, person=person, period=202603, working_days=23
        )
    assert exc.value.first.field == "working_days"


def test_idempotency_key(employer: Any, person: Any) -> None:
    first = enrol(employer, person, dt.date(2026, 1, 1), idempotency_key="k-1")
    again = enrol(employer, person, dt.date(2026, 1, 1), idempotency_key="k-1")
    assert again.replayed and again.report.pk == first.report.pk
    assert again.spell.pk == first.spell.pk
    assert EmploymentSpell.objects.count() == 1
    with pytest.raises(DomainError) as exc:
        enrol(employer, person, dt.date(2026, 1, 1), salary=1, idempotency_key="k-1")
    assert exc.value.first.code == "idempotency_key_reused"


# --- payments and interest ---------------------------------------------------------------------


def two_bills(employer: Any, person: Any) -> tuple[EmployerBill, EmployerBill]:
    enrol(employer, person, dt.date(2026, 1, 1))
    bills = []
    for p in (202601, 202602):
        services.build_month(employer, p)
        bills.append(services.issue_bill(employer, p))
    return bills[0], bills[1]


def test_partial_payment_then_full_oldest_first(employer: Any, person: Any) -> None:
    jan, feb = two_bills(employer, person)
    services.record_payment(
        employer=employer, amount=1_000_000, received_on=dt.date(2026, 2, 15), reference="B1"
    )
    jan.refresh_from_db()
    assert (jan.paid_amount, jan.status, jan.paid_in_full_on) == (1_000_000, "partial", None)
    assert regular(person, 202601).paid_on is None
    services.record_payment(
        employer=employer, amount=5_400_000, received_on=dt.date(2026, 2, 20), reference="B2"
    )
    jan.refresh_from_db()
    feb.refresh_from_db()
    assert jan.status == feb.status == BillStatus.PAID
    assert jan.paid_in_full_on == feb.paid_in_full_on == dt.date(2026, 2, 20)
    assert regular(person, 202601).paid_on == dt.date(2026, 2, 20)
    assert not InterestCharge.objects.exists()  # nothing was late


def test_payment_reference_is_idempotent(employer: Any, person: Any) -> None:
    two_bills(employer, person)
    kw = {"employer": employer, "amount": 100, "received_on": dt.date(2026, 2, 1)}
    p1 = services.record_payment(**kw, reference="VCB-42")
    p2 = services.record_payment(**kw, reference="VCB-42")
    assert p1.pk == p2.pk and Payment.objects.count() == 1
    assert p1.allocations.count() == 1
    with pytest.raises(DomainError) as exc:
        services.record_payment(**{**kw, "amount": 200}, reference="VCB-42")
    assert exc.value.first.code == "payment_reference_reused"
    for bad, field in ((0, "amount"), (-5, "amount")):
        with pytest.raises(DomainError) as exc:
            services.record_payment(**{**kw, "amount": bad}, reference="X")
        assert exc.value.first.field == field
    with pytest.raises(DomainError) as exc:
        services.record_payment(**kw, reference=" ")
    assert exc.value.first.field == "reference"


def test_interest_for_10_days_late_law_41_2024_art_40(employer: Any, person: Any) -> None:
    """0.03% a day on the late amount: 3,200,000 × 0.0003 × 10 days = 9,600; the payment goes
    to interest first, then principal."""
    jan, _feb = two_bills(employer, person)  # January due 2026-02-28
    payment = services.record_payment(
        employer=employer, amount=MONTH, received_on=dt.date(2026, 3, 10), reference="L1"
    )
    charge = InterestCharge.objects.get(bill=jan)
    assert (charge.from_day, charge.to_day, charge.days) == (
        dt.date(2026, 3, 1),
        dt.date(2026, 3, 10),
        10,
    )
    assert charge.amount == 9_600
    assert "Law 41/2024/QH15 Art. 40" in charge.basis.citation
    alloc = payment.allocations.get(bill=jan)
    assert (alloc.interest, alloc.principal) == (9_600, MONTH - 9_600)
    jan.refresh_from_db()
    assert jan.outstanding == 9_600 and jan.status == BillStatus.PARTIAL
    # The rest arrives 5 days later: interest on 9,600 for 5 days = 14.4 → 14.
    services.record_payment(
        employer=employer, amount=9_614, received_on=dt.date(2026, 3, 15), reference="L2"
    )
    jan.refresh_from_db()
    assert jan.interest_amount == 9_614
    assert jan.status == BillStatus.PAID and jan.paid_in_full_on == dt.date(2026, 3, 15)
    assert selectors.arrears(employer, dt.date(2026, 3, 15)).total == 0


def test_accrue_interest_is_incremental(employer: Any, person: Any) -> None:
    jan, _ = two_bills(employer, person)
    first = services.accrue_interest(jan, until=dt.date(2026, 3, 5))
    second = services.accrue_interest(jan, until=dt.date(2026, 3, 10))
    assert services.accrue_interest(jan, until=dt.date(2026, 3, 10)) is None
    assert (first.days, second.days) == (5, 5)
    assert first.amount + second.amount == 9_600
    assert services.accrue_interest(jan, until=dt.date(2026, 2, 28)) is None  # not late yet


def test_arrears_projects_interest(employer: Any, person: Any) -> None:
    two_bills(employer, person)
    result = selectors.arrears(employer, dt.date(2026, 3, 10))
    assert [line.bill.period for line in result.lines] == [202601]
    assert result.principal == MONTH and result.interest == 9_600
    assert result.lines[0].days_late == 10
    assert not InterestCharge.objects.exists()  # a read writes nothing


def test_overpayment_is_credit_for_next_bill(employer: Any, person: Any) -> None:
    enrol(employer, person, dt.date(2026, 1, 1))
    services.build_month(employer, 202601)
    services.issue_bill(employer, 202601)
    services.record_payment(
        employer=employer, amount=2 * MONTH, received_on=dt.date(2026, 1, 20), reference="P"
    )
    services.build_month(employer, 202602)
    feb = services.issue_bill(employer, 202602)
    assert feb.status == BillStatus.PAID and feb.paid_amount == MONTH


# --- history -----------------------------------------------------------------------------------


def test_history_counts_only_paid_months(employer: Any, person: Any) -> None:
    two_bills(employer, person)
    services.record_payment(
        employer=employer, amount=MONTH, received_on=dt.date(2026, 2, 10), reference="H"
    )
    history = selectors.contribution_history(person)
    assert [m.period for m in history.months] == [202601, 202602]
    assert history.months_contributed("bhtn") == 1
    assert history.months_contributed("bhxh", start=202602) == 0
    assert history.month(202601).state("bhyt") == "paid"
    assert history.month(202602).state("bhyt") == "billed"
    with pytest.raises(DomainError):
        history.months_contributed("xyz")


def test_history_average_of_last_6_months_law_38_2013_art_50(employer: Any, person: Any) -> None:
    """Salaries 5, 6, …, 12 million over 8 paid months: the last 6 average 9,500,000."""
    enrol(employer, person, dt.date(2025, 7, 1), salary=5_000_000)
    periods = [202507, 202508, 202509, 202510, 202511, 202512, 202601, 202602]
    for k, period in enumerate(periods):
        if k:
            services.report_adjustment(
                employer=employer,
                person=person,
                valid_from=dt.date(period // 100, period % 100, 1),
                salary=5_000_000 + k * 1_000_000,
            )
        services.build_month(employer, period)
        bill = services.issue_bill(employer, period)
        services.record_payment(
            employer=employer, amount=bill.amount, received_on=bill.due_on, reference=f"R{period}"
        )
    history = selectors.contribution_history(person)
    assert history.months_contributed("bhtn") == 8
    assert history.average_insured_salary(6) == 9_500_000
    assert history.average_insured_salary(6, end=202512) == 7_500_000
    assert history.average_insured_salary(100, scheme="bhxh") == 8_500_000
    window = selectors.contribution_history(person, start=202601, end=202602)
    assert window.months_contributed("bhtn") == 2


def test_history_exempt_month(employer: Any, person: Any) -> None:
    enrol(employer, person, dt.date(2026, 1, 1))
    services.build_month(employer, 202603)
    services.report_unpaid_leave(employer=employer, person=person, period=202603, working_days=20)
    assert selectors.contribution_history(person).month(202603).state("bhxh") == "exempt"


def test_bill_detail_and_employer_bills(employer: Any, person: Any) -> None:
    jan, feb = two_bills(employer, person)
    assert list(selectors.employer_bills(employer)) == [feb, jan]
    detail = selectors.bill_detail(jan)
    assert detail.total == jan.amount == MONTH
    assert detail.totals["er_retirement"] == 1_400_000


def test_no_query_per_worker(employer: Any, django_assert_num_queries: Any) -> None:
    """build_month and contribution_history cost a fixed number of queries, whatever the
    number of workers or months."""
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    from ansinh.registry.testing import make_person

    def build_cost(period: int) -> int:
        with CaptureQueriesContext(connection) as ctx:
            services.build_month(employer, period)
        return len(ctx.captured_queries)

    workers = [
        make_person(full_name=f"Lê Văn {name}")
        for name in ("An", "Bình", "Chi", "Dũng", "Hà", "Khoa")
    ]
    for w in workers[:2]:
        enrol(employer, w, dt.date(2026, 1, 1))
    services.build_month(employer, 202601)  # warms the rule caches
    LedgerRow.objects.all().delete()
    small = build_cost(202601)
    LedgerRow.objects.all().delete()
    for w in workers[2:]:
        enrol(employer, w, dt.date(2026, 1, 1))
    assert build_cost(202601) == small
    assert LedgerRow.objects.filter(period=202601).count() == 6
    for p in (202602, 202603, 202604):
        services.build_month(employer, p)
    with django_assert_num_queries(2):
        history = selectors.contribution_history(workers[0])
    assert len(history.months) == 4
