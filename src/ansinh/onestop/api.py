"""One-stop API, mounted at ``/api/v1/onestop``: the procedure catalogue, reception, a dossier
with its path, actions on it, and the public status look-up and rating.

Thin, like the pages: ``services`` write (reception, actions — through ``desk_actions``),
``selectors`` read and authorise, ``feedback`` records ratings. Staff reads of a dossier are
authorised (role, and an organisation that holds or received it or sits above) and audited.
The two ``status`` operations need no authentication: the dossier code is the key, the answer
holds no personal data, and each client address is rate-limited like the public page.
"""

from __future__ import annotations

import datetime as dt
from typing import Any, Literal

from django.http import HttpRequest
from django.urls import reverse
from django.utils import timezone
from ninja import Field, Router, Schema
from ninja.responses import Status

from ansinh.core.errors import DomainError, Forbidden, NotFound
from ansinh.onestop import desk_actions, feedback, selectors, services
from ansinh.onestop.clock import cutoffs
from ansinh.onestop.models import Dossier, ProcedureVersion
from ansinh.onestop.views_public import rate_limited, rate_per_minute

router = Router(tags=["onestop"])

CODE_EXAMPLE = "000.00.01.H26-261116-0001"


# --- schemas -------------------------------------------------------------------------------------


class ErrorItem(Schema):
    code: str
    field: str | None
    message_vi: str
    message_en: str


class ErrorOut(Schema):
    """The project's error shape; ``errors`` lists every error when there are several."""

    code: str = Field(examples=["stale_version"])
    field: str | None = Field(examples=["version"])
    message_vi: str
    message_en: str
    errors: list[ErrorItem] | None = None


class DocumentSpecOut(Schema):
    name_vi: str
    name_en: str
    copies: int
    required: bool


class ProcedureOut(Schema):
    code: str = Field(examples=["600"])
    name_vi: str
    name_en: str
    domain: str
    valid_from: dt.date
    valid_to: dt.date | None
    deadline_days: int | None = Field(description="Working days; null for an hour deadline")
    deadline_hours: int | None = Field(description="Office hours, for same-day procedures")
    departments: list[str]
    documents: list[DocumentSpecOut]
    legal_source: str


class ApplicantIn(Schema):
    name: str = Field(min_length=1, max_length=200, examples=["Công ty TNHH Thử Nghiệm"])
    id_number: str = Field("", max_length=20, examples=["0101234567"])
    address: str = Field("", max_length=300)
    phone: str = Field("", max_length=20)
    email: str = Field("", max_length=254)


class DocumentIn(Schema):
    name: str = Field(min_length=1, max_length=300, examples=["Mẫu D02-LT"])
    copies: int = Field(1, ge=1, le=99)
    original: bool = True


class ReceiveIn(Schema):
    """Tiếp nhận hồ sơ at the caller's own office. Idempotent on ``external_ref``."""

    procedure_code: str = Field(max_length=20, examples=["600"])
    channel: Literal["counter", "post", "online", "gateway"] = "counter"
    applicant: ApplicantIn
    documents: list[DocumentIn] = Field(default_factory=list, max_length=100)
    external_ref: str = Field(
        "",
        max_length=64,
        description="Submitter's own reference: resubmitting returns the dossier already received",
        examples=["IVAN-2026-000042"],
    )
    department_code: str | None = Field(None, max_length=20, examples=["THU"])
    note: str = Field("", max_length=2000)


class LinksOut(Schema):
    self: str
    receipt: str
    status: str


class DossierOut(Schema):
    code: str = Field(examples=[CODE_EXAMPLE])
    procedure_code: str
    channel: str
    state: str = Field(examples=["received"])
    version: int
    received_at: dt.datetime
    due_at: dt.datetime
    promised_at: dt.datetime | None
    links: LinksOut


class StepOut(Schema):
    at: dt.datetime
    action: str
    from_state: str
    to_state: str
    actor: str
    from_office: str | None
    to_office: str | None
    from_department: str | None
    to_department: str | None
    to_assignee: str | None
    note: str
    due_at: dt.datetime


class ApologyOut(Schema):
    number: int
    issued_at: dt.datetime
    reason: str
    old_due_at: dt.datetime
    new_due_at: dt.datetime
    delivered_via: str


class ApplicantOut(Schema):
    name: str
    id_number: str
    address: str
    phone: str
    email: str


class DossierDetailOut(DossierOut):
    procedure_name: str
    receiving_office: str
    office: str
    department: str | None
    assignee: str | None
    applicant: ApplicantOut
    documents: list[dict[str, Any]]
    external_ref: str
    counted_from: dt.datetime
    resolved_at: dt.datetime | None
    outcome: str
    returned_at: dt.datetime | None
    closed_at: dt.datetime | None
    warning: str = Field(description="on_track, due_soon, due_today, overdue, paused or empty")
    allowed_actions: list[str] = Field(description="Actions legal now and open to the caller")
    path: list[StepOut]
    apologies: list[ApologyOut]


ActionName = Literal[
    "start",
    "transfer",
    "request_supplement",
    "supplement_received",
    "result_ready",
    "return_result",
    "apology",
    "reassign",
    "reject",
    "withdraw",
]


class ActionIn(Schema):
    """One move; ``version`` is the dossier version the caller last saw (optimistic lock)."""

    action: ActionName = Field(examples=["transfer"])
    version: int = Field(ge=1, le=2_000_000_000, examples=[1])
    note: str = Field("", max_length=2000)
    reason: str = Field("", max_length=2000, description="For reject and apology")
    to_department: str | None = Field(None, max_length=20, examples=["THU"])
    to_office: str | None = Field(None, max_length=13, description="Agency code, for transfers")
    to_assignee: str | None = Field(None, max_length=150, description="Username")
    new_due_at: dt.datetime | None = Field(None, description="For apology: the new return time")
    delivered_via: Literal["counter", "email", "sms"] = "counter"


class ActionOut(Schema):
    code: str
    action: str
    state: str
    version: int
    due_at: dt.datetime
    promised_at: dt.datetime | None
    apology_number: int | None = None


class PublicStepOut(Schema):
    at: dt.datetime
    action: str
    label: str
    agency: str
    department: str
    officer: str
    new_date: dt.datetime | None


class PublicStatusOut(Schema):
    """What anyone holding the code sees: no applicant data, no notes."""

    code: str = Field(examples=[CODE_EXAMPLE])
    procedure_code: str
    procedure_name: str
    agency: str
    current_agency: str
    received_at: dt.datetime
    state: str
    state_label: str
    expected_return_at: dt.datetime = Field(description="New date of an apology slip, else due")
    resolved_at: dt.datetime | None
    returned_at: dt.datetime | None
    can_rate: bool
    rated: bool
    path: list[PublicStepOut]


class RatingIn(Schema):
    level: Literal["very_satisfied", "satisfied", "not_satisfied"] = Field(examples=["satisfied"])
    comment: str = Field("", max_length=feedback.COMMENT_MAX)


class RatingOut(Schema):
    code: str
    level: str
    rated_at: dt.datetime


ERRORS = {400: ErrorOut, 401: ErrorOut, 403: ErrorOut, 404: ErrorOut, 409: ErrorOut, 422: ErrorOut}
PUBLIC_ERRORS = {400: ErrorOut, 404: ErrorOut, 409: ErrorOut, 422: ErrorOut, 429: ErrorOut}


# --- helpers -------------------------------------------------------------------------------------


def _user(request: HttpRequest) -> Any:
    return request.auth  # type: ignore[attr-defined]


def _links(request: HttpRequest, dossier: Dossier) -> dict[str, str]:
    return {
        "self": request.build_absolute_uri(
            reverse("api:onestop_dossier", kwargs={"code": dossier.code})
        ),
        "receipt": request.build_absolute_uri(reverse("onestop:receipt", args=[dossier.code])),
        "status": request.build_absolute_uri(reverse("status:detail", args=[dossier.code])),
    }


def _dossier_out(request: HttpRequest, dossier: Dossier) -> dict[str, Any]:
    return {
        "code": dossier.code,
        "procedure_code": dossier.procedure.code,
        "channel": dossier.channel,
        "state": dossier.state,
        "version": dossier.version,
        "received_at": dossier.received_at,
        "due_at": dossier.due_at,
        "promised_at": dossier.promised_at,
        "links": _links(request, dossier),
    }


def _name(user: Any) -> str | None:
    return (user.get_full_name() or user.get_username()) if user else None


def _office_code(office: Any) -> str | None:
    return office.agency_code if office else None


def _dept(department: Any) -> str | None:
    return department.code if department else None


def _too_many() -> DomainError:
    return DomainError(
        "rate_limited",
        None,
        f"Quá nhiều lượt tra cứu; mỗi địa chỉ được tra {rate_per_minute()} lượt mỗi phút.",
        f"Too many look-ups; each address may make {rate_per_minute()} a minute.",
        status=429,
    )


def _unknown() -> NotFound:
    return NotFound(
        "unknown_dossier", "code", "Không tìm thấy hồ sơ.", "The dossier was not found."
    )


def _aware(value: dt.datetime | None, field: str) -> dt.datetime | None:
    """A datetime from the API: naive means Vietnam time; absurd years are refused."""
    if value is None:
        return None
    if not 2000 <= value.year <= 2100:
        raise DomainError(
            "invalid_date",
            field,
            "Ngày giờ phải trong khoảng năm 2000–2100.",
            "The date must be between the years 2000 and 2100.",
        )
    if timezone.is_naive(value):
        return timezone.make_aware(value)
    return value


# --- catalogue -----------------------------------------------------------------------------------


@router.get("/procedures", response={200: list[ProcedureOut], **ERRORS})
def procedures(request: HttpRequest, on: dt.date | None = None) -> Any:
    """Danh mục thủ tục: each active procedure with its version in force on ``on`` (today)."""
    day = on or timezone.localdate()
    if not dt.date(2000, 1, 1) <= day <= dt.date(2100, 12, 31):
        raise DomainError("invalid_date", "on", "Ngày ngoài phạm vi.", "The date is out of range.")
    rows = []
    for procedure, version in selectors.procedures_in_force(day):
        rows.append(_procedure_out(procedure, version))
    return rows


def _procedure_out(procedure: Any, version: ProcedureVersion) -> dict[str, Any]:
    return {
        "code": procedure.code,
        "name_vi": procedure.name_vi,
        "name_en": procedure.name_en,
        "domain": procedure.domain,
        "valid_from": version.valid_from,
        "valid_to": version.valid_to,
        "deadline_days": version.deadline_days,
        "deadline_hours": version.deadline_hours,
        "departments": list(version.departments or []),
        "documents": [
            {
                "name_vi": str(d.get("name_vi", "")),
                "name_en": str(d.get("name_en", "")),
                "copies": int(d.get("copies", 1)),
                "required": bool(d.get("required", False)),
            }
            for d in version.documents or []
        ],
        "legal_source": version.legal_source,
    }


# --- dossiers ------------------------------------------------------------------------------------


@router.post("/dossiers", response={201: DossierOut, 200: DossierOut, **ERRORS})
def receive(request: HttpRequest, payload: ReceiveIn) -> Any:
    """Tiếp nhận hồ sơ at the caller's office: 201 with the code, due time and links; 200 with
    the same dossier when ``external_ref`` was already received."""
    user = _user(request)
    if not user.has_perm("onestop.add_dossier"):
        raise Forbidden(
            "permission_denied",
            None,
            "Vai trò của bạn không được phép tiếp nhận hồ sơ.",
            "Your role is not allowed to receive dossiers.",
        )
    office = selectors.user_office(user)
    if office is None:
        raise Forbidden(
            "no_office",
            None,
            "Đơn vị của bạn không có bộ phận một cửa.",
            "Your organisation has no one-stop desk.",
        )
    existing = None
    if payload.external_ref:
        existing = Dossier.objects.filter(
            receiving_office=office, external_ref=payload.external_ref
        ).first()
    dossier = services.receive_dossier(
        office=office,
        procedure_code=payload.procedure_code,
        channel=payload.channel,
        applicant=services.Applicant(
            name=payload.applicant.name,
            id_number=payload.applicant.id_number,
            address=payload.applicant.address,
            phone=payload.applicant.phone,
            email=payload.applicant.email,
        ),
        documents=[
            services.DocumentReceived(d.name, copies=d.copies, original=d.original)
            for d in payload.documents
        ],
        actor=user,
        external_ref=payload.external_ref,
        department_code=payload.department_code or None,
        note=payload.note,
    )
    replayed = existing is not None and existing.pk == dossier.pk
    return Status(200 if replayed else 201, _dossier_out(request, dossier))


@router.get(
    "/dossiers/{code}", response={200: DossierDetailOut, **ERRORS}, url_name="onestop_dossier"
)
def dossier_detail(request: HttpRequest, code: str) -> Any:
    """A dossier with its applicant, documents, path and the actions open to the caller
    (authorised and audited like the page)."""
    user = _user(request)
    dossier = selectors.dossier_for_staff(user, code, request=request)
    now = timezone.now()
    steps = selectors.timeline(dossier)
    return {
        **_dossier_out(request, dossier),
        "procedure_name": dossier.procedure.name_vi,
        "receiving_office": dossier.receiving_office.agency_code,
        "office": dossier.office.agency_code,
        "department": _dept(dossier.department),
        "assignee": dossier.assignee.get_username() if dossier.assignee else None,
        "applicant": {
            "name": dossier.applicant_name,
            "id_number": dossier.applicant_id,
            "address": dossier.applicant_address,
            "phone": dossier.applicant_phone,
            "email": dossier.applicant_email,
        },
        "documents": list(dossier.documents or []),
        "external_ref": dossier.external_ref,
        "counted_from": dossier.counted_from,
        "resolved_at": dossier.resolved_at,
        "outcome": dossier.outcome,
        "returned_at": dossier.returned_at,
        "closed_at": dossier.closed_at,
        "warning": selectors.live_warning(dossier, cutoffs(now)),
        "allowed_actions": selectors.allowed_actions(user, dossier),
        "path": [
            {
                "at": s.at,
                "action": s.action,
                "from_state": s.from_state,
                "to_state": s.to_state,
                "actor": s.actor_name,
                "from_office": _office_code(s.from_office),
                "to_office": _office_code(s.to_office),
                "from_department": _dept(s.from_department),
                "to_department": _dept(s.to_department),
                "to_assignee": s.to_assignee.get_username() if s.to_assignee else None,
                "note": s.note,
                "due_at": s.due_at,
            }
            for s in steps
        ],
        "apologies": [
            {
                "number": a.number,
                "issued_at": a.issued_at,
                "reason": a.reason,
                "old_due_at": a.old_due_at,
                "new_due_at": a.new_due_at,
                "delivered_via": a.delivered_via,
            }
            for a in dossier.apologies.order_by("number")
        ],
    }


@router.post("/dossiers/{code}/actions", response={200: ActionOut, **ERRORS})
def act(request: HttpRequest, code: str, payload: ActionIn) -> Any:
    """Move the dossier: 409 ``stale_version`` when someone moved it since ``version``, 409
    ``illegal_transition`` when the action is not possible in its state, 403 when the caller
    may not do it."""
    user = _user(request)
    dossier = selectors.find_dossier(code)
    if dossier is None:
        raise _unknown()
    selectors.authorize_dossier(user, dossier, request=request, action=None)
    data = desk_actions.ActionInput(
        action=payload.action,
        version=payload.version,
        note=payload.note,
        reason=payload.reason,
        to_department=payload.to_department or "",
        to_office=desk_actions.office_by(payload.to_office),
        to_assignee=desk_actions.officer_by(payload.to_assignee),
        new_due_at=_aware(payload.new_due_at, "new_due_at"),
        delivered_via=payload.delivered_via,
    )
    result, slip = desk_actions.perform(dossier, actor=user, data=data)
    return {
        "code": result.code,
        "action": payload.action,
        "state": result.state,
        "version": result.version,
        "due_at": result.due_at,
        "promised_at": result.promised_at,
        "apology_number": slip.number if slip else None,
    }


# --- public --------------------------------------------------------------------------------------


def _public(request: HttpRequest, code: str) -> selectors.PublicStatus:
    if rate_limited(request):
        raise _too_many()
    status = selectors.public_status(code)
    if status is None:
        raise _unknown()
    return status


def _public_out(status: selectors.PublicStatus) -> dict[str, Any]:
    return {
        "code": status.code,
        "procedure_code": status.procedure_code,
        "procedure_name": status.procedure_name,
        "agency": status.agency,
        "current_agency": status.current_agency,
        "received_at": status.received_at,
        "state": status.state,
        "state_label": status.state_label,
        "expected_return_at": status.expected_return_at,
        "resolved_at": status.resolved_at,
        "returned_at": status.returned_at,
        "can_rate": status.is_resolved and not status.rated,
        "rated": status.rated,
        "path": [
            {
                "at": s.at,
                "action": s.action,
                "label": s.label,
                "agency": s.agency,
                "department": s.department,
                "officer": s.officer,
                "new_date": s.new_date,
            }
            for s in status.path
        ],
    }


@router.get("/status/{code}", response={200: PublicStatusOut, **PUBLIC_ERRORS}, auth=None)
def status(request: HttpRequest, code: str) -> Any:
    """Tra cứu tình trạng hồ sơ (no authentication): the public page's data."""
    return _public_out(_public(request, code))


@router.post("/status/{code}/rating", response={201: RatingOut, **PUBLIC_ERRORS}, auth=None)
def rating(request: HttpRequest, code: str, payload: RatingIn) -> Any:
    """Đánh giá mức độ hài lòng (no authentication), once per resolved dossier: 409
    ``already_rated`` or ``not_resolved`` otherwise."""
    _public(request, code)
    row = feedback.rate_dossier(code, payload.level, payload.comment)
    return Status(201, {"code": code, "level": row.level, "rated_at": row.rated_at})
