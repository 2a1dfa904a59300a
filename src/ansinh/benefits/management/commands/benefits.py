"""``ansinh benefits pay --on DATE`` (payment run: chi trả) and ``ansinh benefits detect``
(the detector's full run)."""

from __future__ import annotations

import datetime as dt
import json
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.utils import timezone


class Command(BaseCommand):
    help = "Unemployment benefit payments: payment run and fraud/error detector."

    def add_arguments(self, parser: CommandParser) -> None:
        sub = parser.add_subparsers(dest="action", required=True)
        pay = sub.add_parser("pay", help="pay the months due by a day (default today)")
        pay.add_argument("--on", default="", help="YYYY-MM-DD")
        pay.add_argument("--no-detect", action="store_true", help="skip the detector run first")
        sub.add_parser("detect", help="full detector run")

    def handle(self, *args: Any, **options: Any) -> None:
        from ansinh.benefits import detector, services

        if options["action"] == "pay":
            try:
                day = (
                    dt.date.fromisoformat(options["on"]) if options["on"] else timezone.localdate()
                )
            except ValueError as exc:
                raise CommandError("--on must be YYYY-MM-DD") from exc
            run = services.pay_due(day, detect=not options["no_detect"])
            self.stdout.write(
                f"paid {run.paid} months ({run.amount} đồng), {run.held} held, "
                f"{run.cards} cards issued, {run.completed} awards completed"
            )
            for line in run.card_errors:
                self.stderr.write(f"card not issued: {line}")
            return
        result = detector.run()
        self.stdout.write(
            json.dumps(
                {
                    "findings": result.findings,
                    "opened": result.opened,
                    "feed_events": result.feed_events,
                    "by_kind": result.by_kind,
                    "seconds": result.seconds,
                },
                ensure_ascii=False,
            )
        )
