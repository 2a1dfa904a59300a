"""Calling a peer's service (the consumer side): sign, send, verify the signed answer, log
both. ``call`` is one attempt and never raises for the peer's faults: the ``Result`` says what
happened. Use ``outbox.send`` (queued, retried) or ``outbox.call_now`` (answer now, queued if
the peer is down) rather than this directly, so that nothing is lost.

Transport: ``http.client`` with one kept-alive connection per peer and thread; HTTPS with
``EXCHANGE_TLS_CA_FILE`` to check the peer and ``EXCHANGE_TLS_CERT_FILE`` /
``EXCHANGE_TLS_KEY_FILE`` as our client certificate (mutual TLS).
"""

from __future__ import annotations

import datetime as dt
import functools
import http.client
import json
import secrets
import ssl
import threading
import urllib.parse
from dataclasses import dataclass, field
from typing import Any

from django.conf import settings
from django.db import transaction
from django.utils import timezone

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
        conn = http.client.HTTPSConnection(netloc, timeout=timeout(), context=context)
    else:
        conn = http.client.HTTPConnection(netloc, timeout=timeout())
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
    with transaction.atomic():
        log.append(records)
    return result


def catalogue(peer: Peer, *, allowed: bool = True) -> Result:
    """The peer's services we may call (``allowedMethods``) or all of them (``listMethods``)."""
    return call(peer, "allowedMethods" if allowed else "listMethods", b"", method="GET")
