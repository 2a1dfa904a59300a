"""Make the audit log append-only in the database itself: UPDATE and DELETE on
access_auditevent raise, whoever issues them (ORM, raw SQL, admin, a bug)."""

from django.db import migrations

SQLITE_FORWARD = [
    """CREATE TRIGGER IF NOT EXISTS access_auditevent_no_update BEFORE UPDATE ON access_auditevent
    BEGIN SELECT RAISE(ABORT, 'access_auditevent is append-only'); END""",
    """CREATE TRIGGER IF NOT EXISTS access_auditevent_no_delete BEFORE DELETE ON access_auditevent
    BEGIN SELECT RAISE(ABORT, 'access_auditevent is append-only'); END""",
]
SQLITE_REVERSE = [
    "DROP TRIGGER IF EXISTS access_auditevent_no_update",
    "DROP TRIGGER IF EXISTS access_auditevent_no_delete",
]
POSTGRES_FORWARD = [
    """CREATE OR REPLACE FUNCTION access_auditevent_refuse() RETURNS trigger AS $$
    BEGIN
        RAISE EXCEPTION 'access_auditevent is append-only' USING ERRCODE = 'insufficient_privilege';
    END;
    $$ LANGUAGE plpgsql""",
    """CREATE OR REPLACE TRIGGER access_auditevent_append_only
    BEFORE UPDATE OR DELETE ON access_auditevent
    FOR EACH ROW EXECUTE FUNCTION access_auditevent_refuse()""",
    # TRUNCATE bypasses row triggers; refuse it too.
    """CREATE OR REPLACE TRIGGER access_auditevent_no_truncate
    BEFORE TRUNCATE ON access_auditevent
    FOR EACH STATEMENT EXECUTE FUNCTION access_auditevent_refuse()""",
]
POSTGRES_REVERSE = [
    "DROP TRIGGER IF EXISTS access_auditevent_no_truncate ON access_auditevent",
    "DROP TRIGGER IF EXISTS access_auditevent_append_only ON access_auditevent",
    "DROP FUNCTION IF EXISTS access_auditevent_refuse()",
]


def _run(schema_editor, statements):
    for sql in statements:
        schema_editor.execute(sql)


def forward(apps, schema_editor):
    vendor = schema_editor.connection.vendor
    if vendor == "sqlite":
        _run(schema_editor, SQLITE_FORWARD)
    elif vendor == "postgresql":
        _run(schema_editor, POSTGRES_FORWARD)
    else:
        # Refuse rather than run without a tamper-proof audit log.
        raise RuntimeError(f"ansinh supports SQLite and PostgreSQL only, not {vendor}")


def reverse(apps, schema_editor):
    vendor = schema_editor.connection.vendor
    if vendor == "sqlite":
        _run(schema_editor, SQLITE_REVERSE)
    elif vendor == "postgresql":
        _run(schema_editor, POSTGRES_REVERSE)


class Migration(migrations.Migration):
    dependencies = [("access", "0001_initial")]

    operations = [migrations.RunPython(forward, reverse)]
