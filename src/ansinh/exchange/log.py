"""The message log (nhật ký thông điệp): every request and response sent or received, with its
signature, digest and body, as evidence — like X-Road's message log, kept by each side.

Entries form a hash chain: ``hash = SHA-256(canonical JSON of prev_hash and every field, the
body by its SHA-256)``. Appending locks ``LogHead`` so the chain stays a line with several
workers; the table itself refuses UPDATE and DELETE (``core.appendonly``). :func:`verify` walks
the chain and reports the first entry that does not match — an edit, a deletion or a
re-ordering made by someone who lifted the triggers. :func:`prune` removes entries older than
the retention period and records a ``LogCheckpoint`` with the hash of the last removed entry,
from which the remaining chain still verifies. The head hash can be exported (``ansinh
exchange log-head``) and kept elsewhere, so even a rewrite of the whole chain shows.
"""

from __future__ import annotations

import datetime as dt
import functools
import hashlib
import json
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from django.conf import settings
from django.db import connection, transaction
from django.utils import timezone

from ansinh.core import appendonly, sqlscript
from ansinh.exchange import txn
from ansinh.exchange.models import LogCheckpoint, LogEntry, LogHead
from ansinh.exchange.signatures import SIGNED_HEADERS

GENESIS = "0" * 64


@dataclass
class Record:
    """One message to log."""

    direction: str
    kind: str
    message_id: str
    client: str
    service: str
    outcome: str
    headers: Mapping[str, str]
    body: bytes
    method: str = ""
    target: str = ""
    status: int | None = None
    at: dt.datetime | None = None


def evidence_headers(headers: Mapping[str, str]) -> str:
    lowered = {k.lower(): v for k, v in headers.items()}
    kept = {name: lowered[name] for name in SIGNED_HEADERS if name in lowered}
    return json.dumps(kept, sort_keys=True, separators=(",", ":"))


@dataclass(slots=True)
class Appended:
    """An entry as written by :func:`append` (the fields of ``LogEntry`` that the hash covers,
    and its id): building ORM instances cost more than the INSERT on this path."""

    at: dt.datetime
    direction: str
    kind: str
    message_id: str
    client: str
    service: str
    method: str
    target: str
    status: int | None
    outcome: str
    headers: str
    body: bytes
    body_sha256: str
    prev_hash: str
    hash: str = ""
    pk: int | None = None


def entry_hash(prev_hash: str, e: LogEntry | Appended) -> str:
    at = e.at.astimezone(dt.UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")
    fields = [
        prev_hash, at, e.direction, e.kind, e.message_id, e.client, e.service, e.method,
        e.target, e.status, e.outcome, e.headers, e.body_sha256,
    ]  # fmt: skip
    data = json.dumps(fields, ensure_ascii=False, separators=(",", ":"))
    return hashlib.sha256(data.encode()).hexdigest()


#: What :func:`entry_hash` hashes starts with these bytes, then the previous hash (64 hex
#: digits: JSON writes them as they are), then :func:`hash_tail`.
HASH_HEAD = b'["'


def hash_tail(e: LogEntry | Appended) -> bytes:
    """The bytes :func:`entry_hash` hashes after the previous hash, so that the database can
    chain an entry to a head it reads itself: ``SHA-256(HASH_HEAD + prev_hash + tail)`` is
    ``entry_hash(prev_hash, e)`` (tested on awkward values)."""
    at = e.at.astimezone(dt.UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")
    fields = [
        at, e.direction, e.kind, e.message_id, e.client, e.service, e.method, e.target,
        e.status, e.outcome, e.headers, e.body_sha256,
    ]  # fmt: skip
    return ('",' + json.dumps(fields, ensure_ascii=False, separators=(",", ":"))[1:]).encode()


def _head() -> LogHead:
    head = LogHead.objects.select_for_update().filter(pk=1).first()
    if head is None:
        LogHead.objects.get_or_create(pk=1, defaults={"hash": GENESIS, "last_id": 0})
        head = LogHead.objects.select_for_update().get(pk=1)
    return head


_COLUMNS = (
    "at", "direction", "kind", "message_id", "client", "service", "method", "target", "status",
    "outcome", "headers", "body", "body_sha256", "prev_hash", "hash",
)  # fmt: skip


def _lock_head(cursor: Any) -> tuple[str, int]:
    sql = "SELECT hash, last_id FROM exchange_loghead WHERE id = 1"
    if connection.features.has_select_for_update:
        sql = "SELECT hash, last_id FROM exchange_loghead WHERE id = 1 FOR UPDATE"
    cursor.execute(sql)
    row = cursor.fetchone()
    if row is None:
        LogHead.objects.get_or_create(pk=1, defaults={"hash": GENESIS, "last_id": 0})
        cursor.execute(sql)
        row = cursor.fetchone()
    return row[0], row[1]


def _entries(records: Iterable[Record]) -> list[Appended]:
    now = timezone.now()
    entries = []
    for r in records:
        body = bytes(r.body or b"")
        entries.append(
            Appended(
                at=(r.at or now).astimezone(dt.UTC),
                direction=r.direction,
                kind=r.kind,
                message_id=r.message_id[:100],
                client=r.client[:260],
                service=r.service[:330],
                method=r.method[:10],
                target=r.target[:600],
                status=r.status,
                outcome=r.outcome[:40],
                headers=evidence_headers(r.headers),
                body=body,
                body_sha256=hashlib.sha256(body).hexdigest(),
                prev_hash="",
            )
        )
    return entries


def _values(entries: list[Appended], columns: tuple[str, ...]) -> list[Any]:
    adapt = connection.ops.adapt_datetimefield_value
    params: list[Any] = []
    for e in entries:
        values = [getattr(e, c) for c in columns]
        values[0] = adapt(e.at)
        params.extend(values)
    return params


Statement = tuple[str, list[Any]]

_ENSURE_HEAD = (
    "INSERT INTO exchange_loghead (id, hash, last_id) VALUES (1, %s, 0) ON CONFLICT (id) DO NOTHING"
)
_LOCK_HEAD = "SELECT 1 FROM exchange_loghead WHERE id = 1 FOR UPDATE"


def chain_statements(
    records: Iterable[Record], *, also: Statement | None = None
) -> tuple[list[Appended], list[Statement]]:
    """PostgreSQL: the statements that append ``records`` — the head row made sure of and
    locked, then one statement that reads the head, chains every entry to it (``sha256`` in
    the database over :data:`HASH_HEAD`, the previous hash and :func:`hash_tail`: the same
    bytes :func:`entry_hash` hashes), inserts them, moves the head and runs ``also``. Nothing
    of the chain needs to come back to Python before the INSERT, so the whole append travels
    in one message with the transaction's other statements (``core.sqlscript``); the head stays
    locked only while the server runs that message. The last statement returns (id, prev_hash,
    hash) per entry: :func:`chained` puts them on the entries."""
    entries = _entries(records)
    if not entries:
        return [], ([also] if also else [])
    step_params: list[Any] = []
    for e in entries:
        step_params += [HASH_HEAD, hash_tail(e)]
    extra_sql, extra_params = (also[0], list(also[1])) if also else ("", [])
    params = [*step_params, *_values(entries, _COLUMNS[:-2]), *extra_params]
    sql = _chain_sql(len(entries), extra_sql)
    return entries, [(_ENSURE_HEAD, [GENESIS]), (_LOCK_HEAD, []), (sql, params)]


@functools.lru_cache(maxsize=32)
def _chain_sql(count: int, extra: str) -> str:
    """The statement of :func:`chain_statements` for ``count`` entries (and ``extra``)."""
    steps = ["e0 AS (SELECT hash AS h FROM exchange_loghead WHERE id = 1)"]
    for i in range(1, count + 1):
        prev = f"e{i - 1}"
        step = f"e{i} AS (SELECT encode(sha256(%s::bytea || convert_to({prev}.h, 'UTF8')"
        steps.append(step + f" || %s::bytea), 'hex') AS h FROM {prev})")
    row_sql = ", ".join(["%s"] * (len(_COLUMNS) - 2))
    rows = ", ".join(
        f"({row_sql}, (SELECT h FROM e{i - 1}), (SELECT h FROM e{i}))"  # noqa: S608
        for i in range(1, count + 1)
    )
    extra_sql = f", extra AS ({extra})" if extra else ""
    # Constant column names, CTE names and placeholders only; the values go as parameters.
    return (
        f"WITH {', '.join(steps)}, ins AS (INSERT INTO exchange_logentry ({', '.join(_COLUMNS)})"  # noqa: S608
        f" VALUES {rows} RETURNING id, prev_hash, hash), head AS (UPDATE exchange_loghead SET"
        f" hash = (SELECT h FROM e{count}), last_id = (SELECT max(id) FROM ins)"
        f" WHERE id = 1){extra_sql} SELECT id, prev_hash, hash FROM ins ORDER BY id"
    )


def chained(entries: list[Appended], rows: list[Any]) -> list[Appended]:
    """Put the ids and hashes the database gave (``chain_statements``) on the entries."""
    if len(rows) != len(entries):
        raise RuntimeError("the message log returned another number of entries")
    for e, (pk, prev_hash, hash_) in zip(entries, rows, strict=True):
        e.pk, e.prev_hash, e.hash = pk, prev_hash, hash_
    return entries


def append(records: Iterable[Record], *, also: Statement | None = None) -> list[Appended]:
    """Append in order, chained to the current head, inside the caller's transaction if there
    is one (the entries commit with what they record, and a failure here fails that
    transaction — no savepoint of its own), else in a transaction of their own. ``also``: one
    more ``INSERT … VALUES`` (no RETURNING) to run with them — the provider's stored answer.

    Plain SQL, because this runs for every message on each side and the ORM's statement
    building was a third of it. PostgreSQL: :func:`chain_statements` — one message, BEGIN and
    COMMIT included, outside a transaction. SQLite: the head read (the write lock is the
    database's), the entries hashed here, inserted and the head moved."""
    if connection.vendor == "postgresql":
        entries, statements = chain_statements(records, also=also)
        if sqlscript.combines():
            with sqlscript.transaction_script() as script:  # prepares the statements itself
                results = script.run(statements, commit=True)
        else:
            results = []
            statements = txn.prepared(statements)
            with transaction.atomic(savepoint=False), connection.cursor() as cursor:
                for sql, params in statements:
                    cursor.execute(sql, params)
                    results.append(cursor.fetchall() if cursor.description else [])
        return chained(entries, results[-1]) if entries else []
    with transaction.atomic(savepoint=False), connection.cursor() as cursor:
        prev, _last_id = _lock_head(cursor)
        entries = _entries(records)
        for e in entries:
            e.prev_hash = prev
            e.hash = prev = entry_hash(e.prev_hash, e)
        if also is not None:
            cursor.execute(*also)
        if not entries:
            return []
        row = "(" + ", ".join(["%s"] * len(_COLUMNS)) + ")"
        # Constant column names and placeholders only; the values go as parameters.
        columns, rows = ", ".join(_COLUMNS), ", ".join([row] * len(entries))
        insert = f"INSERT INTO exchange_logentry ({columns}) VALUES {rows} RETURNING id"  # noqa: S608
        cursor.execute(insert, _values(entries, _COLUMNS))
        ids = sorted(r[0] for r in cursor.fetchall())
        cursor.execute(
            "UPDATE exchange_loghead SET hash = %s, last_id = %s WHERE id = 1", [prev, ids[-1]]
        )
        for e, pk in zip(entries, ids, strict=True):
            e.pk = pk
        return entries


@dataclass
class Verification:
    ok: bool
    checked: int
    first_bad_id: int | None = None
    reason: str = ""
    head: str = GENESIS
    checkpoint_id: int | None = None


def verify(*, batch: int = 2000) -> Verification:
    """Walk the chain from the latest checkpoint (or the start) to the head."""
    checkpoint = LogCheckpoint.objects.order_by("-id").first()
    prev = checkpoint.hash if checkpoint else GENESIS
    start = checkpoint.up_to_id if checkpoint else 0
    checked = 0
    last_id = start
    query = LogEntry.objects.filter(pk__gt=start).order_by("pk")
    for e in query.iterator(chunk_size=batch):
        body = bytes(e.body or b"")
        bad = ""
        if hashlib.sha256(body).hexdigest() != e.body_sha256:
            bad = "body does not match its digest"
        elif e.prev_hash != prev:
            bad = "chain broken: previous hash differs (entry removed, inserted or re-ordered)"
        elif entry_hash(e.prev_hash, e) != e.hash:
            bad = "entry altered: its hash does not match its content"
        if bad:
            return Verification(False, checked, e.pk, bad, prev, checkpoint and checkpoint.pk)
        prev = e.hash
        last_id = e.pk
        checked += 1
    head = LogHead.objects.filter(pk=1).first()
    if head is not None and (head.hash != prev or (checked and head.last_id != last_id)):
        return Verification(
            False,
            checked,
            head.last_id,
            "the head does not match the last entry (entries removed at the end)",
            prev,
            checkpoint and checkpoint.pk,
        )
    return Verification(True, checked, None, "", prev, checkpoint and checkpoint.pk)


class _Executor:
    """What ``core.appendonly`` expects of a schema editor."""

    def __init__(self, cursor: Any) -> None:
        self.connection = connection
        self._cursor = cursor

    def execute(self, sql: str) -> None:
        self._cursor.execute(sql)


TABLES = ("exchange_logentry",)


def retention_days() -> int:
    return int(getattr(settings, "EXCHANGE_LOG_RETENTION_DAYS", 0))


def prune(before: dt.datetime | None = None, *, now: dt.datetime | None = None) -> int:
    """Remove entries older than ``before`` (default: now − EXCHANGE_LOG_RETENTION_DAYS; 0
    keeps everything) and checkpoint the cut. The triggers are lifted and put back inside one
    transaction, so no other writer sees the table unprotected."""
    now = now or timezone.now()
    if before is None:
        days = retention_days()
        if days <= 0:
            return 0
        before = now - dt.timedelta(days=days)
    with transaction.atomic():
        _head()  # no appends while we cut
        cut = LogEntry.objects.filter(at__lt=before).order_by("-pk").values("pk", "hash").first()
        if cut is None:
            return 0
        with connection.cursor() as cursor:
            executor = _Executor(cursor)
            for table in TABLES:
                appendonly.unprotect(executor, table)
            removed, _ = LogEntry.objects.filter(pk__lte=cut["pk"]).delete()
            for table in TABLES:
                appendonly.protect(executor, table)
        LogCheckpoint.objects.create(at=now, up_to_id=cut["pk"], hash=cut["hash"], removed=removed)
        return removed
