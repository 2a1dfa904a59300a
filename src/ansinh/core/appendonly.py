"""Append-only tables enforced by the database: UPDATE, DELETE (and TRUNCATE on PostgreSQL)
raise whoever issues them. Used by the audit log and the one-stop transition log.

Migrations call :func:`protect` / :func:`unprotect`; the ``flush`` command lifts the triggers of
every table in :data:`TABLES` for a deliberate wipe and puts them back at once.
"""

from __future__ import annotations

from typing import Any

#: Every append-only table, for ``flush``.
TABLES = (
    "access_auditevent",
    "onestop_dossiertransition",
    "gateway_submissionevent",
    "exchange_logentry",
    "exchange_logcheckpoint",
    "benefits_awardevent",
    "linkage_linkdecision",
)


def _sqlite_forward(table: str) -> list[str]:
    return [
        f"""CREATE TRIGGER IF NOT EXISTS {table}_no_update BEFORE UPDATE ON {table}
    BEGIN SELECT RAISE(ABORT, '{table} is append-only'); END""",
        f"""CREATE TRIGGER IF NOT EXISTS {table}_no_delete BEFORE DELETE ON {table}
    BEGIN SELECT RAISE(ABORT, '{table} is append-only'); END""",
    ]


def _sqlite_reverse(table: str) -> list[str]:
    return [
        f"DROP TRIGGER IF EXISTS {table}_no_update",
        f"DROP TRIGGER IF EXISTS {table}_no_delete",
    ]


def _postgres_forward(table: str) -> list[str]:
    return [
        f"""CREATE OR REPLACE FUNCTION {table}_refuse() RETURNS trigger AS $$
    BEGIN
        RAISE EXCEPTION '{table} is append-only' USING ERRCODE = 'insufficient_privilege';
    END;
    $$ LANGUAGE plpgsql""",
        f"""CREATE OR REPLACE TRIGGER {table}_append_only
    BEFORE UPDATE OR DELETE ON {table}
    FOR EACH ROW EXECUTE FUNCTION {table}_refuse()""",
        # TRUNCATE bypasses row triggers; refuse it too.
        f"""CREATE OR REPLACE TRIGGER {table}_no_truncate
    BEFORE TRUNCATE ON {table}
    FOR EACH STATEMENT EXECUTE FUNCTION {table}_refuse()""",
    ]


def _postgres_reverse(table: str) -> list[str]:
    return [
        f"DROP TRIGGER IF EXISTS {table}_no_truncate ON {table}",
        f"DROP TRIGGER IF EXISTS {table}_append_only ON {table}",
        f"DROP FUNCTION IF EXISTS {table}_refuse()",
    ]


def _statements(vendor: str, table: str, forward: bool) -> list[str]:
    if vendor == "sqlite":
        return _sqlite_forward(table) if forward else _sqlite_reverse(table)
    if vendor == "postgresql":
        return _postgres_forward(table) if forward else _postgres_reverse(table)
    # Refuse rather than run without a tamper-proof log.
    raise RuntimeError(f"ansinh supports SQLite and PostgreSQL only, not {vendor}")


def protect(executor: Any, table: str) -> None:
    """Install the triggers (``executor`` is a schema editor or anything with ``execute`` and
    ``connection``)."""
    for sql in _statements(executor.connection.vendor, table, True):
        executor.execute(sql)


def unprotect(executor: Any, table: str) -> None:
    for sql in _statements(executor.connection.vendor, table, False):
        executor.execute(sql)
