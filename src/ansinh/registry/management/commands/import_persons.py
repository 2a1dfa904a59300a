from __future__ import annotations

import sys
from typing import Any

from django.core.management.base import BaseCommand, CommandParser

from ansinh.registry.services import import_persons


class Command(BaseCommand):
    help = (
        "Import persons from a UTF-8 CSV (personal_id, legacy_number, full_name, date_of_birth, "
        "sex, nationality, address_unit_code or legacy_address_unit_code). Per row: good rows "
        "are kept, bad rows reported; persons from a split pre-2025 commune go to address "
        "review; exit code 1 if any row was rejected."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("file")

    def handle(self, *args: Any, **options: Any) -> None:
        report = import_persons(options["file"])
        self.stdout.write(
            f"created={report.created} unchanged={report.unchanged} rejected={report.rejected} "
            f"sent_to_review={report.sent_to_review}"
        )
        for e in report.errors:
            self.stdout.write(f"line {e.line}: {e.field or '-'}: {e.code}: {e.message_en}")
        if not report.ok:
            sys.exit(1)
