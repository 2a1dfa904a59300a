"""Make the message log and its checkpoints append-only in the database: UPDATE and DELETE
raise, whoever issues them (pruning lifts the triggers inside its own transaction)."""

from django.db import migrations

from ansinh.core import appendonly

TABLES = ("exchange_logentry", "exchange_logcheckpoint")


def forward(apps, schema_editor):
    for table in TABLES:
        appendonly.protect(schema_editor, table)


def reverse(apps, schema_editor):
    for table in TABLES:
        appendonly.unprotect(schema_editor, table)


class Migration(migrations.Migration):
    dependencies = [("exchange", "0001_initial")]

    operations = [migrations.RunPython(forward, reverse)]
