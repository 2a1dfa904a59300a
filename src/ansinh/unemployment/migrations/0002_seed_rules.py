"""Load rules.toml (bhtn_* legal parameters and termination reasons) so databases hold them."""

from django.db import migrations


def seed(apps, schema_editor):
    from ansinh.law.services import load_rule_file
    from ansinh.unemployment.rules import PARAMETERS, TERMINATIONS

    load_rule_file(PARAMETERS, apps.get_model)
    load_rule_file(TERMINATIONS, apps.get_model)


class Migration(migrations.Migration):
    dependencies = [
        ("unemployment", "0001_initial"),
        ("law", "0004_calendar_announcements"),
    ]

    operations = [migrations.RunPython(seed, migrations.RunPython.noop)]
