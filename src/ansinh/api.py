"""The JSON API: one NinjaAPI, each app contributes a router mounted under ``/api/v1/``.

Errors always have the shape ``{code, field, message_vi, message_en}`` (plus ``errors`` when
there are several), whatever raised them: a domain rule, request validation, authentication.
"""

from __future__ import annotations

from django.http import HttpRequest, HttpResponse
from ninja import NinjaAPI
from ninja.errors import AuthenticationError, HttpError, ValidationError

from ansinh.access.api import router as access_router
from ansinh.access.auth import ApiKeyOrSession
from ansinh.benefits.api import router as benefits_router
from ansinh.contributions.api import router as contributions_router
from ansinh.core.errors import DomainError
from ansinh.core.parser import StrictTextParser
from ansinh.gateway.api import router as gateway_router
from ansinh.linkage.api import router as linkage_router
from ansinh.nationaldb.api import router as nationaldb_router
from ansinh.onestop.api import router as onestop_router
from ansinh.places.api import router as places_router
from ansinh.registry.api import router as registry_router
from ansinh.unemployment.api import router as unemployment_router

api = NinjaAPI(
    title="ansinh API",
    version="1",
    description=(
        "National social security platform. Authenticate with `Authorization: Bearer <token>` "
        "(tokens are issued to users by an administrator) or a staff session. Every read of a "
        "person's record is authorised by role and administrative scope and audit-logged."
    ),
    urls_namespace="api",
    docs_url="/docs",
    openapi_url="/openapi.json",
    auth=ApiKeyOrSession(),
    parser=StrictTextParser(),
)


@api.exception_handler(DomainError)
def domain_error(request: HttpRequest, exc: DomainError) -> HttpResponse:
    return api.create_response(request, exc.as_dict(), status=exc.status)


@api.exception_handler(ValidationError)
def validation_error(request: HttpRequest, exc: ValidationError) -> HttpResponse:
    errors = []
    for err in exc.errors:
        loc = [str(p) for p in err.get("loc", []) if p not in ("body", "query", "path", "payload")]
        errors.append(
            {
                "code": "invalid_" + str(err.get("type", "value")).replace(".", "_"),
                "field": ".".join(loc) or None,
                "message_vi": "Dữ liệu không hợp lệ: " + str(err.get("msg", "")),
                "message_en": "Invalid input: " + str(err.get("msg", "")),
            }
        )
    body = dict(errors[0]) if errors else {"code": "invalid", "field": None}
    if len(errors) > 1:
        body["errors"] = errors
    return api.create_response(request, body, status=422)


@api.exception_handler(AuthenticationError)
def auth_error(request: HttpRequest, exc: AuthenticationError) -> HttpResponse:
    body = {
        "code": "not_authenticated",
        "field": None,
        "message_vi": "Chưa xác thực: cần mã truy cập (Bearer token) hợp lệ.",
        "message_en": "Not authenticated: a valid bearer token is required.",
    }
    return api.create_response(request, body, status=401)


@api.exception_handler(HttpError)
def http_error(request: HttpRequest, exc: HttpError) -> HttpResponse:
    body = {
        "code": f"http_{exc.status_code}",
        "field": None,
        "message_vi": str(exc),
        "message_en": str(exc),
    }
    return api.create_response(request, body, status=exc.status_code)


api.add_router("/v1/places", places_router)
api.add_router("/v1/access", access_router)
api.add_router("/v1/registry", registry_router)
api.add_router("/v1/contributions", contributions_router)
api.add_router("/v1/benefits", benefits_router)
api.add_router("/v1/onestop", onestop_router)
api.add_router("/v1/gateway", gateway_router)
api.add_router("/v1/nationaldb", nationaldb_router)
api.add_router("/v1/linkage", linkage_router)
api.add_router("/v1/unemployment", unemployment_router)
