"""Unemployment claims API (centre side), mounted at /api/v1/unemployment. Thin: services write,
selectors read; every read of a claim is authorised and audit-logged; errors have the one
shape ``{code, field, message_vi, message_en}``."""

from __future__ import annotations

import datetime as dt
from typing import Any

from django.http import HttpRequest, HttpResponse
from django.urls import reverse
from ninja import Router, Schema
from ninja.responses import Status

from ansinh.core.errors import DomainError, Forbidden, NotFound
from ansinh.exchange import outbox
from ansinh.onestop.models import Office
from ansinh.unemployment import selectors, services
from ansinh.unemployment.models import Claim, Decision

router = Router(tags=["unemployment"])


class ErrorOut(Schema):
    code: str
    field: str | None = None
    message_vi: str
    message_en: str


ERRORS = {400: ErrorOut, 401: ErrorOut, 403: ErrorOut, 404: ErrorOut, 409: ErrorOut, 422: ErrorOut}


class ClaimIn(Schema):
    personal_id: str
    full_name: str
    birth_date: dt.date | None = None
    phone: str = ""
    email: str = ""
    address: str = ""
    termination_date: dt.date
    termination_reason: str
    contract_type: str = ""
    channel: str = "counter"


class AssessIn(Schema):
    termination_reason: str = ""
    version: int | None = None


class ProposeIn(Schema):
    payment_method: str = "bank"
    note: str = ""


class SignatureIn(Schema):
    number: str
    signed_on: dt.date
    signer_name: str
    signer_title: str = ""


class RefuseIn(SignatureIn):
    reason: str


class StatusIn(SignatureIn):
    reason: str
    effective_on: dt.date
    note: str = ""


class ReportIn(Schema):
    month_no: int
    received_on: dt.date
    note: str = ""


class WithdrawIn(Schema):
    note: str


def _user(request: HttpRequest) -> Any:
    return request.auth  # type: ignore[attr-defined]


def _office(user: Any) -> Office:
    office = Office.objects.filter(organisation_id=user.organisation_id).first()
    if office is None:
        raise Forbidden(
            "not_a_centre",
            None,
            "Đơn vị của bạn không có bộ phận tiếp nhận hồ sơ.",
            "Your organisation has no reception desk.",
        )
    return office


def _decision_out(d: Decision) -> dict[str, Any]:
    return {
        "number": d.number,
        "kind": d.kind,
        "reason": d.reason,
        "signed_on": d.signed_on,
        "effective_on": d.effective_on,
        "signer_name": d.signer_name,
        "signer_title": d.signer_title,
        "issuer_name": d.issuer_name,
        "message_id": d.message_id,
        "pdf": reverse("unemployment:decision_pdf", args=[d.pk]),
    }


def _claim_out(claim: Claim, *, full: bool = True) -> dict[str, Any]:
    latest = selectors.latest_assessment(claim)
    out: dict[str, Any] = {
        "code": claim.code,
        "state": claim.state,
        "version": claim.version,
        "personal_id": claim.personal_id,
        "full_name": claim.full_name,
        "province_code": claim.province_code,
        "channel": claim.channel,
        "termination_date": claim.termination_date,
        "termination_reason": claim.termination_reason,
        "filed_on": claim.filed_on,
        "decision_due": claim.decision_due,
        "history_error": claim.history_error,
        "history_message_id": claim.history_message_id,
        "reemployment": claim.reemployment,
        "assessment": latest.result if latest else None,
        "decisions": [_decision_out(d) for d in claim.decisions.all()],
    }
    if full:
        out["reports"] = [
            {
                "month_no": r.month_no,
                "due_on": r.due_on,
                "received_on": r.received_on,
                "late": r.late,
            }
            for r in claim.reports.all()
        ]
        out["events"] = [
            {"at": e.at, "action": e.action, "from": e.from_state, "to": e.to_state, "note": e.note}
            for e in claim.events.all()
        ]
    return out


def _read(request: HttpRequest, code: str) -> Claim:
    return selectors.claim_for_read(_user(request), code, request=request)


def _sig(body: SignatureIn) -> services.Signature:
    return services.Signature(body.number, body.signed_on, body.signer_name, body.signer_title)


@router.post("/claims", response={201: dict, **ERRORS}, url_name="bhtn_claims")
def create_claim(request: HttpRequest, body: ClaimIn) -> Any:
    user = _user(request)
    claim = services.file_claim(
        office=_office(user),
        applicant=services.Applicant(
            personal_id=body.personal_id,
            full_name=body.full_name,
            birth_date=body.birth_date,
            phone=body.phone,
            email=body.email,
            address=body.address,
        ),
        termination_date=body.termination_date,
        termination_reason=body.termination_reason,
        contract_type=body.contract_type,
        channel=body.channel,
        actor=user,
    )
    return Status(201, _claim_out(_read(request, claim.code)))


@router.get("/claims", response={200: list[dict], **ERRORS})
def list_claims(request: HttpRequest, state: str = "", due: str = "", q: str = "") -> Any:
    user = _user(request)
    if not user.has_perm("unemployment.view_claim"):
        raise Forbidden("permission_denied", None, "Không có quyền.", "Not allowed.")
    return [
        {"code": c.code, "state": c.state, "filed_on": c.filed_on, "decision_due": c.decision_due}
        for c in selectors.claims_for(user, state=state, due=due, q=q)[:500]
    ]


@router.get("/claims/{code}", response={200: dict, **ERRORS}, url_name="bhtn_claim")
def get_claim(request: HttpRequest, code: str) -> Any:
    return _claim_out(_read(request, code))


@router.post("/claims/{code}/fetch-history", response={200: dict, **ERRORS})
def fetch_history(request: HttpRequest, code: str) -> Any:
    claim = _read(request, code)
    services.fetch_history(claim.pk, actor=_user(request), refresh=True)
    return _claim_out(_read(request, code))


@router.post("/claims/{code}/assess", response={200: dict, **ERRORS})
def assess(request: HttpRequest, code: str, body: AssessIn) -> Any:
    claim = _read(request, code)
    services.assess(
        claim.pk,
        actor=_user(request),
        termination_reason=body.termination_reason,
        expected_version=body.version,
    )
    return _claim_out(_read(request, code))


@router.post("/claims/{code}/propose", response={200: dict, **ERRORS})
def propose(request: HttpRequest, code: str, body: ProposeIn) -> Any:
    claim = _read(request, code)
    services.propose(
        claim.pk, actor=_user(request), payment_method=body.payment_method, note=body.note
    )
    return _claim_out(_read(request, code))


@router.post("/claims/{code}/decide", response={201: dict, **ERRORS})
def decide(request: HttpRequest, code: str, body: SignatureIn) -> Any:
    claim = _read(request, code)
    d = services.decide(claim.pk, _sig(body), actor=_user(request))
    return Status(201, _decision_out(d))


@router.post("/claims/{code}/refuse", response={201: dict, **ERRORS})
def refuse(request: HttpRequest, code: str, body: RefuseIn) -> Any:
    claim = _read(request, code)
    d = services.refuse(claim.pk, _sig(body), actor=_user(request), reason=body.reason)
    return Status(201, _decision_out(d))


def _status(request: HttpRequest, code: str, kind: str, body: StatusIn) -> Any:
    claim = _read(request, code)
    user = _user(request)
    if kind == "resume":
        d = services.resume(
            claim.pk, _sig(body), actor=user, effective_on=body.effective_on, reason=body.reason
        )
    else:
        fn = services.suspend if kind == "suspend" else services.terminate
        d = fn(
            claim.pk,
            _sig(body),
            actor=user,
            reason=body.reason,
            effective_on=body.effective_on,
            note=body.note,
        )
    return Status(201, _decision_out(d))


@router.post("/claims/{code}/suspend", response={201: dict, **ERRORS})
def suspend(request: HttpRequest, code: str, body: StatusIn) -> Any:
    return _status(request, code, "suspend", body)


@router.post("/claims/{code}/resume", response={201: dict, **ERRORS})
def resume(request: HttpRequest, code: str, body: StatusIn) -> Any:
    return _status(request, code, "resume", body)


@router.post("/claims/{code}/terminate", response={201: dict, **ERRORS})
def terminate(request: HttpRequest, code: str, body: StatusIn) -> Any:
    return _status(request, code, "terminate", body)


@router.get("/claims/{code}/payments", response={200: dict, **ERRORS})
def payments(request: HttpRequest, code: str) -> Any:
    """The insurance side's ``paymentStatus`` of the claim's grant decision."""
    claim = _read(request, code)
    grant = claim.decisions.filter(kind="grant").first()
    if grant is None:
        raise NotFound("no_grant", "code", "Hồ sơ chưa có quyết định hưởng.", "No grant yet.")
    return _ask("paymentStatus", {"decision_no": grant.number})


def _ask(service: str, body: dict[str, Any]) -> Any:
    _row, result = outbox.call_now(services.insurance_peer(), service, body)
    if not result.ok:
        e = result.error
        raise DomainError(
            e.code if e else result.outcome,
            e.field if e else None,
            e.message_vi if e else "Cơ quan BHXH không trả lời.",
            e.message_en if e else "The insurance agency did not answer.",
            status=result.status if result.reached and result.status else 503,
        )
    return result.json()


@router.post("/claims/{code}/reports", response={201: dict, **ERRORS})
def report(request: HttpRequest, code: str, body: ReportIn) -> Any:
    claim = _read(request, code)
    r = services.report_job_search(
        claim.pk,
        month_no=body.month_no,
        received_on=body.received_on,
        actor=_user(request),
        note=body.note,
    )
    return Status(201, {"month_no": r.month_no, "due_on": r.due_on, "late": r.late})


@router.post("/claims/{code}/withdraw", response={200: dict, **ERRORS})
def withdraw(request: HttpRequest, code: str, body: WithdrawIn) -> Any:
    claim = _read(request, code)
    services.withdraw(claim.pk, actor=_user(request), note=body.note)
    return _claim_out(_read(request, code))


@router.get("/persons/{personal_id}/benefits", response={200: dict, **ERRORS})
def person_benefits(request: HttpRequest, personal_id: str) -> Any:
    """The person's awards in every province (``benefitHistory`` from the insurance side)."""
    user = _user(request)
    if not user.has_perm("unemployment.view_claim"):
        raise Forbidden("permission_denied", None, "Không có quyền.", "Not allowed.")
    from ansinh.access.models import AuditAction
    from ansinh.access.services import audit

    audit(
        actor=user,
        action=AuditAction.READ,
        object_type="bhtn_benefits",
        object_id=personal_id,
        purpose="benefit history",
        request=request,
    )
    return _ask("benefitHistory", {"personal_id": personal_id})


def decision_pdf_response(decision: Decision) -> HttpResponse:
    response = HttpResponse(bytes(decision.pdf), content_type="application/pdf")
    response["Content-Disposition"] = f'inline; filename="QD-{decision.pk}.pdf"'
    return response
