"""``ansinh bootstrap``: load the reference data every installation needs. Idempotent: run it
after every upgrade; what is already there is left alone."""

from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand

from ansinh.access.services import ensure_roles
from ansinh.law.services import sync_rules
from ansinh.onestop.services import sync_catalogue
from ansinh.places.models import AdminUnit
from ansinh.places.services import load_admin_units


class Command(BaseCommand):
    help = "Load administrative units, rule tables, the procedure catalogue and roles (idempotent)."

    def add_arguments(self, parser: Any) -> None:
        parser.add_argument(
            "--reload-places", action="store_true", help="Reload units even if present."
        )

    def handle(self, *args: Any, **options: Any) -> None:
        if options["reload_places"] or not AdminUnit.objects.exists():
            counts = load_admin_units(progress=options["verbosity"] > 0)
            self.stdout.write(f"administrative units: {counts}")
        else:
            self.stdout.write("administrative units: already loaded")
        self.stdout.write(f"rule tables: {sync_rules()} rows written (0 = already up to date)")
        self.stdout.write(f"procedure catalogue: {sync_catalogue()} rows written")
        ensure_roles()
        self.stdout.write("roles: ensured")
