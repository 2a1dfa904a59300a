"""Make the dossier path append-only in the database: UPDATE and DELETE on
onestop_dossiertransition raise, whoever issues them."""

from django.db import migrations

from ansinh.core import appendonly

TABLE = "onestop_dossiertransition"


def forward(apps, schema_editor):
    appendonly.protect(schema_editor, TABLE)


def reverse(apps, schema_editor):
    appendonly.unprotect(schema_editor, TABLE)


class Migration(migrations.Migration):
    dependencies = [("onestop", "0001_initial")]

    operations = [migrations.RunPython(forward, reverse)]
