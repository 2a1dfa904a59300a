"""Submission API for I-VANs and employers' software, mounted at ``/api/v1/gateway``.

Machine to machine: ``POST /submissions`` takes the signed dossier XML as the request body and
answers at once with the receipt (dossier code, received time, digest, status) — the receipt
itself signed by the agency. The submitter's transaction id (in the signed header) makes it
idempotent: the same dossier twice gives the same receipt (200 instead of 201); a different
dossier under a used id is refused (409). Status, receipt and result are then read by
transaction id; results may also be pushed to ``X-Callback-Url``.
"""

from __future__ import annotations

import base64
import datetime as dt
from typing import Any

from django.conf import settings
from django.db import connection
from django.http import HttpRequest, HttpResponse
from django.utils import timezone
from ninja import Field, Router, Schema
from ninja.responses import Status

from ansinh.access.auth import BearerToken, VerifiedSession, hash_token
from ansinh.access.models import ApiToken, Organisation, OrganisationKind, User
from ansinh.core import sqlscript
from ansinh.core.errors import DomainError, Forbidden, NotFound
from ansinh.core.memo import Memo
from ansinh.gateway import callbacks, services, signing
from ansinh.gateway.models import Submission, Verdict
from ansinh.gateway.status import LABELS_VI, submitter_status

router = Router(tags=["gateway"])

XML = "application/xml"


class ErrorOut(Schema):
    code: str = Field(examples=["signature_invalid"])
    field: str | None
    message_vi: str
    message_en: str
    evidence_id: int | None = Field(
        None, description="Where the refused submission and its verdict are kept"
    )


class RowTotals(Schema):
    total: int
    accepted: int
    rejected: int
    queued: int


class EventOut(Schema):
    at: dt.datetime
    step: str
    detail: str


class ReceiptOut(Schema):
    """The receipt (thông báo tiếp nhận); ``receipt_xml`` is the same, signed by the agency."""

    transaction_id: str
    dossier_code: str
    received_at: dt.datetime
    due_at: dt.datetime | None
    digest: str = Field(description="SHA-256 of the bytes received, hex")
    status: str = Field(examples=["waiting"])
    status_vi: str
    replayed: bool = Field(description="True when this answers a repeat of an accepted dossier")
    receipt_xml: str = Field(description="Signed receipt, base64")


class StatusOut(Schema):
    transaction_id: str
    dossier_code: str | None
    procedure: str
    received_at: dt.datetime
    due_at: dt.datetime | None
    status: str
    status_vi: str
    rows: RowTotals
    result_ready: bool
    events: list[EventOut]


#: The organisation of an API user, remembered briefly per process (ansinh.core.memo).
_organisations = Memo("gateway.api-organisation", models=(Organisation,))
#: API users by id (the token itself is checked on every request, see SubmitterToken).
_users = Memo("gateway.api-user", models=(User,))


def token_user(token: str) -> Any:
    """The active user of a valid bearer token, or None: the token's revocation and expiry and
    its user's ``is_active`` are read from the database on every call, in one plain statement;
    only the User object comes from a memo. Shared by ``SubmitterToken`` and the lean path
    (``gateway.fastpath``)."""
    now = timezone.now()
    ops = connection.ops
    tokens = ops.quote_name(ApiToken._meta.db_table)
    users = ops.quote_name(User._meta.db_table)
    sql = (
        f"SELECT t.id, t.user_id, u.is_active, t.revoked_at IS NULL, "  # noqa: S608
        f"(t.expires_at IS NULL OR t.expires_at > %s), "
        f"(t.last_used_at IS NULL OR t.last_used_at < %s) "
        f"FROM {tokens} t JOIN {users} u ON u.id = t.user_id WHERE t.digest = %s"
    )
    params = [
        ops.adapt_datetimefield_value(now),
        ops.adapt_datetimefield_value(now - dt.timedelta(seconds=60)),
        hash_token(token),
    ]
    if connection.vendor == "postgresql":  # planned once per session (core.sqlscript)
        ((sql, params),) = sqlscript.prepared(connection, [(sql, params)])
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        row = cursor.fetchone()
    if row is None:
        return None
    token_id, user_id, active, not_revoked, not_expired, stale = row
    if not (active and not_revoked and not_expired):
        return None
    if stale:
        ApiToken.objects.filter(pk=token_id).update(last_used_at=now)
    return _users.get(user_id, lambda: User.objects.filter(pk=user_id).first())


class SubmitterToken(BearerToken):
    """``access.auth.BearerToken`` for the submission route, in one plain statement
    (``token_user``): a revoked token is refused at once, exactly as there. Saves the ORM's
    compilation of a two-table SELECT, a sizeable part of each submission's CPU time."""

    def authenticate(self, request: HttpRequest, token: str) -> Any:
        user = token_user(token)
        if user is None:
            return None
        request.user = user
        request.auth_channel = "api"  # type: ignore[attr-defined]
        return user


def _organisation(user: Any) -> Organisation | None:
    org_id = getattr(user, "organisation_id", None)
    if org_id is None:
        return None
    return _organisations.get(org_id, lambda: Organisation.objects.filter(pk=org_id).first())


def _submitter(request: HttpRequest) -> Any:
    return submitter_of(request.auth)  # type: ignore[attr-defined]


def submitter_of(user: Any) -> tuple[Any, Organisation]:
    """The user and their organisation, which must be an employer or an I-VAN provider."""
    org = _organisation(user)
    if org is None or org.kind not in (OrganisationKind.IVAN_PROVIDER, OrganisationKind.EMPLOYER):
        raise Forbidden(
            "not_a_submitter",
            None,
            "Chỉ tài khoản của đơn vị sử dụng lao động hoặc tổ chức I-VAN được dùng API này.",
            "Only accounts of employers or I-VAN providers may use this API.",
        )
    return user, org


def max_bytes() -> int:
    return int(getattr(settings, "GATEWAY_MAX_BYTES", 20 * 1024 * 1024))


def _read_body(request: HttpRequest) -> bytes:
    # Read the stream ourselves: request.body would stop at DATA_UPLOAD_MAX_MEMORY_SIZE with a
    # generic error, and the gateway has its own, larger limit and its own error code.
    return request.read(max_bytes() + 1)


def receipt_answer(intake: services.Intake) -> tuple[int, dict[str, Any]]:
    """Status and JSON body of an accepted (201) or replayed (200) submission. A new submission
    comes back with its dossier and signed receipt in memory: no re-read."""
    return (200 if intake.replayed else 201), _receipt(intake.submission, intake.replayed)


def _receipt(sub: Submission, replayed: bool) -> dict[str, Any]:
    status = submitter_status(sub)
    return {
        "transaction_id": sub.transaction_id,
        "dossier_code": sub.dossier.code,
        "received_at": sub.received_at,
        "due_at": sub.dossier.due_at,
        "digest": sub.digest,
        "status": status,
        "status_vi": LABELS_VI[status],
        "replayed": replayed,
        "receipt_xml": base64.b64encode(bytes(sub.receipt_xml or b"")).decode(),
    }


@router.post(
    "/submissions",
    response={
        201: ReceiptOut,
        200: ReceiptOut,
        400: ErrorOut,
        403: ErrorOut,
        409: ErrorOut,
        413: ErrorOut,
        422: ErrorOut,
        503: ErrorOut,
    },
    openapi_extra={
        "requestBody": {
            "required": True,
            "content": {XML: {"schema": {"type": "string", "format": "binary"}}},
            "description": "The signed dossier (XML-DSig, enveloped), see docs/gateway-format.md",
        },
        "parameters": [
            {
                "name": "X-Callback-Url",
                "in": "header",
                "required": False,
                "schema": {"type": "string"},
                "description": "Where to push the signed receipt and result",
            }
        ],
    },
    summary="Submit a signed dossier",
    auth=[SubmitterToken(), VerifiedSession()],
)
def submit(request: HttpRequest) -> Any:
    user, org = _submitter(request)
    callback = callbacks.check_url(request.headers.get("X-Callback-Url", ""))
    data = _read_body(request)
    intake = services.submit(data, submitter=org, user=user, callback_url=callback)
    return Status(*receipt_answer(intake))


def _mine(request: HttpRequest, transaction_id: str) -> Submission:
    _user, org = _submitter(request)
    sub = (
        Submission.objects.select_related("dossier")
        .filter(submitter=org, transaction_id=transaction_id, verdict=Verdict.ACCEPTED)
        .first()
    )
    if sub is None:
        raise NotFound(
            "submission_not_found",
            "transaction_id",
            "Không có hồ sơ được tiếp nhận với mã giao dịch này.",
            "No accepted dossier has this transaction id.",
        )
    return sub


@router.get(
    "/submissions/{transaction_id}",
    response={200: StatusOut, 403: ErrorOut, 404: ErrorOut},
    summary="Status of a submitted dossier",
)
def status(request: HttpRequest, transaction_id: str) -> Any:
    sub = _mine(request, transaction_id)
    state = submitter_status(sub)
    return {
        "transaction_id": sub.transaction_id,
        "dossier_code": sub.dossier.code if sub.dossier else None,
        "procedure": sub.procedure_code,
        "received_at": sub.received_at,
        "due_at": sub.dossier.due_at if sub.dossier else None,
        "status": state,
        "status_vi": LABELS_VI[state],
        "rows": {
            "total": sub.rows_total,
            "accepted": sub.rows_accepted,
            "rejected": sub.rows_rejected,
            "queued": sub.rows_queued,
        },
        "result_ready": bool(sub.result_xml),
        "events": [
            {"at": e.at, "step": e.step, "detail": e.detail}
            for e in sub.events.order_by("at", "id")
        ],
    }


def _xml(data: bytes | memoryview | None) -> HttpResponse:
    return HttpResponse(bytes(data or b""), content_type=f"{XML}; charset=utf-8")


_XML_RESPONSE = {
    "responses": {
        "200": {"description": "Signed XML", "content": {XML: {"schema": {"type": "string"}}}}
    }
}


@router.get(
    "/submissions/{transaction_id}/receipt",
    response={403: ErrorOut, 404: ErrorOut},
    openapi_extra=_XML_RESPONSE,
    summary="The signed receipt",
)
def receipt(request: HttpRequest, transaction_id: str) -> Any:
    return _xml(_mine(request, transaction_id).receipt_xml)


@router.get(
    "/submissions/{transaction_id}/result",
    response={403: ErrorOut, 404: ErrorOut, 409: ErrorOut},
    openapi_extra=_XML_RESPONSE,
    summary="The signed result",
)
def result(request: HttpRequest, transaction_id: str) -> Any:
    sub = _mine(request, transaction_id)
    if not sub.result_xml:
        raise DomainError(
            "result_not_ready",
            None,
            "Hồ sơ chưa có kết quả; xin tra cứu lại sau.",
            "The dossier has no result yet; ask again later.",
            status=409,
        )
    return _xml(sub.result_xml)


@router.get(
    "/agency-certificate",
    auth=None,
    openapi_extra={
        "responses": {
            "200": {
                "description": "PEM",
                "content": {"application/x-pem-file": {"schema": {"type": "string"}}},
            }
        }
    },
    summary="The agency's certificate, to verify receipts and results",
)
def agency_certificate(request: HttpRequest) -> HttpResponse:
    from cryptography.hazmat.primitives.serialization import Encoding

    pem = signing.agency_certificate().public_bytes(Encoding.PEM)
    return HttpResponse(pem, content_type="application/x-pem-file")


# --- the officer's queue (staff) ------------------------------------------------------------------
#
# Rows automatic processing could not decide wait for an officer of an office handling the
# dossier (``onestop.change_dossier``, the one-stop desk's remit). Listing them is a SEARCH in
# the audit log; reading one a READ of the dossier and of the registry records shown.

from ninja.pagination import PageNumberPagination, paginate  # noqa: E402

from ansinh.gateway import selectors as _queue_selectors  # noqa: E402
from ansinh.gateway.models import RowStatus, SubmissionRow  # noqa: E402


class QueuedRowOut(Schema):
    id: int
    number: int
    kind: str
    status: str
    reason: str = Field(description="The code processing queued the row with")
    field: str
    message_vi: str
    message_en: str
    personal_id: str
    declared_name: str
    dossier_code: str | None
    procedure: str
    transaction_id: str
    employer_unit_code: str | None
    received_at: dt.datetime
    due_at: dt.datetime | None

    @staticmethod
    def resolve_reason(row: SubmissionRow) -> str:
        return row.error_code

    @staticmethod
    def resolve_field(row: SubmissionRow) -> str:
        return row.error_field

    @staticmethod
    def resolve_declared_name(row: SubmissionRow) -> str:
        data = row.data or {}
        return str((data.get("name") if row.kind == "employer" else data.get("full_name")) or "")

    @staticmethod
    def resolve_dossier_code(row: SubmissionRow) -> str | None:
        dossier = row.submission.dossier
        return dossier.code if dossier is not None else None

    @staticmethod
    def resolve_procedure(row: SubmissionRow) -> str:
        return row.submission.procedure_code

    @staticmethod
    def resolve_transaction_id(row: SubmissionRow) -> str:
        return row.submission.transaction_id

    @staticmethod
    def resolve_employer_unit_code(row: SubmissionRow) -> str | None:
        employer = row.submission.employer
        return employer.unit_code if employer is not None else None

    @staticmethod
    def resolve_received_at(row: SubmissionRow) -> dt.datetime:
        return row.submission.received_at

    @staticmethod
    def resolve_due_at(row: SubmissionRow) -> dt.datetime | None:
        dossier = row.submission.dossier
        return dossier.due_at if dossier is not None else None


class ComparisonOut(Schema):
    key: str
    label_vi: str
    label_en: str
    declared: str
    registered: str | None = Field(description="null: the registry holds no such field")
    differs: bool
    at_fault: bool


class QueuedRowDetailOut(Schema):
    row: QueuedRowOut
    data: dict[str, Any] = Field(description="The row as declared")
    fields: list[ComparisonOut]
    person_on_record: bool
    conflicting_spells: list[dict[str, Any]]


class DecisionIn(Schema):
    decision: str = Field(examples=["reject"], description="accept or reject")
    note: str = Field("", max_length=300, description="Required to reject: the submitter reads it")


class DecisionOut(Schema):
    id: int
    number: int
    status: str
    code: str = Field(description="rejected_by_officer for a rejection, else empty")
    message_vi: str
    message_en: str
    result: dict[str, Any]
    rows_queued: int = Field(description="Rows of the dossier still waiting")
    result_ready: bool = Field(description="True once the last decision signed the result")


def _staff(request: HttpRequest) -> Any:
    user = request.auth  # type: ignore[attr-defined]
    if not _queue_selectors.may_decide_rows(user):
        from ansinh.access.services import audit

        audit(
            actor=user,
            action="denied",
            object_type="gateway_queue",
            request=request,
            detail={"reason": "permission_denied"},
        )
        raise Forbidden(
            "permission_denied",
            None,
            "Vai trò của bạn không được phép xử lý hồ sơ.",
            "Your role is not allowed to process dossiers.",
        )
    return user


def _queued_row(request: HttpRequest, row_id: int, *, audit_read: bool) -> SubmissionRow:
    user = _staff(request)
    row = _queue_selectors.get_row(row_id)
    if row is None:
        raise NotFound("row_not_found", "row_id", "Không tìm thấy dòng hồ sơ.", "No such row.")
    _queue_selectors.authorize_row(user, row, request=request, audit_read=audit_read)
    return row


def _query_day(value: str, name: str) -> dt.date | None:
    # Dates arrive as text: a typed date parameter behind ``paginate`` cannot be resolved
    # under postponed annotations.
    if not value.strip():
        return None
    try:
        return dt.date.fromisoformat(value.strip())
    except ValueError:
        raise DomainError(
            "date_invalid",
            name,
            "Ngày không hợp lệ (định dạng YYYY-MM-DD).",
            "Not a valid date (YYYY-MM-DD).",
            status=422,
        ) from None


@router.get(
    "/queue",
    response={200: list[QueuedRowOut], 403: ErrorOut, 422: ErrorOut},
    summary="Rows waiting for an officer (staff)",
)
@paginate(PageNumberPagination, page_size=50)
def queue(
    request: HttpRequest,
    reason: str = "",
    employer: str = "",
    procedure: str = "",
    received_from: str = "",
    received_to: str = "",
    dossier: str = "",
) -> Any:
    """Queued rows of the dossiers held or received by the caller's office (or an office under
    it), the oldest first; filters as on the page. Recorded in the audit log (filters used and
    the count, not their values)."""
    from ansinh.access.services import audit

    user = _staff(request)
    if reason and reason not in _queue_selectors.QUEUE_REASONS:
        raise DomainError(
            "reason_invalid",
            "reason",
            "Lý do chờ không hợp lệ.",
            "Unknown queue reason.",
            status=422,
        )
    filters = _queue_selectors.QueueFilters(
        reason=reason,
        employer=employer.strip(),
        procedure=procedure.strip(),
        received_from=_query_day(received_from, "received_from"),
        received_to=_query_day(received_to, "received_to"),
        dossier=dossier.strip(),
    )
    qs = _queue_selectors.officer_queue(user, filters)
    audit(
        actor=user,
        action="search",
        object_type="gateway_row",
        request=request,
        detail={"filters": filters.used(), "results": qs.count()},
    )
    return qs


@router.get(
    "/queue/{row_id}",
    response={200: QueuedRowDetailOut, 403: ErrorOut, 404: ErrorOut},
    summary="One queued row beside the registry (staff)",
)
def queue_row(request: HttpRequest, row_id: int) -> Any:
    """The declared row beside the registry's record (audited: a READ of the dossier and of each
    registry record compared)."""
    from ansinh.access.services import audit

    row = _queued_row(request, row_id, audit_read=True)
    user = request.auth  # type: ignore[attr-defined]
    shows_registry = user.has_perm("registry.view_person")
    review = _queue_selectors.row_review(row, registry=shows_registry)
    if shows_registry:
        for obj_type, obj in [("person", p) for p in review.persons_read] + (
            [("employer", review.employer)] if review.employer is not None else []
        ):
            audit(
                actor=user,
                action="read",
                object_type=obj_type,
                object_id=str(obj.pk),
                purpose="gateway_row_decision",
                request=request,
                detail={"gateway_row": row.pk, "dossier": row.submission.dossier_id},
            )
    return {
        "row": row,
        "data": row.data or {},
        "fields": [f.__dict__ for f in review.fields],
        "person_on_record": review.person is not None,
        "conflicting_spells": [
            {
                "employer_unit_code": s.employer.unit_code,
                "start": s.start.isoformat(),
                "end": s.end.isoformat() if s.end else None,
            }
            for s in review.spells
            if s.pk in review.conflicting
        ],
    }


@router.post(
    "/queue/{row_id}/decision",
    response={200: DecisionOut, 403: ErrorOut, 404: ErrorOut, 409: ErrorOut, 422: ErrorOut},
    summary="Accept or reject a queued row (staff)",
)
def decide_queued_row(request: HttpRequest, row_id: int, payload: DecisionIn) -> Any:
    """The officer's decision. Errors: ``row_not_found`` 404, ``permission_denied`` /
    ``out_of_scope`` 403, ``row_not_queued`` 409 (already decided), ``decision_invalid`` and
    ``note_required`` 422 (field named); a registry refusal on accepting keeps the row waiting
    and answers with its own code (e.g. ``spell_overlap`` 409). The last decision signs the
    result and closes the one-stop dossier (``result_ready``)."""
    row = _queued_row(request, row_id, audit_read=False)
    if row.status != RowStatus.QUEUED:
        raise DomainError(
            "row_not_queued",
            "status",
            "Dòng này không ở trạng thái chờ cán bộ xử lý.",
            "This row is not waiting for an officer.",
            status=409,
        )
    if payload.decision not in ("accept", "reject"):
        raise DomainError(
            "decision_invalid",
            "decision",
            "Quyết định phải là accept (chấp nhận) hoặc reject (không chấp nhận).",
            "The decision must be accept or reject.",
            status=422,
        )
    note = " ".join(payload.note.split())
    accept = payload.decision == "accept"
    if not accept and not note:
        raise DomainError(
            "note_required",
            "note",
            "Cần ghi lý do không chấp nhận để trả cho đơn vị.",
            "A reason is required to reject a row; the submitter reads it.",
            status=422,
        )
    decided = services.decide_row(row, actor=request.auth, accept=accept, note=note)  # type: ignore[attr-defined]
    sub = Submission.objects.get(pk=decided.submission_id)
    return {
        "id": decided.pk,
        "number": decided.number,
        "status": decided.status,
        "code": decided.error_code,
        "message_vi": decided.message_vi,
        "message_en": decided.message_en,
        "result": decided.result or {},
        "rows_queued": sub.rows_queued,
        "result_ready": bool(sub.result_xml),
    }
