"""``/r1/`` without Django's middleware (``ansinh.core.fastpath``): the exchange authenticates
every call by its signature, so sessions, CSRF, authentication, two-factor, locale and messages
only cost time here (a few milliseconds a call, a third of the provider's CPU). This handler
builds the same ``server.Incoming`` as ``views.r1`` — the same headers, the same signed target
(``EXCHANGE_PUBLIC_URL`` or the URL as it arrived) — and answers with ``server.handle``'s
signed answer. Requests whose URL Django would build differently (a script prefix, a forwarded
host) are left to the view."""

from __future__ import annotations

from django.conf import settings
from django.utils.encoding import escape_uri_path, iri_to_uri, repercent_broken_unicode

from ansinh.core.fastpath import FastRequest, FastResponse
from ansinh.exchange import server
from ansinh.exchange.views import READ_HEADERS

PREFIX = "/r1/"


def _scheme(request: FastRequest) -> str:
    """``HttpRequest.scheme``, including its reading of ``SECURE_PROXY_SSL_HEADER``."""
    header = getattr(settings, "SECURE_PROXY_SSL_HEADER", None)
    if header:
        name, secure = header
        value = request.environ.get(name)
        if value is not None:
            return "https" if value.split(",", 1)[0].strip() == secure else "http"
    return request.environ.get("wsgi.url_scheme", "http")


def _full_path(request: FastRequest) -> str:
    """``HttpRequest.get_full_path()``: the path as Django decodes and re-escapes it."""
    path = repercent_broken_unicode(request.path.encode("latin-1")).decode()
    query = request.query
    return escape_uri_path(path) + (f"?{iri_to_uri(query)}" if query else "")


def incoming(request: FastRequest) -> server.Incoming | None:
    """The call as ``views.r1`` sees it, or None where only Django can tell."""
    environ = request.environ
    if (
        environ.get("SCRIPT_NAME")
        or getattr(settings, "FORCE_SCRIPT_NAME", None)
        or getattr(settings, "USE_X_FORWARDED_HOST", False)
        or not request.headers.get("host")
    ):
        return None
    raw = repercent_broken_unicode(request.path.encode("latin-1")).decode()
    path = raw[len(PREFIX) :]
    if not raw.startswith(PREFIX) or not path or "\n" in path:
        return None  # Django's URL resolver answers (404)
    full = _full_path(request)
    base = getattr(settings, "EXCHANGE_PUBLIC_URL", "")
    if base:
        target = base.rstrip("/") + full
    elif "/./" in full or "/../" in full:
        return None  # build_absolute_uri would normalise the path
    else:
        target = iri_to_uri(f"{_scheme(request)}://{request.host}{full}")
    headers = {name: request.headers[name] for name in READ_HEADERS if name in request.headers}
    return server.Incoming(
        method=request.method,
        target=target,
        path=path,
        query=request.query,
        headers=headers,
        body=request.body,
    )


def r1(request: FastRequest) -> FastResponse | None:
    inc = incoming(request)
    if inc is None:
        return None
    answer = server.handle(inc)
    return FastResponse(answer.status, answer.body, dict(answer.headers))
