"""Seed the programmes, their categories and the dated allowance figures (rules.toml)."""

from django.db import migrations


def seed(apps, schema_editor):
    from ansinh.law.services import load_rule_file
    from ansinh.nationaldb.programmes.catalogue import RULES, sync_catalogue

    load_rule_file(RULES, apps.get_model)
    sync_catalogue(apps.get_model)


class Migration(migrations.Migration):
    dependencies = [
        ("nationaldb", "0002_programmes_imports"),
        ("law", "0004_calendar_announcements"),
    ]

    operations = [migrations.RunPython(seed, migrations.RunPython.noop)]
