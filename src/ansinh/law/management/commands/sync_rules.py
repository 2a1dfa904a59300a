from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand

from ansinh.law.services import sync_rules


class Command(BaseCommand):
    help = "Load the rule tables (rates, caps, reference amounts, parameters) from law/rules/."

    def handle(self, *args: Any, **options: Any) -> None:
        changed = sync_rules()
        self.stdout.write(f"{changed} rule rows created or updated.")
