"""Seed the rule tables from law/rules/*.toml so they are never empty after migrate."""

from django.db import migrations


def seed(apps, schema_editor):
    from ansinh.law.services import load_rules

    load_rules(lambda name: apps.get_model("law", name))


class Migration(migrations.Migration):
    dependencies = [("law", "0001_initial")]

    operations = [migrations.RunPython(seed, migrations.RunPython.noop)]
