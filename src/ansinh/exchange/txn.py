"""The provider's transaction in two messages on PostgreSQL, with a service handler between them.

An incoming call is one transaction: the nonce and the stored-answer look-up, the service's own
work, the stored answer and both log entries. Sent statement by statement that was a health
check, BEGIN, three statements and COMMIT — six round trips, each waking a database backend
and our worker on the same two cores; now it is two messages (the health check folded into the
first, :func:`fold_health_check`), of statements prepared once per connection (:func:`prepared`).

``core.sqlscript`` packs statements into one message, but outside Django's transaction
management, and a service handler is arbitrary code: it may use the ORM, nested
``transaction.atomic`` blocks and ``on_commit``. So :func:`atomic_messages` is a
real ``transaction.atomic`` block — Django sees an ordinary transaction, savepoints and commit
hooks work as anywhere — whose BEGIN rides in the first message and whose COMMIT rides in the
last one (``Messages.run(..., commit=True)``).

How: entering the block, Django switches the driver's autocommit off and psycopg would send its
own BEGIN, alone, before the first statement. Nothing has been sent yet at that point, so we
switch the driver's autocommit back on and send ``BEGIN; <statements>`` ourselves: the server is
then in our transaction and psycopg sends every later statement as it is (it adds a BEGIN only
when the server is idle and autocommit is off). Django's own view — in an atomic block,
autocommit off — is unchanged. When the last message ends with COMMIT, the server is idle when
the block exits: psycopg's ``commit()`` sends nothing then, and Django runs the commit hooks.
On any error Django rolls back as usual (psycopg sends ROLLBACK whenever the server is in a
transaction, whatever the autocommit flag). Inside an outer atomic block, or on SQLite, the
statements run one by one in an ordinary ``transaction.atomic()`` (a savepoint when nested).
"""

from __future__ import annotations

import sys
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from typing import Any

from django.db import DEFAULT_DB_ALIAS, InterfaceError, OperationalError, connections, transaction

from ansinh.core import sqlscript

Statement = tuple[str, Sequence[Any]]


def prepared(statements: Sequence[Statement]) -> list[Statement]:
    """The statements as ``EXECUTE`` of statements prepared once per database session
    (``core.sqlscript.prepared``, ``SQL_PREPARED_STATEMENTS``; PostgreSQL only): the server then
    neither parses nor plans the log's CTEs again — about half of its CPU for a log append
    (0.51 → 0.27 ms, measured in process)."""
    connection = connections[DEFAULT_DB_ALIAS]  # once: each use of the proxy is a look-up
    if connection.vendor != "postgresql":
        return list(statements)
    connection.ensure_connection()
    return sqlscript.prepared(connection, statements)


class StaleConnection(Exception):
    """The first message failed on a connection whose health check was folded into it: nothing
    was committed (no COMMIT had been sent), so the caller may close the connection and run the
    whole transaction again, which is what the health check would have done."""


def fold_health_check() -> bool:
    """Skip ``CONN_HEALTH_CHECKS``' ``SELECT 1`` (a round trip on every request): the first
    message of :func:`atomic_messages` checks the connection instead. True when folded: call
    ``atomic_messages(retry_first=True)`` and handle :class:`StaleConnection`."""
    connection = connections[DEFAULT_DB_ALIAS]
    folded = (
        connection.connection is not None
        and connection.health_check_enabled
        and not connection.health_check_done
        and not connection.in_atomic_block
    )
    if folded:
        connection.health_check_done = True
    return folded


class Messages:
    """The statements of one :func:`atomic_messages` block, one message per :meth:`run`."""

    def __init__(self, combined: bool, retry_first: bool = False) -> None:
        self.combined = combined
        self.retry_first = retry_first
        self.sent = 0
        self.committed = False

    def run(self, statements: Sequence[Statement], *, commit: bool = False) -> list[list[Any]]:
        """The rows of each statement (empty for those that return none). ``commit``: end the
        transaction with this message (combined only; otherwise the block commits)."""
        if self.committed:
            raise RuntimeError("this block's transaction is already committed")
        try:
            if not self.combined:
                out = []
                statements = prepared(statements)
                with connections[DEFAULT_DB_ALIAS].cursor() as cursor:
                    for sql, params in statements:
                        cursor.execute(sql, params)
                        out.append(cursor.fetchall() if cursor.description else [])
                return out
            return self._send(statements, commit)
        except (OperationalError, InterfaceError) as exc:
            if self.retry_first and self.sent == 0:
                raise StaleConnection from exc
            raise
        finally:
            self.sent += 1

    def _send(self, statements: Sequence[Statement], commit: bool) -> list[list[Any]]:
        connection = connections[DEFAULT_DB_ALIAS]
        connection.ensure_connection()
        raw = connection.connection
        begins = raw.info.transaction_status == 0  # psycopg TransactionStatus.IDLE
        if begins:
            # Idle: nothing sent yet in this block. Our BEGIN opens the transaction instead of
            # psycopg's (see the module); Django restores the flag when the block ends.
            raw.autocommit = True
        statements = prepared(statements)
        parts = ["BEGIN"] if begins else []
        params: list[Any] = []
        for sql, values in statements:
            parts.append(sql)
            params.extend(values)
        if commit:
            parts.append("COMMIT")
        results = sqlscript.send(connection, parts, params)
        if commit:
            self.committed = True
        first = 1 if begins else 0
        return results[first : first + len(statements)]


@contextmanager
def atomic_messages(*, retry_first: bool = False) -> Iterator[Messages]:
    """``transaction.atomic()`` whose statements go through :meth:`Messages.run` (see the
    module). ``retry_first``: the health check was folded (:func:`fold_health_check`)."""
    combined = sqlscript.combines()
    retry_first = retry_first and combined
    block = transaction.atomic()
    try:
        block.__enter__()
    except (OperationalError, InterfaceError) as exc:
        # Switching autocommit off found the connection already broken: nothing was sent.
        if retry_first:
            raise StaleConnection from exc
        raise
    try:
        yield Messages(combined, retry_first)
    except BaseException:
        if not block.__exit__(*sys.exc_info()):
            raise
    else:
        block.__exit__(None, None, None)
