#!/usr/bin/env python
"""Gateway processing benchmark (issue 4): one accepted D02-LT increase dossier of ``--rows``
rows (default 1,000) decided by ``ansinh.gateway.processing.process`` — the rows read, the
persons looked up, spells opened, ledger reports written, statuses and totals saved — timed
on its own, apart from intake. Goal: 1,000 rows in < 2 s.

    .venv/bin/python bench/gateway_processing.py [--rows 1000] [--runs 3] [--new]

``--new`` makes every row a first-time participant (TK1-TS): the person is registered and a
health insurance card issued too. Without it the workers are already in the registry (the
usual case since the personal ID became the insurance number). Each run uses a fresh employer
and fresh persons, prepared outside the timing. SQLite in ``bench/.data/gateway-processing/``
by default; with ``DATABASE_URL`` set, that database. Ends with one ``RESULT {json}`` line.

``run_processing(rows=, runs=, new_persons=)`` is the entry point for ``bench/run.py``: it
expects Django set up on a migrated database and returns the figures.
"""

from __future__ import annotations

import argparse
import datetime as dt
import hashlib
import json
import os
import random
import statistics
import sys
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent
DATA = ROOT / ".data" / "gateway-processing"


def _unique_personal_ids(n: int, rng: random.Random) -> list[tuple[str, dt.date, str]]:
    """``n`` unused personal IDs, each consistent with its birth date and sex."""
    from ansinh.registry.identifiers import century_digit
    from ansinh.registry.models import Person

    out: dict[str, tuple[str, dt.date, str]] = {}
    while len(out) < n:
        batch = {}
        for _ in range(n - len(out)):
            dob = dt.date(rng.randint(1965, 2004), rng.randint(1, 12), rng.randint(1, 28))
            sex = rng.choice("MF")
            pid = f"001{century_digit(dob, sex)}{dob.year % 100:02d}{rng.randrange(10**6):06d}"
            batch[pid] = (pid, dob, sex)
        taken = set(
            Person.objects.filter(ss_number__in=list(batch)).values_list("ss_number", flat=True)
        )
        out.update({k: v for k, v in batch.items() if k not in taken and k not in out})
    return list(out.values())[:n]


_NAMES = ("Nguyễn Văn An", "Trần Thị Bình", "Lê Hoàng Cường", "Phạm Thu Dung", "Vũ Minh Em")


def _prepare(rows: int, new_persons: bool, rng: random.Random) -> Any:
    """An employer, its submitter organisation, the workers (registered unless ``new_persons``)
    and an accepted submission with ``rows`` PENDING increase rows."""
    from django.utils import timezone

    from ansinh.access.services import create_organisation
    from ansinh.gateway.models import RowKind, Submission, SubmissionRow, Verdict
    from ansinh.registry.models import Employer, HealthInsuranceCard
    from ansinh.registry.services import register_employer, register_persons_batch
    from ansinh.registry.testing import default_commune_code

    commune = default_commune_code()
    while True:
        unit_code = f"01{rng.randrange(10**8):08d}"
        if not Employer.objects.filter(unit_code=unit_code).exists():
            break
    employer = register_employer(
        unit_code=unit_code,
        unit_type="DN",
        participant_group="DN",
        name=f"Công ty TNHH Đo Hiệu Năng {unit_code}",
        address_unit_code=commune,
        wage_region=1,
    )
    org = create_organisation(code=unit_code, name=employer.name, kind="employer")
    people = _unique_personal_ids(rows, rng)
    names = [rng.choice(_NAMES) for _ in people]
    if not new_persons:
        persons = register_persons_batch(
            [
                {
                    "personal_id": pid,
                    "full_name": name,
                    "date_of_birth": dob,
                    "sex": sex,
                    "address_unit_code": commune,
                }
                for (pid, dob, sex), name in zip(people, names, strict=True)
            ],
            actor=None,
        )
        # Known workers hold a health insurance card already (from an earlier employment).
        HealthInsuranceCard.objects.bulk_create(
            [
                HealthInsuranceCard(
                    person=p,
                    number=f"DN401{9_800_000_000 + p.pk}",
                    short_number=str(9_800_000_000 + p.pk),
                    participant_group="DN",
                    benefit_level=4,
                    province_code="01",
                    initial_facility_code="01001",
                    valid_from=dt.date(2024, 1, 1),
                )
                for p in persons
            ],
            batch_size=500,
        )
    now = timezone.now()
    start = timezone.localtime(now).date() - dt.timedelta(days=3)
    raw = b"<bench/>"
    submission = Submission.objects.create(
        submitter=org,
        employer=employer,
        channel="direct",
        transaction_id=f"BENCH-{unit_code}",
        received_at=now,
        raw=raw,
        size=len(raw),
        digest=hashlib.sha256(raw).hexdigest(),
        procedure_code="600",
        schema_version="1.0",
        verdict=Verdict.ACCEPTED,
        rows_total=rows,
    )
    objs = []
    for number, ((pid, dob, sex), name) in enumerate(zip(people, names, strict=True), start=1):
        data: dict[str, Any] = {
            "personal_id": pid,
            "full_name": name,
            "date_of_birth": dob.isoformat(),
            "sex": sex,
            "nationality": "VN",
            "address_unit_code": commune,
            "start": start.isoformat(),
            "contract_type": "indefinite",
            "salary": rng.randrange(5_500_000, 60_000_000, 1000),
            "allowances": 0,
            "occupation": "Công nhân",
        }
        if new_persons:
            data["participant"] = {"phone": "0912345678", "email": "", "hospital_code": "01001"}
        objs.append(
            SubmissionRow(
                submission=submission,
                number=number,
                kind=RowKind.INCREASE,
                personal_id=pid,
                data=data,
            )
        )
    SubmissionRow.objects.bulk_create(objs, batch_size=500)
    return submission


def _calibrate() -> float:
    """Microseconds of one trivial ORM query (look-up by primary key) on this machine now: the
    yardstick to read the figures by when other work shares the cores."""
    from ansinh.registry.models import Person

    t0 = time.perf_counter()
    for pk in range(500):
        Person.objects.filter(pk=pk).first()
    return round((time.perf_counter() - t0) / 500 * 1e6)


def run_processing(*, rows: int = 1000, runs: int = 3, new_persons: bool = False) -> dict[str, Any]:
    """Time ``processing.process`` on ``runs`` fresh dossiers of ``rows`` increase rows (after
    one untimed warm-up dossier of 20 rows); returns the median and every run."""
    from django.db import connection

    from ansinh.gateway import processing

    rng = random.Random(4)
    processing.process(_prepare(20, new_persons, rng))  # warm caches (rules, parameters)
    seconds, cpu = [], []
    for _ in range(runs):
        submission = _prepare(rows, new_persons, rng)
        t0, c0 = time.perf_counter(), time.process_time()
        done = processing.process(submission)
        seconds.append(time.perf_counter() - t0)
        cpu.append(time.process_time() - c0)
        assert done.rows_accepted == rows, (
            done.rows_accepted,
            done.rows_rejected,
            done.rows_queued,
        )
    submission = _prepare(rows, new_persons, rng)
    statements = 0

    def count(execute: Any, sql: str, params: Any, many: bool, context: Any) -> Any:
        nonlocal statements
        statements += 1
        return execute(sql, params, many, context)

    with connection.execute_wrapper(count):
        processing.process(submission)
    median = statistics.median(seconds)
    return {
        "orm_query_us": _calibrate(),
        "suite": "gateway-processing",
        "database": connection.vendor,
        "rows": rows,
        "new_persons": new_persons,
        "runs_s": [round(s, 3) for s in seconds],
        "median_s": round(median, 3),
        # CPU time of this process: the part of the wall time that is ours when other work
        # shares the cores (the database is in-process on SQLite, a separate server on PG).
        "median_cpu_s": round(statistics.median(cpu), 3),
        "rows_per_s": round(rows / median),
        "queries_per_row": round(statements / rows, 1),
        "goal_met": rows != 1000 or median < 2.0,
    }


def _setup() -> None:
    sys.path.insert(0, str(ROOT.parent / "src"))
    if not os.environ.get("DATABASE_URL"):
        DATA.mkdir(parents=True, exist_ok=True)
        os.environ["ANSINH_DATA_DIR"] = str(DATA)
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "ansinh.settings")
    os.environ.setdefault("LOG_LEVEL", "WARNING")
    import django

    django.setup()
    from django.core.management import call_command

    call_command("migrate", verbosity=0)
    from ansinh.places.testing import ensure_units_loaded

    ensure_units_loaded()


def main(argv: list[str]) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rows", type=int, default=1000)
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--new", action="store_true", help="first-time participants")
    args = parser.parse_args(argv)
    _setup()
    result = run_processing(rows=args.rows, runs=args.runs, new_persons=args.new)
    print(
        f"{result['database']}: {result['rows']} rows in {result['median_s']} s median "
        f"(CPU {result['median_cpu_s']} s) "
        f"({result['rows_per_s']:,} rows/s, {result['queries_per_row']} queries/row, "
        f"{result['orm_query_us']} µs per trivial ORM query; "
        f"runs {result['runs_s']})"
    )
    print("RESULT " + json.dumps(result, ensure_ascii=False))


if __name__ == "__main__":
    main(sys.argv[1:])
