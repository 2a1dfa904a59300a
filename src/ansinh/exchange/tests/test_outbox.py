"""The outbox against a real local HTTP server (pytest-django's live server, this deployment
calling itself as a registered peer): a peer that is down keeps the message pending with
exponential back-off; once it is up the same message id is delivered once; a synchronous call
records the pending state instead of losing the message."""

from __future__ import annotations

import datetime as dt
import socket
from pathlib import Path
from typing import Any

import pytest
from django.utils import timezone

from ansinh.exchange import client, keys, outbox, services
from ansinh.exchange.ids import MemberId
from ansinh.exchange.models import LogEntry, Outbox, OutboxState, Peer, Received
from ansinh.exchange.testing import OWN, make_identity


def _dead_url() -> str:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    return f"http://127.0.0.1:{port}"


@pytest.fixture
def self_peer(exchange_keys: Path, transactional_db: None) -> Peer:
    identity = make_identity(exchange_keys)
    peer = services.add_peer(
        MemberId.parse(OWN), base_url=_dead_url(), public_key_pem=identity.public_key_pem
    )
    services.grant(peer, "echo")
    return peer


def test_backoff_doubles_up_to_the_cap(settings: Any) -> None:
    settings.EXCHANGE_OUTBOX_BACKOFF_BASE = 5
    settings.EXCHANGE_OUTBOX_BACKOFF_MAX = 60
    assert [outbox.backoff(n) for n in range(1, 7)] == [5, 10, 20, 40, 60, 60]


def test_a_message_to_a_peer_that_is_down_is_delivered_when_it_returns(
    self_peer: Peer, live_server: Any
) -> None:
    # Sent in a transaction: the task runs after the commit (tasks run at once in tests).
    row = outbox.send(self_peer, "echo", {"claim": "HN-2026-0001"})
    row.refresh_from_db()
    assert row.state == OutboxState.PENDING and row.attempts == 1
    assert row.last_error == "peer_down"
    assert row.next_attempt_at is not None
    delay = (row.next_attempt_at - timezone.now()).total_seconds()
    assert 0 < delay <= outbox.backoff(1)
    # Still down at the next due time: the delay doubles.
    outbox.retry_due(row.next_attempt_at)
    row.refresh_from_db()
    assert row.attempts == 2 and row.state == OutboxState.PENDING
    # The peer comes back.
    Peer.objects.filter(pk=self_peer.pk).update(base_url=live_server.url)
    assert outbox.retry_due(row.next_attempt_at + dt.timedelta(seconds=1)) == 1
    row.refresh_from_db()
    assert row.state == OutboxState.DELIVERED and row.attempts == 3
    assert bytes(row.response_body) == b'{"claim":"HN-2026-0001"}'
    assert Received.objects.filter(message_id=row.message_id).count() == 1
    # Nothing left to do, and a stray second delivery does not send again.
    assert outbox.retry_due(timezone.now() + dt.timedelta(days=1)) == 0
    outbox.deliver(row.pk)
    assert Outbox.objects.get(pk=row.pk).attempts == 3
    outcomes = list(
        LogEntry.objects.filter(message_id=row.message_id, direction="out", kind="request")
        .order_by("id")
        .values_list("outcome", flat=True)
    )
    assert outcomes == ["peer_down", "peer_down", "ok"]


def test_a_synchronous_call_records_the_pending_state(self_peer: Peer, live_server: Any) -> None:
    row, result = outbox.call_now(self_peer, "echo", {"x": 1})
    assert not result.ok and result.outcome == "peer_down" and result.error is not None
    assert result.error.code == "peer_down"
    row.refresh_from_db()
    assert row.state == OutboxState.PENDING
    Peer.objects.filter(pk=self_peer.pk).update(base_url=live_server.url)
    self_peer.refresh_from_db()
    row2, result2 = outbox.call_now(self_peer, "echo", {"x": 2})
    assert result2.ok and result2.json() == {"x": 2}
    assert Outbox.objects.get(pk=row2.pk).state == OutboxState.DELIVERED


def test_a_refusal_by_the_peer_is_final(self_peer: Peer, live_server: Any) -> None:
    Peer.objects.filter(pk=self_peer.pk).update(base_url=live_server.url)
    self_peer.refresh_from_db()
    row, result = outbox.call_now(self_peer, "notGranted", {})
    assert result.status == 404 and result.outcome == "unknown_service" and result.reached
    assert Outbox.objects.get(pk=row.pk).state == OutboxState.REFUSED


def test_an_answer_signed_by_another_key_is_not_trusted(self_peer: Peer, live_server: Any) -> None:
    other = keys.new_key()
    Peer.objects.filter(pk=self_peer.pk).update(
        base_url=live_server.url, public_key_pem=keys.public_pem(other.public_key())
    )
    self_peer.refresh_from_db()
    result = client.call(self_peer, "echo", b"{}")
    assert result.outcome == "bad_signature" and not result.reached
