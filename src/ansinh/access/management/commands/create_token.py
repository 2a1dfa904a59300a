"""``ansinh create_token USERNAME NAME [--days N]``: issue an API token, printed once."""

from __future__ import annotations

import datetime as dt
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.utils import timezone

from ansinh.access.models import User
from ansinh.access.services import issue_token


class Command(BaseCommand):
    help = "Issue an API bearer token for a user; the token is printed once and not stored."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("username")
        parser.add_argument("name", help="What the token is for, e.g. the calling system")
        parser.add_argument("--days", type=int, default=None, help="Lifetime in days")

    def handle(self, *args: Any, **options: Any) -> None:
        user = User.objects.filter(username=options["username"], is_active=True).first()
        if user is None:
            raise CommandError("no active user with that username")
        days = options["days"]
        if days is not None and days < 1:
            raise CommandError("--days must be at least 1")
        expires = timezone.now() + dt.timedelta(days=days) if days else None
        _, token = issue_token(user, options["name"], expires_at=expires)
        self.stdout.write(token)
