"""One-stop benchmark suites of ``bench/run.py`` (issue 3):

* ``dossiers-generate``: a national data set (``ansinh.synth.dossiers_bulk``): 1,000,000
  dossiers over 3 years and 34 provinces, three offices per province, with their paths, apology
  slips and ratings, about 100,000 open at ``--now``; rows and time.
* ``dossiers-sweep``: ``onestop.warnings.sweep(now=…)`` over all open dossiers — the first run
  in a fresh process (cold) and a second run right after it (nothing left to notify) — then the
  median of ``--runs`` more pairs; each pair is rolled back so the data set stays as generated.
* ``dossiers-dashboard``: ``onestop.reports.dashboard(start=, end=)`` for the nation (a month,
  a year) and one province, and the dashboard page's server time through Django's test client
  as a signed-in manager of a nationwide organisation; median of ``--runs`` after a warm-up.

Each prints its figures and one ``RESULT {json}`` line for the record.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import shutil
import statistics
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent
DATA = ROOT / ".data"


def _key(args: argparse.Namespace) -> str:
    """The data set's parameters (as ``BulkParams.key()``, computed before Django is set up)."""
    now = dt.datetime.fromisoformat(args.now)
    return (
        f"d{args.dossiers}-y{args.years}-o{args.open}-p{args.provinces}-s{args.seed}"
        f"-now{now:%Y%m%d%H%M}"
    )


def _params(args: argparse.Namespace) -> Any:
    from ansinh.synth.dossiers_bulk import BulkParams

    params = BulkParams(
        dossiers=args.dossiers,
        years=args.years,
        open=args.open,
        provinces=args.provinces,
        seed=args.seed,
        now=dt.datetime.fromisoformat(args.now),
    )
    assert params.key() == _key(args), (params.key(), _key(args))
    return params


def _result(suite: str, **figures: Any) -> None:
    print("RESULT " + json.dumps({"suite": suite, **figures}, ensure_ascii=False, default=str))


def _median_ms(values: list[float]) -> float:
    return round(statistics.median(values) * 1000, 1)


def run_dossier_suite(
    args: argparse.Namespace,
    *,
    setup_django: Callable[[Path], None],
    machine: Callable[[], str],
) -> None:
    pg = bool(os.environ.get("DATABASE_URL"))
    key = _key(args)
    data_dir = DATA / f"onestop-{key}"
    marker = DATA / f"onestop-{key}.pg" if pg else data_dir / "complete.json"
    if args.suite == "dossiers-generate" and not pg and data_dir.exists():
        shutil.rmtree(data_dir)
    data_dir.mkdir(parents=True, exist_ok=True)
    (data_dir / "staticfiles").mkdir(exist_ok=True)  # whitenoise looks for it
    # No e-mail leaves a benchmark (the bench staff have no addresses anyway).
    os.environ.setdefault("EMAIL_BACKEND", "django.core.mail.backends.dummy.EmailBackend")
    setup_django(data_dir)
    print(f"machine: {machine()}; database: {'PostgreSQL' if pg else 'SQLite'}")
    params = _params(args)
    if args.suite == "dossiers-generate":
        suite_generate(params, data_dir, marker, pg, machine)
        return
    if not marker.exists():
        print("no kept one-stop data set with these parameters: generating it first")
        suite_generate(params, data_dir, marker, pg, machine)
    else:
        info = json.loads(marker.read_text())
        print(f"reusing one-stop data set {info['params']} generated {info['date']}")
        _upgrade(pg)
    if args.suite == "dossiers-sweep":
        suite_sweep(params, args.runs)
    else:
        suite_dashboard(params, args.runs)


def _upgrade(pg: bool) -> None:
    """Bring a kept data set to the current schema, as a deployment would: the migrations
    backfill what they add (e.g. onestop 0005 fills the path's ``since_previous``, a few minutes
    over 5 million path rows); on PostgreSQL then ``VACUUM ANALYZE``, as autovacuum would after
    such an UPDATE, so that the figures are not those of a bloated table."""
    from django.core.management import call_command
    from django.db import connection
    from django.db.migrations.executor import MigrationExecutor

    executor = MigrationExecutor(connection)
    plan = executor.migration_plan(executor.loader.graph.leaf_nodes())
    if not plan:
        return
    names = ", ".join(f"{m.app_label}.{m.name}" for m, _backwards in plan)
    print(f"migrating the kept data set: {names}")
    started = time.perf_counter()
    call_command("migrate", verbosity=0)
    if pg:
        with connection.cursor() as cursor:
            cursor.execute("VACUUM ANALYZE")
    print(f"migrated in {time.perf_counter() - started:.0f} s")


def suite_generate(
    params: Any, data_dir: Path, marker: Path, pg: bool, machine: Callable[[], str]
) -> None:
    from django.core.management import call_command

    from ansinh.onestop.models import Dossier
    from ansinh.synth.dossiers_bulk import generate_dossiers

    print(f"generating one-stop data set {params.key()} (this replaces the kept one)")
    call_command("migrate", verbosity=0)
    if pg and Dossier.objects.exists():
        sys.exit("DATABASE_URL points at a database that already has dossiers")
    started = time.perf_counter()
    call_command("bootstrap", verbosity=0)
    bootstrap = time.perf_counter() - started
    summary = generate_dossiers(params, progress=True)
    rows = sum(summary.counts[k] for k in ("dossiers", "transitions", "apology_slips", "ratings"))
    size = None
    if not pg:
        db_file = data_dir / "ansinh.sqlite3"
        size = round(db_file.stat().st_size / 1024**3, 2) if db_file.exists() else None
    result = {
        "params": params.key(),
        **summary.as_dict(),
        "rows": rows,
        "rows_per_s": round(rows / summary.seconds),
        "dossiers_per_s": round(summary.counts["dossiers"] / summary.seconds),
        "bootstrap_seconds": round(bootstrap, 1),
        "sqlite_gib": size,
        "machine": machine(),
        "date": time.strftime("%Y-%m-%d %H:%M"),
    }
    marker.write_text(json.dumps(result, indent=2, ensure_ascii=False))
    print(json.dumps(result, indent=2, ensure_ascii=False))
    print(
        f"generation: {summary.counts['dossiers']:,} dossiers, "
        f"{summary.counts['transitions']:,} path rows, {summary.counts['apology_slips']:,} "
        f"apology slips, {summary.counts['ratings']:,} ratings in {summary.seconds:.0f} s "
        f"({result['dossiers_per_s']:,} dossiers/s, {result['rows_per_s']:,} rows/s; offices "
        f"and staff {summary.setup_seconds:.0f} s)"
    )
    _result("dossiers-generate", **{k: v for k, v in result.items() if k != "machine"})


def _aware(params: Any) -> dt.datetime:
    from django.utils import timezone

    return timezone.make_aware(params.now)


def suite_sweep(params: Any, runs: int) -> None:
    from django.db import connection, transaction

    from ansinh.onestop import warnings
    from ansinh.onestop.models import OPEN_STATES, Dossier

    now = _aware(params)
    open_count = Dossier.objects.filter(state__in=OPEN_STATES).count()
    print(f"sweep at {params.now:%Y-%m-%d %H:%M} over {open_count:,} open dossiers")

    def vacuum() -> None:
        """On PostgreSQL a rolled-back sweep leaves dead row versions behind that the next
        sweep would wade through; clean them as autovacuum would between two real sweeps."""
        if connection.vendor == "postgresql":
            with connection.cursor() as cursor:
                cursor.execute("VACUUM ANALYZE onestop_dossier, onestop_notification")

    def pair() -> tuple[Any, float, Any, float]:
        with transaction.atomic():
            t0 = time.perf_counter()
            first = warnings.sweep(now=now)
            t1 = time.perf_counter()
            second = warnings.sweep(now=now)
            t2 = time.perf_counter()
            transaction.set_rollback(True)
        vacuum()
        return first, t1 - t0, second, t2 - t1

    def classify_only() -> float:
        with transaction.atomic():
            t0 = time.perf_counter()
            warnings.sweep(now=now, notify=False)
            elapsed = time.perf_counter() - t0
            transaction.set_rollback(True)
        vacuum()
        return elapsed

    def first_ever() -> tuple[Any, float]:
        """The very first sweep over this data set: no warning or escalation recorded yet,
        so every overdue dossier notifies its officers, heads and director."""
        with transaction.atomic():
            Dossier.objects.filter(state__in=OPEN_STATES).update(warning="", escalation=0)
            t0 = time.perf_counter()
            result = warnings.sweep(now=now)
            elapsed = time.perf_counter() - t0
            transaction.set_rollback(True)
        return result, elapsed

    cold, cold_s, warm, warm_s = pair()
    print(f"cold (first sweep in this process): {cold_s:.2f} s — {cold.as_dict()}")
    print(f"second sweep right after: {warm_s:.2f} s — {warm.as_dict()}")
    firsts, seconds, plain = [], [], []
    for _ in range(runs):
        _f, f_s, _s, s_s = pair()
        firsts.append(f_s)
        seconds.append(s_s)
        plain.append(classify_only())
    print(
        f"median of {runs}: first sweep {statistics.median(firsts):.2f} s, second sweep "
        f"{statistics.median(seconds):.2f} s, classification only (notify=False) "
        f"{statistics.median(plain):.2f} s"
    )
    ever, ever_s = first_ever()
    print(
        f"first sweep ever (no warnings or escalations recorded): {ever_s:.2f} s — {ever.as_dict()}"
    )
    goal = "met" if statistics.median(firsts) < 5 and cold_s < 5 else "NOT met"
    print(f"goal: sweep over 100,000 open dossiers < 5 s — {goal}")
    _result(
        "dossiers-sweep",
        open=open_count,
        cold_s=round(cold_s, 2),
        second_s=round(warm_s, 2),
        median_first_s=round(statistics.median(firsts), 2),
        median_second_s=round(statistics.median(seconds), 2),
        median_classify_only_s=round(statistics.median(plain), 2),
        first=cold.as_dict(),
        first_ever_s=round(ever_s, 2),
        first_ever=ever.as_dict(),
        runs=runs,
    )


def _timed(fn: Callable[[], Any], runs: int) -> tuple[float, list[float], Any]:
    """Warm-up once, then ``runs`` timings; returns (median s, all, last result)."""
    result = fn()
    times = []
    for _ in range(runs):
        t0 = time.perf_counter()
        result = fn()
        times.append(time.perf_counter() - t0)
    return statistics.median(times), times, result


def suite_dashboard(params: Any, runs: int) -> None:
    from django.test import Client
    from django.test.utils import override_settings

    from ansinh.access.models import User
    from ansinh.access.testing import login_verified
    from ansinh.onestop import reports

    now = _aware(params)
    month_start = (params.now.replace(day=1) - dt.timedelta(days=1)).replace(day=1)
    month_end = params.now.replace(day=1) - dt.timedelta(days=1)
    year = params.now.year - 1
    province = "01"
    this_month = params.now.replace(day=1).date()
    next_month = (params.now.replace(day=28) + dt.timedelta(days=4)).replace(day=1).date()
    cases = [
        ("nation, one month", {"start": month_start.date(), "end": month_end.date()}),
        (
            "nation, this month to date",
            {"start": this_month, "end": next_month - dt.timedelta(days=1)},
        ),
        ("nation, one year", {"start": dt.date(year, 1, 1), "end": dt.date(year, 12, 31)}),
        (
            f"province {province}, one month",
            {"start": month_start.date(), "end": month_end.date(), "province_code": province},
        ),
        (
            f"province {province}, one year",
            {"start": dt.date(year, 1, 1), "end": dt.date(year, 12, 31), "province_code": province},
        ),
    ]
    figures: dict[str, Any] = {}
    for label, kwargs in cases:
        median, times, board = _timed(lambda kw=kwargs: reports.dashboard(now=now, **kw), runs)
        t = board.totals
        print(
            f"dashboard() {label} ({kwargs['start']}–{kwargs['end']}): median "
            f"{median * 1000:.0f} ms of {runs} (min {min(times) * 1000:.0f}, max "
            f"{max(times) * 1000:.0f}) — received {t.received:,}, resolved {t.resolved:,}, "
            f"in progress {t.in_progress:,}, overdue {t.overdue:,}, {len(board.rows)} rows"
        )
        figures[label] = {
            "median_ms": round(median * 1000, 1),
            "min_ms": round(min(times) * 1000, 1),
            "max_ms": round(max(times) * 1000, 1),
            "received": t.received,
            "resolved": t.resolved,
        }
    national_month = figures["nation, one month"]["median_ms"]
    goal = "met" if national_month < 1000 else "NOT met"
    print(f"goal: national monthly dashboard < 1 s — {goal}")

    # The page (onestop.views_reports, ``/onestop/reports/?period=month&month=YYYY-MM``), through
    # the test client: server time only (no network, no browser). The page cuts a period at the
    # real current time, which for these past months is after their end.
    manager = User.objects.get(username="bench.manager")
    client = login_verified(Client(), manager)
    url = os.environ.get("BENCH_REPORTS_URL", "/onestop/reports/")
    pages = [
        ("page, nation, one month", f"?period=month&month={month_start:%Y-%m}"),
        ("page, nation, one year", f"?period=year&year={year}"),
    ]
    with override_settings(ALLOWED_HOSTS=["*"]):
        for label, query in pages:
            response = client.get(url + query)
            if response.status_code != 200:
                print(f"{label} {url}{query}: HTTP {response.status_code} — not timed")
                figures[label] = {"status": response.status_code}
                continue
            median, times, _ = _timed(lambda q=query: client.get(url + q), runs)
            print(
                f"{label} {url}{query} as a nationwide manager: median {median * 1000:.0f} ms "
                f"of {runs} (min {min(times) * 1000:.0f}, max {max(times) * 1000:.0f}), "
                f"{len(response.content):,} bytes"
            )
            figures[label] = {
                "url": url + query,
                "median_ms": round(median * 1000, 1),
                "min_ms": round(min(times) * 1000, 1),
                "max_ms": round(max(times) * 1000, 1),
            }
    _result("dossiers-dashboard", runs=runs, now=params.now.isoformat(), **figures)
