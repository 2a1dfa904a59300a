#!/usr/bin/env python
"""Record linkage suite of ``bench/run.py`` (issue 6): ``bench/run.py linkage``.

On generated data with known truth (``ansinh.linkage.quality``; no database — the registry side
of ``link_records`` reads rows, the model runs on DuckDB):

* **dedupe**: ``--records`` records (5% of them corrupted second copies of others), our model
  (Vietnamese-aware normalisation + the committed Splink model) end to end: normalisation,
  blocking, scoring, pairs above the link threshold;
* **plain**: a plain Splink dedupe of the same records beside it — raw columns, Splink's own
  comparison library (exact/Jaro-Winkler name, Damerau-Levenshtein ID, date comparisons),
  blocking on ID and on name + birth date, trained on a sample (training not timed);
* **link**: ``--records`` source records against ``--records`` registry persons;
* **quality**: precision/recall/F1 of the link at each ``--rates`` error rate.

Each job runs in a fresh child process, so the peak memory (``ru_maxrss`` of that child, from
``resource.getrusage``) is the job's own — it includes the generated data, which is made in the
child before the clock starts (its time is reported apart). Ends with ``RESULT {json}`` lines.
"""

from __future__ import annotations

import argparse
import gc
import json
import multiprocessing as mp
import os
import sys
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent
sys.path.insert(0, str(ROOT.parent / "src"))


def parse_args(argv: list[str]) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="bench/run.py linkage")
    parser.add_argument("suite", choices=("linkage",))
    parser.add_argument("--records", type=int, default=1_000_000)
    parser.add_argument("--rates", default="0.01,0.05,0.2", help="error rates for quality")
    parser.add_argument("--rate", type=float, default=0.05, help="error rate of the timed jobs")
    parser.add_argument(
        "--jobs", default="dedupe,plain,link,quality", help="comma-separated subset"
    )
    parser.add_argument("--seed", type=int, default=1)
    return parser.parse_args(argv)


def _peak_mib() -> float:
    import resource

    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def _dedupe(n: int, rate: float, seed: int) -> dict[str, Any]:
    from ansinh.linkage import engine, quality
    from ansinh.linkage.engine import DEFAULT_LINK_THRESHOLD

    t0 = time.perf_counter()
    data = quality.make_dedupe(n, rate=rate, seed=seed)
    gen = time.perf_counter() - t0
    gc.freeze()  # the generated objects are permanent: keep the collector off them
    t0 = time.perf_counter()
    rows = [p.row() for p in data.records]
    t_norm = time.perf_counter() - t0
    scored = engine.predict_dedupe(rows, floor_weight=0.0)
    predicted = {
        tuple(sorted((s.left, s.right))) for s in scored if s.probability >= DEFAULT_LINK_THRESHOLD
    }
    total = time.perf_counter() - t0
    s = quality.score_pairs(predicted, data.truth)  # type: ignore[arg-type]
    return {
        "job": "dedupe",
        "records": len(rows),
        "generate_s": round(gen, 1),
        "normalise_s": round(t_norm, 1),
        "seconds": round(total, 1),
        "pairs_scored": len(scored),
        "peak_mib": round(_peak_mib()),
        "quality": s.line(),
        "f1": round(s.f1, 4),
    }


def plain_settings() -> dict[str, Any]:
    """A plain Splink model on the raw columns: no folding, no name-word key, no date swap."""
    import splink.comparison_library as cl
    from splink import SettingsCreator, block_on

    return (
        SettingsCreator(
            link_type="dedupe_only",
            unique_id_column_name="unique_id",
            blocking_rules_to_generate_predictions=[
                block_on("personal_id"),
                block_on("full_name", "birth_date"),
                block_on("full_name", "commune"),
            ],
            comparisons=[
                cl.DamerauLevenshteinAtThresholds("personal_id", [1]),
                cl.JaroWinklerAtThresholds("full_name", [0.92, 0.8]).configure(
                    term_frequency_adjustments=True
                ),
                cl.DateOfBirthComparison("birth_date", input_is_string=True),
                cl.ExactMatch("sex"),
                cl.ExactMatch("commune"),
            ],
            retain_matching_columns=False,
            retain_intermediate_calculation_columns=False,
        )
        .get_settings("duckdb")
        .as_dict()
    )


def _plain_table(records: list[Any]) -> Any:
    import pyarrow as pa

    return pa.table(
        {
            "unique_id": [p.uid for p in records],
            "personal_id": [p.personal_id for p in records],
            "full_name": [p.full_name for p in records],
            "birth_date": [p.birth_date.isoformat() for p in records],
            "sex": [p.sex for p in records],
            "commune": [p.commune for p in records],
        }
    )


def _plain(n: int, rate: float, seed: int) -> dict[str, Any]:
    import logging

    from splink import DuckDBAPI, Linker

    from ansinh.linkage import quality
    from ansinh.linkage.engine import DEFAULT_LINK_THRESHOLD

    logging.getLogger("splink").setLevel(logging.ERROR)
    t0 = time.perf_counter()
    data = quality.make_dedupe(n, rate=rate, seed=seed)
    train = quality.make_dedupe(min(n, 100_000), rate=0.1, seed=seed + 100)
    db = DuckDBAPI()
    linker = Linker(db.register(_plain_table(train.records)), plain_settings(), log_level=None)
    linker.training.estimate_u_using_random_sampling(max_pairs=2e6, seed=seed)
    linker.training.estimate_parameters_using_expectation_maximisation(
        block_on_sql("personal_id"), estimate_without_term_frequencies=True
    )
    linker.training.estimate_parameters_using_expectation_maximisation(
        block_on_sql("full_name", "birth_date"), estimate_without_term_frequencies=True
    )
    model = linker.misc.save_model_to_json()
    gen = time.perf_counter() - t0
    gc.freeze()
    model["probability_two_random_records_match"] = 0.02 / max(n - 1, 1)
    t0 = time.perf_counter()
    db2 = DuckDBAPI()
    linker2 = Linker(db2.register(_plain_table(data.records)), model, log_level=None)
    table = linker2.inference.predict(threshold_match_weight=0.0, warning_mode="never")
    rows = db2._con.execute(
        f"SELECT unique_id_l, unique_id_r, match_probability FROM {table.physical_name}"  # noqa: S608
    ).fetchall()
    total = time.perf_counter() - t0
    predicted = {tuple(sorted((a, b))) for a, b, p in rows if p >= DEFAULT_LINK_THRESHOLD}
    s = quality.score_pairs(predicted, data.truth)  # type: ignore[arg-type]
    return {
        "job": "plain-splink-dedupe",
        "records": len(data.records),
        "generate_and_train_s": round(gen, 1),
        "seconds": round(total, 1),
        "pairs_scored": len(rows),
        "peak_mib": round(_peak_mib()),
        "quality": s.line(),
        "f1": round(s.f1, 4),
    }


def block_on_sql(*cols: str) -> str:
    return " AND ".join(f"l.{c} = r.{c}" for c in cols)


def _link(n: int, rate: float, seed: int) -> dict[str, Any]:
    from ansinh.linkage import engine, quality
    from ansinh.linkage.engine import DEFAULT_LINK_THRESHOLD

    t0 = time.perf_counter()
    data = quality.make_sources(n, rate=rate, seed=seed, coverage=0.9, strangers=0.1)
    gen = time.perf_counter() - t0
    gc.freeze()
    t0 = time.perf_counter()
    left = [p.row() for p in data.source]
    right = [p.row() for p in data.registry]
    t_norm = time.perf_counter() - t0
    scored = engine.predict_link(left, right)
    best = quality.best_links(scored, DEFAULT_LINK_THRESHOLD)
    total = time.perf_counter() - t0
    s = quality.score(best, data.truth)
    return {
        "job": "link",
        "source": len(left),
        "registry": len(right),
        "error_rate": rate,
        "generate_s": round(gen, 1),
        "normalise_s": round(t_norm, 1),
        "seconds": round(total, 1),
        "pairs_scored": len(scored),
        "peak_mib": round(_peak_mib()),
        "quality": s.line(),
        "f1": round(s.f1, 4),
    }


def _child(job: str, n: int, rate: float, seed: int, q: Any) -> None:
    try:
        fn = {"dedupe": _dedupe, "plain": _plain, "link": _link}[job]
        q.put(fn(n, rate, seed))
    except Exception as exc:  # report, do not hang the parent
        q.put({"job": job, "error": repr(exc)})
    q.close()
    q.join_thread()
    # Skip interpreter teardown: duckdb's bindings print spurious "leaked instance" lines there.
    sys.stdout.flush()
    sys.stderr.flush()
    os._exit(0)


def _run(job: str, n: int, rate: float, seed: int) -> dict[str, Any]:
    ctx = mp.get_context("spawn")
    q = ctx.Queue()
    p = ctx.Process(target=_child, args=(job, n, rate, seed, q))
    p.start()
    result = q.get()
    p.join()
    return result


def run_linkage_suite(argv: list[str], *, setup_django: Any = None, machine: Any = None) -> None:
    args = parse_args(argv)
    jobs = args.jobs.split(",")
    load = os.getloadavg()
    print(
        f"machine: {machine() if machine else ''}; records {args.records:,}; "
        f"load at start {load[0]:.2f}; {time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime())}",
        flush=True,
    )
    for job in ("dedupe", "plain", "link"):
        if job in jobs:
            result = _run(job, args.records, args.rate, args.seed)
            print("RESULT " + json.dumps(result, ensure_ascii=False), flush=True)
    if "quality" in jobs:
        for rate in (float(r) for r in args.rates.split(",")):
            if "link" in jobs and rate == args.rate:
                continue  # measured above
            result = _run("link", args.records, rate, args.seed)
            result["job"] = "quality"
            print("RESULT " + json.dumps(result, ensure_ascii=False), flush=True)


if __name__ == "__main__":
    run_linkage_suite(sys.argv[1:])
