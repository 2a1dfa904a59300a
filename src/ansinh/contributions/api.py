"""Contribution ledger API, mounted at /api/v1/contributions. Thin: services validate and
write, selectors read. Reports are idempotent with an ``Idempotency-Key`` header (or the
``idempotency_key`` body field); payments are idempotent on their bank ``reference``."""

from __future__ import annotations

import datetime as dt
from typing import Any

from django.http import HttpRequest
from django.utils import timezone
from ninja import Router, Schema
from ninja.responses import Status

from ansinh.contributions import selectors, services
from ansinh.contributions.calc import parse_period
from ansinh.contributions.models import MONEY_COLUMNS, EmployerBill, Payment
from ansinh.core.api_utils import request_purpose
from ansinh.core.errors import Forbidden, NotFound
from ansinh.law.selectors import rules_in_force
from ansinh.registry.models import Employer, Person
from ansinh.registry.selectors import find_person, get_employer

router = Router(tags=["contributions"])


# --- schemas -----------------------------------------------------------------------------------


class IncreaseIn(Schema):
    employer: str
    person: str
    start: dt.date
    contract_type: str
    salary: int
    allowances: int = 0
    occupation: str = ""
    idempotency_key: str | None = None


class DecreaseIn(Schema):
    employer: str
    person: str
    end: dt.date
    reason: str = ""
    idempotency_key: str | None = None


class AdjustmentIn(Schema):
    employer: str
    person: str
    valid_from: dt.date
    salary: int
    allowances: int = 0
    idempotency_key: str | None = None


class UnpaidLeaveIn(Schema):
    employer: str
    person: str
    period: str
    working_days: int
    idempotency_key: str | None = None


class ReportOut(Schema):
    id: int
    kind: str
    employer: str
    person: str
    effective_period: int
    spell_id: int | None
    rows_written: int
    replayed: bool
    data: dict[str, Any]


class BuildOut(Schema):
    employer: str
    period: int
    rows_written: int


class BillIn(Schema):
    period: str
    issued_on: dt.date | None = None


class BillOut(Schema):
    id: int
    employer: str
    period: int
    issued_on: dt.date
    due_on: dt.date
    amount: int
    paid_amount: int
    outstanding: int
    interest_amount: int
    status: str
    paid_in_full_on: dt.date | None
    row_count: int


class RowOut(Schema):
    person: str
    full_name: str
    period: int
    kind: str
    insured_salary: int
    bhtn_salary: int
    amounts: dict[str, int]
    total: int
    exempt_reason: str
    paid_on: dt.date | None
    basis: str


class BillDetailOut(BillOut):
    rows: list[RowOut]
    totals: dict[str, int]
    interest_paid: int


class PaymentIn(Schema):
    amount: int
    received_on: dt.date
    reference: str


class AllocationOut(Schema):
    period: int
    principal: int
    interest: int


class PaymentOut(Schema):
    id: int
    employer: str
    amount: int
    received_on: dt.date
    reference: str
    allocations: list[AllocationOut]
    unapplied: int


class ArrearsLineOut(Schema):
    period: int
    due_on: dt.date
    principal: int
    days_late: int
    interest: int


class ArrearsOut(Schema):
    employer: str
    on: dt.date
    principal: int
    interest: int
    total: int
    bills: list[ArrearsLineOut]


class MonthOut(Schema):
    period: int
    employers: list[str]
    insured_salary: int
    bhtn_salary: int
    states: dict[str, str]
    due: dict[str, int]
    paid: dict[str, int]
    exempt_reason: str
    paid_on: dt.date | None


class HistoryOut(Schema):
    person: str
    start: int | None
    end: int | None
    months_contributed: dict[str, int]
    average_insured_salary_6: int
    months: list[MonthOut]


class RuleRowOut(Schema):
    table: str
    key: str
    value: str
    valid_from: dt.date
    valid_to: dt.date | None
    legal_source: str
    confidence: str
    note: str


class RulesOut(Schema):
    on: dt.date
    rates: list[RuleRowOut]
    caps: list[RuleRowOut]
    reference_amounts: list[RuleRowOut]
    parameters: list[RuleRowOut]


# --- helpers -----------------------------------------------------------------------------------


def _employer(unit_code: str, field: str = "employer") -> Employer:
    employer = get_employer(unit_code)
    if employer is None:
        raise NotFound("employer_not_found", field, "Không tìm thấy đơn vị.", "No such employer.")
    return employer


def _person(number: str, field: str = "person") -> Person:
    person = find_person(number)
    if person is None:
        raise NotFound(
            "person_not_found",
            field,
            "Không tìm thấy người có số này.",
            "No person with this number.",
        )
    return person


def _require(request: HttpRequest, perm: str, employer: Employer) -> None:
    """Writes need the model permission and the employer inside the user's area."""
    from ansinh.access.selectors import employer_in_scope

    user = request.auth  # type: ignore[attr-defined]
    if not user.has_perm(perm):
        raise Forbidden(
            "permission_denied",
            None,
            "Bạn không có quyền thực hiện thao tác này.",
            "You are not allowed to do this.",
        )
    if not employer_in_scope(user, employer):
        raise Forbidden(
            "out_of_scope",
            None,
            "Đơn vị này nằm ngoài địa bàn quản lý của bạn.",
            "This employer is outside your organisation's administrative scope.",
        )


def _audit(request: HttpRequest, object_type: str, object_id: Any, detail: dict) -> None:
    from ansinh.access.services import audit

    audit(
        actor=request.auth,  # type: ignore[attr-defined]
        action="create",
        object_type=object_type,
        object_id=str(object_id),
        request=request,
        detail=detail,
    )


def _key(request: HttpRequest, body_key: str | None) -> str | None:
    return request.headers.get("Idempotency-Key") or body_key or None


def _report_out(result: services.ReportResult) -> dict[str, Any]:
    r = result.report
    return {
        "id": r.pk,
        "kind": r.kind,
        "employer": r.employer.unit_code,
        "person": r.person.ss_number,
        "effective_period": r.effective_period,
        "spell_id": result.spell.pk if result.spell else None,
        "rows_written": result.rows_written,
        "replayed": result.replayed,
        "data": r.data,
    }


def _bill_out(bill: EmployerBill) -> dict[str, Any]:
    return {
        "id": bill.pk,
        "employer": bill.employer.unit_code,
        "period": bill.period,
        "issued_on": bill.issued_on,
        "due_on": bill.due_on,
        "amount": bill.amount,
        "paid_amount": bill.paid_amount,
        "outstanding": bill.outstanding,
        "interest_amount": bill.interest_amount,
        "status": bill.status,
        "paid_in_full_on": bill.paid_in_full_on,
        "row_count": bill.row_count,
    }


def _payment_out(payment: Payment) -> dict[str, Any]:
    allocations = list(payment.allocations.select_related("bill").order_by("bill__period"))
    applied = sum(a.principal + a.interest for a in allocations)
    return {
        "id": payment.pk,
        "employer": payment.employer.unit_code,
        "amount": payment.amount,
        "received_on": payment.received_on,
        "reference": payment.reference,
        "allocations": [
            {"period": a.bill.period, "principal": a.principal, "interest": a.interest}
            for a in allocations
        ],
        "unapplied": payment.amount - applied,
    }


# --- reports -----------------------------------------------------------------------------------


@router.post("/reports/increase", response={201: ReportOut, 200: ReportOut})
def report_increase(request: HttpRequest, payload: IncreaseIn) -> Any:
    """Báo tăng: enrol a worker (opens an employment spell)."""
    employer = _employer(payload.employer)
    _require(request, "contributions.add_changereport", employer)
    result = services.report_increase(
        employer=employer,
        person=_person(payload.person),
        start=payload.start,
        contract_type=payload.contract_type,
        salary=payload.salary,
        allowances=payload.allowances,
        occupation=payload.occupation,
        idempotency_key=_key(request, payload.idempotency_key),
        actor=request.auth,  # type: ignore[attr-defined]
    )
    if not result.replayed:
        _audit(request, "changereport", result.report.pk, {"kind": "increase"})
    return Status(200 if result.replayed else 201, _report_out(result))


@router.post("/reports/decrease", response={201: ReportOut, 200: ReportOut})
def report_decrease(request: HttpRequest, payload: DecreaseIn) -> Any:
    """Báo giảm: a worker leaves (closes the employment spell)."""
    employer = _employer(payload.employer)
    _require(request, "contributions.add_changereport", employer)
    result = services.report_decrease(
        employer=employer,
        person=_person(payload.person),
        end=payload.end,
        reason=payload.reason,
        idempotency_key=_key(request, payload.idempotency_key),
        actor=request.auth,  # type: ignore[attr-defined]
    )
    if not result.replayed:
        _audit(request, "changereport", result.report.pk, {"kind": "decrease"})
    return Status(200 if result.replayed else 201, _report_out(result))


@router.post("/reports/adjustment", response={201: ReportOut, 200: ReportOut})
def report_adjustment(request: HttpRequest, payload: AdjustmentIn) -> Any:
    """Điều chỉnh: a new insured salary from a day on."""
    employer = _employer(payload.employer)
    _require(request, "contributions.add_changereport", employer)
    result = services.report_adjustment(
        employer=employer,
        person=_person(payload.person),
        valid_from=payload.valid_from,
        salary=payload.salary,
        allowances=payload.allowances,
        idempotency_key=_key(request, payload.idempotency_key),
        actor=request.auth,  # type: ignore[attr-defined]
    )
    if not result.replayed:
        _audit(request, "changereport", result.report.pk, {"kind": "adjustment"})
    return Status(200 if result.replayed else 201, _report_out(result))


@router.post("/reports/unpaid-leave", response={201: ReportOut, 200: ReportOut})
def report_unpaid_leave(request: HttpRequest, payload: UnpaidLeaveIn) -> Any:
    """Working days of unpaid leave of a worker in a month (14 or more: nothing owed)."""
    employer = _employer(payload.employer)
    _require(request, "contributions.add_changereport", employer)
    result = services.report_unpaid_leave(
        employer=employer,
        person=_person(payload.person),
        period=payload.period,
        working_days=payload.working_days,
        idempotency_key=_key(request, payload.idempotency_key),
        actor=request.auth,  # type: ignore[attr-defined]
    )
    if not result.replayed:
        _audit(request, "changereport", result.report.pk, {"kind": "unpaid_leave"})
    return Status(200 if result.replayed else 201, _report_out(result))


# --- employers: months, bills, payments ----------------------------------------------------------


@router.post("/employers/{unit_code}/months/{period}/build", response=BuildOut)
def build_month(request: HttpRequest, unit_code: str, period: str) -> Any:
    """Compute the month's ledger rows of every worker of the employer."""
    employer = _employer(unit_code, "unit_code")
    _require(request, "contributions.add_ledgerrow", employer)
    month = parse_period(period)
    written = services.build_month(employer, month)
    return {"employer": employer.unit_code, "period": month, "rows_written": written}


@router.post("/employers/{unit_code}/bills", response={201: BillOut})
def issue_bill(request: HttpRequest, unit_code: str, payload: BillIn) -> Any:
    """Issue (or re-issue: same bill, plus any new rows) the employer's bill for a month."""
    employer = _employer(unit_code, "unit_code")
    _require(request, "contributions.add_employerbill", employer)
    bill = services.issue_bill(employer, payload.period, issued_on=payload.issued_on)
    _audit(request, "employerbill", bill.pk, {"period": bill.period, "amount": bill.amount})
    return Status(201, _bill_out(bill))


@router.get("/employers/{unit_code}/bills", response=list[BillOut])
def employer_bills(request: HttpRequest, unit_code: str) -> Any:
    from ansinh.access.services import authorize_employer_read

    employer = _employer(unit_code, "unit_code")
    authorize_employer_read(
        request.auth,  # type: ignore[attr-defined]
        employer,
        purpose=request.headers.get("X-Purpose", "bills"),
        request=request,
    )
    return [_bill_out(b) for b in selectors.employer_bills(employer).select_related("employer")]


@router.get("/employers/{unit_code}/bills/{period}", response=BillDetailOut)
def bill_detail(request: HttpRequest, unit_code: str, period: str) -> Any:
    from ansinh.access.services import authorize_employer_read

    employer = _employer(unit_code, "unit_code")
    month = parse_period(period)
    authorize_employer_read(
        request.auth,  # type: ignore[attr-defined]
        employer,
        purpose=request.headers.get("X-Purpose", "bill"),
        request=request,
    )
    bill = EmployerBill.objects.filter(employer=employer, period=month).first()
    if bill is None:
        raise NotFound("bill_not_found", "period", "Chưa có thông báo đóng tháng này.", "No bill.")
    detail = selectors.bill_detail(bill)
    return {
        **_bill_out(bill),
        "rows": [
            {
                "person": r.person.ss_number,
                "full_name": r.person.full_name,
                "period": r.period,
                "kind": r.kind,
                "insured_salary": r.insured_salary,
                "bhtn_salary": r.bhtn_salary,
                "amounts": {c: getattr(r, c) for c in MONEY_COLUMNS},
                "total": r.total,
                "exempt_reason": r.exempt_reason,
                "paid_on": r.paid_on,
                "basis": r.basis.citation,
            }
            for r in detail.rows
        ],
        "totals": detail.totals,
        "interest_paid": detail.interest_paid,
    }


@router.post("/employers/{unit_code}/payments", response={201: PaymentOut, 200: PaymentOut})
def record_payment(request: HttpRequest, unit_code: str, payload: PaymentIn) -> Any:
    """Record money received; the same bank reference again returns the first payment."""
    employer = _employer(unit_code, "unit_code")
    _require(request, "contributions.add_payment", employer)
    existed = Payment.objects.filter(employer=employer, reference=payload.reference.strip())
    replay = existed.exists()
    payment = services.record_payment(
        employer=employer,
        amount=payload.amount,
        received_on=payload.received_on,
        reference=payload.reference,
        actor=request.auth,  # type: ignore[attr-defined]
    )
    if not replay:
        _audit(request, "payment", payment.pk, {"amount": payment.amount})
    return Status(200 if replay else 201, _payment_out(payment))


@router.get("/employers/{unit_code}/arrears", response=ArrearsOut)
def employer_arrears(request: HttpRequest, unit_code: str, on: dt.date | None = None) -> Any:
    from ansinh.access.services import authorize_employer_read

    employer = _employer(unit_code, "unit_code")
    authorize_employer_read(
        request.auth,  # type: ignore[attr-defined]
        employer,
        purpose=request.headers.get("X-Purpose", "arrears"),
        request=request,
    )
    result = selectors.arrears(employer, on or timezone.localdate())
    return {
        "employer": employer.unit_code,
        "on": result.on,
        "principal": result.principal,
        "interest": result.interest,
        "total": result.total,
        "bills": [
            {
                "period": line.bill.period,
                "due_on": line.bill.due_on,
                "principal": line.principal,
                "days_late": line.days_late,
                "interest": line.interest,
            }
            for line in result.lines
        ],
    }


# --- persons -----------------------------------------------------------------------------------


@router.get("/persons/{number}/history", response=HistoryOut)
def person_history(
    request: HttpRequest, number: str, start: str | None = None, end: str | None = None
) -> Any:
    """A person's contribution history (quá trình đóng). Needs a purpose (X-Purpose header or
    ``purpose`` parameter); the read is authorised by area and audited."""
    from ansinh.access.services import authorize_person_read

    purpose = request_purpose(request)
    first = parse_period(start, field="start") if start else None
    last = parse_period(end, field="end") if end else None
    person = _person(number, "number")
    authorize_person_read(request.auth, person, purpose=purpose, request=request)  # type: ignore[attr-defined]
    history = selectors.contribution_history(person, start=first, end=last)
    codes = {pk: e.unit_code for pk, e in history.employers.items()}
    return {
        "person": person.ss_number,
        "start": first,
        "end": last,
        "months_contributed": {s: history.months_contributed(s) for s in selectors.SCHEMES},
        "average_insured_salary_6": history.average_insured_salary(6, scheme="bhtn"),
        "months": [
            {
                "period": m.period,
                "employers": [codes[e] for e in m.employer_ids],
                "insured_salary": m.insured_salary,
                "bhtn_salary": m.bhtn_salary,
                "states": {s: m.state(s) for s in selectors.SCHEMES},
                "due": m.due,
                "paid": m.paid,
                "exempt_reason": m.exempt_reason,
                "paid_on": m.paid_on,
            }
            for m in history.months
        ],
    }


# --- rules -------------------------------------------------------------------------------------


def _rule_row(table: str, key: str, value: Any, row: Any) -> dict[str, Any]:
    return {
        "table": table,
        "key": key,
        "value": str(value),
        "valid_from": row.valid_from,
        "valid_to": row.valid_to,
        "legal_source": row.legal_source,
        "confidence": row.confidence,
        "note": row.note,
    }


@router.get("/rules", response=RulesOut)
def rules(request: HttpRequest, on: dt.date | None = None) -> Any:
    """The rule tables in force on a day (today by default), each row with its legal source."""
    day = on or timezone.localdate()
    tables = rules_in_force(day)
    return {
        "on": day,
        "rates": [
            _rule_row("rate", f"{r.part}/{r.payer}", r.rate.normalize(), r) for r in tables["rates"]
        ],
        "caps": [
            _rule_row(
                "cap", f"{c.scheme}/{c.pay_scale or 'all'}", f"{c.multiplier}×{c.reference}", c
            )
            for c in tables["caps"]
        ],
        "reference_amounts": [
            _rule_row("reference", f"{a.kind}/{a.region}", a.amount, a)
            for a in tables["reference_amounts"]
        ],
        "parameters": [
            _rule_row("parameter", p.key, p.value.normalize(), p) for p in tables["parameters"]
        ],
    }
