"""The Splink model (mô hình đối sánh xác suất) on DuckDB: settings, training, prediction.

The model is a Fellegi–Sunter model written as plain Splink settings (SQL conditions on the
columns of :data:`ansinh.linkage.normalise.COLUMNS`, made from the raw ``RAW_COLUMNS`` in
DuckDB), so the trained JSON under
``linkage/models/`` runs unchanged on Splink's Spark backend. No Django here: the bench and the
quality runs use it on generated records directly.

The prior (λ, the probability that two random records match) is not a property of the model but
of the job: the trained value is replaced at prediction time by ``prior / n`` — the share of
records expected to have a match divided by the number of candidates — so the bands mean the
same for a batch of ten rows and for a million.
"""

from __future__ import annotations

import contextlib
import gc
import json
import logging
import math
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ansinh.linkage.normalise import COLUMNS

MODEL_DIR = Path(__file__).resolve().parent / "models"
DEFAULT_MODEL = MODEL_DIR / "person_v1.json"
#: Band thresholds on the match probability, from the quality runs (docs/linkage.md); the
#: settings ``LINKAGE_LINK_THRESHOLD`` / ``LINKAGE_REVIEW_THRESHOLD`` override them.
DEFAULT_LINK_THRESHOLD = 0.95
DEFAULT_REVIEW_THRESHOLD = 0.30

for _name in ("splink", "sqlglot"):
    logging.getLogger(_name).setLevel(logging.WARNING)

BLOCKING_RULES = [
    # Same personal ID.
    "l.pid = r.pid",
    # Same name words (accents and order ignored) and birth date …
    "l.name_key = r.name_key AND l.dob = r.dob",
    # … or the birth date with day and month swapped (symmetric: swapping is its own inverse).
    "l.name_key = r.name_key AND l.dob = r.dob_swapped",
    # Same name words in the same commune: catches a wrong birth date with a missing ID.
    "l.name_key = r.name_key AND l.commune = r.commune",
]


def _null(col: str) -> dict[str, Any]:
    return {
        "sql_condition": f"{col}_l IS NULL OR {col}_r IS NULL",
        "label_for_charts": "null",
        "is_null_level": True,
    }


def _level(sql: str, label: str, tf: str | None = None) -> dict[str, Any]:
    level: dict[str, Any] = {"sql_condition": sql, "label_for_charts": label}
    if tf:
        level["tf_adjustment_column"] = tf
        level["tf_adjustment_weight"] = 1.0
    return level


_ELSE = {"sql_condition": "ELSE", "label_for_charts": "else"}

COMPARISONS: list[dict[str, Any]] = [
    {
        "output_column_name": "pid",
        "comparison_description": "personal ID",
        "comparison_levels": [
            _null("pid"),
            _level("pid_l = pid_r", "exact"),
            _level("levenshtein(pid_l, pid_r) = 1", "one digit"),
            _level("damerau_levenshtein(pid_l, pid_r) = 1", "transposition"),
            _ELSE,
        ],
    },
    {
        "output_column_name": "name",
        "comparison_description": "full name",
        "comparison_levels": [
            _null("name_folded"),
            _level("name_exact_l = name_exact_r", "exact", tf="name_key"),
            _level("name_folded_l = name_folded_r", "without accents", tf="name_key"),
            _level("name_key_l = name_key_r", "same words", tf="name_key"),
            _level(
                "given_l = given_r AND jaro_winkler_similarity(name_key_l, name_key_r) >= 0.9",
                "similar, same given name",
            ),
            _level("jaro_winkler_similarity(name_key_l, name_key_r) >= 0.9", "similar"),
            _ELSE,
        ],
    },
    {
        "output_column_name": "dob",
        "comparison_description": "date of birth",
        "comparison_levels": [
            _null("dob"),
            _level("dob_l = dob_r", "exact"),
            _level("dob_l = dob_swapped_r", "day/month swapped"),
            _level("birth_year_l = birth_year_r", "same year"),
            _level("abs(birth_year_l - birth_year_r) <= 1", "within a year"),
            _ELSE,
        ],
    },
    {
        "output_column_name": "sex",
        "comparison_description": "sex",
        "comparison_levels": [_null("sex"), _level("sex_l = sex_r", "exact"), _ELSE],
    },
    {
        "output_column_name": "commune",
        "comparison_description": "commune",
        "comparison_levels": [
            _null("commune"),
            _level("commune_l = commune_r", "exact"),
            _ELSE,
        ],
    },
]

COMPARISON_NAMES = tuple(c["output_column_name"] for c in COMPARISONS)


def base_settings(link_type: str = "dedupe_only") -> dict[str, Any]:
    """The untrained model."""
    return {
        "link_type": link_type,
        "unique_id_column_name": "unique_id",
        "probability_two_random_records_match": 1e-6,
        "blocking_rules_to_generate_predictions": list(BLOCKING_RULES),
        "comparisons": json.loads(json.dumps(COMPARISONS)),
        "retain_matching_columns": False,
        "retain_intermediate_calculation_columns": False,
        "additional_columns_to_retain": [],
    }


def load_settings(path: Path | str | None = None) -> dict[str, Any]:
    return json.loads(Path(path or DEFAULT_MODEL).read_text(encoding="utf-8"))


#: Raw input columns: what a source record or a registry person holds.
RAW_COLUMNS = ("unique_id", "personal_id", "full_name", "birth_date", "sex", "commune")

#: The normalisation of ``normalise.model_row`` in DuckDB SQL, vectorised (a million rows in a
#: second or two instead of half a minute of Python). ``test_engine`` holds the two equal.
_PREPARE_SQL = """
WITH names AS (
    SELECT name0, exact0, strip_accents(replace(exact0, 'đ', 'd')) AS folded0
    FROM (
        SELECT
            name0,
            trim(regexp_replace(lower(nfc_normalize(name0)), '\\s+', ' ', 'g')) AS exact0
        FROM (SELECT DISTINCT coalesce(full_name, '') AS name0 FROM {raw})
    )
), names2 AS (
    SELECT
        name0,
        nullif(exact0, '') AS name_exact,
        nullif(folded0, '') AS name_folded,
        nullif(array_to_string(list_sort(string_split(folded0, ' ')), ' '), '') AS name_key,
        nullif(string_split(folded0, ' ')[-1], '') AS given
    FROM names
), b AS (
    SELECT
        unique_id,
        regexp_replace(coalesce(personal_id, ''), '[\\s.\\-_/]', '', 'g') AS pid0,
        coalesce(full_name, '') AS name0,
        birth_date,
        sex,
        trim(coalesce(commune, '')) AS commune0
    FROM {raw}
)
SELECT
    b.unique_id,
    CASE WHEN regexp_full_match(pid0, '[0-9]{{12}}') THEN pid0 END AS pid,
    n.name_exact,
    n.name_folded,
    n.name_key,
    n.given,
    birth_date AS dob,
    CASE WHEN day(birth_date) <= 12 AND day(birth_date) <> month(birth_date)
        THEN make_date(year(birth_date), day(birth_date), month(birth_date))
    END AS dob_swapped,
    CAST(year(birth_date) AS INTEGER) AS birth_year,
    CASE WHEN sex IN ('M', 'F') THEN sex END AS sex,
    nullif(commune0, '') AS commune
FROM b JOIN names2 n USING (name0)
"""


_EPOCH = 719_163  # date(1970, 1, 1).toordinal()


@contextlib.contextmanager
def _no_gc() -> Any:
    """Pause the cyclic garbage collector while millions of tuples are built: its passes over
    the live objects cost more than the work itself (12 s → 3 s for 300,000 rows)."""
    enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if enabled:
            gc.enable()


def _register(db_api: Any, rows: Sequence[Sequence[Any]], name: str) -> Any:
    """Load raw rows (``RAW_COLUMNS``) into DuckDB, normalise them there, register the result
    with Splink under ``name``."""
    import pyarrow as pa

    with _no_gc():
        cols = list(zip(*rows, strict=True)) if rows else [() for _ in RAW_COLUMNS]
        # Dates as day numbers: building an Arrow date column from date objects is slow.
        days = pa.array(
            [d.toordinal() - _EPOCH if d is not None else None for d in cols[3]], type=pa.int32()
        ).cast(pa.date32())
        table = pa.table(
            {
                "unique_id": pa.array(cols[0], type=pa.string()),
                "personal_id": pa.array(cols[1], type=pa.string()),
                "full_name": pa.array(cols[2], type=pa.string()),
                "birth_date": days,
                "sex": pa.array(cols[4], type=pa.string()),
                "commune": pa.array(cols[5], type=pa.string()),
            }
        )
        del cols
    con = db_api._con
    con.register(f"{name}_arrow", table)
    con.execute(f"CREATE TABLE {name}_raw AS SELECT * FROM {name}_arrow")  # noqa: S608
    con.unregister(f"{name}_arrow")
    con.execute(f"CREATE TABLE {name}_input AS " + _PREPARE_SQL.format(raw=f"{name}_raw"))
    con.execute(f"DROP TABLE {name}_raw")
    return db_api.register(f"{name}_input", dataset_display_name=name)


def prepared(rows: Sequence[Sequence[Any]]) -> list[tuple[Any, ...]]:
    """The model rows DuckDB makes of raw rows (to compare with ``normalise.model_row``)."""
    db_api = _db_api()
    _register(db_api, rows, "check")
    return db_api._con.execute(
        f"SELECT {', '.join(COLUMNS)} FROM check_input ORDER BY unique_id"  # noqa: S608
    ).fetchall()


def _db_api(threads: int | None = None) -> Any:
    import duckdb
    from splink import DuckDBAPI

    con = duckdb.connect(":memory:")
    if threads:
        con.execute(f"SET threads TO {int(threads)}")
    return DuckDBAPI(connection=con)


def train(
    rows: Sequence[Sequence[Any]],
    *,
    out: Path | str | None = None,
    seed: int = 1,
    u_pairs: float = 2e6,
) -> dict[str, Any]:
    """Train the model on records (raw rows, duplicates among them) by expectation
    maximisation on two blocking rules, u from random sampling; save it as Splink JSON."""
    from splink import Linker

    db_api = _db_api()
    df = _register(db_api, rows, "training")
    linker = Linker(df, base_settings(), log_level=None)
    linker.training.estimate_probability_two_random_records_match(["l.pid = r.pid"], recall=0.85)
    linker.training.estimate_u_using_random_sampling(max_pairs=u_pairs, seed=seed)
    linker.training.estimate_parameters_using_expectation_maximisation(
        "l.pid = r.pid", estimate_without_term_frequencies=True
    )
    linker.training.estimate_parameters_using_expectation_maximisation(
        "l.name_key = r.name_key AND l.dob = r.dob", estimate_without_term_frequencies=True
    )
    path = Path(out or DEFAULT_MODEL)
    path.parent.mkdir(parents=True, exist_ok=True)
    settings = linker.misc.save_model_to_json(str(path), overwrite=True)
    # Stable bytes for a committed file: sorted keys, no run-specific identifier.
    settings.pop("linker_uid", None)
    path.write_text(json.dumps(settings, indent=1, sort_keys=True) + "\n", encoding="utf-8")
    return settings


@dataclass(frozen=True)
class Scored:
    """One scored candidate pair: ``left``/``right`` are unique ids (``left`` the source row
    when linking); ``parts`` the (level weight, weight with term-frequency adjustment) of each
    comparison, in bits — :func:`evidence` turns them into labelled evidence."""

    left: str
    right: str
    probability: float
    weight: float
    parts: tuple[tuple[float, float], ...] = ()


def _prior_settings(settings: dict[str, Any], link_type: str, lam: float) -> dict[str, Any]:
    s = json.loads(json.dumps(settings))
    s["link_type"] = link_type
    s["probability_two_random_records_match"] = min(max(lam, 1e-12), 0.5)
    s["retain_intermediate_calculation_columns"] = True  # the mw_* columns: the evidence
    s.pop("linker_uid", None)
    return s


def _level_weights(settings: dict[str, Any]) -> dict[str, list[tuple[float, str]]]:
    """comparison → [(match weight, label)] of its trained levels (null level: weight 0)."""
    out: dict[str, list[tuple[float, str]]] = {}
    for comp in settings["comparisons"]:
        levels: list[tuple[float, str]] = []
        for lvl in comp["comparison_levels"]:
            label = lvl.get("label_for_charts", "")
            if lvl.get("is_null_level"):
                levels.append((0.0, label))
                continue
            m, u = lvl.get("m_probability"), lvl.get("u_probability")
            if m and u:
                levels.append((math.log2(m / u), label))
        out[comp["output_column_name"]] = levels
    return out


def _collect(
    linker: Any,
    table: Any,
    settings: dict[str, Any],
    floor_weight: float,
    *,
    left_dataset: str | None = None,
    top: int | None = None,
) -> list[Scored]:
    """Read the scored pairs with each comparison's weight. ``left_dataset``: the dataset whose
    id goes left (Splink orders a pair by dataset name); ``top``: keep only the best ``top``
    pairs of each left record."""
    names = [c["output_column_name"] for c in settings["comparisons"]]
    cols = []
    for n in names:
        tf = f" + coalesce(mw_tf_adj_{n}, 0)" if _has_tf(settings, n) else ""
        cols += [f"coalesce(mw_{n}, 0)", f"coalesce(mw_{n}, 0){tf}"]
    if left_dataset:
        ids = (
            f"CASE WHEN source_dataset_l = '{left_dataset}' THEN unique_id_l ELSE unique_id_r END"
            f" AS a, CASE WHEN source_dataset_l = '{left_dataset}' THEN unique_id_r"
            " ELSE unique_id_l END AS b"
        )
    else:
        ids = "unique_id_l AS a, unique_id_r AS b"
    sql = (
        f"SELECT {ids}, match_probability, match_weight, {', '.join(cols)} "  # noqa: S608
        f"FROM {table.physical_name} WHERE match_weight >= {float(floor_weight)}"
    )
    if top:
        sql = (
            f"SELECT * FROM ({sql}) QUALIFY row_number() OVER "  # noqa: S608
            f"(PARTITION BY a ORDER BY match_probability DESC, b) <= {int(top)}"
        )
    con = linker._db_api._con
    k = len(names)
    with _no_gc():
        return [
            Scored(
                row[0],
                row[1],
                float(row[2]),
                float(row[3]),
                tuple((row[4 + 2 * i], row[5 + 2 * i]) for i in range(k)),
            )
            for row in con.execute(sql).fetchall()
        ]


def evidence(sc: Scored, settings: dict[str, Any] | None = None) -> dict[str, dict[str, Any]]:
    """comparison → {"level": label, "weight": bits}: the level is recovered from the weight
    (each trained level has its own), the weight includes the term-frequency adjustment."""
    settings = settings or load_settings()
    levels = _level_weights(settings)
    names = [c["output_column_name"] for c in settings["comparisons"]]
    out: dict[str, dict[str, Any]] = {}
    for n, (raw, total) in zip(names, sc.parts, strict=True):
        label = min(levels[n], key=lambda lv: abs(lv[0] - raw))[1] if levels[n] else ""
        out[n] = {"level": label, "weight": round(float(total), 2)}
    return out


def _has_tf(settings: dict[str, Any], name: str) -> bool:
    for comp in settings["comparisons"]:
        if comp["output_column_name"] == name:
            return any(lvl.get("tf_adjustment_column") for lvl in comp["comparison_levels"])
    return False


def predict_link(
    left: Sequence[Sequence[Any]],
    right: Sequence[Sequence[Any]],
    *,
    settings: dict[str, Any] | None = None,
    prior: float = 0.9,
    population: int | None = None,
    floor_weight: float = -5.0,
    top: int | None = 3,
    name_frequencies: dict[str, float] | None = None,
    threads: int | None = None,
) -> list[Scored]:
    """Score source rows (``left``) against registry rows (``right``): every blocked pair with a
    match weight of at least ``floor_weight``. ``prior``: share of left rows expected to have a
    match on the right; ``population``: size of the registry when ``right`` holds only the
    candidates read from it; ``top``: best pairs kept per source row; ``name_frequencies``:
    name key → its share of the whole registry, for the term-frequency adjustment when
    ``right`` is only a sample of it (else the shares are counted in ``left`` + ``right``)."""
    if not left or not right:
        return []
    from splink import Linker

    settings = settings or load_settings()
    lam = prior / max(population or len(right), 1)
    s = _prior_settings(settings, "link_only", lam)
    db_api = _db_api(threads)
    dfs = [
        _register(db_api, left, "src"),
        _register(db_api, right, "reg"),
    ]
    linker = Linker(dfs, s, log_level=None, validate_settings=False)
    if name_frequencies is not None:
        _register_frequencies(db_api, linker, left, name_frequencies)
    table = linker.inference.predict(threshold_match_weight=floor_weight, warning_mode="never")
    return _collect(linker, table, s, floor_weight, left_dataset="src", top=top)


def _register_frequencies(
    db_api: Any, linker: Any, left: Sequence[Sequence[Any]], shares: dict[str, float]
) -> None:
    """Register the ``name_key`` term-frequency table: the registry's shares, and for names the
    registry does not hold the smallest share (a rare name)."""
    import pyarrow as pa

    floor = min(shares.values(), default=1e-6)
    con = db_api._con
    keys = [
        r[0]
        for r in con.execute(
            "SELECT DISTINCT name_key FROM src_input WHERE name_key IS NOT NULL "
            "UNION SELECT DISTINCT name_key FROM reg_input WHERE name_key IS NOT NULL"
        ).fetchall()
    ]
    table = pa.table(
        {
            "name_key": pa.array(keys, type=pa.string()),
            "tf_name_key": pa.array([shares.get(k, floor) for k in keys], type=pa.float64()),
        }
    )
    con.register("tf_arrow", table)
    con.execute("CREATE TABLE tf_name_key_lookup AS SELECT * FROM tf_arrow")
    con.unregister("tf_arrow")
    linker.table_management.register_term_frequency_lookup(
        db_api.register("tf_name_key_lookup", dataset_display_name="tf_name_key_lookup"),
        "name_key",
    )


def predict_dedupe(
    rows: Sequence[Sequence[Any]],
    *,
    settings: dict[str, Any] | None = None,
    prior: float = 0.02,
    floor_weight: float = 0.0,
    threads: int | None = None,
) -> list[Scored]:
    """Score pairs within ``rows``. ``prior``: share of rows expected to have a duplicate."""
    if len(rows) < 2:
        return []
    from splink import Linker

    settings = settings or load_settings()
    lam = prior / max(len(rows) - 1, 1)
    s = _prior_settings(settings, "dedupe_only", lam)
    db_api = _db_api(threads)
    df = _register(db_api, rows, "persons")
    linker = Linker(df, s, log_level=None, validate_settings=False)
    table = linker.inference.predict(threshold_match_weight=floor_weight, warning_mode="never")
    return _collect(linker, table, s, floor_weight)
