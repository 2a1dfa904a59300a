"""``ansinh generate``: a deterministic synthetic data set (see ``ansinh.synth.generator``)."""

from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand, CommandError

from ansinh.core.errors import DomainError
from ansinh.synth.generator import Params, generate, parse_period, period_of


class Command(BaseCommand):
    help = (
        "Generate synthetic persons, employers, spells, salaries and the contribution ledger. "
        "Refuses a registry that already has persons or employers unless --append."
    )

    def add_arguments(self, parser: Any) -> None:
        parser.add_argument("--persons", type=int, required=True)
        parser.add_argument("--employers", type=int, required=True)
        parser.add_argument("--months", type=int, default=36)
        parser.add_argument("--seed", type=int, default=1)
        parser.add_argument(
            "--province", default="01", help="Current (2025) province code; default 01 Hà Nội."
        )
        parser.add_argument(
            "--end", default=None, help="Last month YYYY-MM; default: last full month."
        )
        parser.add_argument(
            "--append",
            action="store_true",
            help="Add to a registry that already has data (new numbers avoid existing ones).",
        )

    def handle(self, *args: Any, **options: Any) -> None:
        try:
            end = parse_period(options["end"]) if options["end"] else None
            params = Params(
                persons=options["persons"],
                employers=options["employers"],
                months=options["months"],
                seed=options["seed"],
                province=options["province"],
                end=end,
            )
            self.stdout.write(
                f"generating {params.persons:,} persons, {params.employers:,} employers, "
                f"{params.months} months to {period_of(params.end_index())}, "
                f"province {params.province}, seed {params.seed}"
            )
            summary = generate(params, progress=options["verbosity"] > 0, append=options["append"])
        except DomainError as exc:
            raise CommandError(exc.first.message_en) from exc
        for line in summary.lines():
            self.stdout.write(line)
