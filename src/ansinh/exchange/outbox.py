"""Outgoing messages that must not be lost (hộp thư đi).

``send`` writes the message to the outbox inside the caller's transaction — if the caller's
work rolls back, nothing is sent; if it commits, the message goes out — and a task delivers it
after the commit. ``call_now`` is for callers that need the answer at once: it writes the row,
tries once and returns the result; if the peer is down the row stays ``pending`` and the
periodic retry delivers it later. Every attempt carries the same message id, so the peer
applies it once whatever the number of attempts (its idempotency store answers repeats).

Back-off: after attempt n the next is ``EXCHANGE_OUTBOX_BACKOFF_BASE · 2^(n−1)`` seconds
later, at most ``EXCHANGE_OUTBOX_BACKOFF_MAX``; ``EXCHANGE_OUTBOX_MAX_ATTEMPTS`` (0 = never)
gives up. A signed refusal by the peer (4xx: not granted, conflict…) is final: ``refused``.
"""

from __future__ import annotations

import datetime as dt
import json
from typing import Any

from django.conf import settings
from django.db import transaction
from django.utils import timezone

from ansinh.exchange import client, errors
from ansinh.exchange.client import Result
from ansinh.exchange.models import Outbox, OutboxState, Peer

#: A claimed row is not picked again by another worker for this long.
LEASE_SECONDS = 120


def _bytes(body: Any) -> bytes:
    if isinstance(body, bytes):
        return body
    return json.dumps(body, ensure_ascii=False, separators=(",", ":"), default=str).encode()


def backoff(attempts: int) -> float:
    base = float(getattr(settings, "EXCHANGE_OUTBOX_BACKOFF_BASE", 5))
    cap = float(getattr(settings, "EXCHANGE_OUTBOX_BACKOFF_MAX", 3600))
    return min(cap, base * 2 ** max(0, attempts - 1))


def _create(
    peer: Peer,
    service: str,
    body: Any,
    message_id: str | None,
    method: str,
    content_type: str,
    now: dt.datetime,
) -> Outbox:
    """A new row, or the existing one for a message id given again with the same content (a
    caller retrying its own step); the same id with other content is a conflict."""
    data = _bytes(body)
    if message_id:
        existing = Outbox.objects.filter(message_id=message_id).select_related("peer").first()
        if existing is not None:
            same = (existing.peer_id, existing.service, existing.method, bytes(existing.body))
            if same != (peer.pk, service, method.upper(), data):
                raise errors.conflict(message_id)
            return existing
    return Outbox.objects.create(
        message_id=message_id or client.new_message_id(),
        peer=peer,
        service=service,
        method=method.upper(),
        body=data,
        content_type=content_type,
        # Delivered at once by the task (or the caller); the periodic retry takes it only if
        # that attempt never happened.
        next_attempt_at=now + dt.timedelta(seconds=LEASE_SECONDS),
        created_at=now,
    )


def send(
    peer: Peer,
    service: str,
    body: Any,
    *,
    message_id: str | None = None,
    method: str = "POST",
    content_type: str = "application/json",
    now: dt.datetime | None = None,
) -> Outbox:
    """Queue a message; it is delivered after the caller's transaction commits."""
    row = _create(peer, service, body, message_id, method, content_type, now or timezone.now())

    def schedule() -> None:
        from ansinh.exchange import tasks

        tasks.deliver_outbox.enqueue(row.pk)

    transaction.on_commit(schedule)
    return row


def call_now(
    peer: Peer,
    service: str,
    body: Any,
    *,
    message_id: str | None = None,
    method: str = "POST",
    content_type: str = "application/json",
    now: dt.datetime | None = None,
) -> tuple[Outbox, Result]:
    """Record the message, try it at once and return the row and the result. The HTTP call
    runs in the caller's transaction if there is one: keep that transaction short."""
    row = _create(peer, service, body, message_id, method, content_type, now or timezone.now())
    return row, attempt(row, now=now)


def attempt(row: Outbox, *, now: dt.datetime | None = None) -> Result:
    result = client.call(
        row.peer,
        row.service,
        bytes(row.body),
        message_id=row.message_id,
        method=row.method,
        content_type=row.content_type,
        now=now,
    )
    now = now or timezone.now()
    row.attempts += 1
    row.response_status = result.status
    row.last_error = "" if result.ok else (result.outcome or "")[:300]
    if result.ok:
        row.state = OutboxState.DELIVERED
        row.delivered_at = now
        row.next_attempt_at = None
        row.response_body = result.body
    elif result.reached and result.status is not None and 400 <= result.status < 500:
        row.state = OutboxState.REFUSED
        row.next_attempt_at = None
        row.response_body = result.body
    else:
        limit = int(getattr(settings, "EXCHANGE_OUTBOX_MAX_ATTEMPTS", 0))
        if limit and row.attempts >= limit:
            row.state = OutboxState.GIVEN_UP
            row.next_attempt_at = None
        else:
            row.next_attempt_at = now + dt.timedelta(seconds=backoff(row.attempts))
    row.save(
        update_fields=[
            "attempts", "response_status", "last_error", "state", "delivered_at",
            "next_attempt_at", "response_body",
        ]
    )  # fmt: skip
    return result


def deliver(outbox_id: int, *, now: dt.datetime | None = None) -> Outbox:
    """One attempt at a pending row (from the task queue or the periodic retry)."""
    row = Outbox.objects.select_related("peer").get(pk=outbox_id)
    if row.state == OutboxState.PENDING:
        attempt(row, now=now)
    return row


def _claim(row_id: int, due: dt.datetime | None, now: dt.datetime) -> bool:
    """Take a row for this worker (a conditional update, so two workers never both do)."""
    lease = now + dt.timedelta(seconds=LEASE_SECONDS)
    return bool(
        Outbox.objects.filter(pk=row_id, state=OutboxState.PENDING, next_attempt_at=due).update(
            next_attempt_at=lease
        )
    )


def retry_due(now: dt.datetime | None = None, *, limit: int = 500) -> int:
    """Deliver every pending row whose next attempt is due; returns how many were tried."""
    now = now or timezone.now()
    due = list(
        Outbox.objects.filter(state=OutboxState.PENDING, next_attempt_at__lte=now)
        .order_by("next_attempt_at")
        .values_list("pk", "next_attempt_at")[:limit]
    )
    tried = 0
    for pk, at in due:
        if _claim(pk, at, now):
            deliver(pk, now=now)
            tried += 1
    return tried
