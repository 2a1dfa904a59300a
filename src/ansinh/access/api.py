"""/api/v1/access: who am I, the audit log for auditors, my API tokens."""

from __future__ import annotations

import datetime as dt

from django.http import HttpRequest
from django.utils import timezone
from ninja import Field, Query, Router, Schema, Status

from ansinh.access import selectors, services
from ansinh.core.errors import DomainError, Forbidden

router = Router(tags=["access"])


class OrganisationOut(Schema):
    code: str
    name: str
    kind: str


class ScopeOut(Schema):
    nationwide: bool
    units: list[str] = Field(description="Codes of the provinces/communes the organisation serves")
    communes: int | None = Field(description="Number of communes covered; null when nationwide")


class MeOut(Schema):
    username: str
    organisation: OrganisationOut | None
    roles: list[str]
    scope: ScopeOut
    two_factor: bool


@router.get("/me", response=MeOut, summary="The signed-in user, organisation, roles and scope")
def me(request: HttpRequest) -> dict:
    user = request.user
    org = user.organisation
    return {
        "username": user.get_username(),
        "organisation": (
            {"code": org.code, "name": org.name, "kind": org.kind} if org is not None else None
        ),
        "roles": selectors.user_roles(user),
        "scope": selectors.scope_summary(user),
        "two_factor": bool(user.totp_enabled),
    }


class AuditFilters(Schema):
    actor: str = ""
    organisation: str = ""
    action: str = ""
    object_type: str = ""
    object_id: str = ""
    purpose: str = ""
    date_from: dt.date | None = None
    date_to: dt.date | None = None
    page: int = Field(1, ge=1)
    page_size: int = Field(50, ge=1, le=500)


class AuditEventOut(Schema):
    id: int
    at: dt.datetime
    actor: str
    organisation: str | None
    action: str
    object_type: str
    object_id: str
    purpose: str
    channel: str
    ip: str | None


class AuditPage(Schema):
    count: int
    page: int
    page_size: int
    results: list[AuditEventOut]


@router.get(
    "/audit",
    response=AuditPage,
    summary="Audit events, newest first (auditors: access.view_auditevent)",
)
def audit_log(request: HttpRequest, filters: Query[AuditFilters]) -> dict:
    if not request.user.has_perm("access.view_auditevent"):
        raise Forbidden(
            "permission_denied",
            None,
            "Chỉ kiểm toán viên được xem nhật ký truy cập.",
            "Only auditors may read the audit log.",
        )
    params = filters.dict()
    page, size = params.pop("page"), params.pop("page_size")
    qs = selectors.audit_events(**{k: v for k, v in params.items() if v})
    start = (page - 1) * size
    rows = list(qs[start : start + size])
    return {
        "count": qs.count(),
        "page": page,
        "page_size": size,
        "results": [
            {
                "id": e.pk,
                "at": e.at,
                "actor": e.actor_username,
                "organisation": e.organisation.code if e.organisation else None,
                "action": e.action,
                "object_type": e.object_type,
                "object_id": e.object_id,
                "purpose": e.purpose,
                "channel": e.channel,
                "ip": e.ip,
            }
            for e in rows
        ],
    }


class TokenIn(Schema):
    name: str = Field(min_length=1, max_length=100)
    days: int | None = Field(None, ge=1, le=3650, description="Lifetime; none = no expiry")


class TokenOut(Schema):
    token: str = Field(description="Shown once; only a digest is stored")
    prefix: str
    name: str
    expires_at: dt.datetime | None


@router.post("/tokens", response={201: TokenOut}, summary="Issue an API token for myself")
def create_token(request: HttpRequest, payload: TokenIn) -> Status:
    # A token cannot mint tokens: a leaked token must not outlive its own revocation.
    if getattr(request, "auth_channel", None) == "api":
        raise Forbidden(
            "session_required",
            None,
            "Chỉ cấp mã truy cập từ phiên đăng nhập đã xác thực hai lớp.",
            "Tokens can only be issued from a two-factor verified session.",
        )
    expires = timezone.now() + dt.timedelta(days=payload.days) if payload.days else None
    row, token = services.issue_token(
        request.user, payload.name, expires_at=expires, request=request
    )
    return Status(
        201, {"token": token, "prefix": row.prefix, "name": row.name, "expires_at": expires}
    )


@router.delete("/tokens/{prefix}", response={204: None}, summary="Revoke one of my API tokens")
def revoke_token(request: HttpRequest, prefix: str) -> Status:
    if not prefix.strip():
        raise DomainError("required", "prefix", "Thiếu tiền tố mã.", "The prefix is missing.")
    services.revoke_token(request.user, prefix, request=request)
    return Status(204, None)
