"""``ansinh create_org CODE NAME --kind KIND [--scope 01,79] [--nationwide] [--parent CODE]``."""

from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from ansinh.access.models import Organisation, OrganisationKind
from ansinh.access.services import create_organisation
from ansinh.core.errors import DomainError


class Command(BaseCommand):
    help = "Create an organisation serving current provinces (2-digit) or communes (5-digit)."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("code")
        parser.add_argument("name")
        parser.add_argument("--kind", required=True, choices=OrganisationKind.values)
        parser.add_argument("--scope", default="", help="Comma-separated unit codes")
        parser.add_argument("--nationwide", action="store_true")
        parser.add_argument("--parent", default=None, help="Code of the parent organisation")

    def handle(self, *args: Any, **options: Any) -> None:
        parent = None
        if options["parent"]:
            parent = Organisation.objects.filter(code=options["parent"]).first()
            if parent is None:
                raise CommandError("no organisation with that parent code")
        codes = [c.strip() for c in options["scope"].split(",") if c.strip()]
        try:
            org = create_organisation(
                code=options["code"],
                name=options["name"],
                kind=options["kind"],
                scope_codes=codes,
                nationwide=options["nationwide"],
                parent=parent,
            )
        except DomainError as exc:
            raise CommandError(exc.first.message_en) from exc
        self.stdout.write(f"created organisation {org.code}")
