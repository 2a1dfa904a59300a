"""The provider side over HTTP (Django's test client): identity, grants (deny by default),
replay, idempotent message ids, the catalogue and signed errors — each refusal with its code."""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Iterator
from typing import Any

import pytest
from django.test import Client

from ansinh.exchange import keys, registry, services, signatures
from ansinh.exchange.models import Identity, LogEntry, Received
from ansinh.exchange.registry import ServiceRequest
from ansinh.exchange.testing import FakePeer, make_peer, send, signed_headers

pytestmark = pytest.mark.django_db
BASE = "http://testserver/r1/VN/GOV/BHXH/benefits"
CALLS: list[str] = []


@pytest.fixture
def counted() -> Iterator[str]:
    def handler(request: ServiceRequest) -> dict[str, Any]:
        CALLS.append(request.message_id)
        return {"seen": request.json(), "client": str(request.client), "n": len(CALLS)}

    CALLS.clear()
    registry.service("testCounted", handler)
    yield "testCounted"
    registry.unregister("testCounted")


def _call(client: Client, caller: FakePeer, service: str, body: bytes = b"{}", **kw: Any) -> Any:
    url = f"{BASE}/{service}"
    method = kw.pop("method", "POST")
    headers = signed_headers(caller, url, body, method=method, **kw)
    return send(client, url, body, headers, method=method), headers


def _check_signed(response: Any, identity: Identity, request_headers: dict[str, str]) -> None:
    public = keys.load_public(identity.public_key_pem)[0]
    signatures.verify_response(
        response.status_code,
        {k.lower(): v for k, v in response.headers.items()},
        response.content,
        public=public,
        key_id=identity.key_id,
        request_signature=request_headers["signature"],
    )


def test_a_granted_call_is_answered_signed_and_logged(client: Client, identity: Identity) -> None:
    caller = make_peer(grants=("echo",))
    response, sent = _call(client, caller, "echo", b'{"hello":"xin ch\xc3\xa0o"}')
    assert response.status_code == 200, response.content
    assert response.content == b'{"hello":"xin ch\xc3\xa0o"}'
    assert response["X-Road-Id"] == "msg-1" and response["X-Road-Client"] == caller.member
    _check_signed(response, identity, sent)
    entries = list(LogEntry.objects.order_by("id"))
    assert [(e.direction, e.kind, e.outcome) for e in entries] == [
        ("in", "request", "ok"),
        ("out", "response", "ok"),
    ]
    assert json.loads(entries[0].headers)["signature"] == sent["signature"]


def test_services_are_denied_until_granted(client: Client, identity: Identity,
                                           counted: str) -> None:  # fmt: skip
    caller = make_peer()
    response, sent = _call(client, caller, counted)
    assert response.status_code == 403 and response.json()["code"] == "service_not_granted"
    assert response["X-Road-Error"] == "service_not_granted"
    _check_signed(response, identity, sent)  # refusals are signed evidence too
    services.grant(caller.peer, counted)
    response, _ = _call(client, caller, counted, message_id="msg-2")
    assert response.status_code == 200 and CALLS == ["msg-2"]


def test_unknown_peers_and_services_and_providers(client: Client, identity: Identity) -> None:
    stranger = FakePeer(make_peer("VN/GOV/X/y").peer, keys.new_key())
    stranger.peer.instance = "XX"  # not registered under this id
    response, _ = _call(client, stranger, "echo")
    assert response.status_code == 403 and response.json()["code"] == "unknown_peer"
    caller = make_peer(grants=("echo",))
    response, _ = _call(client, caller, "noSuchService")
    assert response.status_code == 404 and response.json()["code"] == "unknown_service"
    url = "http://testserver/r1/VN/GOV/OTHER/benefits/echo"
    answer = send(client, url, b"{}", signed_headers(caller, url, b"{}"))
    assert answer.status_code == 404 and answer.json()["code"] == "unknown_provider"


def test_a_peer_with_a_key_we_do_not_know_is_refused(client: Client, identity: Identity) -> None:
    caller = make_peer(grants=("echo",))
    impostor = FakePeer(caller.peer, keys.new_key())
    response, _ = _call(client, impostor, "echo")
    assert response.status_code == 401 and response.json()["code"] == "bad_signature"
    assert LogEntry.objects.filter(outcome="bad_signature").count() == 2


def test_a_tampered_body_in_transit_is_refused(client: Client, identity: Identity) -> None:
    caller = make_peer(grants=("echo",))
    url = f"{BASE}/echo"
    headers = signed_headers(caller, url, b'{"amount":100}')
    response = send(client, url, b'{"amount":900}', headers)
    assert response.status_code == 401 and response.json()["code"] == "bad_signature"


def test_a_replayed_signed_message_is_refused(client: Client, identity: Identity) -> None:
    caller = make_peer(grants=("echo",))
    url = f"{BASE}/echo"
    headers = signed_headers(caller, url, b"{}")
    assert send(client, url, b"{}", headers).status_code == 200
    again = send(client, url, b"{}", headers)
    assert again.status_code == 401 and again.json()["code"] == "replayed_message"


def test_a_stale_message_is_refused(client: Client, identity: Identity) -> None:
    caller = make_peer(grants=("echo",))
    old = dt.datetime.now(dt.UTC) - dt.timedelta(seconds=signatures.max_age() + 60)
    response, _ = _call(client, caller, "echo", now=old)
    assert response.status_code == 401 and response.json()["code"] == "stale_message"


def test_a_message_id_is_applied_once(client: Client, identity: Identity, counted: str) -> None:
    caller = make_peer(grants=(counted,))
    first, _ = _call(client, caller, counted, b'{"a":1}', message_id="claim-7")
    second, sent = _call(client, caller, counted, b'{"a":1}', message_id="claim-7")
    assert first.status_code == second.status_code == 200
    assert first.content == second.content and CALLS == ["claim-7"]
    assert second["X-Ansinh-Repeated"] == "1"
    _check_signed(second, identity, sent)
    conflict, _ = _call(client, caller, counted, b'{"a":2}', message_id="claim-7")
    assert conflict.status_code == 409 and conflict.json()["code"] == "message_id_conflict"
    assert CALLS == ["claim-7"] and Received.objects.count() == 1


def test_the_message_id_header_is_mandatory(client: Client, identity: Identity) -> None:
    caller = make_peer(grants=("echo",))
    response, _ = _call(client, caller, "echo", message_id="")
    assert response.status_code == 400 and response.json()["code"] == "message_id_missing"


def test_the_catalogue_lists_what_the_caller_may_use(client: Client, identity: Identity,
                                                     counted: str) -> None:  # fmt: skip
    caller = make_peer(grants=("echo",))
    allowed, _ = _call(client, caller, "allowedMethods", b"", method="GET")
    assert allowed.status_code == 200, allowed.content
    codes = [s["service_code"] for s in allowed.json()["service"]]
    assert codes == ["echo"]
    assert allowed.json()["service"][0]["member_code"] == "BHXH"
    listed, _ = _call(client, caller, "listMethods", b"", method="GET", message_id="m2")
    assert {"echo", counted} <= {s["service_code"] for s in listed.json()["service"]}


def test_an_unauthenticated_body_is_logged_truncated(client: Client, identity: Identity,
                                                    settings: Any) -> None:  # fmt: skip
    settings.EXCHANGE_LOG_UNVERIFIED_BYTES = 10
    caller = make_peer(grants=("echo",))
    impostor = FakePeer(caller.peer, keys.new_key())
    body = b'{"padding":"' + b"x" * 100 + b'"}'
    response, _ = _call(client, impostor, "echo", body)
    assert response.status_code == 401
    entry = LogEntry.objects.get(kind="request")
    assert bytes(entry.body) == body[:10]
    assert json.loads(entry.headers)["x-ansinh-truncated"].startswith(f"{len(body)} sha-256=")
