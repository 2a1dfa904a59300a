"""National database benchmark suites of ``bench/run.py`` (issue 6):

* ``nationaldb-import``: staging throughput of ``ansinh import``. Generates a social assistance
  (TGXH) CSV file of ``--rows`` rows (default 1,000,000) and an XLSX file of ``--xlsx-rows``
  (default 200,000) from the synthetic name tables, with controlled errors — missing personal
  IDs, names without diacritics, swapped day/month, Excel serial dates, pre-2025 commune codes,
  bad IDs, exact duplicate rows, conflicting records for one ID — then times
  ``nationaldb.imports.services.stage_file`` on a fresh SQLite database (or ``DATABASE_URL``).
  Linkage is off (``link=False``): the rows/s measure reading, validation, matching by
  personal ID and staging; linkage has its own suites. Prints rows/s (wall and CPU), peak
  memory, the load average and verdict counts per file, and one ``RESULT {json}`` line.
  ``--commit`` also commits each batch (new persons, beneficiaries) and times it (wall and
  CPU rows/s of the loaded and merged rows, load average; ``BENCH_PROFILE_COMMIT=<path>``
  writes a cProfile of the commit, CPU clock); ``--link`` stages with linkage on and reports
  the time spent in ``linkage.services.link_records``.

    .venv/bin/python bench/run.py nationaldb-import [--rows 1000000] [--xlsx-rows 200000]
        [--commit]
"""

from __future__ import annotations

import argparse
import cProfile
import datetime as dt
import json
import os
import random
import shutil
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent
DATA = ROOT / ".data"
SUITES = ("nationaldb-import",)

HEADER = ["Số định danh cá nhân", "Họ và tên", "Ngày sinh", "Giới tính", "Mã xã", "Mã diện",
          "Mức trợ cấp", "Ngày hưởng", "Nơi chi trả"]  # fmt: skip
CATEGORIES = ["TE_DUOI4", "TE_TU4", "NCT_CODON", "NCT_80", "KT_DBN", "KT_NANG"]


def parse_args(argv: list[str]) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="bench/run.py nationaldb-import")
    parser.add_argument("suite", choices=SUITES)
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--xlsx-rows", type=int, default=200_000)
    parser.add_argument("--error-rate", type=float, default=0.05)
    parser.add_argument("--seed", type=int, default=6)
    parser.add_argument(
        "--commit",
        action="store_true",
        help="also commit each staged batch (persons, beneficiaries) and time it",
    )
    parser.add_argument(
        "--link",
        action="store_true",
        help="ask the linkage app about rows without an exact ID match (timed separately)",
    )
    return parser.parse_args(argv)


def _rows(n: int, *, error_rate: float, seed: int, xlsx: bool = False) -> list[list[Any]]:
    """Rows of a TGXH source file with errors at ``error_rate`` per kind."""
    from ansinh.core.text import normalise
    from ansinh.places.models import AdminUnit, UnitLevel, UnitSuccession, UnitSystem
    from ansinh.registry.identifiers import century_digit
    from ansinh.synth.names import vietnamese_name

    rng = random.Random(seed)
    communes = list(
        AdminUnit.objects.filter(system=UnitSystem.CURRENT, level=UnitLevel.COMMUNE)
        .values_list("code", flat=True)
        .order_by("code")
    )
    legacy = list(
        UnitSuccession.objects.filter(old__level=UnitLevel.COMMUNE, is_split=False)
        .values_list("old__code", flat=True)
        .order_by("old__code")[:5000]
    )
    provinces = ["001", "079", "031", "048", "026", "038"]
    rows: list[list[Any]] = []
    epoch = dt.date(1899, 12, 30)
    for i in range(n):
        r = rng.random
        if rows and r() < error_rate / 2:
            rows.append(list(rows[rng.randrange(len(rows))]))  # exact duplicate
            continue
        sex = "M" if r() < 0.5 else "F"
        born = dt.date(1930, 1, 1) + dt.timedelta(days=rng.randrange(0, 365 * 90))
        pid = f"{rng.choice(provinces)}{century_digit(born, sex)}{born.year % 100:02d}{i:06d}"
        name = vietnamese_name(rng, sex)
        if r() < error_rate:
            name = normalise(name).title()  # diacritics dropped
        if r() < error_rate:
            pid = ""  # missing ID
        elif r() < error_rate / 5:
            pid = pid[:-1]  # mistyped: 11 digits
        if xlsx:
            born_cell: Any = dt.datetime(born.year, born.month, born.day)
        elif r() < error_rate and born.day <= 12:
            born_cell = f"{born.month:02d}/{born.day:02d}/{born.year}"  # swapped when day > 12
        elif r() < error_rate:
            born_cell = str((born - epoch).days)  # Excel serial date in a CSV
        else:
            born_cell = f"{born.day:02d}/{born.month:02d}/{born.year}"
        commune = rng.choice(legacy) if r() < error_rate and legacy else rng.choice(communes)
        row = [pid, name, born_cell, "Nam" if sex == "M" else "Nữ", commune,
               rng.choice(CATEGORIES), "500.000", "01/08/2024", "Bưu điện xã"]  # fmt: skip
        if rows and r() < error_rate / 5:  # conflicting record: an earlier row's ID
            row[0] = rows[rng.randrange(len(rows))][0]
        rows.append(row)
    return rows


def _write_csv(path: Path, rows: list[list[Any]]) -> None:
    import csv

    with path.open("w", encoding="utf-8-sig", newline="") as fh:
        writer = csv.writer(fh, delimiter=";")
        writer.writerow(HEADER)
        writer.writerows(rows)


def _write_xlsx(path: Path, rows: list[list[Any]]) -> None:
    from openpyxl import Workbook

    book = Workbook(write_only=True)
    sheet = book.create_sheet()
    sheet.append(HEADER)
    for row in rows:
        sheet.append(row)
    book.save(path)


def _reset_peak() -> None:
    """Reset the process's peak resident size (Linux: VmHWM), so each file reports its own."""
    try:
        Path("/proc/self/clear_refs").write_text("5")
    except OSError:
        pass


def _peak_mb() -> int | None:
    try:
        for line in Path("/proc/self/status").read_text().splitlines():
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) // 1024
    except OSError:
        pass
    return None


def _timed_linkage() -> dict[str, float]:
    """Wrap ``linkage.services.link_records`` (the stager imports it at each call) to time the
    linkage apart from the staging."""
    from ansinh.linkage import services as linkage

    spent = {"seconds": 0.0, "records": 0}
    original = linkage.link_records

    def timed(records: Any, **kw: Any) -> Any:
        started = time.perf_counter()
        try:
            return original(records, **kw)
        finally:
            spent["seconds"] += time.perf_counter() - started
            spent["records"] += len(records)

    linkage.link_records = timed
    return spent


def _stage(source: str, path: Path, *, commit: bool = False, link: bool = False) -> dict[str, Any]:
    from ansinh.nationaldb.imports.services import commit_batch, stage_file

    data = path.read_bytes()
    linkage = _timed_linkage() if link else None
    _reset_peak()
    load = os.getloadavg()[0]
    started, cpu = time.perf_counter(), time.process_time()
    batch = stage_file(source, path.name, data, link=link)
    seconds = time.perf_counter() - started
    cpu = time.process_time() - cpu
    out: dict[str, Any] = {
        "file": path.name,
        "bytes": len(data),
        "rows": batch.processed_rows,
        "seconds": round(seconds, 1),
        "rows_per_s": round(batch.processed_rows / seconds),
        "cpu_seconds": round(cpu, 1),
        "cpu_rows_per_s": round(batch.processed_rows / cpu),
        "peak_mb": _peak_mb(),
        "load_before": round(load, 2),
        "load_after": round(os.getloadavg()[0], 2),
        "counts": batch.counts,
        "encoding": batch.encoding,
    }
    if linkage is not None:
        out["linkage_seconds"] = round(linkage["seconds"], 1)
        out["linkage_records"] = linkage["records"]
    if commit:
        del data
        _reset_peak()
        committed = sum(batch.counts.get(v, 0) for v in ("loaded", "merged"))
        profile = os.environ.get("BENCH_PROFILE_COMMIT")  # a path: cProfile (CPU clock) there
        profiler = cProfile.Profile(time.process_time) if profile else None
        load = os.getloadavg()[0]
        started, cpu = time.perf_counter(), time.process_time()
        if profiler is not None:
            profiler.enable()
        commit_batch(batch)
        if profiler is not None:
            profiler.disable()
            profiler.dump_stats(profile)
        seconds = time.perf_counter() - started
        cpu = time.process_time() - cpu
        out["commit_rows"] = committed
        out["commit_seconds"] = round(seconds, 1)
        out["commit_rows_per_s"] = round(committed / seconds)
        out["commit_cpu_seconds"] = round(cpu, 1)
        out["commit_cpu_rows_per_s"] = round(committed / cpu) if cpu else None
        out["commit_peak_mb"] = _peak_mb()
        out["commit_load_before"] = round(load, 2)
        out["commit_load_after"] = round(os.getloadavg()[0], 2)
    return out


def run_nationaldb_suite(
    argv: list[str], *, setup_django: Callable[[Path], None], machine: Callable[[], str]
) -> None:
    args = parse_args(argv)
    sys.path.insert(0, str(ROOT.parent / "src"))
    data_dir = DATA / f"nationaldb-import-r{args.rows}-x{args.xlsx_rows}-s{args.seed}"
    pg = bool(os.environ.get("DATABASE_URL"))
    if data_dir.exists():
        shutil.rmtree(data_dir)  # staging needs a fresh database (re-import = no-op)
    data_dir.mkdir(parents=True)
    setup_django(data_dir)
    from django.core.management import call_command

    print(f"machine: {machine()}; database: {'PostgreSQL' if pg else 'SQLite'}")
    call_command("migrate", verbosity=0)
    call_command("bootstrap", verbosity=0)
    results: dict[str, Any] = {"machine": machine(), "date": time.strftime("%Y-%m-%d %H:%M")}
    if args.rows:
        started = time.perf_counter()
        rows = _rows(args.rows, error_rate=args.error_rate, seed=args.seed)
        csv_path = data_dir / "tgxh.csv"
        _write_csv(csv_path, rows)
        del rows
        print(
            f"generated {csv_path.name}: {args.rows:,} rows "
            f"in {time.perf_counter() - started:.0f} s"
        )
        results["csv"] = _stage("tgxh", csv_path, commit=args.commit, link=args.link)
        print(f"CSV staging: {json.dumps(results['csv'])}")
    if args.xlsx_rows:
        started = time.perf_counter()
        rows = _rows(args.xlsx_rows, error_rate=args.error_rate, seed=args.seed + 1, xlsx=True)
        xlsx_path = data_dir / "tgxh.xlsx"
        _write_xlsx(xlsx_path, rows)
        del rows
        print(
            f"generated {xlsx_path.name}: {args.xlsx_rows:,} rows "
            f"in {time.perf_counter() - started:.0f} s"
        )
        results["xlsx"] = _stage("tgxh", xlsx_path, commit=args.commit, link=args.link)
        print(f"XLSX staging: {json.dumps(results['xlsx'])}")
    print("RESULT " + json.dumps(results))
