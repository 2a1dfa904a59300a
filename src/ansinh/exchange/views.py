"""The HTTP face of the exchange layer: ``/r1/{instance}/{class}/{member}/{subsystem}/{service}``
as in X-Road's REST protocol. Thin: reads the request, hands it to ``server.handle``."""

from __future__ import annotations

from django.conf import settings
from django.http import HttpRequest, HttpResponse
from django.views.decorators.csrf import csrf_exempt

from ansinh.exchange import server

# Headers a signature may cover or the log keeps; the others are not passed on.
READ_HEADERS = (
    "content-type",
    "content-digest",
    "signature",
    "signature-input",
    "x-road-client",
    "x-road-id",
)


def _target(request: HttpRequest) -> str:
    """The URL the client signed: our public base URL when configured (behind a proxy or a
    security server), else as the request arrived."""
    base = getattr(settings, "EXCHANGE_PUBLIC_URL", "")
    if base:
        return base.rstrip("/") + request.get_full_path()
    return request.build_absolute_uri(request.get_full_path())


@csrf_exempt
def r1(request: HttpRequest, path: str) -> HttpResponse:
    headers = {name: request.headers[name] for name in READ_HEADERS if name in request.headers}
    incoming = server.Incoming(
        method=request.method or "GET",
        target=_target(request),
        path=path,
        query=request.META.get("QUERY_STRING", ""),
        headers=headers,
        body=request.body,
    )
    answer = server.handle(incoming)
    response = HttpResponse(answer.body, status=answer.status)
    for name, value in answer.headers.items():
        response[name] = value
    return response
