"""Make the submission trace append-only in the database: UPDATE and DELETE on
gateway_submissionevent raise, whoever issues them."""

from django.db import migrations

from ansinh.core import appendonly

TABLE = "gateway_submissionevent"


def forward(apps, schema_editor):
    appendonly.protect(schema_editor, TABLE)


def reverse(apps, schema_editor):
    appendonly.unprotect(schema_editor, TABLE)


class Migration(migrations.Migration):
    dependencies = [("gateway", "0001_initial")]

    operations = [migrations.RunPython(forward, reverse)]
