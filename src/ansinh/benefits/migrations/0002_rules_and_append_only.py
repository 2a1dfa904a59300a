"""Load the app's rule file (so test databases hold the rows) and make the decision events
append-only in the database."""

from django.db import migrations

from ansinh.core import appendonly


def load(apps, schema_editor):
    from ansinh.benefits.rules import CODES, PARAMETERS
    from ansinh.law.services import load_rule_file

    for rule_file in (PARAMETERS, CODES):
        load_rule_file(rule_file, apps.get_model)


def protect(apps, schema_editor):
    appendonly.protect(schema_editor, "benefits_awardevent")


def unprotect(apps, schema_editor):
    appendonly.unprotect(schema_editor, "benefits_awardevent")


class Migration(migrations.Migration):
    dependencies = [("benefits", "0001_initial"), ("law", "0004_calendar_announcements")]

    operations = [
        migrations.RunPython(load, migrations.RunPython.noop),
        migrations.RunPython(protect, unprotect),
    ]
