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

from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from typing import Any

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
        for sql, values in statements:
            parts.append(sql)
            params.extend(values)
        if commit:
            parts.append("COMMIT")
        with self.connection.cursor() as cursor:
            self._open = True
            query = _merged(cursor, parts, params)
            if query is None:
                cursor.execute(";\n".join(parts), params)
            else:
                cursor.execute(query)
            results = _all_results(cursor)
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


def _all_results(cursor: Any) -> list[list[Any]]:
    """Every statement's rows from a multi-statement message (psycopg: one result set each)."""
    out = [cursor.fetchall() if cursor.description else []]
    while cursor.nextset():
        out.append(cursor.fetchall() if cursor.description else [])
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
