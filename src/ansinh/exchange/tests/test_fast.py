"""``/r1/`` through the lean WSGI path (``exchange.fast``) answers exactly as the Django view it
stands in for: the same signed requests give the same status, body, signed headers and message
log entries through both (the answer's own signature aside: its nonce is new each time), for
every outcome — served, repeated, conflicting id, replay, not granted, bad or stale signature,
wrong provider, missing id, catalogue, a query string, a public URL in front."""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Iterator
from typing import Any
from unittest import mock

import pytest
from django.core import signals
from django.core.wsgi import get_wsgi_application
from django.db import close_old_connections, transaction

from ansinh.core import errors
from ansinh.core.fastpath import FastPathDispatcher, wsgi_call
from ansinh.exchange import keys, registry, services, signatures
from ansinh.exchange.models import Grant, Identity, LogEntry, Received
from ansinh.exchange.registry import ServiceRequest
from ansinh.exchange.testing import FakePeer, make_peer, signed_headers

pytestmark = pytest.mark.django_db
BASE = "http://testserver/r1/VN/GOV/BHXH/benefits"
DECLINED = 599


def _declined(environ: dict[str, Any], start_response: Any) -> list[bytes]:
    start_response(f"{DECLINED} Declined", [("Content-Type", "text/plain")])
    return [b"declined"]


@pytest.fixture
def apps(settings: Any) -> Iterator[dict[str, Any]]:
    """The reference (Django and ``views.r1``) and the lean route in front of it; the test's
    database connection stays open across requests, as Django's test client keeps it."""
    settings.FAST_PATHS = [("*", "/r1/", "ansinh.exchange.fast.r1", 2_621_440)]
    django_app = get_wsgi_application()
    signals.request_started.disconnect(close_old_connections)
    signals.request_finished.disconnect(close_old_connections)
    with mock.patch("django.db.close_old_connections", lambda: None):
        yield {
            "view": django_app,
            "fast": FastPathDispatcher(django_app),
            "fast_only": FastPathDispatcher(_declined),
        }
    signals.request_started.connect(close_old_connections)
    signals.request_finished.connect(close_old_connections)


@pytest.fixture
def counted() -> Iterator[str]:
    def handler(request: ServiceRequest) -> dict[str, Any]:
        return {"seen": request.json(), "query": request.query, "path": request.path}

    registry.service("testFastCounted", handler, methods=("POST",))
    yield "testFastCounted"
    registry.unregister("testFastCounted")


def _request(caller: FakePeer, service: str, body: bytes = b"{}", *, query: str = "",
             base: str = BASE, **kw: Any) -> tuple[str, str, bytes, dict[str, str]]:  # fmt: skip
    method = kw.pop("method", "POST")
    url = f"{base}/{service}" + (f"?{query}" if query else "")
    headers = signed_headers(caller, url, body, method=method, **kw)
    return method, url, body, headers


def _send(app: Any, request: tuple[str, str, bytes, dict[str, str]]) -> tuple[int, dict, bytes]:
    method, url, body, headers = request
    rest = url.split("://", 1)[1].split("/", 1)[1]
    path, _, query = ("/" + rest).partition("?")
    return wsgi_call(app, method, path, body=body, headers=headers, query=query)


# The answer's own signature differs (new nonce); everything else must be identical.
_OWN_SIGNATURE = {"signature", "signature-input"}
_COMPARED = (
    "content-type", "content-digest", "x-road-client", "x-road-id", "x-road-service",
    "x-road-request-hash", "x-road-error", "x-ansinh-repeated",
)  # fmt: skip


def _run(app: Any, requests: list[Any], identity: Identity) -> tuple[list, list, list]:
    """Send every request in one transaction that is rolled back afterwards, so that the
    other path starts from the same state. Checks each answer's signature."""
    public = keys.load_public(identity.public_key_pem)[0]
    answers, entries = [], []
    with transaction.atomic():
        for request in requests:
            status, headers, body = _send(app, request)
            lowered = {k.lower(): v for k, v in headers.items()}
            signatures.verify_response(
                status, lowered, body, public=public, key_id=identity.key_id,
                request_signature=request[3]["signature"],
            )  # fmt: skip
            answers.append((status, body, {k: lowered.get(k) for k in _COMPARED}))
        for e in LogEntry.objects.order_by("id"):
            kept = json.loads(e.headers)
            if e.kind == "response":
                kept = {k: v for k, v in kept.items() if k not in _OWN_SIGNATURE}
            entries.append(
                (e.direction, e.kind, e.message_id, e.client, e.service, e.method, e.target,
                 e.status, e.outcome, kept, bytes(e.body), e.body_sha256)
            )  # fmt: skip
        stored = list(
            Received.objects.order_by("id").values_list(
                "message_id", "service", "body_sha256", "status", "content_type", "response_body"
            )
        )
        transaction.set_rollback(True)
    return answers, entries, [(*row[:5], bytes(row[5])) for row in stored]


def _same_through_both(apps: dict[str, Any], requests: list[Any], identity: Identity) -> list:
    view = _run(apps["view"], requests, identity)
    fast = _run(apps["fast"], requests, identity)
    assert fast == view
    # …and the lean path really answered: without Django behind it, nothing is declined.
    assert _send(apps["fast_only"], requests[0])[0] != DECLINED
    return view[0]


def test_every_outcome_is_the_same_through_the_fast_path(apps: dict[str, Any],
                                                         identity: Identity,
                                                         counted: str) -> None:  # fmt: skip
    caller = make_peer(grants=("echo",))
    impostor = FakePeer(caller.peer, keys.new_key())
    old = dt.datetime.now(dt.UTC) - dt.timedelta(seconds=signatures.max_age() + 60)
    first = _request(caller, "echo", b'{"a":"xin ch\xc3\xa0o"}', message_id="m-1")
    requests = [
        first,
        _request(caller, "echo", b'{"a":"xin ch\xc3\xa0o"}', message_id="m-1"),  # repeated
        _request(caller, "echo", b'{"a":2}', message_id="m-1"),  # same id, other body
        first,  # the very same signed message again: a replay
        _request(caller, counted, message_id="m-2"),  # not granted
        _request(impostor, "echo", message_id="m-3"),  # another key
        _request(caller, "echo", message_id="m-4", now=old),  # stale
        _request(caller, "echo", message_id="m-5", base=BASE.replace("BHXH", "OTHER")),
        _request(caller, "echo", message_id=""),  # no message id
        _request(caller, "allowedMethods", b"", method="GET", message_id="m-6"),
        _request(caller, "echo", b"", method="GET", message_id="m-7", query="a=1&b=%C3%A0"),
    ]
    answers = _same_through_both(apps, requests, identity)
    codes = [(status, headers["x-road-error"]) for status, _, headers in answers]
    assert codes == [
        (200, None), (200, None), (409, "message_id_conflict"), (401, "replayed_message"),
        (403, "service_not_granted"), (401, "bad_signature"), (401, "stale_message"),
        (404, "unknown_provider"), (400, "message_id_missing"), (200, None), (200, None),
    ]  # fmt: skip
    assert answers[1][2]["x-ansinh-repeated"] == "1"


def test_a_granted_service_with_a_path_and_query_behind_a_public_url(
    apps: dict[str, Any], identity: Identity, counted: str, settings: Any
) -> None:
    """Behind a proxy the client signs our public URL (EXCHANGE_PUBLIC_URL), not the one the
    request arrives with; both paths check the signature against it."""
    settings.EXCHANGE_PUBLIC_URL = "https://xroad.example.vn/"
    public = "https://xroad.example.vn/r1/VN/GOV/BHXH/benefits"
    caller = make_peer()
    services.grant(caller.peer, counted)
    requests = [
        _request(caller, f"{counted}/claims/7", b'{"n":1}', base=public, query="x=1",
                 message_id="p-1"),
        _request(caller, counted, b'{"n":2}', message_id="p-2"),  # signed for another URL
    ]  # fmt: skip
    # The public URL's host is not ours: send both to the local one.
    sent = [(m, u.replace("https://xroad.example.vn", "http://testserver"), b, h)
            for m, u, b, h in requests]  # fmt: skip
    view = _run(apps["view"], sent, identity)
    assert _run(apps["fast"], sent, identity) == view
    (ok_status, ok_body, _), (bad_status, _, bad_headers) = view[0]
    assert ok_status == 200
    assert json.loads(ok_body) == {"seen": {"n": 1}, "query": "x=1", "path": "claims/7"}
    assert bad_status == 401 and bad_headers["x-road-error"] == "bad_signature"


def test_what_only_django_can_answer_is_left_to_it(apps: dict[str, Any],
                                                   identity: Identity) -> None:  # fmt: skip
    caller = make_peer(grants=("echo",))
    method, url, body, headers = _request(caller, "echo", message_id="d-1")
    # No service path at all: Django's URL resolver answers 404.
    assert wsgi_call(apps["fast_only"], "POST", "/r1/", body=body, headers=headers)[0] == DECLINED
    # A path Django would normalise before building the absolute URL.
    path = "/r1/VN/GOV/BHXH/benefits/./echo"
    assert wsgi_call(apps["fast_only"], "POST", path, body=body, headers=headers)[0] == DECLINED
    # Served at once otherwise.
    assert _send(apps["fast_only"], (method, url, body, headers))[0] == 200


@pytest.fixture
def refusing() -> Iterator[list[str]]:
    """A service that writes, then refuses (or fails): its write must not survive, its refusal
    must be stored and logged like any answer."""
    calls: list[str] = []

    def handler(request: ServiceRequest) -> dict[str, Any]:
        calls.append(request.message_id)
        services.grant(FakePeer(request_peer(request), keys.new_key()).peer, "echo")
        if request.json() == {"crash": True}:
            raise RuntimeError("boom")
        raise errors.DomainError("claim_refused", "claim", "Từ chối.", "Refused.", status=422)

    registry.service("testRefusing", handler)
    yield calls
    registry.unregister("testRefusing")


def request_peer(request: ServiceRequest) -> Any:
    from ansinh.exchange import selectors

    return selectors.find_peer(request.client)


def test_a_refusing_service_leaves_no_write_and_its_refusal_is_kept(
    apps: dict[str, Any], identity: Identity, refusing: list[str]
) -> None:
    """The service's writes roll back; the nonce, the stored refusal and both log entries
    commit; the same id is answered from the store without running the service again, the
    same signed message is a replay; a crash (500) is not stored, so a retry runs it again."""
    caller = make_peer(grants=("testRefusing",))
    first = _request(caller, "testRefusing", b'{"n":1}', message_id="r-1")
    crash = _request(caller, "testRefusing", b'{"crash":true}', message_id="r-2")
    requests = [
        first,
        _request(caller, "testRefusing", b'{"n":1}', message_id="r-1"),
        first,
        crash,
        _request(caller, "testRefusing", b'{"crash":true}', message_id="r-2"),
    ]
    answers = _same_through_both(apps, requests, identity)
    assert [(a[0], json.loads(a[1])["code"]) for a in answers] == [
        (422, "claim_refused"), (422, "claim_refused"), (401, "replayed_message"),
        (500, "service_failed"), (500, "service_failed"),
    ]  # fmt: skip
    assert answers[1][2]["x-ansinh-repeated"] == "1"
    # View, fast path, and fast_only's first request: r-1 ran three times, r-2 twice per run.
    assert refusing == ["r-1", "r-2", "r-2"] * 2 + ["r-1"]
    # Outside the rolled-back runs (fast_only's r-1 and this r-3): the refusals are kept, the
    # service's writes are not.
    assert _send(apps["fast"], _request(caller, "testRefusing", b"{}", message_id="r-3"))[0] == 422
    assert Grant.objects.filter(service="echo").count() == 0
    stored = Received.objects.order_by("id").values_list("message_id", "status")
    assert list(stored) == [("r-1", 422), ("r-3", 422)]
    assert LogEntry.objects.filter(outcome="claim_refused").count() == 4
