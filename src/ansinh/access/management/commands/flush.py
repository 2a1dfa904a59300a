"""Django's ``flush`` with the audit log's append-only triggers lifted for the wipe.

Emptying the whole database is a deliberate act (development, and the test runner between
transactional tests); the triggers would otherwise refuse it. They are put back at once."""

from __future__ import annotations

import importlib
from typing import Any

from django.core.management.commands import flush
from django.db import connections

_triggers = importlib.import_module("ansinh.access.migrations.0002_audit_append_only")


def _installed(connection: Any) -> bool:
    return "access_auditevent" in connection.introspection.table_names()


class _Executor:
    """The two things the migration's functions use of a schema editor."""

    def __init__(self, connection: Any) -> None:
        self.connection = connection

    def execute(self, sql: str) -> None:
        with self.connection.cursor() as cursor:
            cursor.execute(sql)


class Command(flush.Command):
    def handle(self, **options: Any) -> None:
        connection = connections[options["database"]]
        if not _installed(connection):
            super().handle(**options)
            return
        _triggers.reverse(None, _Executor(connection))
        try:
            super().handle(**options)
        finally:
            _triggers.forward(None, _Executor(connection))
