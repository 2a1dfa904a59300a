"""Reads of the contribution ledger: a person's contribution history (the figures benefit
decisions rely on), an employer's bills, one bill in detail, arrears with interest.

A month counts as contributed for a scheme when the person's rows for that month that are
paid (``paid_on`` set: the bill carrying them was paid in full) add up to more than zero for
that scheme. Arrears count once paid; unpaid or exempt months do not count.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

from django.db.models import Max, QuerySet, Sum

from ansinh.contributions.calc import round_half_up
from ansinh.contributions.models import (
    MONEY_COLUMNS,
    BillStatus,
    EmployerBill,
    InterestCharge,
    LedgerRow,
    PaymentAllocation,
)
from ansinh.law.selectors import parameter
from ansinh.registry.models import Employer, Person

#: Ledger columns of each scheme.
SCHEME_COLUMNS: dict[str, tuple[str, ...]] = {
    "bhxh": ("er_sickness", "er_accident", "er_retirement", "ee_retirement"),
    "bhyt": ("er_health", "ee_health"),
    "bhtn": ("er_unemployment", "ee_unemployment"),
}
SCHEMES = tuple(SCHEME_COLUMNS)
_SALARY_OF_SCHEME = {"bhxh": 0, "bhyt": 0, "bhtn": 1}  # index in (insured, bhtn) salaries


def _check_scheme(scheme: str) -> None:
    if scheme not in SCHEME_COLUMNS:
        from ansinh.core.errors import DomainError

        raise DomainError(
            "scheme_invalid",
            "scheme",
            "Loại bảo hiểm phải là bhxh, bhyt hoặc bhtn.",
            "The scheme must be bhxh, bhyt or bhtn.",
        )


@dataclass
class MonthEntry:
    """One month of a person's history, all employers together. ``due`` and ``paid`` are the
    amounts per scheme on all rows and on paid rows; salaries count paid rows only."""

    period: int
    employer_ids: list[int] = field(default_factory=list)
    due: dict[str, int] = field(default_factory=lambda: dict.fromkeys(SCHEMES, 0))
    paid: dict[str, int] = field(default_factory=lambda: dict.fromkeys(SCHEMES, 0))
    billed: dict[str, int] = field(default_factory=lambda: dict.fromkeys(SCHEMES, 0))
    insured_salary: int = 0
    bhtn_salary: int = 0
    exempt_reason: str = ""
    paid_on: dt.date | None = None

    def contributed(self, scheme: str) -> bool:
        return self.paid[scheme] > 0

    def state(self, scheme: str) -> str:
        """paid, billed (on a bill, not paid), pending (not billed yet), exempt or none."""
        if self.paid[scheme] > 0:
            return "paid"
        if self.billed[scheme] > 0:
            return "billed"
        if self.due[scheme] > 0:
            return "pending"
        if self.exempt_reason:
            return "exempt"
        return "none"

    def salary(self, scheme: str) -> int:
        return self.bhtn_salary if scheme == "bhtn" else self.insured_salary


@dataclass
class History:
    """A person's contribution history (quá trình đóng), month by month, oldest first."""

    person_id: int
    months: list[MonthEntry]
    employers: dict[int, Employer]

    def months_contributed(
        self, scheme: str, start: int | None = None, end: int | None = None
    ) -> int:
        """Months from ``start`` to ``end`` (YYYYMM, inclusive, open when None) that count as
        contributed for ``scheme`` (bhxh, bhyt, bhtn)."""
        _check_scheme(scheme)
        return sum(
            1
            for m in self.months
            if m.contributed(scheme)
            and (start is None or m.period >= start)
            and (end is None or m.period <= end)
        )

    def average_insured_salary(
        self, last_n: int, scheme: str = "bhtn", *, end: int | None = None
    ) -> int:
        """Average insured salary (đồng, rounded half-up) over the last ``last_n`` months
        contributed for ``scheme`` up to ``end`` — e.g. the 6 months of the unemployment
        benefit (Law 38/2013 Art. 50). Fewer months on record: their average; none: 0."""
        _check_scheme(scheme)
        if last_n <= 0:
            raise ValueError("last_n must be positive")
        chosen = [
            m
            for m in reversed(self.months)
            if m.contributed(scheme) and (end is None or m.period <= end)
        ][:last_n]
        if not chosen:
            return 0
        return round_half_up(sum(m.salary(scheme) for m in chosen), len(chosen))

    def month(self, period: int) -> MonthEntry | None:
        return next((m for m in self.months if m.period == period), None)


def contribution_history(
    person: Person | int, *, start: int | None = None, end: int | None = None
) -> History:
    """The history of a person between months ``start`` and ``end`` (YYYYMM, inclusive).
    One query on the (person, period) index, one for the employers."""
    person_id = person if isinstance(person, int) else person.pk
    qs = LedgerRow.objects.filter(person_id=person_id)
    if start is not None:
        qs = qs.filter(period__gte=start)
    if end is not None:
        qs = qs.filter(period__lte=end)
    fields = (
        "period",
        "employer_id",
        "bill_id",
        "paid_on",
        "exempt_reason",
        "insured_salary",
        "bhtn_salary",
        *MONEY_COLUMNS,
    )
    months: dict[int, MonthEntry] = {}
    for row in qs.order_by("period", "id").values_list(*fields):
        period, employer_id, bill_id, paid_on, exempt, insured, bhtn = row[:7]
        money = dict(zip(MONEY_COLUMNS, row[7:], strict=True))
        entry = months.get(period)
        if entry is None:
            entry = months[period] = MonthEntry(period)
        if employer_id not in entry.employer_ids:
            entry.employer_ids.append(employer_id)
        if exempt:
            entry.exempt_reason = exempt
        for scheme, cols in SCHEME_COLUMNS.items():
            amount = sum(money[c] for c in cols)
            entry.due[scheme] += amount
            if bill_id is not None:
                entry.billed[scheme] += amount
            if paid_on is not None:
                entry.paid[scheme] += amount
        if paid_on is not None:
            entry.insured_salary += insured
            entry.bhtn_salary += bhtn
            if entry.paid_on is None or paid_on > entry.paid_on:
                entry.paid_on = paid_on
    ids = {e for m in months.values() for e in m.employer_ids}
    employers = Employer.objects.in_bulk(ids) if ids else {}
    return History(person_id, list(months.values()), employers)


def employer_bills(employer: Employer) -> QuerySet[EmployerBill]:
    """The employer's bills, newest month first."""
    return EmployerBill.objects.filter(employer=employer).order_by("-period", "-id")


@dataclass
class BillDetail:
    bill: EmployerBill
    rows: list[LedgerRow]
    totals: dict[str, int]
    allocations: list[PaymentAllocation]
    interest: list[InterestCharge]
    interest_paid: int

    @property
    def total(self) -> int:
        return sum(self.totals.values())


def bill_detail(bill: EmployerBill) -> BillDetail:
    """A bill with its rows (persons and legal basis), column totals, the payments applied to
    it and its interest charges."""
    rows = list(
        bill.rows.select_related("person", "basis").order_by("person__sort_key", "period", "id")
    )
    totals = {c: sum(getattr(r, c) for r in rows) for c in MONEY_COLUMNS}
    allocations = list(bill.allocations.select_related("payment").order_by("payment__received_on"))
    return BillDetail(
        bill=bill,
        rows=rows,
        totals=totals,
        allocations=allocations,
        interest=list(bill.interest.order_by("from_day")),
        interest_paid=sum(a.interest for a in allocations),
    )


@dataclass(frozen=True)
class ArrearsLine:
    bill: EmployerBill
    principal: int
    days_late: int
    interest_charged_unpaid: int
    interest_not_yet_charged: int

    @property
    def interest(self) -> int:
        return self.interest_charged_unpaid + self.interest_not_yet_charged


@dataclass(frozen=True)
class Arrears:
    """What an employer owes on a day (nợ đóng): late principal and interest, including the
    interest that would be charged up to that day."""

    on: dt.date
    lines: list[ArrearsLine]

    @property
    def principal(self) -> int:
        return sum(line.principal for line in self.lines)

    @property
    def interest(self) -> int:
        return sum(line.interest for line in self.lines)

    @property
    def total(self) -> int:
        return self.principal + self.interest


def arrears(employer: Employer, on: dt.date) -> Arrears:
    """Bills of the employer past their due date on ``on`` with principal or interest unpaid."""
    bills = list(
        EmployerBill.objects.filter(employer=employer, due_on__lt=on)
        .exclude(status=BillStatus.PAID, interest_amount=0)
        .order_by("period", "id")
    )
    return Arrears(on, _arrears_lines(bills, on))


def _arrears_lines(bills: Iterable[EmployerBill], on: dt.date) -> list[ArrearsLine]:
    bills = list(bills)
    if not bills:
        return []
    paid_interest = dict(
        PaymentAllocation.objects.filter(bill__in=bills)
        .values("bill")
        .annotate(s=Sum("interest"))
        .values_list("bill", "s")
    )
    last_charge = dict(
        InterestCharge.objects.filter(bill__in=bills)
        .values("bill")
        .annotate(d=Max("to_day"))
        .values_list("bill", "d")
    )
    lines = []
    for bill in bills:
        unpaid_interest = bill.interest_amount - (paid_interest.get(bill.pk) or 0)
        principal = max(bill.outstanding, 0)
        if principal <= 0 and unpaid_interest <= 0:
            continue
        projected = 0
        from_day = max(bill.due_on, last_charge.get(bill.pk) or bill.due_on) + dt.timedelta(1)
        if principal > 0 and on >= from_day:
            num, den = parameter("late_payment_interest_daily", from_day).as_integer_ratio()
            projected = round_half_up(principal * ((on - from_day).days + 1) * num, den)
        lines.append(
            ArrearsLine(
                bill=bill,
                principal=principal,
                days_late=max((on - bill.due_on).days, 0) if principal > 0 else 0,
                interest_charged_unpaid=max(unpaid_interest, 0),
                interest_not_yet_charged=projected,
            )
        )
    return lines


def employer_change_reports(employer: Employer, *, limit: int = 100) -> list[Any]:
    """The employer's latest reports of increase/decrease/adjustment/unpaid leave."""
    from ansinh.contributions.models import ChangeReport

    return list(
        ChangeReport.objects.filter(employer=employer)
        .select_related("person")
        .order_by("-reported_at", "-id")[:limit]
    )
