"""The write path in few messages (``exchange.txn``, ``log.chain_statements``) against the
reference, statement by statement.

On PostgreSQL, outside a transaction, the provider's transaction travels as two messages
(``BEGIN`` + nonce and stored answer; log entries, stored answer and ``COMMIT``) with the
service handler between them, and a log append as one message whose entries are chained to
the head by the database itself. Inside an outer transaction (the test's own, Django's
``atomic``) or on SQLite the same statements run one by one. These tests run without the test
transaction, so PostgreSQL takes the combined path, and compare it with the one-by-one path:
the same answers, stored answers and log entries (hashes included); handlers that use the ORM,
nested ``atomic`` blocks and ``on_commit`` behave as in any transaction; a refusing handler
leaves nothing; a kept connection the server dropped is replaced before anything is written.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
from collections.abc import Iterator
from typing import Any
from unittest import mock

import pytest
from django.db import OperationalError, connection, transaction
from django.test.utils import CaptureQueriesContext

from ansinh.core import errors
from ansinh.exchange import keys, log, registry, selectors, services, signatures, txn
from ansinh.exchange.models import Grant, Identity, LogEntry, Peer, Received
from ansinh.exchange.registry import ServiceRequest
from ansinh.exchange.testing import FakePeer, make_peer
from ansinh.exchange.tests import test_fast
from ansinh.exchange.tests.test_fast import _COMPARED, _OWN_SIGNATURE, _request, _send

pytestmark = pytest.mark.django_db(transaction=True)  # no test transaction: the combined path
PG = connection.vendor == "postgresql"
needs_pg = pytest.mark.skipif(not PG, reason="messages are combined on PostgreSQL only")
T0 = dt.datetime(2026, 10, 1, 8, 0, tzinfo=dt.UTC)
# The lean route and the test services of ``test_fast``.
apps, counted, refusing = test_fast.apps, test_fast.counted, test_fast.refusing

AWKWARD = [
    'xin chào "quoted" \\ back\\slash',
    "tab\tnew\nline\r\x01soh\x1f",
    "emoji 🇻🇳 and \u2028 line separator, \ud7ff",
    "</script> & ' \u00e9\u0301",
]


def _records(n: int, start: dt.datetime = T0) -> list[log.Record]:
    out = []
    for i in range(n):
        text = AWKWARD[i % len(AWKWARD)]
        out.append(
            log.Record(
                direction="in" if i % 2 else "out",
                kind="request" if i % 2 else "response",
                message_id=f"m-{i}-{text[:20]}",
                client="VN/GOV/SNV-HN/unemployment",
                service=f"VN/GOV/BHXH/benefits/{text[:10]}",
                outcome="ok",
                headers={"Signature": f"xrd=:{i}:", "X-Road-Id": text, "X-Other": "dropped"},
                body=text.encode("utf-8", "surrogatepass"),
                method="POST",
                target=f"http://x/r1/{text}",
                status=None if i % 2 else 200 + i,
                at=start + dt.timedelta(microseconds=i * 1001),
            )
        )
    return out


def _reference_chain(records: list[log.Record], prev: str = log.GENESIS) -> list[str]:
    """The chain as :func:`log.entry_hash` computes it in Python (what ``verify`` checks)."""
    hashes = []
    for e in log._entries(records):
        prev = log.entry_hash(prev, e)
        hashes.append(prev)
    return hashes


def test_the_tail_is_what_entry_hash_hashes_after_the_previous_hash() -> None:
    for e in log._entries(_records(8)):
        for prev in (log.GENESIS, hashlib.sha256(b"x").hexdigest()):
            data = log.HASH_HEAD + prev.encode() + log.hash_tail(e)
            assert hashlib.sha256(data).hexdigest() == log.entry_hash(prev, e)


@pytest.mark.parametrize("prepare", [True, False])
def test_appended_entries_chain_as_the_reference_in_one_message(
    prepare: bool, settings: Any
) -> None:
    """PostgreSQL hashes the entries itself (``sha256`` over the same bytes): the hashes it
    stores and returns are the reference chain's, and ``verify`` accepts them — with the
    statements prepared on the connection or sent as text."""
    settings.SQL_PREPARED_STATEMENTS = prepare
    first, second = _records(4), _records(4, start=T0 + dt.timedelta(hours=1))
    appended = log.append(first)  # prepares the statements (for 4 entries) on this connection
    with CaptureQueriesContext(connection) as queries:
        appended += log.append(second)
    if PG:
        assert len(queries.captured_queries) == 1
        sent = queries.captured_queries[0]["sql"]
        assert sent.startswith("BEGIN;") and sent.endswith("COMMIT")
        assert ("EXECUTE ansinh_" in sent) is prepare and ("WITH e0" in sent) is not prepare
    expected = _reference_chain(first)
    expected += _reference_chain(second, prev=expected[-1])
    stored = list(LogEntry.objects.order_by("id").values_list("id", "prev_hash", "hash"))
    assert [h for _, _, h in stored] == expected
    assert [(e.pk, e.prev_hash, e.hash) for e in appended] == stored
    assert [p for _, p, _ in stored] == [log.GENESIS, *expected[:-1]]
    result = log.verify()
    assert result.ok and result.checked == 8 and result.head == expected[-1]


@needs_pg
def test_statements_are_prepared_once_per_connection() -> None:
    statement = ("SELECT %s::int + %s::int", [1, 2])
    with CaptureQueriesContext(connection) as queries:
        [(sql, params)] = txn.prepared([statement])
        assert txn.prepared([statement]) == [(sql, params)]
    assert sql.startswith("EXECUTE ansinh_") and params == [1, 2]
    assert [q["sql"].split(" AS ")[0] for q in queries.captured_queries] == [
        "PREPARE " + sql.split()[1].split("(")[0]
    ]
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        assert cursor.fetchone() == (3,)
    connection.close()  # a new session knows nothing of the old one's statements
    with CaptureQueriesContext(connection) as queries:
        assert txn.prepared([statement]) == [(sql, params)]
    assert len(queries.captured_queries) == 1
    # Text that is not a plain %s statement goes as it is.
    assert txn.prepared([("SELECT 1", [])]) != [("SELECT 1", [])]
    assert txn.prepared([("SELECT '100%%'", [])]) == [("SELECT '100%%'", [])]


def test_an_append_inside_a_transaction_belongs_to_it() -> None:
    with pytest.raises(RuntimeError), transaction.atomic():
        log.append(_records(2))
        raise RuntimeError("caller fails")
    assert LogEntry.objects.count() == 0
    log.append(_records(1))
    assert log.verify().ok


def _collect(app: Any, requests: list[Any], identity: Identity, *, outer: bool) -> tuple:
    """Send the requests — inside an outer transaction rolled back afterwards (statements one
    by one) or without one (combined on PostgreSQL) — and read answers, log and store."""
    public = keys.load_public(identity.public_key_pem)[0]

    def run() -> tuple:
        answers = []
        for request in requests:
            status, headers, body = _send(app, request)
            lowered = {k.lower(): v for k, v in headers.items()}
            signatures.verify_response(
                status, lowered, body, public=public, key_id=identity.key_id,
                request_signature=request[3]["signature"],
            )  # fmt: skip
            answers.append((status, body, {k: lowered.get(k) for k in _COMPARED}))
        entries = []
        for e in LogEntry.objects.order_by("id"):
            kept = json.loads(e.headers)
            if e.kind == "response":
                kept = {k: v for k, v in kept.items() if k not in _OWN_SIGNATURE}
            entries.append(
                (e.direction, e.kind, e.message_id, e.client, e.service, e.method, e.target,
                 e.status, e.outcome, kept, bytes(e.body), e.body_sha256)
            )  # fmt: skip
        stored = [
            (*row[:5], bytes(row[5]))
            for row in Received.objects.order_by("id").values_list(
                "message_id", "service", "body_sha256", "status", "content_type", "response_body"
            )
        ]
        assert log.verify().ok
        return answers, entries, stored

    if not outer:
        return run()
    with transaction.atomic():
        out = run()
        transaction.set_rollback(True)
    return out


@pytest.fixture
def orm_service() -> Iterator[list[Any]]:
    """A service that locks a row, reads through a server-side cursor, writes with the ORM in
    nested atomic blocks (one rolled back to its savepoint) and asks for work after commit."""
    seen: list[Any] = []

    def handler(request: ServiceRequest) -> dict[str, Any]:
        peer = Peer.objects.select_for_update().get(member_code=request.client.member_code)
        assert [p.pk for p in Peer.objects.all().iterator(chunk_size=1)] == [peer.pk]  # a cursor
        services.grant(peer, f"w{request.message_id[-1]}")  # get_or_create: a savepoint
        try:
            with transaction.atomic():
                Grant.objects.create(peer=peer, service="rolled-back")
                raise errors.DomainError("inner", None, "x", "x")
        except errors.DomainError:
            pass

        def after_commit() -> None:
            committed = None
            if PG:
                import psycopg

                params = connection.get_connection_params()
                params.pop("cursor_factory", None)
                params.pop("context", None)
                with psycopg.connect(**params) as other:
                    committed = other.execute(
                        "SELECT count(*) FROM exchange_received WHERE message_id = %s",
                        [request.message_id],
                    ).fetchone()[0]
            seen.append((request.message_id, connection.in_atomic_block, committed))

        transaction.on_commit(after_commit)
        return {"granted": f"w{request.message_id[-1]}"}

    registry.service("testOrm", handler, methods=("POST",))
    yield seen
    registry.unregister("testOrm")


def test_the_combined_path_answers_and_logs_as_the_reference(
    apps: dict[str, Any], identity: Identity, counted: str, refusing: list[str],
    orm_service: list[Any],
) -> None:  # fmt: skip
    caller = make_peer(grants=("echo", "testRefusing", "testOrm"))
    impostor = FakePeer(caller.peer, keys.new_key())
    old = dt.datetime.now(dt.UTC) - dt.timedelta(seconds=signatures.max_age() + 60)
    first = _request(caller, "echo", b'{"a":"xin ch\xc3\xa0o"}', message_id="m-1")
    requests = [
        first,
        _request(caller, "echo", b'{"a":"xin ch\xc3\xa0o"}', message_id="m-1"),  # repeated
        _request(caller, "echo", b'{"a":2}', message_id="m-1"),  # same id, other body
        first,  # replay
        _request(caller, counted, message_id="m-2"),  # not granted
        _request(impostor, "echo", message_id="m-3"),  # another key
        _request(caller, "echo", message_id="m-4", now=old),  # stale
        _request(caller, "allowedMethods", b"", method="GET", message_id="m-6"),
        _request(caller, "testRefusing", b'{"n":1}', message_id="r-1"),  # refuses
        _request(caller, "testRefusing", b'{"n":1}', message_id="r-1"),  # stored: repeated
        _request(caller, "testRefusing", b'{"crash":true}', message_id="r-2"),  # 500
        _request(caller, "testOrm", b"{}", message_id="o-1"),
        _request(caller, "testOrm", b"{}", message_id="o-1"),  # stored, not run again
    ]
    reference = _collect(apps["fast"], requests, identity, outer=True)
    assert orm_service == []  # the outer block was rolled back: no commit, no hook
    combined = _collect(apps["fast"], requests, identity, outer=False)
    assert combined == reference
    codes = [(status, headers["x-road-error"]) for status, _, headers in combined[0]]
    assert codes == [
        (200, None), (200, None), (409, "message_id_conflict"), (401, "replayed_message"),
        (403, "service_not_granted"), (401, "bad_signature"), (401, "stale_message"),
        (200, None), (422, "claim_refused"), (422, None), (500, "service_failed"),
        (200, None), (200, None),
    ]  # fmt: skip
    # The service's ORM writes committed with the call, its inner block rolled back, the
    # refusing service's writes did not survive; the hook ran once, after the commit (another
    # connection already saw the stored answer).
    assert set(Grant.objects.values_list("service", flat=True)) == {
        "echo", "testRefusing", "testOrm", "w1",
    }  # fmt: skip
    assert orm_service == [("o-1", False, 1 if PG else None)]


@pytest.fixture
def checked(settings: Any, identity: Identity) -> Iterator[FakePeer]:
    """A granted caller, identity, peer and grant in the worker's cache (as in production:
    ``EXCHANGE_CACHE_SECONDS``), and the connection as ``close_old_connections`` leaves it at
    the start of a request."""
    settings.EXCHANGE_CACHE_SECONDS = 60
    selectors.forget()
    caller = make_peer(grants=("echo",))
    selectors.own_identity()
    assert selectors.find_peer(caller.peer.member_id) is not None
    assert selectors.is_granted(caller.peer, "echo")
    enabled = connection.health_check_enabled
    connection.ensure_connection()
    connection.health_check_enabled = True
    connection.health_check_done = False
    yield caller
    connection.health_check_enabled = enabled
    selectors.forget()


@needs_pg
def test_a_served_call_is_two_messages_without_a_health_check(
    apps: dict[str, Any], checked: FakePeer
) -> None:
    caller = checked
    assert _send(apps["fast"], _request(caller, "echo", b"{}", message_id="w-1"))[0] == 200
    connection.health_check_done = False  # the next request
    raw = connection.connection
    with (
        mock.patch.object(connection, "is_usable", wraps=connection.is_usable) as usable,
        mock.patch.object(raw, "_exec_command", wraps=raw._exec_command) as own_commands,
        CaptureQueriesContext(connection) as queries,
    ):
        status, _, body = _send(apps["fast"], _request(caller, "echo", b'{"n":1}'))
    assert (status, body) == (200, b'{"n":1}')
    assert usable.call_count == 0  # no SELECT 1
    assert own_commands.call_count == 0  # psycopg sent no BEGIN, COMMIT or ROLLBACK itself
    # Django notes its transaction's begin and end ("BEGIN", "COMMIT") without sending them.
    sent = [q["sql"] for q in queries.captured_queries if q["sql"] not in ("BEGIN", "COMMIT")]
    assert len(sent) == 2, sent
    # Both prepared by the first call: the nonce and stored-answer look-up with the BEGIN; the
    # log entries, the stored answer and the head with the COMMIT.
    assert sent[0].startswith("BEGIN;\nEXECUTE ansinh_") and "'msg-1')" in sent[0]
    assert sent[1].startswith("EXECUTE ansinh_") and sent[1].endswith("COMMIT")
    assert LogEntry.objects.count() == 4 and Received.objects.count() == 2


@needs_pg
def test_a_connection_dropped_by_the_server_is_replaced_before_anything_is_written(
    apps: dict[str, Any], checked: FakePeer
) -> None:
    caller = checked
    with pytest.raises(OperationalError), connection.cursor() as cursor:
        # What an idle timeout or a server restart does to a kept connection.
        cursor.execute("SELECT pg_terminate_backend(pg_backend_pid())")
    connection.errors_occurred = False  # as if it had died between two requests
    connection.health_check_done = False
    status, _, _ = _send(apps["fast"], _request(caller, "echo", b"{}", message_id="k-1"))
    assert status == 200
    assert list(Received.objects.values_list("message_id", flat=True)) == ["k-1"]
    assert LogEntry.objects.count() == 2 and log.verify().ok


@needs_pg
def test_a_first_message_failing_twice_is_raised(checked: FakePeer) -> None:
    """Only the first message, and only once, is retried on a new connection."""
    calls = []
    real = txn.Messages._send

    def failing(self: txn.Messages, statements: Any, commit: bool) -> Any:
        calls.append(self.sent)
        if self.sent == 0:
            raise OperationalError("server closed the connection")
        return real(self, statements, commit)

    caller = checked
    from ansinh.exchange import fast
    from ansinh.exchange.server import Incoming, handle

    method, url, body, headers = _request(caller, "echo", b"{}", message_id="f-1")
    inc = Incoming(method, url, url.split("/r1/", 1)[1], "", headers, body)
    assert fast.PREFIX == "/r1/"
    with mock.patch.object(txn.Messages, "_send", failing), pytest.raises(OperationalError):
        handle(inc)
    assert calls == [0, 0]  # the first message, then once more on a new connection
    assert Received.objects.count() == 0 and LogEntry.objects.count() == 0
