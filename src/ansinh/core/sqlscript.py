"""Several SQL statements in one round trip, for the hot machine-to-machine write paths.

On the same two cores as the database, a round trip costs more than the statement it carries:
the client's and the server's protocol work, two wake-ups and the cache they disturb. Measured
with the gateway's intake statements (2026-11-24, PostgreSQL 15 on 127.0.0.1): BEGIN, seven
INSERT/UPDATEs and the end of the transaction cost 0.39 ms of client CPU and 1.07 ms of server
CPU as nine round trips, 0.09 + 0.78 ms as one message; psycopg's pipeline mode gained
nothing (its per-statement work is the cost).

:class:`Script` sends the statements of one step as a single simple-query message on
PostgreSQL (psycopg's client-side binding, Django's default, merges the parameters in; the
server runs them in order and stops at the first error). A script may open the transaction
(``BEGIN`` rides in its message) and a later one close it (``COMMIT`` rides in its message), so
a write path with one read in the middle costs two round trips. Elsewhere — SQLite, or inside
a ``transaction.atomic`` block whose transaction Django already holds — the same statements run
one by one inside ``transaction.atomic()``: the same effects, the round trips as before.
"""

from __future__ import annotations

import functools
import hashlib
import weakref
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from typing import Any

from django.conf import settings
from django.db import connections, transaction
from psycopg.adapt import Transformer

Statement = tuple[str, Sequence[Any]]


class Script:
    """One transaction whose statements travel in as few messages as the caller allows.

    Use it as ``with sqlscript.transaction() as script:``; ``script.run([...])`` returns the
    rows of each statement (an empty list for statements that return none) and
    ``script.run([...], commit=True)`` ends the transaction with its last message. Leaving the
    block by an exception rolls back; leaving it without a commit commits.
    """

    def __init__(self, using: str) -> None:
        self.using = using
        self.connection = connections[using]
        self.combined = False  # one message per run (PostgreSQL, autocommit)
        self._open = False  # our own BEGIN was sent and no COMMIT/ROLLBACK yet
        self._done = False

    def run(self, statements: Sequence[Statement], *, commit: bool = False) -> list[list[Any]]:
        if self._done:
            raise RuntimeError("this script's transaction is already committed")
        if not self.combined:
            out = []
            with self.connection.cursor() as cursor:
                for sql, params in statements:
                    cursor.execute(sql, params)
                    out.append(cursor.fetchall() if cursor.description else [])
            self._done = commit
            return out
        begins = not self._open
        parts = ["BEGIN"] if begins else []
        params: list[Any] = []
        for sql, values in prepared(self.connection, statements):
            parts.append(sql)
            params.extend(values)
        if commit:
            parts.append("COMMIT")
        self._open = True
        results = send(self.connection, parts, params)
        if commit:
            self._open, self._done = False, True
        # BEGIN and COMMIT have results of their own: keep the statements' only.
        first = 1 if begins else 0
        return results[first : first + len(statements)]

    def _rollback(self) -> None:
        if self._open:
            self._open = False
            with self.connection.cursor() as cursor:
                cursor.execute("ROLLBACK")


# --- prepared statements ------------------------------------------------------------------------

#: Names of the statements prepared on each open session (psycopg connection → names). A
#: prepared statement lasts as long as the database session; a ROLLBACK does not undo it.
_prepared: weakref.WeakKeyDictionary[Any, set[str]] = weakref.WeakKeyDictionary()
_unsure: weakref.WeakSet[Any] = weakref.WeakSet()

#: Statements with more parameters than this (a 1,000-row INSERT) are sent as they are: each
#: row count would be a statement of its own to prepare, used once.
PREPARE_MAX_PARAMS = 200


def prepared(conn: Any, statements: Sequence[Statement]) -> list[Statement]:
    """The statements as ``EXECUTE`` of statements prepared once on this database session
    (``SQL_PREPARED_STATEMENTS``, on by default): the server then neither parses nor plans them
    again — for the gateway's reception, ≈ 0.4 of its 1.45 ms per dossier. Parameters still
    travel as literals (client-side binding). Those not yet prepared on the session are prepared
    together in a message of their own, once per connection. Switch it off behind a pooler that
    shares server sessions between clients (PgBouncer in transaction mode)."""
    if not getattr(settings, "SQL_PREPARED_STATEMENTS", True):
        return list(statements)
    conn.ensure_connection()
    raw = conn.connection
    if raw in _unsure:
        _prepared.pop(raw, None)
    done = _prepared.setdefault(raw, set())
    out: list[Statement] = []
    missing: dict[str, str] = {}
    for sql, params in statements:
        form = _prepared_form(sql, len(params)) if len(params) <= PREPARE_MAX_PARAMS else None
        if form is None:
            out.append((sql, params))
            continue
        name, prepare, execute = form
        if name not in done:
            missing[name] = prepare
        out.append((execute, params))
    if missing:
        texts = list(missing.values())
        if raw in _unsure:
            # An earlier PREPARE message failed part way: start again from none.
            texts.insert(0, "DEALLOCATE ALL")
        try:
            with conn.cursor() as cursor:
                cursor.execute(";\n".join(texts))
        except Exception:
            # Some of them may exist now: forget them all and deallocate before preparing again.
            _prepared.pop(raw, None)
            _unsure.add(raw)
            raise
        _unsure.discard(raw)
        done.update(missing)
    return out


@functools.lru_cache(maxsize=512)
def _prepared_form(sql: str, count: int) -> tuple[str, str, str] | None:
    """(name, ``PREPARE …``, ``EXECUTE …(%s, …)``), or None for a text that is not a plain
    statement with ``count`` ``%s`` placeholders (or that already holds ``$n`` parameters)."""
    pieces = sql.split("%s")
    if len(pieces) - 1 != count or any("%" in p or "$" in p for p in pieces):
        return None
    if not sql.lstrip().upper().startswith(("INSERT", "UPDATE", "SELECT", "WITH", "DELETE")):
        return None
    name = "ansinh_" + hashlib.sha256(sql.encode()).hexdigest()[:24]
    numbered = pieces[0] + "".join(f"${i}{p}" for i, p in enumerate(pieces[1:], 1))
    args = f"({', '.join(['%s'] * count)})" if count else ""
    return name, f"PREPARE {name} AS {numbered}", f"EXECUTE {name}{args}"


#: Message texts by their statements' texts: the same shape of message recurs with every call.
_templates: dict[tuple[str, ...], bytes | None] = {}


def _merged(cursor: Any, parts: list[str], params: list[Any]) -> bytes | None:
    """The message with its parameters merged in, as psycopg's client-side binding merges them
    (each value as ``Transformer.as_literal`` writes it), but without re-reading the text for
    placeholders on every call: psycopg caches that only for statements under 4 KiB and 50
    parameters, and a message is longer (≈ 0.3 ms a message otherwise). None — let psycopg do
    it — when a text has any ``%`` other than plain ``%s`` placeholders."""
    key = tuple(parts)
    if key not in _templates:
        text = ";\n".join(parts)
        plain = "%%" not in text and text.count("%") == text.count("%s")
        _templates[key] = text.encode() if plain and text.count("%s") == len(params) else None
        if len(_templates) > 512:  # shapes are few; a flood of new ones must not grow memory
            _templates.clear()
    template = _templates.get(key)
    if template is None:
        return None
    to_literal = Transformer.from_context(cursor.cursor).as_literal
    return template % tuple(b"NULL" if p is None else to_literal(p) for p in params)


def send(conn: Any, parts: Sequence[str], params: Sequence[Any]) -> list[list[Any]]:
    """One message of statements (PostgreSQL) and every statement's rows, in order."""
    with conn.cursor() as cursor:
        query = _merged(cursor, list(parts), list(params))
        if query is None:
            cursor.execute(";\n".join(parts), params)
        else:
            cursor.execute(query)
        return _all_results(cursor)


_TUPLES_OK = 2  # psycopg.pq.ExecStatus.TUPLES_OK: a result with rows (possibly none)


def _all_results(cursor: Any) -> list[list[Any]]:
    """Every statement's rows from a multi-statement message. psycopg has received them all (and
    raised on the first error) when ``execute`` returns; they are told apart by result status,
    as ``description`` would build column objects on every call."""
    raw = cursor.cursor
    out = []
    while True:
        result = raw.pgresult
        out.append(raw.fetchall() if result is not None and result.status == _TUPLES_OK else [])
        if not raw.nextset():
            return out


def combines(using: str = "default") -> bool:
    """Whether scripts on this connection travel as one message each (see the module)."""
    conn = connections[using]
    return conn.vendor == "postgresql" and not conn.in_atomic_block and conn.get_autocommit()


@contextmanager
def transaction_script(using: str = "default") -> Iterator[Script]:
    """The transaction of a :class:`Script` (see the module for where it combines)."""
    script = Script(using)
    if not combines(using):
        with transaction.atomic(using=using):
            yield script
        return
    script.combined = True
    conn = script.connection
    try:
        yield script
    except BaseException:
        try:
            script._rollback()
        except Exception:
            conn.close()  # broken: it cannot hold our transaction any more
        raise
    if not script._done:
        script.run([], commit=True)
    # Django's own on_commit hooks are run by atomic blocks, which this is not: callers run
    # their after-commit work themselves, once this block has returned.
