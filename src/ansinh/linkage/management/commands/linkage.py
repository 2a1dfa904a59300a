"""``ansinh linkage train|dedupe|quality``: retrain the committed model, deduplicate the
registry, measure quality on generated data."""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

from django.core.management.base import BaseCommand, CommandParser


class Command(BaseCommand):
    help = "Record linkage: train the Splink model, deduplicate the registry, measure quality."

    def add_arguments(self, parser: CommandParser) -> None:
        sub = parser.add_subparsers(dest="action", required=True)
        train = sub.add_parser("train", help="retrain the model from generated data")
        train.add_argument("--persons", type=int, default=50_000)
        train.add_argument("--error-rate", type=float, default=0.1)
        train.add_argument("--seed", type=int, default=11)
        train.add_argument("--out", default=None, help="default: linkage/models/person_v1.json")
        sub.add_parser("dedupe", help="find duplicate persons in the registry")
        quality = sub.add_parser("quality", help="precision/recall/F1 on generated sources")
        quality.add_argument("--persons", type=int, default=20_000)
        quality.add_argument("--error-rate", type=float, action="append", default=None)
        quality.add_argument("--seed", type=int, default=1)

    def handle(self, *args: Any, **opts: Any) -> None:
        getattr(self, f"_{opts['action']}")(**opts)

    def _train(
        self, *, persons: int, error_rate: float, seed: int, out: str | None, **_: Any
    ) -> None:
        from ansinh.linkage import engine, quality

        t0 = time.perf_counter()
        rows = quality.training_rows(persons, rate=error_rate, seed=seed)
        engine.train(rows, out=Path(out) if out else None, seed=seed)
        self.stdout.write(
            f"trained on {len(rows):,} records in {time.perf_counter() - t0:.1f} s → "
            f"{out or engine.DEFAULT_MODEL}"
        )

    def _dedupe(self, **_: Any) -> None:
        from ansinh.linkage.services import dedupe_registry

        s = dedupe_registry()
        self.stdout.write(
            f"persons {s.persons:,}; pairs scored {s.scored_pairs:,}; linked {s.linked:,}; "
            f"to review {s.opened:,}; already known {s.skipped_known:,}; "
            + ", ".join(f"{k} {v:.1f} s" for k, v in s.seconds.items())
        )

    def _quality(
        self, *, persons: int, error_rate: list[float] | None, seed: int, **_: Any
    ) -> None:
        from ansinh.linkage import quality
        from ansinh.linkage.services import thresholds

        hi, _lo = thresholds()
        for rate in error_rate or [0.01, 0.05, 0.2]:
            t0 = time.perf_counter()
            s = quality.evaluate_link(persons, rate, seed=seed, threshold=hi)
            self.stdout.write(f"error {rate:.0%}: {s.line()} — {time.perf_counter() - t0:.1f} s")
