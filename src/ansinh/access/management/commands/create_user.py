"""``ansinh create_user USERNAME --org CODE --role ROLE [--password ...]``."""

from __future__ import annotations

import secrets
from typing import Any

from django.contrib.auth.password_validation import validate_password
from django.core.exceptions import ValidationError
from django.core.management.base import BaseCommand, CommandError, CommandParser

from ansinh.access.models import Organisation
from ansinh.access.services import ROLES, create_user
from ansinh.core.errors import DomainError


class Command(BaseCommand):
    help = "Create a user of an organisation with one or more roles."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("username")
        parser.add_argument("--org", default=None, help="Organisation code")
        parser.add_argument("--role", action="append", choices=ROLES, default=[])
        parser.add_argument("--password", default=None, help="Omit to generate one, printed once")
        parser.add_argument("--superuser", action="store_true")

    def handle(self, *args: Any, **options: Any) -> None:
        org = None
        if options["org"]:
            org = Organisation.objects.filter(code=options["org"]).first()
            if org is None:
                raise CommandError("no organisation with that code")
        password = options["password"]
        generated = password is None
        if generated:
            password = secrets.token_urlsafe(12)
        else:
            try:
                validate_password(password)
            except ValidationError as exc:
                raise CommandError(" ".join(exc.messages)) from exc
        flags = {"is_superuser": True, "is_staff": True} if options["superuser"] else {}
        try:
            user = create_user(
                username=options["username"],
                password=password,
                organisation=org,
                roles=options["role"],
                **flags,
            )
        except DomainError as exc:
            raise CommandError(exc.first.message_en) from exc
        self.stdout.write(f"created user {user.username}")
        if generated:
            self.stdout.write(f"password: {password}")
