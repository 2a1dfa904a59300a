"""Make linkage decisions append-only in the database: UPDATE and DELETE on
linkage_linkdecision raise (an undo is a new row, never an edit)."""

from django.db import migrations

SQLITE_FORWARD = [
    """CREATE TRIGGER IF NOT EXISTS linkage_linkdecision_no_update
    BEFORE UPDATE ON linkage_linkdecision
    BEGIN SELECT RAISE(ABORT, 'linkage_linkdecision is append-only'); END""",
    """CREATE TRIGGER IF NOT EXISTS linkage_linkdecision_no_delete
    BEFORE DELETE ON linkage_linkdecision
    BEGIN SELECT RAISE(ABORT, 'linkage_linkdecision is append-only'); END""",
]
SQLITE_REVERSE = [
    "DROP TRIGGER IF EXISTS linkage_linkdecision_no_update",
    "DROP TRIGGER IF EXISTS linkage_linkdecision_no_delete",
]
POSTGRES_FORWARD = [
    """CREATE OR REPLACE FUNCTION linkage_linkdecision_refuse() RETURNS trigger AS $$
    BEGIN
        RAISE EXCEPTION 'linkage_linkdecision is append-only'
            USING ERRCODE = 'insufficient_privilege';
    END;
    $$ LANGUAGE plpgsql""",
    """CREATE OR REPLACE TRIGGER linkage_linkdecision_append_only
    BEFORE UPDATE OR DELETE ON linkage_linkdecision
    FOR EACH ROW EXECUTE FUNCTION linkage_linkdecision_refuse()""",
]
POSTGRES_REVERSE = [
    "DROP TRIGGER IF EXISTS linkage_linkdecision_append_only ON linkage_linkdecision",
    "DROP FUNCTION IF EXISTS linkage_linkdecision_refuse()",
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


def reverse(apps, schema_editor):
    vendor = schema_editor.connection.vendor
    if vendor == "sqlite":
        _run(schema_editor, SQLITE_REVERSE)
    elif vendor == "postgresql":
        _run(schema_editor, POSTGRES_REVERSE)


class Migration(migrations.Migration):
    dependencies = [("linkage", "0001_initial")]

    operations = [migrations.RunPython(forward, reverse)]
