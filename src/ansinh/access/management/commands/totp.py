"""``ansinh totp USERNAME``: print the user's current TOTP code (demos and operations)."""

from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from ansinh.access.models import User
from ansinh.access.twofactor import current_code


class Command(BaseCommand):
    help = "Print the current two-factor code of a user who has a TOTP secret."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("username")

    def handle(self, *args: Any, **options: Any) -> None:
        user = User.objects.filter(username=options["username"]).first()
        if user is None:
            raise CommandError("no user with that username")
        if not user.totp_secret:
            raise CommandError("this user has no TOTP secret yet (sign in once to enrol)")
        self.stdout.write(current_code(user.totp_secret))
