"""Make linkage decisions append-only in the database: UPDATE, DELETE (and TRUNCATE on
PostgreSQL) on linkage_linkdecision raise — an undo is a new row, never an edit."""

from django.db import migrations

from ansinh.core import appendonly


def forward(apps, schema_editor):
    appendonly.protect(schema_editor, "linkage_linkdecision")


def reverse(apps, schema_editor):
    appendonly.unprotect(schema_editor, "linkage_linkdecision")


class Migration(migrations.Migration):
    dependencies = [("linkage", "0001_initial")]

    operations = [migrations.RunPython(forward, reverse)]
