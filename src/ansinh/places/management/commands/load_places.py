"""``ansinh load_places``: load or refresh the administrative units and the 2025 mapping."""

from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand

from ansinh.places.services import load_admin_units


class Command(BaseCommand):
    help = (
        "Load the current (34 provinces, 3,321 communes) and legacy (63 provinces) administrative "
        "units and the old→new mapping from the bundled vietnamadminunits data. Idempotent."
    )

    def add_arguments(self, parser: Any) -> None:
        parser.add_argument("--no-progress", action="store_true", help="Hide the progress bar.")

    def handle(self, *args: Any, **options: Any) -> None:
        counts = load_admin_units(progress=not options["no_progress"])
        width = max(len(name) for name in counts)
        for name, value in counts.items():
            self.stdout.write(f"{name.ljust(width)}  {value:>6}")
