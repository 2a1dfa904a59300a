#!/usr/bin/env python
"""Benefits detector suite of ``bench/run.py`` (issue 5):

``benefits-detector``: a throw-away database (SQLite in ``bench/.data/benefits-<n>/``; with
``--pg`` a throw-away PostgreSQL server, or with ``DATABASE_URL`` a new database on that
server) filled directly with set-based SQL:
``--persons`` persons (default 1,000,000) each with one active award, its payment months and
its terminated employment spell, and ``--months`` (default 20) contribution ledger rows per
person before termination (20,000,000 rows by default), ``--employers`` employers. Planted
findings: 0.5% re-employed (a ledger row inside the benefit period from another employer),
0.1% with a new spell after termination, 0.1% with a second overlapping award in another
province, 0.1% deceased during the benefit, 0.2% paid 66% instead of 60%. Then the detector's
full run (``benefits.detector.run()``) is timed, per finding kind, and run a second time
(idempotency: nothing new opened). Goal: full run < 60 s.

Ends with a ``RESULT {json}`` line. Options after the suite name (see ``--help``).
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent
SUITES = ("benefits-detector",)
CENTRE = "VN/GOV/SNV-HN/unemployment"


def parse_args(argv: list[str]) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("suite", choices=SUITES)
    parser.add_argument("--persons", type=int, default=1_000_000, help="awards (one a person)")
    parser.add_argument("--months", type=int, default=20, help="ledger rows per person")
    parser.add_argument("--employers", type=int, default=None, help="default: persons / 40")
    parser.add_argument(
        "--pg",
        action="store_true",
        help="a throw-away PostgreSQL (dev.start_postgres) unless DATABASE_URL names one",
    )
    return parser.parse_args(argv)


def _load() -> str:
    return " ".join(Path("/proc/loadavg").read_text().split()[:3])


def _fresh_database(data_dir: Path) -> str:
    if data_dir.exists():
        shutil.rmtree(data_dir)
    data_dir.mkdir(parents=True)
    (data_dir / "staticfiles").mkdir()
    base = os.environ.get("DATABASE_URL", "")
    if not base:
        return "SQLite " + str(data_dir / "ansinh.sqlite3")
    import psycopg

    name = f"ansinh_benefits_{time.strftime('%Y%m%d%H%M%S')}"
    head, _, _ = base.rpartition("/")
    with psycopg.connect(f"{head}/postgres", autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{name}"')
    os.environ["DATABASE_URL"] = f"{head}/{name}"
    return f"PostgreSQL database {name}"


class Sql:
    """The few expressions that differ between SQLite and PostgreSQL."""

    def __init__(self, vendor: str) -> None:
        self.pg = vendor == "postgresql"

    def pad(self, expr: str, width: int) -> str:
        if self.pg:
            return f"lpad(({expr})::text, {width}, '0')"
        return f"printf('%0{width}d', {expr})"

    def day(self, month_expr: str, day: int) -> str:
        """Day ``day`` of absolute month ``month_expr`` (year × 12 + month − 1)."""
        y, m = f"(({month_expr}) / 12)", f"(({month_expr}) % 12 + 1)"
        if self.pg:
            return f"make_date({y}, {m}, {day})"
        return f"printf('%04d-%02d-%02d', {y}, {m}, {day})"

    @staticmethod
    def period(month_expr: str) -> str:
        return f"((({month_expr}) / 12) * 100 + ({month_expr}) % 12 + 1)"

    def stamp(self, iso: str) -> str:
        return f"CAST('{iso}' AS timestamptz)" if self.pg else f"'{iso}'"

    def true(self) -> str:
        return "true" if self.pg else "1"

    def false(self) -> str:
        return "false" if self.pg else "0"


def _exec(sql: str, params: tuple[Any, ...] | None = None) -> None:
    from django.db import connection

    with connection.cursor() as cur:
        cur.execute(sql, params)


def _timed(label: str, fn: Callable[[], Any], figures: dict[str, float]) -> Any:
    t0 = time.perf_counter()
    out = fn()
    figures[label] = round(time.perf_counter() - t0, 1)
    print(f"  {label}: {figures[label]} s", flush=True)
    return out


def _ledger_indexes(sql: Sql) -> list[str]:
    from django.db import connection

    with connection.cursor() as cur:
        if sql.pg:
            cur.execute(
                "SELECT indexname, indexdef FROM pg_indexes WHERE tablename = "
                "'contributions_ledgerrow' AND indexname NOT LIKE '%%pkey'"
            )
        else:
            cur.execute(
                "SELECT name, sql FROM sqlite_master WHERE type = 'index' AND "
                "tbl_name = 'contributions_ledgerrow' AND sql IS NOT NULL"
            )
        rows = cur.fetchall()
    return [f'DROP INDEX "{name}"' for name, _ in rows] + [ddl for _, ddl in rows]


def generate(args: argparse.Namespace, sql: Sql, figures: dict[str, float]) -> dict[str, int]:
    from django.db import connection, transaction
    from django.utils import timezone

    from ansinh.law.models import RuleSnapshot
    from ansinh.places.models import AdminUnit
    from ansinh.places.services import load_admin_units

    n, k = args.persons, args.months
    e = args.employers or max(1, n // 40)
    if not AdminUnit.objects.exists():
        load_admin_units()
    unit = AdminUnit.objects.order_by("id").first()
    basis = RuleSnapshot.objects.create(
        digest="bench", effective_on="2025-01-01", content={}, citation="bench"
    )
    now = timezone.now().isoformat()
    if sql.pg:
        # Generated rows are consistent by construction: skip the deferred foreign-key
        # triggers (the throw-away server runs as its superuser), else CREATE INDEX in the
        # same transaction refuses ("pending trigger events").
        _exec("SET session_replication_role = replica")
    else:
        _exec("PRAGMA synchronous = OFF")
        _exec("PRAGMA cache_size = -1000000")
        _exec("PRAGMA temp_store = MEMORY")
    ddl = _ledger_indexes(sql)
    drops = [d for d in ddl if d.startswith("DROP")]
    creates = [d for d in ddl if not d.startswith("DROP")]
    # term(i): the absolute month of termination, 2025-01 … 2026-08; salary(i) 5.0–14.8 M.
    term = "(2025 * 12 + (n.i % 20))"
    salary = "(5000000 + (n.i % 50) * 200000)"
    months = "(3 + n.i % 4)"
    with transaction.atomic():
        _timed("numbers", lambda: _numbers(sql, n), figures)
        _timed(
            "employers",
            lambda: _exec(f"""
                INSERT INTO registry_employer (id, unit_code, unit_type, participant_group,
                    tax_code, name, name_normalised, address_unit_id, wage_region, sector,
                    pay_scale, active, created_at)
                SELECT n.i + 1, {sql.pad("n.i", 10)}, 'DN', 'DN', '', 'Bench', 'bench', {unit.pk},
                       1 + n.i % 4, '', CASE WHEN n.i % 10 = 0 THEN 'state' ELSE 'employer' END,
                       {sql.true()}, '{now}'
                FROM bench_n n WHERE n.i < {e}"""),  # noqa: S608 - our own table names and rule values
            figures,
        )
        _timed(
            "persons",
            lambda: _exec(f"""
                INSERT INTO registry_person (id, ss_number, personal_id, full_name, family_name,
                    middle_name, given_name, name_normalised, sort_key, date_of_birth, sex,
                    nationality, status, date_of_death, identity_check, identity_flags,
                    created_at, updated_at)
                SELECT n.i + 1, '001090' || {sql.pad("n.i", 6)}, '001090' || {sql.pad("n.i", 6)},
                       'Bench', '', '', 'B', 'bench', 'bench', '1990-01-01', 'M', 'VN',
                       CASE WHEN n.i % 1000 = 13 THEN 'deceased' ELSE 'active' END,
                       CASE WHEN n.i % 1000 = 13 THEN {sql.day(f"{term} + 2", 10)} END,
                       'consistent', '', '{now}', '{now}'
                FROM bench_n n"""),  # noqa: S608 - our own table names and rule values
            figures,
        )
        _timed(
            "spells",
            lambda: _exec(f"""
                INSERT INTO registry_employmentspell (person_id, employer_id, contract_type,
                    start, "end", occupation, termination_reason)
                SELECT n.i + 1, n.i % {e} + 1, 'indefinite', {sql.day(f"{term} - {k - 1}", 1)},
                       {sql.day(term, 15)}, '', 'contract_ended'
                FROM bench_n n
                UNION ALL
                SELECT n.i + 1, (n.i + 2) % {e} + 1, 'indefinite', {sql.day(f"{term} + 1", 20)},
                       NULL, '', ''
                FROM bench_n n WHERE n.i % 1000 = 17"""),  # noqa: S608 - our own table names and rule values
            figures,
        )
        for stmt in drops:
            _exec(stmt)
        _timed(
            "ledger",
            lambda: _exec(f"""
                INSERT INTO contributions_ledgerrow (person_id, employer_id, period, kind,
                    insured_salary, bhtn_salary, er_sickness, er_accident, er_retirement,
                    ee_retirement, er_health, ee_health, er_unemployment, ee_unemployment,
                    exempt_reason, basis_id)
                SELECT n.i + 1, n.i % {e} + 1, {sql.period(f"{term} - {k - 1} + m.i")}, 'regular',
                       {salary}, {salary}, {salary} * 3 / 100, {salary} * 5 / 1000,
                       {salary} * 14 / 100, {salary} * 8 / 100, {salary} * 3 / 100,
                       {salary} * 15 / 1000, {salary} / 100, {salary} / 100, '', {basis.pk}
                FROM bench_n n CROSS JOIN bench_n m
                WHERE m.i < {k}
                UNION ALL
                SELECT n.i + 1, (n.i + 1) % {e} + 1, {sql.period(f"{term} + 2")}, 'regular',
                       {salary}, {salary}, 0, 0, 0, 0, 0, 0, {salary} / 100, {salary} / 100,
                       '', {basis.pk}
                FROM bench_n n WHERE n.i % 200 = 7"""),  # noqa: S608 - our own table names and rule values
            figures,
        )
        _timed("ledger_indexes", lambda: [_exec(c) for c in creates], figures)
        award_cols = """id, decision_no, centre, province_code, law, personal_id, person_id,
            signed_on, signer, termination_date, termination_period, filed_on, start, "end",
            start_period, end_period, months, monthly_amount, average_salary,
            contribution_months, reserved_months, last_period_used, payment_method,
            paying_office, status, held, received_at, updated_at"""

        def award_select(id_expr: str, number: str, province: str, shift: int, where: str) -> str:
            start = f"{term} + 1 + {shift}"
            return f"""
                SELECT {id_expr}, {number}, '{CENTRE}', '{province}',
                       CASE WHEN {term} < 2026 * 12 THEN '38/2013' ELSE '74/2025' END,
                       '001090' || {sql.pad("n.i", 6)}, n.i + 1, {sql.day(f"{term} + 1", 1)}, 'x',
                       {sql.day(term, 15)}, {sql.period(term)}, {sql.day(term, 20)},
                       {sql.day(start, 5)}, {sql.day(f"{start} + {months}", 4)},
                       {sql.period(start)}, {sql.period(f"{start} + {months}")}, {months},
                       CASE WHEN n.i % 500 = 3 THEN {salary} * 66 / 100
                            ELSE {salary} * 60 / 100 END,
                       {salary}, {k}, 0, '', 'bank', '', 'active', {sql.false()},
                       {sql.stamp(now)}, {sql.stamp(now)}
                FROM bench_n n {where}"""  # noqa: S608 - our own table names and rule values

        _timed(
            "awards",
            lambda: _exec(
                f"INSERT INTO benefits_award ({award_cols})"
                + award_select("n.i + 1", "'QD-' || n.i", "01", 0, "")
                + " UNION ALL "
                + award_select(f"{n} + n.i + 1", "'QD-X-' || n.i", "31", 1, "WHERE n.i % 1000 = 11")
            ),
            figures,
        )
        _timed(
            "payments",
            lambda: _exec(f"""
                INSERT INTO benefits_benefitpayment (award_id, month_no, period_start, period_end,
                    amount, due_on, status, paid_on)
                SELECT n.i + 1, m.i + 1, {sql.day(f"{term} + 1 + m.i", 5)},
                       {sql.day(f"{term} + 2 + m.i", 4)}, {salary} * 60 / 100,
                       {sql.day(f"{term} + 1 + m.i", 12)},
                       CASE WHEN m.i = 0 THEN 'paid' ELSE 'scheduled' END,
                       CASE WHEN m.i = 0 THEN {sql.day(f"{term} + 1", 12)} END
                FROM bench_n n CROSS JOIN bench_n m WHERE m.i < {months}"""),  # noqa: S608 - our own table names and rule values
            figures,
        )
    _timed("analyze", lambda: _exec("ANALYZE") if sql.pg else _analyze_sqlite(), figures)
    counts = {}
    with connection.cursor() as cur:
        for table in (
            "registry_person",
            "benefits_award",
            "benefits_benefitpayment",
            "contributions_ledgerrow",
            "registry_employmentspell",
        ):
            cur.execute(f"SELECT COUNT(*) FROM {table}")  # noqa: S608 - fixed names
            counts[table] = cur.fetchone()[0]
    return counts


def _analyze_sqlite() -> None:
    _exec("PRAGMA analysis_limit = 2000")
    _exec("ANALYZE")


def _numbers(sql: Sql, n: int) -> None:
    _exec("CREATE TABLE bench_n (i INTEGER PRIMARY KEY)")
    if sql.pg:
        _exec(f"INSERT INTO bench_n SELECT generate_series(0, {int(n)} - 1)")
    else:
        last = int(n) - 1
        _exec(
            "WITH RECURSIVE s(i) AS (SELECT 0 UNION ALL SELECT i + 1 FROM s "  # noqa: S608
            f"WHERE i < {last}) INSERT INTO bench_n SELECT i FROM s"
        )


def run_benefits_suite(
    argv: list[str], *, setup_django: Callable[[Path], None], machine: Callable[[], str]
) -> None:
    args = parse_args(argv)
    if args.pg and not os.environ.get("DATABASE_URL"):
        sys.path.insert(0, str(ROOT.parent))
        import dev

        os.environ["DATABASE_URL"] = dev.start_postgres()
    suffix = "-pg" if os.environ.get("DATABASE_URL") else ""
    data_dir = ROOT / ".data" / f"benefits-{args.persons}-{args.months}{suffix}"
    database = _fresh_database(data_dir)
    setup_django(data_dir)
    from django.core.management import call_command
    from django.db import connection

    print(f"machine: {machine()}; database: {database}; load average {_load()}", flush=True)
    figures: dict[str, float] = {}
    _timed("migrate", lambda: call_command("migrate", verbosity=0), figures)
    sql = Sql(connection.vendor)
    counts = generate(args, sql, figures)
    print(f"rows: {json.dumps(counts)}; load average {_load()}", flush=True)

    from ansinh.benefits import detector

    load_before = _load()
    t0 = time.perf_counter()
    first = detector.run()
    full = round(time.perf_counter() - t0, 1)
    print(
        f"full run: {full} s; findings {first.findings} {first.by_kind}; opened "
        f"{first.opened}; feed {first.feed_events}; steps {first.seconds}",
        flush=True,
    )
    t0 = time.perf_counter()
    second = detector.run()
    again = round(time.perf_counter() - t0, 1)
    print(f"second run: {again} s; findings {second.findings}; opened {second.opened}")
    result = {
        "suite": "benefits-detector",
        "database": database.split()[0],
        "persons": args.persons,
        "awards": counts["benefits_award"],
        "ledger_rows": counts["contributions_ledgerrow"],
        "full_run_s": full,
        "second_run_s": again,
        "steps_s": first.seconds,
        "findings": first.by_kind,
        "opened": first.opened,
        "reopened_on_second_run": second.opened,
        "generation_s": figures,
        "load_average": load_before,
        "goal_s": 60,
    }
    print("RESULT " + json.dumps(result, ensure_ascii=False), flush=True)


if __name__ == "__main__":
    sys.path.insert(0, str(ROOT))
    from run import machine, setup_django

    sys.path.insert(0, str(ROOT.parent / "src"))
    run_benefits_suite(sys.argv[1:], setup_django=setup_django, machine=machine)
