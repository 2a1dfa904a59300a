"""Lean request paths for machine-to-machine endpoints.

The exchange's ``/r1/`` services and the gateway's dossier intake are called by software, many
times a second, with their own authentication (a signed message, a bearer token). Django's
middleware stack — sessions, CSRF, locale, messages, two-factor — does nothing for them yet
costs a few milliseconds per call, which is a large share of their budget. A route listed in
``settings.FAST_PATHS`` is answered by a plain function over the WSGI environ instead; every
other request, and any fast request its handler declines (returns ``None``), goes to Django
unchanged.

What Django would have done and still matters here is done here: the Host header is checked
against ``ALLOWED_HOSTS``, the body is capped, Django's request signals are sent (the
query log reset, old database connections recycled), the answers carry the security headers of
``SecurityMiddleware``/``XFrameOptionsMiddleware``, and an unexpected error becomes a JSON 500
without personal data in the log."""

from __future__ import annotations

import io
import json
import logging
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from importlib import import_module
from typing import Any

from django import db
from django.conf import settings
from django.core import signals
from django.http.request import split_domain_port, validate_host

logger = logging.getLogger(__name__)

# The body limit when a route names none: the gateway's own cap on a dossier is lower.
DEFAULT_MAX_BODY = 64 * 1024 * 1024


@dataclass(slots=True)
class FastRequest:
    """What a lean handler sees: headers by lower-case name, the whole body read."""

    method: str
    path: str
    query: str
    headers: dict[str, str]
    body: bytes
    scheme: str
    host: str
    remote_addr: str
    environ: dict[str, Any] = field(repr=False)

    def url(self) -> str:
        """The absolute URL as it arrived (``build_absolute_uri`` of Django)."""
        query = f"?{self.query}" if self.query else ""
        return f"{self.scheme}://{self.host}{self.path}{query}"


@dataclass(slots=True)
class FastResponse:
    status: int
    body: bytes = b""
    headers: dict[str, str] = field(default_factory=dict)

    @classmethod
    def json(cls, status: int, data: Any, headers: dict[str, str] | None = None) -> FastResponse:
        body = json.dumps(data, ensure_ascii=False, separators=(",", ":")).encode()
        return cls(status, body, {"Content-Type": "application/json", **(headers or {})})


Handler = Callable[[FastRequest], "FastResponse | None"]

_REASONS = {
    200: "OK",
    201: "Created",
    202: "Accepted",
    204: "No Content",
    400: "Bad Request",
    401: "Unauthorized",
    403: "Forbidden",
    404: "Not Found",
    405: "Method Not Allowed",
    409: "Conflict",
    413: "Content Too Large",
    415: "Unsupported Media Type",
    422: "Unprocessable Content",
    429: "Too Many Requests",
    500: "Internal Server Error",
    502: "Bad Gateway",
    503: "Service Unavailable",
    504: "Gateway Timeout",
}


@dataclass(frozen=True, slots=True)
class Route:
    """``method`` ("*" for any), ``prefix`` of the path, ``handler`` as a dotted path."""

    method: str
    prefix: str
    handler: str
    max_body: int = DEFAULT_MAX_BODY


def _error(status: int, code: str, vi: str, en: str) -> FastResponse:
    return FastResponse.json(
        status, {"code": code, "field": None, "message_vi": vi, "message_en": en}
    )


def _header_items(environ: dict[str, Any]) -> dict[str, str]:
    headers: dict[str, str] = {}
    for key, value in environ.items():
        if key.startswith("HTTP_"):
            headers[key[5:].replace("_", "-").lower()] = value
    if environ.get("CONTENT_TYPE"):
        headers["content-type"] = environ["CONTENT_TYPE"]
    if environ.get("CONTENT_LENGTH"):
        headers["content-length"] = environ["CONTENT_LENGTH"]
    return headers


def _security_headers(response: FastResponse) -> list[tuple[str, str]]:
    out = list(response.headers.items())
    present = {name.lower() for name, _ in out}
    defaults = [
        ("Content-Length", str(len(response.body))),
        ("X-Content-Type-Options", "nosniff"),
        ("X-Frame-Options", "DENY"),
        ("Referrer-Policy", getattr(settings, "SECURE_REFERRER_POLICY", None) or "same-origin"),
    ]
    out.extend((name, value) for name, value in defaults if name.lower() not in present)
    return out


class FastPathDispatcher:
    """WSGI application in front of Django's: a listed route goes to its lean handler."""

    def __init__(self, django_app: Callable[..., Iterable[bytes]]) -> None:
        self.django_app = django_app
        self._routes: list[tuple[Route, Handler]] | None = None

    def routes(self) -> list[tuple[Route, Handler]]:
        if self._routes is None:
            loaded = []
            for entry in getattr(settings, "FAST_PATHS", ()):
                route = entry if isinstance(entry, Route) else Route(*entry)
                module, _, name = route.handler.rpartition(".")
                loaded.append((route, getattr(import_module(module), name)))
            self._routes = loaded
        return self._routes

    def match(self, method: str, path: str) -> tuple[Route, Handler] | None:
        for route, handler in self.routes():
            if path.startswith(route.prefix) and route.method in ("*", method):
                return route, handler
        return None

    def __call__(
        self, environ: dict[str, Any], start_response: Callable[..., Any]
    ) -> Iterable[bytes]:
        method = environ.get("REQUEST_METHOD", "GET").upper()
        path = environ.get("PATH_INFO", "") or "/"
        found = self.match(method, path)
        if found is None or not self._eligible(environ):
            return self.django_app(environ, start_response)
        route, handler = found
        response = self._answer(environ, method, path, route, handler)
        if response is None:
            return self.django_app(environ, start_response)
        reason = _REASONS.get(response.status, "")
        start_response(f"{response.status} {reason}".rstrip(), _security_headers(response))
        return [response.body]

    @staticmethod
    def _eligible(environ: dict[str, Any]) -> bool:
        # An http:// request that Django would redirect to https:// is left to Django.
        return not (
            getattr(settings, "SECURE_SSL_REDIRECT", False)
            and environ.get("wsgi.url_scheme") != "https"
            and not _proxied_https(environ)
        )

    def _answer(
        self,
        environ: dict[str, Any],
        method: str,
        path: str,
        route: Route,
        handler: Handler,
    ) -> FastResponse | None:
        host = environ.get("HTTP_HOST") or environ.get("SERVER_NAME", "")
        domain, _port = split_domain_port(host)
        allowed = settings.ALLOWED_HOSTS
        if settings.DEBUG and not allowed:
            allowed = [".localhost", "127.0.0.1", "[::1]"]
        if not domain or not validate_host(domain, allowed):
            return _error(400, "bad_host", "Tên máy chủ không hợp lệ.", "Invalid Host header.")
        try:
            length = int(environ.get("CONTENT_LENGTH") or 0)
        except ValueError:
            length = -1
        if length < 0:
            return _error(
                400, "bad_length", "Content-Length không hợp lệ.", "Invalid Content-Length."
            )
        if length > route.max_body:
            return _error(
                413,
                "body_too_large",
                f"Nội dung vượt quá {route.max_body} byte.",
                f"The body exceeds {route.max_body} bytes.",
            )
        body = environ["wsgi.input"].read(length) if length else b""
        # Handed back to Django untouched if the handler declines.
        environ["wsgi.input"] = io.BytesIO(body)
        scheme = "https" if _proxied_https(environ) else environ.get("wsgi.url_scheme", "http")
        request = FastRequest(
            method=method,
            path=path,
            query=environ.get("QUERY_STRING", ""),
            headers=_header_items(environ),
            body=body,
            scheme=scheme,
            host=host,
            remote_addr=environ.get("REMOTE_ADDR", ""),
            environ=environ,
        )
        # Django's request signals, not their receivers called directly: they reset the query
        # log and recycle old connections, and a test holding its transaction on the
        # connection disconnects them, as it does for Django's own handler.
        signals.request_started.send(sender=self.__class__, environ=environ)
        try:
            return handler(request)
        except Exception:
            # The traceback names code, not data: handlers keep personal data out of messages.
            logger.exception("fast path %s %s failed", method, route.prefix)
            for conn in db.connections.all(initialized_only=True):
                if conn.in_atomic_block:
                    conn.close()
            return _error(
                500,
                "internal_error",
                "Lỗi hệ thống, xin thử lại sau.",
                "Internal error, please try again later.",
            )
        finally:
            signals.request_finished.send(sender=self.__class__)


def _proxied_https(environ: dict[str, Any]) -> bool:
    header = getattr(settings, "SECURE_PROXY_SSL_HEADER", None)
    if not header:
        return False
    name, value = header
    return environ.get(name) == value


def wsgi_call(
    app: Callable[..., Iterable[bytes]],
    method: str,
    path: str,
    *,
    body: bytes = b"",
    headers: dict[str, str] | None = None,
    query: str = "",
    host: str = "testserver",
) -> tuple[int, dict[str, str], bytes]:
    """Calls a WSGI application the way a server would — for tests of the lean paths, which
    Django's test client (it skips ``wsgi.py``) never reaches."""
    environ: dict[str, Any] = {
        "REQUEST_METHOD": method,
        "PATH_INFO": path,
        "QUERY_STRING": query,
        "SERVER_NAME": host,
        "SERVER_PORT": "80",
        "HTTP_HOST": host,
        "REMOTE_ADDR": "127.0.0.1",
        "SERVER_PROTOCOL": "HTTP/1.1",
        "wsgi.url_scheme": "http",
        "wsgi.input": io.BytesIO(body),
        "wsgi.errors": io.StringIO(),
        "wsgi.version": (1, 0),
        "wsgi.multithread": False,
        "wsgi.multiprocess": True,
        "wsgi.run_once": False,
        "CONTENT_LENGTH": str(len(body)) if body else "",
    }
    for name, value in (headers or {}).items():
        key = name.upper().replace("-", "_")
        if key in ("CONTENT_TYPE", "CONTENT_LENGTH"):
            environ[key] = value
        else:
            environ[f"HTTP_{key}"] = value
    captured: dict[str, Any] = {}

    def start_response(status: str, response_headers: list[tuple[str, str]], *_: Any) -> None:
        captured["status"] = int(status.split()[0])
        captured["headers"] = {name: value for name, value in response_headers}

    chunks = app(environ, start_response)
    try:
        data = b"".join(chunks)
    finally:
        close = getattr(chunks, "close", None)
        if close is not None:
            close()
    return captured["status"], captured["headers"], data
