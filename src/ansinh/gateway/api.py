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
from django.http import HttpRequest, HttpResponse
from ninja import Field, Router, Schema
from ninja.responses import Status

from ansinh.access.models import OrganisationKind
from ansinh.core.errors import DomainError, Forbidden, NotFound
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


def _submitter(request: HttpRequest) -> Any:
    user = request.auth  # type: ignore[attr-defined]
    org = getattr(user, "organisation", None)
    if org is None or org.kind not in (OrganisationKind.IVAN_PROVIDER, OrganisationKind.EMPLOYER):
        raise Forbidden(
            "not_a_submitter",
            None,
            "Chỉ tài khoản của đơn vị sử dụng lao động hoặc tổ chức I-VAN được dùng API này.",
            "Only accounts of employers or I-VAN providers may use this API.",
        )
    return user, org


def _read_body(request: HttpRequest) -> bytes:
    # Read the stream ourselves: request.body would stop at DATA_UPLOAD_MAX_MEMORY_SIZE with a
    # generic error, and the gateway has its own, larger limit and its own error code.
    limit = int(getattr(settings, "GATEWAY_MAX_BYTES", 20 * 1024 * 1024))
    return request.read(limit + 1)


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
)
def submit(request: HttpRequest) -> Any:
    user, org = _submitter(request)
    callback = callbacks.check_url(request.headers.get("X-Callback-Url", ""))
    data = _read_body(request)
    intake = services.submit(data, submitter=org, user=user, callback_url=callback)
    # A new submission comes back with its dossier and signed receipt in memory: no re-read.
    sub = intake.submission
    return Status(200 if intake.replayed else 201, _receipt(sub, intake.replayed))


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
