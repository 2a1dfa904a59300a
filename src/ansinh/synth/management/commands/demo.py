"""``ansinh demo``: the demo organisations, users, data set and one-stop dossiers; ``--logins``
prints the logins."""

from __future__ import annotations

import time
from typing import Any

from django.core.management import get_commands
from django.core.management.base import BaseCommand, CommandError

from ansinh.registry.models import Person
from ansinh.synth.demo import DEMO_PARAMS, demo_logins, ensure_demo, ensure_demo_onestop
from ansinh.synth.dossiers import DEMO_DOSSIERS


class Command(BaseCommand):
    help = (
        "Create the demo organisations and users (one per role, password + TOTP) and generate "
        "the demo data set (Hà Nội, 50,000 persons, 2,000 employers, 36 months), then the "
        "province's one-stop offices and 18 months of dossiers."
    )

    def add_arguments(self, parser: Any) -> None:
        parser.add_argument(
            "--if-missing",
            action="store_true",
            help="Do nothing that is already there (safe to run on every start).",
        )
        parser.add_argument("--logins", action="store_true", help="Print the demo logins.")
        parser.add_argument("--persons", type=int, default=DEMO_PARAMS.persons)
        parser.add_argument(
            "--dossiers",
            type=int,
            default=None,
            help=f"One-stop dossiers to make (default {DEMO_DOSSIERS:,} for the full demo, fewer "
            "with fewer persons; 0: none); skipped when the demo offices already have some.",
        )

    def handle(self, *args: Any, **options: Any) -> None:
        if options["logins"]:
            self._print_logins()
            return
        if not options["if_missing"] and Person.objects.exists():
            raise CommandError(
                "The registry already has persons; use --if-missing to add only what is missing."
            )
        params = DEMO_PARAMS
        if options["persons"] != params.persons:
            from dataclasses import replace

            params = replace(params, persons=options["persons"])
        started = time.perf_counter()
        summary = ensure_demo(params=params, progress=options["verbosity"] > 0)
        if summary is None:
            self.stdout.write("demo data: already present")
        else:
            for line in summary.lines():
                self.stdout.write(line)
        onestop = ensure_demo_onestop(
            dossiers=options["dossiers"], progress=options["verbosity"] > 0
        )
        if onestop is None:
            self.stdout.write("one-stop dossiers: already present")
        else:
            for line in onestop.lines():
                self.stdout.write(line)
        from ansinh.synth.demo import ensure_demo_organisations
        from ansinh.synth.gateway_demo import ensure_demo_gateway

        gateway = ensure_demo_gateway(ensure_demo_organisations())
        if gateway is None:
            self.stdout.write("gateway submissions: already present")
        else:
            for line in gateway.lines():
                self.stdout.write(line)
        from ansinh.nationaldb.demo import ensure_demo_ecards
        from ansinh.nationaldb.imports.demo import import_demo_programmes

        # Before the e-cards, so the cards name the programmes.
        self.stdout.write(import_demo_programmes())

        self.stdout.write(ensure_demo_ecards())
        self.stdout.write(f"demo ready in {time.perf_counter() - started:.1f} s")

    def _print_logins(self) -> None:
        rows = demo_logins()
        if not rows:
            raise CommandError("No demo users yet: run `ansinh demo --if-missing` first.")
        has_totp_command = "totp" in get_commands()
        self.stdout.write("Demo logins (throw-away demo only):")
        self.stdout.write(
            f"{'role':<18} {'username':<13} {'password':<24} {'TOTP secret':<34} organisation"
        )
        for login, secret, _code in rows:
            self.stdout.write(
                f"{login.role:<18} {login.username:<13} {login.password:<24} {secret:<34} "
                f"{login.organisation}"
            )
        if has_totp_command:
            self.stdout.write(
                "Open http://127.0.0.1:8000/ and sign in; for the 6-digit code run "
                "`.venv/bin/ansinh totp USERNAME` in this folder, or add the secret"
            )
        else:
            self.stdout.write("Current TOTP codes now:")
            for login, _secret, code in rows:
                self.stdout.write(f"  {login.username}: {code}")
            self.stdout.write("For later codes add the secret")
        self.stdout.write("to any authenticator app (RFC 6238, 30 s, 6 digits).")
