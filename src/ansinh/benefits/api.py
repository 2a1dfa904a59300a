"""Benefits API, mounted at /api/v1/benefits: the officers' reads (awards, one award's
payments, cases) and resolving a case. Same permissions and audit as the pages."""

from __future__ import annotations

from typing import Any

from django.http import HttpRequest
from ninja import Router, Schema

from ansinh.access.services import audit
from ansinh.benefits import selectors, services
from ansinh.benefits.models import Award, FraudCase
from ansinh.core.errors import Forbidden, NotFound

router = Router(tags=["benefits"])


class ResolveIn(Schema):
    resolution: str


def _require(request: HttpRequest, perm: str, object_type: str, object_id: str = "") -> None:
    if not request.user.has_perm(perm):
        audit(
            actor=request.user,
            action="denied",
            object_type=object_type,
            object_id=object_id,
            request=request,
            detail={"reason": "permission_denied"},
        )
        raise Forbidden(
            "permission_denied",
            None,
            "Vai trò của bạn không được phép thực hiện thao tác này.",
            "Your role may not do this.",
        )


def _limit(limit: int) -> int:
    return max(1, min(limit, 500))


def _case_out(case: FraudCase) -> dict[str, Any]:
    return {
        "case_no": case.case_no,
        "award": case.award.decision_no,
        "kind": case.kind,
        "status": case.status,
        "evidence": case.evidence,
        "opened_at": case.opened_at,
        "resolved_at": case.resolved_at,
        "resolution": case.resolution,
        "payments_held": case.award.held,
    }


@router.get("/awards")
def awards(
    request: HttpRequest, status: str = "", province: str = "", held: str = "", limit: int = 100
) -> Any:
    _require(request, "benefits.view_award", "benefit_award")
    qs = selectors.award_list(status=status, province=province, held=held)[: _limit(limit)]
    audit(
        actor=request.user,
        action="search",
        object_type="benefit_award",
        request=request,
        detail={"status": status, "province": province, "held": held},
    )
    return {"awards": [{**selectors.award_row(a), "held": a.held, "id": a.pk} for a in qs]}


@router.get("/awards/{pk}")
def award(request: HttpRequest, pk: int) -> Any:
    _require(request, "benefits.view_award", "benefit_award", str(pk))
    found = Award.objects.filter(pk=pk).select_related("health_card").first()
    if found is None:
        raise NotFound("unknown_award", "pk", "Không có quyết định này.", "No such award.")
    audit(
        actor=request.user,
        action="read",
        object_type="benefit_award",
        object_id=str(pk),
        request=request,
    )
    return {**selectors.award_row(found), **selectors.payment_status(found)}


@router.get("/cases")
def cases(request: HttpRequest, status: str = "open", kind: str = "", limit: int = 100) -> Any:
    _require(request, "benefits.view_award", "benefit_case")
    qs = selectors.case_list(status=status, kind=kind)[: _limit(limit)]
    return {"cases": [_case_out(c) for c in qs]}


def _case(case_no: str) -> FraudCase:
    case = selectors.get_case(case_no)
    if case is None:
        raise NotFound("unknown_case", "case_no", "Không có vụ việc này.", "No such case.")
    return case


@router.get("/cases/{case_no}")
def case(request: HttpRequest, case_no: str) -> Any:
    _require(request, "benefits.view_award", "benefit_case", case_no)
    found = _case(case_no)
    audit(
        actor=request.user,
        action="read",
        object_type="benefit_case",
        object_id=str(found.pk),
        request=request,
    )
    return _case_out(found)


@router.post("/cases/{case_no}/resolve")
def resolve(request: HttpRequest, case_no: str, payload: ResolveIn) -> Any:
    _require(request, "benefits.resolve_case", "benefit_case", case_no)
    found = services.resolve_case(_case(case_no), note=payload.resolution, actor=request.user)
    found.refresh_from_db()
    return _case_out(found)
