#!/usr/bin/env python
"""ansinh benchmarks, one suite at a time:

    .venv/bin/python bench/run.py generate [--persons 1000000]   # generation throughput
    .venv/bin/python bench/run.py lookup   [--persons 1000000]   # history lookup p50/p99
    .venv/bin/python bench/run.py bill     [--persons 1000000]   # one employer's monthly bill

    .venv/bin/python bench/run.py dossiers-generate  [--dossiers 1000000]  # one-stop data set
    .venv/bin/python bench/run.py dossiers-sweep     [--dossiers 1000000]  # warning sweep
    .venv/bin/python bench/run.py dossiers-dashboard [--dossiers 1000000]  # on-time dashboards

    .venv/bin/python bench/run.py gateway-intake      # signed dossiers/s over HTTP (gunicorn)
    .venv/bin/python bench/run.py gateway-processing  # rows/s of services.process_submission

    .venv/bin/python bench/run.py exchange            # signed round trips/s between two servers
    .venv/bin/python bench/run.py benefits-detector   # fraud/error detector, 1M awards, 20M rows

    .venv/bin/python bench/run.py nationaldb-import   # staged import rows/s (CSV 1M, XLSX 200k)

The data set lives in ``bench/.data/<parameters>/`` (SQLite, gitignored) and is reused by
``lookup`` and ``bill`` when its parameters match; ``generate`` always builds it afresh (the
one-stop suites keep theirs in ``bench/.data/onestop-<parameters>/`` the same way). With
``DATABASE_URL`` set the suites run on that database instead (it must be empty for
``generate``; the parameters of what it holds are kept in ``bench/.data/<parameters>.pg``).
Results go to stdout; record them in docs/benchmarks.md.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import random
import shutil
import statistics
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent
DATA = ROOT / ".data"


def parse_args(argv: list[str]) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument(
        "suite", choices=("generate", "lookup", "bill", *DOSSIER_SUITES, *GATEWAY_SUITES)
    )
    parser.add_argument("--persons", type=int, default=1_000_000)
    parser.add_argument("--employers", type=int, default=None, help="default: persons / 40")
    parser.add_argument("--months", type=int, default=36)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--province", default="01")
    parser.add_argument("--end", default="2026-10", help="last month YYYY-MM (fixed for reuse)")
    parser.add_argument("--samples", type=int, default=2000, help="lookup: personal IDs timed")
    parser.add_argument("--dossiers", type=int, default=1_000_000, help="one-stop dossiers")
    parser.add_argument("--open", type=int, default=100_000, help="dossiers open at --now")
    parser.add_argument("--years", type=int, default=3, help="years of dossiers up to --now")
    parser.add_argument("--provinces", type=int, default=34)
    parser.add_argument(
        "--now",
        default="2026-11-20T10:00",
        help="the data set's moment, local time (fixed for reuse)",
    )
    parser.add_argument("--runs", type=int, default=5, help="timed runs after a warm-up")
    return parser.parse_args(argv)


DOSSIER_SUITES = ("dossiers-generate", "dossiers-sweep", "dossiers-dashboard")
GATEWAY_SUITES = ("gateway-intake", "gateway-processing")


def setup_django(data_dir: Path) -> None:
    os.environ["ANSINH_DATA_DIR"] = str(data_dir)
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "ansinh.settings")
    os.environ.setdefault("LOG_LEVEL", "WARNING")
    import django

    django.setup()


def machine() -> str:
    cpu = ""
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    mem = ""
    try:
        kb = int(Path("/proc/meminfo").read_text().split()[1])
        mem = f"{kb / 1024 / 1024:.0f} GiB RAM"
    except (OSError, ValueError, IndexError):
        pass
    return f"{os.cpu_count()} cores, {cpu}, {mem}, Python {platform.python_version()}"


class DataSet:
    def __init__(self, args: argparse.Namespace) -> None:
        from ansinh.synth.generator import Params, parse_period

        self.params = Params(
            persons=args.persons,
            employers=args.employers or max(1, args.persons // 40),
            months=args.months,
            seed=args.seed,
            province=args.province,
            end=parse_period(args.end),
        )
        self.pg = bool(os.environ.get("DATABASE_URL"))
        self.dir = DATA / self.params.key()
        self.marker = DATA / f"{self.params.key()}.pg" if self.pg else self.dir / "complete.json"

    def ready(self) -> bool:
        return self.marker.exists()

    def build(self) -> dict[str, object]:
        from django.core.management import call_command

        from ansinh.synth.generator import generate

        call_command("migrate", verbosity=0)
        started = time.perf_counter()
        call_command("bootstrap", verbosity=0)
        bootstrap = time.perf_counter() - started
        summary = generate(self.params, progress=True)
        result = {
            "params": self.params.key(),
            "counts": summary.counts,
            "seconds": {k: round(v, 1) for k, v in summary.seconds.items()},
            "total_seconds": round(summary.total_seconds, 1),
            "bootstrap_seconds": round(bootstrap, 1),
            "persons_per_s": round(summary.counts["persons"] / summary.total_seconds),
            "ledger_rows_per_s": round(summary.counts["ledger_rows"] / summary.total_seconds),
            "machine": machine(),
            "date": time.strftime("%Y-%m-%d %H:%M"),
        }
        self.marker.write_text(json.dumps(result, indent=2))
        return result


def suite_generate(ds: DataSet) -> None:
    print(f"generating {ds.params.key()} (this replaces the kept data set)")
    from django.db import connection

    from ansinh.synth.bulk import is_postgres

    if is_postgres():
        from ansinh.registry.models import Person

        connection.ensure_connection()
        if Person.objects.exists():
            sys.exit("DATABASE_URL points at a database that already has persons")
    result = ds.build()
    print(json.dumps(result, indent=2))
    print(
        f"generation: {result['persons_per_s']:,} persons/s, "
        f"{result['ledger_rows_per_s']:,} ledger rows/s, total {result['total_seconds']} s"
    )


def _ensure(ds: DataSet) -> None:
    if ds.ready():
        info = json.loads(ds.marker.read_text())
        print(f"reusing data set {info['params']} generated {info['date']}")
        return
    print("no kept data set with these parameters: generating it first")
    ds.build()


def _percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    k = max(0, min(len(ordered) - 1, round(q / 100 * len(ordered) + 0.5) - 1))
    return ordered[k]


def suite_lookup(ds: DataSet, samples: int) -> None:
    from ansinh.contributions.selectors import contribution_history
    from ansinh.registry.models import Person
    from ansinh.registry.selectors import find_person

    _ensure(ds)
    rng = random.Random(7)
    top = Person.objects.order_by("-id").values_list("id", flat=True).first() or 0
    ids = list(
        Person.objects.filter(
            id__in=[rng.randint(1, top) for _ in range(samples * 2)], personal_id__isnull=False
        ).values_list("personal_id", flat=True)
    )
    rng.shuffle(ids)
    ids = ids[:samples]
    warm = ids[: min(200, len(ids))]
    for pid in warm:
        contribution_history(find_person(pid))
    timings = []
    months = 0
    for pid in ids:
        t0 = time.perf_counter()
        history = contribution_history(find_person(pid))
        timings.append((time.perf_counter() - t0) * 1000)
        months += len(getattr(history, "months", ()) or ())
    print(f"history lookup by personal ID, {len(timings)} random persons after {len(warm)} warm-up")
    print(
        f"p50 {_percentile(timings, 50):.2f} ms, p99 {_percentile(timings, 99):.2f} ms, "
        f"max {max(timings):.2f} ms, mean {statistics.fmean(timings):.2f} ms "
        f"({months / max(len(timings), 1):.1f} months per history)"
    )


def suite_bill(ds: DataSet) -> None:
    from django.db import transaction
    from django.db.models import Count

    from ansinh.contributions import services
    from ansinh.contributions.models import EmployerBill, LedgerRow, PaymentAllocation
    from ansinh.registry.models import Employer

    _ensure(ds)
    period = int(ds.params.end_index() // 12 * 100 + ds.params.end_index() % 12 + 1)
    top = (
        LedgerRow.objects.filter(period=period)
        .values("employer_id")
        .annotate(n=Count("id"))
        .order_by("-n")
        .first()
    )
    if top is None:
        sys.exit("no ledger rows in the last month")
    employer = Employer.objects.get(pk=top["employer_id"])
    print(f"employer {employer.unit_code} with {top['n']:,} workers in {period}")
    build, issue = [], []
    for _ in range(3):
        # Remove the generated month and rebuild it through the services, then roll back.
        with transaction.atomic():
            bill_ids = list(
                EmployerBill.objects.filter(employer=employer, period=period).values_list(
                    "id", flat=True
                )
            )
            PaymentAllocation.objects.filter(bill_id__in=bill_ids).delete()
            LedgerRow.objects.filter(employer=employer, period=period).delete()
            EmployerBill.objects.filter(id__in=bill_ids).delete()
            t0 = time.perf_counter()
            services.build_month(employer, period)
            t1 = time.perf_counter()
            bill = services.issue_bill(employer, period)
            t2 = time.perf_counter()
            build.append((t1 - t0) * 1000)
            issue.append((t2 - t1) * 1000)
            assert bill.row_count == top["n"], (bill.row_count, top["n"])
            transaction.set_rollback(True)
    print(
        f"build_month {statistics.median(build):.0f} ms, issue_bill "
        f"{statistics.median(issue):.0f} ms (median of 3; total "
        f"{statistics.median(b + i for b, i in zip(build, issue, strict=True)):.0f} ms)"
    )


def main(argv: list[str]) -> None:
    if argv[:1] == ["exchange"]:  # options: bench/exchange_suites.py --help
        from exchange_suites import run_exchange_suite

        run_exchange_suite(argv, setup_django=setup_django, machine=machine)
        return
    if argv[:1] == ["nationaldb-import"]:  # options: bench/nationaldb_suites.py
        from nationaldb_suites import run_nationaldb_suite

        run_nationaldb_suite(argv, setup_django=setup_django, machine=machine)
        return
    if argv[:1] == ["linkage"]:  # options: bench/linkage_suites.py (record linkage, issue 6)
        from linkage_suites import run_linkage_suite

        run_linkage_suite(argv, setup_django=setup_django, machine=machine)
        return
    if argv[:1] == ["benefits-detector"]:  # options: bench/benefits_suites.py --help
        sys.path.insert(0, str(ROOT.parent / "src"))
        from benefits_suites import run_benefits_suite

        run_benefits_suite(argv, setup_django=setup_django, machine=machine)
        return
    if argv[:1] and argv[0] in GATEWAY_SUITES:
        # The gateway suites take their own options (bench/gateway_suites.py --help).
        sys.path.insert(0, str(ROOT.parent / "src"))
        from gateway_suites import run_gateway_suite

        run_gateway_suite(argv, setup_django=setup_django, machine=machine)
        return
    args = parse_args(argv)
    sys.path.insert(0, str(ROOT.parent / "src"))
    DATA.mkdir(exist_ok=True)
    if args.suite in DOSSIER_SUITES:
        from onestop_suites import run_dossier_suite

        run_dossier_suite(args, setup_django=setup_django, machine=machine)
        return
    # Parameters decide the directory, so Django is set up only after computing them.
    employers = args.employers or max(1, args.persons // 40)
    key = (
        f"p{args.persons}-e{employers}-m{args.months}-s{args.seed}-v{args.province}"
        f"-end{args.end.replace('-', '')}"
    )
    data_dir = DATA / key
    if args.suite == "generate" and not os.environ.get("DATABASE_URL") and data_dir.exists():
        shutil.rmtree(data_dir)
    data_dir.mkdir(parents=True, exist_ok=True)
    setup_django(data_dir)
    ds = DataSet(args)
    assert ds.params.key() == key, (ds.params.key(), key)
    print(f"machine: {machine()}; database: {'PostgreSQL' if ds.pg else 'SQLite'}")
    if args.suite == "generate":
        suite_generate(ds)
    elif args.suite == "lookup":
        suite_lookup(ds, args.samples)
    else:
        suite_bill(ds)


if __name__ == "__main__":
    main(sys.argv[1:])
