"""Pages for insurance officers: awards (filters: status, province, held), one award with its
payment timeline, events, cases and card; cases with their evidence and the resolve form.
Reading needs ``benefits.view_award``; resolving ``benefits.resolve_case``. Every page that
shows a person's award or case is audit-logged."""

from __future__ import annotations

import json
from typing import Any

from django.contrib.auth.decorators import login_required
from django.core.paginator import Paginator
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.views.decorators.http import require_http_methods

from ansinh.access.services import audit
from ansinh.benefits import selectors, services
from ansinh.benefits.models import (
    Award,
    AwardStatus,
    CaseKind,
    CaseStatus,
    FraudCase,
    PaymentStatus,
)
from ansinh.core.errors import DomainError, Forbidden

VIEW = "benefits.view_award"
RESOLVE = "benefits.resolve_case"


def _allowed(request: HttpRequest, perm: str, obj_type: str, obj_id: str) -> HttpResponse | None:
    if request.user.has_perm(perm):
        return None
    audit(
        actor=request.user,
        action="denied",
        object_type=obj_type,
        object_id=obj_id,
        request=request,
        detail={"reason": "permission_denied"},
    )
    exc = Forbidden(
        "permission_denied",
        None,
        "Vai trò của bạn không được phép xem trợ cấp thất nghiệp.",
        "Your role may not view unemployment benefits.",
    )
    return render(request, "portal/forbidden.html", {"errors": exc.errors}, status=403)


@login_required
def award_list(request: HttpRequest) -> HttpResponse:
    if (denied := _allowed(request, VIEW, "benefit_award", "")) is not None:
        return denied
    filters = {k: request.GET.get(k, "").strip() for k in ("status", "province", "held", "q")}
    page = Paginator(selectors.award_list(**filters), 50).get_page(request.GET.get("page"))
    audit(
        actor=request.user,
        action="search",
        object_type="benefit_award",
        request=request,
        detail={k: v for k, v in filters.items() if v and k != "q"},
    )
    return render(
        request,
        "benefits/award_list.html",
        {"page": page, "filters": filters, "statuses": AwardStatus.choices},
    )


def timeline(award: Award, payments: list[Any]) -> dict[str, Any]:
    """Geometry of the payment schedule drawn as an inline SVG bar chart: one bar per month,
    its height the amount, its colour the status."""
    width, height, pad = 640, 160, 28
    n = max(1, len(payments))
    slot = (width - 2 * pad) / n
    top = max([p.amount for p in payments] + [1])
    bars = []
    for i, p in enumerate(payments):
        h = (height - 2 * pad) * p.amount / top
        bars.append(
            {
                "x": round(pad + i * slot + slot * 0.1, 1),
                "y": round(height - pad - h, 1),
                "w": round(slot * 0.8, 1),
                "h": round(h, 1),
                "label_x": round(pad + i * slot + slot / 2, 1),
                "p": p,
            }
        )
    return {"width": width, "height": height, "base": height - pad, "bars": bars}


@login_required
def award_detail(request: HttpRequest, pk: int) -> HttpResponse:
    if (denied := _allowed(request, VIEW, "benefit_award", str(pk))) is not None:
        return denied
    award = get_object_or_404(Award.objects.select_related("health_card"), pk=pk)
    audit(
        actor=request.user,
        action="read",
        object_type="benefit_award",
        object_id=str(pk),
        request=request,
    )
    payments = list(award.payments.order_by("month_no"))
    return render(
        request,
        "benefits/award_detail.html",
        {
            "award": award,
            "payments": payments,
            "chart": timeline(award, payments),
            "events": award.events.order_by("applied_at", "id"),
            "cases": award.cases.order_by("-opened_at"),
            "paid_total": sum(p.amount for p in payments if p.status == PaymentStatus.PAID),
        },
    )


@login_required
def case_list(request: HttpRequest) -> HttpResponse:
    if (denied := _allowed(request, VIEW, "benefit_case", "")) is not None:
        return denied
    status = request.GET.get("status", CaseStatus.OPEN)
    kind = request.GET.get("kind", "")
    page = Paginator(selectors.case_list(status=status, kind=kind), 50).get_page(
        request.GET.get("page")
    )
    return render(
        request,
        "benefits/case_list.html",
        {
            "page": page,
            "status": status,
            "kind": kind,
            "kinds": CaseKind.choices,
            "statuses": CaseStatus.choices,
        },
    )


@login_required
@require_http_methods(["GET", "POST"])
def case_detail(request: HttpRequest, pk: int) -> HttpResponse:
    if (denied := _allowed(request, VIEW, "benefit_case", str(pk))) is not None:
        return denied
    case = get_object_or_404(FraudCase.objects.select_related("award", "resolved_by"), pk=pk)
    errors: list[Any] = []
    if request.method == "POST":
        if (denied := _allowed(request, RESOLVE, "benefit_case", str(pk))) is not None:
            return denied
        try:
            services.resolve_case(case, note=request.POST.get("resolution", ""), actor=request.user)
        except DomainError as exc:
            errors = exc.errors
        else:
            return redirect("benefits:case_detail", pk=pk)
    audit(
        actor=request.user,
        action="read",
        object_type="benefit_case",
        object_id=str(pk),
        request=request,
    )
    return render(
        request,
        "benefits/case_detail.html",
        {
            "case": case,
            "award": case.award,
            "errors": errors,
            "evidence_json": json.dumps(case.evidence, ensure_ascii=False, indent=2),
            "can_resolve": request.user.has_perm(RESOLVE),
        },
    )
