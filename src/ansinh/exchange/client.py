"""Calling a peer's service (the consumer side): sign, send, verify the signed answer, log
both. ``call`` is one attempt and never raises for the peer's faults: the ``Result`` says what
happened. Use ``outbox.send`` (queued, retried) or ``outbox.call_now`` (answer now, queued if
the peer is down) rather than this directly, so that nothing is lost.

Transport: ``http.client`` with one kept-alive connection per peer and thread (answers read by
``_Response``, a leaner header split); HTTPS with ``EXCHANGE_TLS_CA_FILE`` to check the peer
and ``EXCHANGE_TLS_CERT_FILE`` / ``EXCHANGE_TLS_KEY_FILE`` as our client certificate (mutual
TLS).
"""

from __future__ import annotations

import datetime as dt
import email.parser
import functools
import http.client
import json
import re
import secrets
import ssl
import threading
import urllib.parse
from dataclasses import dataclass, field
from typing import Any

from django.conf import settings
from django.db import transaction
from django.utils import timezone

from ansinh.core import sqlscript
from ansinh.core.errors import DomainError, ErrorDetail
from ansinh.exchange import errors, keys, log, selectors, signatures
from ansinh.exchange.models import Direction, Kind, Peer

_local = threading.local()


@dataclass
class Result:
    message_id: str
    status: int | None
    body: bytes = b""
    headers: dict[str, str] = field(default_factory=dict)
    outcome: str = "ok"  # ok, or an error code (peer_down, bad_signature, the peer's code…)
    error: ErrorDetail | None = None
    #: The answer carried the peer's valid signature. A signed refusal is verified too: its
    #: ``outcome`` is the peer's code, which may itself be ``bad_signature`` (ours, refused).
    verified: bool = False

    @property
    def ok(self) -> bool:
        return self.status is not None and 200 <= self.status < 300 and self.outcome == "ok"

    @property
    def reached(self) -> bool:
        """The peer answered with a valid signature (whatever it answered)."""
        return self.verified

    def json(self) -> Any:
        return json.loads(self.body) if self.body else None

    def raise_for_error(self) -> Result:
        if not self.ok:
            e = self.error or ErrorDetail(self.outcome, None, self.outcome, self.outcome)
            raise DomainError(e.code, e.field, e.message_vi, e.message_en,
                              status=self.status or 503)  # fmt: skip
        return self


def timeout() -> float:
    return float(getattr(settings, "EXCHANGE_TIMEOUT", 30))


class _Headers:
    """The answer's header fields as ``HTTPResponse`` uses them (``get``, ``get_all``,
    ``items``); names compared without case, the first field of a name wins, as with the
    ``email`` parser's ``HTTPMessage``."""

    __slots__ = ("_first", "_items")

    def __init__(self, items: list[tuple[str, str]]) -> None:
        self._items = items
        self._first: dict[str, str] = {}
        for name, value in items:
            self._first.setdefault(name.lower(), value)

    def get(self, name: str, default: Any = None) -> Any:
        return self._first.get(name.lower(), default)

    def get_all(self, name: str, default: Any = None) -> Any:
        wanted = name.lower()
        return [v for k, v in self._items if k.lower() == wanted] or default

    def items(self) -> list[tuple[str, str]]:
        return list(self._items)


# A field line as the ``email`` parser reads it (a name of visible characters but ":"); any
# other line — a folded continuation, a name it would not take — goes to that parser itself.
_FIELD = re.compile(r"([!-9;-~]+):[ \t]*([^\r\n]*)\r?\n")
_MAX_LINE, _MAX_FIELDS = 65536, 100  # http.client's limits


class _Response(http.client.HTTPResponse):
    """``HTTPResponse`` whose header block is split with one regular expression instead of the
    ``email`` package (``http.client.parse_headers``: about a fifth of a client call's CPU).
    Status line, ``100 Continue``, chunked bodies, lengths and keep-alive are handled as
    ``HTTPResponse.begin`` does; a header block the expression does not take whole is parsed by
    the ``email`` parser exactly as ``http.client`` does (``tests/test_client_http.py`` compares
    both on the same bytes)."""

    def begin(self) -> None:
        if self.headers is not None:
            return
        while True:
            version, status, reason = self._read_status()  # type: ignore[attr-defined]
            if status != http.client.CONTINUE:
                break
            self._read_field_lines()
        self.code = self.status = status
        self.reason = reason.strip()
        if version in ("HTTP/1.0", "HTTP/0.9"):
            self.version = 10
        elif version.startswith("HTTP/1."):
            self.version = 11
        else:
            raise http.client.UnknownProtocol(version)
        self.headers = self.msg = self._parse(self._read_field_lines())  # type: ignore[assignment]
        encoding = self.headers.get("transfer-encoding")
        self.chunked = bool(encoding) and encoding.lower() == "chunked"
        self.chunk_left = None
        self.will_close = self._check_close()  # type: ignore[attr-defined]
        self.length = None
        length = self.headers.get("content-length")
        if length and not self.chunked:
            try:
                self.length = int(length)
            except ValueError:
                self.length = None
            if self.length is not None and self.length < 0:
                self.length = None
        if status in (204, 304) or 100 <= status < 200 or self._method == "HEAD":
            self.length = 0
        if not self.will_close and not self.chunked and self.length is None:
            self.will_close = True

    def _read_field_lines(self) -> list[bytes]:
        lines = []
        while True:
            line = self.fp.readline(_MAX_LINE + 1)
            if len(line) > _MAX_LINE:
                raise http.client.LineTooLong("header line")
            lines.append(line)
            if len(lines) > _MAX_FIELDS:
                raise http.client.HTTPException(f"got more than {_MAX_FIELDS} headers")
            if line in (b"\r\n", b"\n", b""):
                return lines

    @staticmethod
    def _parse(lines: list[bytes]) -> Any:
        items = []
        for line in lines[:-1] if lines[-1] in (b"\r\n", b"\n") else lines:
            m = _FIELD.fullmatch(line.decode("iso-8859-1"))
            if m is None:
                text = b"".join(lines).decode("iso-8859-1")
                return email.parser.Parser(_class=http.client.HTTPMessage).parsestr(text)
            items.append((m[1], m[2]))
        return _Headers(items)


class _HTTPConnection(http.client.HTTPConnection):
    response_class = _Response


class _HTTPSConnection(http.client.HTTPSConnection):
    response_class = _Response


@functools.cache
def _ssl_context(ca: str, cert: str, key: str) -> ssl.SSLContext:
    context = ssl.create_default_context(cafile=ca or None)
    if cert:
        context.load_cert_chain(cert, key or None)
    return context


def _connection(scheme: str, netloc: str) -> tuple[http.client.HTTPConnection, bool]:
    pool: dict[tuple[str, str], http.client.HTTPConnection] = getattr(_local, "pool", None) or {}
    _local.pool = pool
    conn = pool.get((scheme, netloc))
    if conn is not None:
        return conn, True
    if scheme == "https":
        context = _ssl_context(
            getattr(settings, "EXCHANGE_TLS_CA_FILE", ""),
            getattr(settings, "EXCHANGE_TLS_CERT_FILE", ""),
            getattr(settings, "EXCHANGE_TLS_KEY_FILE", ""),
        )
        conn = _HTTPSConnection(netloc, timeout=timeout(), context=context)
    else:
        conn = _HTTPConnection(netloc, timeout=timeout())
    pool[(scheme, netloc)] = conn
    return conn, False


def _drop(scheme: str, netloc: str) -> None:
    pool = getattr(_local, "pool", {})
    conn = pool.pop((scheme, netloc), None)
    if conn is not None:
        conn.close()


def close_connections() -> None:
    for key in list(getattr(_local, "pool", {})):
        _drop(*key)


def new_message_id() -> str:
    return secrets.token_hex(16)


def service_url(peer: Peer, service: str, path: str = "") -> str:
    url = f"{peer.base_url.rstrip('/')}/r1/{peer.member_id}/{service}"
    return url + ("/" + path.lstrip("/") if path else "")


def call(
    peer: Peer,
    service: str,
    body: bytes = b"",
    *,
    message_id: str | None = None,
    method: str = "POST",
    path: str = "",
    content_type: str = "application/json",
    now: dt.datetime | None = None,
) -> Result:
    """One signed attempt. Logs the request and the answer (or the failure) in our log."""
    identity = selectors.own_identity()
    message_id = message_id or new_message_id()
    url = service_url(peer, service, path)
    parts = urllib.parse.urlsplit(url)
    target = parts.path + (f"?{parts.query}" if parts.query else "")
    base_headers = {
        "content-type": content_type,
        "x-road-client": str(identity.member_id),
        "x-road-id": message_id,
    }
    service_id = f"{peer.member_id}/{service}"
    status: int | None = None
    answer_body = b""
    answer_headers: dict[str, str] = {}
    failure = ""
    signed: dict[str, str] = {}
    for attempt in range(2):
        signed = signatures.sign_request(method, url, base_headers, body, now=now)
        conn, reused = _connection(parts.scheme, parts.netloc)
        try:
            conn.request(method, target, body=body, headers=signed)
            response = conn.getresponse()
            answer_body = response.read()
            status = response.status
            answer_headers = {k.lower(): v for k, v in response.getheaders()}
            if response.will_close:
                _drop(parts.scheme, parts.netloc)
            break
        except (http.client.HTTPException, OSError) as exc:
            _drop(parts.scheme, parts.netloc)
            # A kept-alive connection the server had closed: sign afresh and send once more
            # (same message id, so the peer answers it once whatever happened).
            if (
                reused
                and attempt == 0
                and isinstance(
                    exc, http.client.RemoteDisconnected | ConnectionResetError | BrokenPipeError
                )
            ):
                continue
            failure = f"{type(exc).__name__}: {exc}"[:200]
            break
    result = Result(message_id, status, answer_body, answer_headers)
    if status is None:
        result.outcome = "peer_down"
        result.error = errors.peer_down(failure).first
    else:
        try:
            signatures.verify_response(
                status,
                answer_headers,
                answer_body,
                public=keys.cached_public(peer.public_key_pem),
                key_id=peer.key_id,
                request_signature=signed.get("signature", ""),
                now=now,
            )
            if answer_headers.get("x-road-id") != message_id:
                raise signatures.bad_signature("the response carries another message id")
        except DomainError as exc:
            result.outcome = exc.code
            result.error = exc.first
        else:
            result.verified = True
            if not 200 <= status < 300:
                result.outcome = answer_headers.get("x-road-error", "") or f"http_{status}"
                try:
                    data = json.loads(answer_body)
                    result.error = ErrorDetail(
                        data.get("code", result.outcome), data.get("field"),
                        data.get("message_vi", ""), data.get("message_en", ""),
                    )  # fmt: skip
                except (ValueError, AttributeError):
                    result.error = ErrorDetail(result.outcome, None, "", "")
    at = now or timezone.now()
    records = [
        log.Record(
            direction=Direction.OUT, kind=Kind.REQUEST, message_id=message_id,
            client=base_headers["x-road-client"], service=service_id, outcome=result.outcome,
            headers=signed, body=body, method=method, target=url, at=at,
        )
    ]  # fmt: skip
    if status is not None:
        records.append(
            log.Record(
                direction=Direction.IN,
                kind=Kind.RESPONSE,
                message_id=message_id,
                client=base_headers["x-road-client"],
                service=service_id,
                outcome=result.outcome,
                headers=answer_headers,
                body=answer_body,
                status=status,
                at=at,
            )
        )
    if sqlscript.combines():
        log.append(records)  # PostgreSQL: BEGIN, the append and COMMIT in one message
    else:
        with transaction.atomic():
            log.append(records)
    return result


def catalogue(peer: Peer, *, allowed: bool = True) -> Result:
    """The peer's services we may call (``allowedMethods``) or all of them (``listMethods``)."""
    return call(peer, "allowedMethods" if allowed else "listMethods", b"", method="GET")
