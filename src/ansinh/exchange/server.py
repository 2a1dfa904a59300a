"""Answering an incoming exchange call (the provider side of X-Road's REST protocol).

Order of checks, each with its own error code: the path names us and a service; the caller
(``X-Road-Client``) is a registered, active peer; the message id (``X-Road-Id``) is present;
the signature verifies with that peer's key over method, target, digest, client and id; the
message is fresh; its nonce is new (else ``replayed_message``); the service exists and is
granted to the caller. A message id seen before answers the stored response when the body is
the same and ``message_id_conflict`` when it is not. The handler, the stored answer and both
log entries commit in one transaction; every answer, errors included, is signed.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import logging
from dataclasses import dataclass, field
from typing import Any

from django.conf import settings
from django.db import IntegrityError, connection
from django.utils import timezone

from ansinh.core.errors import DomainError
from ansinh.exchange import errors, keys, log, registry, selectors, signatures, txn
from ansinh.exchange.ids import MemberId
from ansinh.exchange.models import Direction, Identity, Kind, Nonce, Peer, Received
from ansinh.exchange.registry import ServiceRequest, ServiceResponse

logger = logging.getLogger(__name__)


@dataclass
class Incoming:
    method: str
    target: str  # the absolute URL as the client signed it
    path: str  # after /r1/
    query: str
    headers: dict[str, str]  # lower-case names
    body: bytes


@dataclass
class Answer:
    status: int
    body: bytes
    content_type: str = "application/json"
    headers: dict[str, str] = field(default_factory=dict)
    outcome: str = "ok"
    #: The stored answer's INSERT, written with the log entries.
    store: tuple[str, list[Any]] | None = field(default=None, repr=False)


#: Refusals given before the sender is authenticated: their bodies are logged truncated.
UNVERIFIED = frozenset(
    {
        "service_path_invalid", "unknown_provider", "body_too_large", "client_missing",
        "identifier_invalid", "unknown_peer", "message_id_missing", "signature_missing",
        "bad_signature", "stale_message", "exchange_not_initialised",
    }
)  # fmt: skip


def max_body() -> int:
    return int(getattr(settings, "EXCHANGE_MAX_BODY_BYTES", 10 * 1024 * 1024))


def error_answer(exc: DomainError) -> Answer:
    body = json.dumps(exc.as_dict(), ensure_ascii=False).encode()
    return Answer(exc.status, body, outcome=exc.code, headers={"x-road-error": exc.code})


def _as_answer(value: object) -> Answer:
    if isinstance(value, ServiceResponse):
        return Answer(value.status, value.body, value.content_type)
    return _as_answer(ServiceResponse.of_json(value))


def _parse_path(path: str) -> tuple[MemberId, str, str]:
    parts = path.strip("/").split("/", 5)
    if len(parts) < 5:
        raise errors.bad_path()
    try:
        provider = MemberId.parse("/".join(parts[:4]), "service")
    except DomainError as exc:
        raise errors.bad_path() from exc
    return provider, parts[4], parts[5] if len(parts) > 5 else ""


def _check_message_id(message_id: str) -> str:
    if not message_id or len(message_id) > 100 or not message_id.isprintable():
        raise errors.message_id_missing()
    return message_id


_StoredRow = tuple[str, str, int, str, bytes]


def _stored(row: _StoredRow | None, message_id: str, code: str, body_sha: str) -> Answer | None:
    """The answer kept for this message id, if any; a conflict if it was for another body."""
    if row is None:
        return None
    sha, service, status, content_type, body = row
    if sha != body_sha or service != code:
        raise errors.conflict(message_id)
    answer = Answer(status, bytes(body), content_type, outcome="repeated")
    answer.headers["x-ansinh-repeated"] = "1"
    return answer


def _store(peer: Peer, request: ServiceRequest, body_sha: str, answer: Answer,
           now: dt.datetime) -> None:  # fmt: skip
    """Keep the answer for the message id: the INSERT goes with the log entries (one statement
    on PostgreSQL). A racing twin fails the unique constraint there."""
    answer.store = (
        "INSERT INTO exchange_received (peer_id, message_id, service, body_sha256, status,"
        " content_type, response_body, created_at) VALUES (%s, %s, %s, %s, %s, %s, %s, %s)",
        [
            peer.pk, request.message_id, request.service, body_sha, answer.status,
            answer.content_type, answer.body, connection.ops.adapt_datetimefield_value(now),
        ],
    )  # fmt: skip


_NONCE = (
    "INSERT INTO exchange_nonce (peer_id, nonce, created) VALUES (%s, %s, %s)"
    " ON CONFLICT (peer_id, nonce) DO NOTHING RETURNING id"
)
_RECEIVED = (
    "SELECT body_sha256, service, status, content_type, response_body FROM exchange_received"
    " WHERE peer_id = %s AND message_id = %s"
)


def _claim(peer: Peer, verified: signatures.Verified, message_id: str,
           msgs: txn.Messages) -> tuple[bool, _StoredRow | None]:  # fmt: skip
    """Record the nonce — False if this peer used it before (a replay; a concurrent twin waits
    for the first's commit and inserts nothing) — and read the answer already stored for the
    message id. One statement on PostgreSQL, sent with the BEGIN (``txn``)."""
    params = [peer.pk, verified.nonce[:64],
              connection.ops.adapt_datetimefield_value(verified.created)]  # fmt: skip
    if connection.vendor == "postgresql":
        [[(new, *row)]] = msgs.run(
            [
                (
                    f"WITH n AS ({_NONCE}) SELECT (SELECT count(*) FROM n), r.body_sha256,"  # noqa: S608
                    " r.service, r.status, r.content_type, r.response_body FROM (SELECT 1) AS"
                    " one LEFT JOIN exchange_received r ON r.peer_id = %s AND r.message_id = %s",
                    [*params, peer.pk, message_id],
                )
            ]
        )
        return bool(new), (tuple(row) if row[0] is not None else None)  # type: ignore[return-value]
    with connection.cursor() as cursor:
        cursor.execute(_NONCE, params)
        if cursor.fetchone() is None:
            return False, None
        cursor.execute(_RECEIVED, [peer.pk, message_id])
        return True, cursor.fetchone()


class _HandlerFailed(Exception):
    """The service refused or failed: its work is rolled back with the whole transaction (no
    savepoint: two round trips fewer per message), and the refusal is recorded in a new one."""

    def __init__(self, answer: Answer) -> None:
        super().__init__(answer.outcome)
        self.answer = answer


def _run(peer: Peer, request: ServiceRequest, body_sha: str, now: dt.datetime,
         stored_row: _StoredRow | None, failed: Answer | None) -> Answer:  # fmt: skip
    svc = registry.get(request.service)
    if svc is None:
        raise errors.unknown_service(request.service)
    if request.method not in svc.methods:
        raise errors.method_not_allowed(request.method, request.service)
    if not selectors.is_granted(peer, request.service):
        raise errors.not_granted(str(request.client), request.service)
    stored = _stored(stored_row, request.message_id, request.service, body_sha)
    if stored is not None:
        return stored
    if failed is not None:
        # The handler's outcome in the pass that was rolled back (a copy: signing fills in
        # the headers of the answer it is given).
        answer = Answer(failed.status, failed.body, failed.content_type, dict(failed.headers),
                        failed.outcome)  # fmt: skip
    else:
        try:
            answer = _as_answer(svc.handler(request))
        except DomainError as exc:
            raise _HandlerFailed(error_answer(exc)) from exc
        except Exception as exc:
            # No message content in the log: it may hold personal data.
            logger.exception("exchange service %s failed", request.service)
            raise _HandlerFailed(error_answer(errors.handler_failed())) from exc
    if answer.status < 500:  # a failure may be retried with the same id
        _store(peer, request, body_sha, answer, now)
    return answer


def _finish(
    inc: Incoming,
    answer: Answer,
    *,
    identity: Identity | None,
    client: str,
    message_id: str,
    service_id: str,
    now: dt.datetime,
    msgs: txn.Messages,
) -> Answer:
    """Sign the answer and log request and answer: the last message of the caller's
    transaction, which it commits on PostgreSQL (``txn``)."""
    headers = {
        "content-type": answer.content_type,
        "x-road-client": client,
        "x-road-id": message_id,
        "x-road-service": service_id,
        "x-road-request-hash": signatures.request_hash(inc.headers.get("signature", "")),
        **answer.headers,
    }
    if identity is not None:
        headers = signatures.sign_response(answer.status, headers, answer.body, now=now)
    answer.headers = headers
    request_headers, request_body = inc.headers, inc.body
    limit = int(getattr(settings, "EXCHANGE_LOG_UNVERIFIED_BYTES", 64 * 1024))
    if answer.outcome in UNVERIFIED and len(request_body) > limit:
        # A sender we could not authenticate does not get to fill our disk: keep the start of
        # its body, with the full length and digest.
        note = f"{len(request_body)} {signatures.content_digest(request_body)}"
        request_headers = {**request_headers, "x-ansinh-truncated": note}
        request_body = request_body[:limit]
    records = [
        log.Record(
            direction=Direction.IN,
            kind=Kind.REQUEST,
            message_id=message_id,
            client=client,
            service=service_id,
            outcome=answer.outcome,
            headers=request_headers,
            body=request_body,
            method=inc.method,
            target=inc.target,
            at=now,
        ),
        log.Record(
            direction=Direction.OUT,
            kind=Kind.RESPONSE,
            message_id=message_id,
            client=client,
            service=service_id,
            outcome=answer.outcome,
            headers=headers,
            body=answer.body,
            status=answer.status,
            at=now,
        ),
    ]
    if connection.vendor == "postgresql":
        entries, statements = log.chain_statements(records, also=answer.store)
        log.chained(entries, msgs.run(statements, commit=True)[-1])
    else:
        log.append(records, also=answer.store)
    return answer


def handle(inc: Incoming, *, now: dt.datetime | None = None) -> Answer:
    now = now or timezone.now()
    client = inc.headers.get("x-road-client", "")[:260]
    message_id = inc.headers.get("x-road-id", "")[:100]
    service_id = inc.path.strip("/")[:330]
    identity: Identity | None = None
    failed: Answer | None = None
    retried = reconnected = False
    while True:
        try:
            identity = selectors.own_identity()
            # Checks that write nothing run before the transaction: on SQLite it holds the
            # database's single write lock from its first statement.
            checked = _check(inc, identity, now)
            folded = txn.fold_health_check()
            with txn.atomic_messages(retry_first=folded) as msgs:
                answer = _apply(inc, identity, checked, now, failed, msgs)
                return _finish(
                    inc, answer, identity=identity, client=client, message_id=message_id,
                    service_id=service_id, now=now, msgs=msgs,
                )  # fmt: skip
        except txn.StaleConnection:
            # The kept connection was dead (what the health check would have found): nothing
            # was written; open a new one and start again, once.
            connection.close()
            if reconnected:
                raise
            reconnected = True
        except _HandlerFailed as exc:
            # Everything the service wrote is undone; the next pass records its refusal with
            # the nonce, the stored answer and the log, as one transaction again (the handler
            # is not run twice, so this happens at most once).
            failed = exc.answer
        except IntegrityError:
            # Another worker stored an answer for the same message id meanwhile: the second
            # pass finds it (same body) or reports the conflict.
            if retried:
                raise
            retried = True
        except DomainError as exc:
            with txn.atomic_messages() as msgs:
                return _finish(
                    inc, error_answer(exc), identity=identity, client=client,
                    message_id=message_id, service_id=service_id, now=now, msgs=msgs,
                )  # fmt: skip


@dataclass(frozen=True)
class _Checked:
    peer: Peer
    client: MemberId
    code: str
    rest: str
    message_id: str
    verified: signatures.Verified


def _check(inc: Incoming, identity: Identity, now: dt.datetime) -> _Checked:
    provider, code, rest = _parse_path(inc.path)
    if provider != identity.member_id:
        raise errors.wrong_provider(inc.path.strip("/"))
    if len(inc.body) > max_body():
        raise errors.too_large(max_body())
    client_text = inc.headers.get("x-road-client", "")
    if not client_text:
        raise errors.client_missing()
    client = MemberId.parse(client_text, "X-Road-Client")
    peer = selectors.find_peer(client)
    if peer is None:
        raise errors.unknown_peer(client_text)
    message_id = _check_message_id(inc.headers.get("x-road-id", ""))
    verified = signatures.verify_request(
        inc.method,
        inc.target,
        inc.headers,
        inc.body,
        public=keys.cached_public(peer.public_key_pem),
        key_id=peer.key_id,
        now=now,
    )
    return _Checked(peer, client, code, rest, message_id, verified)


def _apply(inc: Incoming, identity: Identity, c: _Checked, now: dt.datetime,
           failed: Answer | None, msgs: txn.Messages) -> Answer:  # fmt: skip
    peer, code, verified = c.peer, c.code, c.verified
    new, stored_row = _claim(peer, verified, c.message_id, msgs)
    if not new:
        raise errors.replayed()
    if code in registry.META:
        if inc.method != "GET":
            raise errors.method_not_allowed(inc.method, code)
        only = peer if code == "allowedMethods" else None
        return _as_answer(selectors.catalogue(identity, only))
    body_sha = hashlib.sha256(inc.body).hexdigest()
    request = ServiceRequest(
        client=c.client,
        service=code,
        message_id=c.message_id,
        method=inc.method,
        path=c.rest,
        query=inc.query,
        body=inc.body,
        content_type=inc.headers.get("content-type", ""),
    )
    return _run(peer, request, body_sha, now, stored_row, failed)


def prune_nonces(now: dt.datetime | None = None) -> int:
    """Nonces older than the freshness window can go: such a message is refused as stale."""
    now = now or timezone.now()
    horizon = now - dt.timedelta(seconds=signatures.max_age() + signatures.clock_skew() + 60)
    deleted, _ = Nonce.objects.filter(created__lt=horizon).delete()
    return deleted


def prune_received(now: dt.datetime | None = None) -> int:
    days = int(getattr(settings, "EXCHANGE_IDEMPOTENCY_DAYS", 30))
    now = now or timezone.now()
    deleted, _ = Received.objects.filter(created_at__lt=now - dt.timedelta(days=days)).delete()
    return deleted
