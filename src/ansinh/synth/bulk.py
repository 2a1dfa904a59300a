"""Fast inserts with explicit primary keys, for SQLite and PostgreSQL.

The big tables are written through the DB-API cursor of Django's connection, not the ORM:
``executemany`` on SQLite, ``COPY … FROM STDIN`` on PostgreSQL, in batches, each batch in its own
transaction so a long run neither holds one huge transaction nor commits row by row. Values are
adapted here (dates as ISO text on SQLite) because the ORM's field conversions are bypassed.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from typing import Any

from django.core.management.color import no_style
from django.db import connection, models, transaction


def is_postgres() -> bool:
    return connection.vendor == "postgresql"


def next_id(model: type[models.Model]) -> int:
    """First free primary key of a table (ids we assign start here)."""
    top = model.objects.aggregate(m=models.Max("pk"))["m"]
    return (top or 0) + 1


def date_value(day: dt.date | None) -> Any:
    """A date as the raw driver wants it: ISO text for SQLite (as Django stores it), a date for
    psycopg."""
    if day is None:
        return None
    return day if is_postgres() else day.isoformat()


def datetime_value(moment: dt.datetime) -> Any:
    return connection.ops.adapt_datetimefield_value(moment)


class TableWriter:
    """Buffers rows of one table and writes them in batches.

    Tables that reference each other are flushed together, parents first (``autoflush=False``
    and the caller flushes all when one is ``full``): foreign keys are checked per batch.

    ``columns`` are database column names; every row is a tuple in that order. Rows must carry
    every NOT NULL column, since database defaults are not used by Django-created tables.
    """

    def __init__(
        self,
        model: type[models.Model],
        columns: Sequence[str],
        batch: int = 20_000,
        *,
        autoflush: bool = True,
    ):
        self.autoflush = autoflush
        self.table = model._meta.db_table
        self.columns = tuple(columns)
        self.batch = batch
        self.rows: list[tuple[Any, ...]] = []
        self.written = 0
        qn = connection.ops.quote_name
        cols = ", ".join(qn(c) for c in self.columns)
        if is_postgres():
            self.sql = f"COPY {qn(self.table)} ({cols}) FROM STDIN"
        else:
            marks = ", ".join("?" for _ in self.columns)
            # Table and column names come from model metadata, values are parameters.
            self.sql = f"INSERT INTO {qn(self.table)} ({cols}) VALUES ({marks})"  # noqa: S608

    def add(self, row: tuple[Any, ...]) -> None:
        self.rows.append(row)
        if self.autoflush and len(self.rows) >= self.batch:
            self.flush()

    @property
    def full(self) -> bool:
        return len(self.rows) >= self.batch

    def flush(self) -> None:
        if not self.rows:
            return
        rows, self.rows = self.rows, []
        with transaction.atomic():
            connection.ensure_connection()
            raw = connection.connection
            cursor = raw.cursor()
            try:
                if is_postgres():
                    with cursor.copy(self.sql) as copy:
                        for row in rows:
                            copy.write_row(row)
                else:
                    cursor.executemany(self.sql, rows)
            finally:
                cursor.close()
        self.written += len(rows)


def execute_many(sql: str, rows: Sequence[tuple[Any, ...]], batch: int = 20_000) -> None:
    """Run one parameterised statement (``%s`` placeholders) for many rows, in batches."""
    for start in range(0, len(rows), batch):
        chunk = rows[start : start + batch]
        with transaction.atomic(), connection.cursor() as cursor:
            cursor.executemany(sql, chunk)


def reset_sequences(*model_classes: type[models.Model]) -> None:
    """After explicit ids, move PostgreSQL's id sequences past them (SQLite needs nothing)."""
    statements = connection.ops.sequence_reset_sql(no_style(), list(model_classes))
    if not statements:
        return
    with connection.cursor() as cursor:
        for sql in statements:
            cursor.execute(sql)
