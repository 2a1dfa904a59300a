"""Django's ``flush`` with the append-only triggers (audit log, one-stop transition log) lifted
for the wipe.

Emptying the whole database is a deliberate act (development, and the test runner between
transactional tests); the triggers would otherwise refuse it. They are put back at once."""

from __future__ import annotations

from typing import Any

from django.core.management.commands import flush
from django.db import connections

from ansinh.core import appendonly


class _Executor:
    """The two things :mod:`ansinh.core.appendonly` uses of a schema editor."""

    def __init__(self, connection: Any) -> None:
        self.connection = connection

    def execute(self, sql: str) -> None:
        with self.connection.cursor() as cursor:
            cursor.execute(sql)


class Command(flush.Command):
    def handle(self, **options: Any) -> None:
        connection = connections[options["database"]]
        present = set(connection.introspection.table_names())
        tables = [t for t in appendonly.TABLES if t in present]
        executor = _Executor(connection)
        for table in tables:
            appendonly.unprotect(executor, table)
        try:
            super().handle(**options)
        finally:
            for table in tables:
                appendonly.protect(executor, table)
