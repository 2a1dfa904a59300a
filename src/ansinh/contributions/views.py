"""Staff pages of the ledger: one employer's monthly bill row by row, and the rule tables in
force on a day (rates, caps, base salary, regional minimum wages) with their legal sources."""

from __future__ import annotations

import datetime as dt
from typing import Any

from django.contrib.auth.decorators import login_required
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import render
from django.utils import timezone
from django.views.decorators.http import require_http_methods

from ansinh.access.services import authorize_employer_read
from ansinh.contributions import selectors
from ansinh.contributions.models import MONEY_COLUMNS, EmployerBill
from ansinh.core.errors import Forbidden
from ansinh.law.models import ReferenceKind
from ansinh.law.selectors import rules_in_force
from ansinh.registry import selectors as registry
from ansinh.registry.views import forbidden_page, purpose_label, with_purpose


@login_required
@require_http_methods(["GET", "POST"])
def bill_detail(request: HttpRequest, unit_code: str, period: int) -> HttpResponse:
    """Thông báo kết quả đóng: the rows of a bill, column totals, and each row's legal basis."""
    employer = registry.get_employer(unit_code)
    if employer is None:
        raise Http404
    bill = EmployerBill.objects.filter(employer=employer, period=period).first()
    if bill is None:
        raise Http404
    purpose, response = with_purpose(request, subject=employer.unit_code)
    if response is not None:
        return response
    try:
        authorize_employer_read(request.user, employer, purpose=purpose, request=request)
    except Forbidden as exc:
        return forbidden_page(request, exc)
    detail = selectors.bill_detail(bill)
    return render(
        request,
        "contributions/bill_detail.html",
        {
            "employer": employer,
            "bill": bill,
            "rows": detail.rows,
            "totals": [detail.totals[c] for c in MONEY_COLUMNS],
            "total": detail.total,
            "total_salary": sum(r.insured_salary for r in detail.rows),
            "bases": _bases(detail.rows),
            "allocations": detail.allocations,
            "interest": detail.interest,
            "purpose": purpose_label(purpose),
            "today": timezone.localdate(),
        },
    )


def _bases(rows: list[Any]) -> list[Any]:
    """The distinct rule snapshots the rows were computed with; each row gets ``basis_no``,
    its footnote number under the table."""
    seen: dict[int, Any] = {}
    for row in rows:
        seen.setdefault(row.basis_id, row.basis)
        row.basis_no = list(seen).index(row.basis_id) + 1
    return list(seen.values())


@login_required
def rules(request: HttpRequest) -> HttpResponse:
    """Rule tables in force on a day (today by default): what the ledger applies, and why."""
    day = timezone.localdate()
    error = ""
    if raw := request.GET.get("on", "").strip():
        try:
            day = dt.date.fromisoformat(raw)
        except ValueError:
            error = "on"
    tables = rules_in_force(day)
    amounts = tables["reference_amounts"]
    return render(
        request,
        "contributions/rules.html",
        {
            "day": day,
            "error": error,
            "rates": tables["rates"],
            "caps": tables["caps"],
            "base_salary": [r for r in amounts if r.kind == ReferenceKind.BASE_SALARY],
            "min_wages": [r for r in amounts if r.kind == ReferenceKind.REGIONAL_MINIMUM_WAGE],
            "parameters": tables["parameters"],
        },
    )
