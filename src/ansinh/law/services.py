"""Writes of the law app: loading the rule tables from the TOML files in ``law/rules/`` and
recording the exact rule set a computation used (``RuleSnapshot``)."""

from __future__ import annotations

import datetime as dt
import threading
import tomllib
from collections.abc import Callable
from dataclasses import dataclass, field
from decimal import Decimal, InvalidOperation
from pathlib import Path
from typing import Any

from django.db import IntegrityError, transaction

from ansinh.law.models import Confidence, Payer, PayScale, ReferenceKind, Scheme, SchemePart
from ansinh.law.selectors import ContributionRules, clear_cache

RULES_DIR = Path(__file__).resolve().parent / "rules"

# file, TOML array name, model name, natural key, value fields and their types
_TABLES: tuple[tuple[str, str, str, tuple[str, ...], dict[str, type]], ...] = (
    ("contributions.toml", "rate", "ContributionRate", ("part", "payer"), {"rate": Decimal}),
    (
        "reference_amounts.toml",
        "amount",
        "ReferenceAmount",
        ("kind", "region"),
        {"amount": int},
    ),
    (
        "caps.toml",
        "cap",
        "SalaryCap",
        ("scheme", "pay_scale"),
        {"multiplier": int, "reference": str},
    ),
    (
        "parameters.toml",
        "parameter",
        "LegalParameter",
        ("key",),
        {"value": Decimal, "unit": str, "description": str},
    ),
)
_CHOICES: dict[str, list[str]] = {
    "part": SchemePart.values,
    "payer": Payer.values,
    "kind": ReferenceKind.values,
    "reference": ReferenceKind.values,
    "scheme": Scheme.values,
    "pay_scale": ["", *PayScale.values],
    "confidence": Confidence.values,
}


class RuleFileError(ValueError):
    """A rule file is malformed: the message names the file, the row and the field."""


def _convert(where: str, name: str, value: Any, kind: type) -> Any:
    if kind is Decimal:
        try:
            return Decimal(str(value))
        except InvalidOperation as exc:
            raise RuleFileError(f"{where}: {name} is not a number: {value!r}") from exc
    if kind is int:
        if not isinstance(value, int) or isinstance(value, bool):
            raise RuleFileError(f"{where}: {name} must be an integer: {value!r}")
        return value
    return str(value)


@dataclass(frozen=True)
class RuleFile:
    """A rule file another app keeps beside its code (e.g. ``unemployment/rules.toml``), loaded
    by ``sync_rules`` like ours. ``model`` is ``"app_label.Model"`` (a ``DatedRule``), or
    ``"law.LegalParameter"`` for dated numbers under the app's own keys."""

    path: Path
    array: str
    model: str
    natural: tuple[str, ...]
    values: dict[str, type]
    choices: dict[str, list[str]] = field(default_factory=dict)


_EXTRA: dict[tuple[Path, str], RuleFile] = {}


def register_rule_file(rule_file: RuleFile) -> None:
    """Called from an app's ``AppConfig.ready()``; registering the same file twice is harmless."""
    _EXTRA[(rule_file.path, rule_file.array)] = rule_file


def registered_rule_files() -> list[RuleFile]:
    return list(_EXTRA.values())


def read_rule_files(directory: Path = RULES_DIR) -> dict[str, list[dict[str, Any]]]:
    """Parse and check every rule file; returns rows (field → value) by model name."""
    out: dict[str, list[dict[str, Any]]] = {}
    for filename, array, model, natural, values in _TABLES:
        out[model] = _read_rows(directory / filename, array, natural, values, _CHOICES)
    return out


def _read_rows(
    path: Path,
    array: str,
    natural: tuple[str, ...],
    values: dict[str, type],
    choices: dict[str, list[str]],
) -> list[dict[str, Any]]:
    filename = path.name
    with path.open("rb") as fh:
        data = tomllib.load(fh)
    rows = []
    for i, raw in enumerate(data.get(array, []), start=1):
        where = f"{filename} [[{array}]] #{i}"
        row: dict[str, Any] = {}
        for name in natural:
            if name not in raw and name != "pay_scale":
                raise RuleFileError(f"{where}: missing {name}")
            row[name] = raw.get(name, "")
        for name, kind in values.items():
            if name not in raw and kind is not str:
                raise RuleFileError(f"{where}: missing {name}")
            row[name] = _convert(where, name, raw.get(name, ""), kind)
        for name in ("valid_from", "legal_source", "confidence"):
            if name not in raw:
                raise RuleFileError(f"{where}: missing {name}")
        row["valid_from"] = raw["valid_from"]
        row["valid_to"] = raw.get("valid_to")
        for name in ("valid_from", "valid_to"):
            if row[name] is not None and type(row[name]) is not dt.date:
                raise RuleFileError(f"{where}: {name} must be a date (YYYY-MM-DD)")
        if row["valid_to"] is not None and row["valid_to"] < row["valid_from"]:
            raise RuleFileError(f"{where}: valid_to before valid_from")
        row["legal_source"] = str(raw["legal_source"]).strip()
        if not row["legal_source"]:
            raise RuleFileError(f"{where}: legal_source is empty")
        row["confidence"] = raw["confidence"]
        row["note"] = str(raw.get("note", ""))
        for name, allowed in choices.items():
            if name in row and row[name] not in allowed:
                raise RuleFileError(f"{where}: {name} {row[name]!r} not one of {allowed}")
        if "rate" in row and not Decimal(0) <= row["rate"] <= Decimal(1):
            raise RuleFileError(f"{where}: rate outside 0–1")
        if "amount" in row and row["amount"] <= 0:
            raise RuleFileError(f"{where}: amount must be positive")
        rows.append(row)
    return rows


def load_rules(get_model: Callable[[str], Any], directory: Path = RULES_DIR) -> int:
    """Upsert the rule files into the tables through ``get_model(name)`` (the real models, or
    a migration's historical ones). Rows are matched on their natural key and ``valid_from``;
    rows added by administrators and absent from the files are left alone. Returns the number
    of rows created or changed (0 when the tables already agree with the files)."""
    files = read_rule_files(directory)
    return sum(
        _upsert(get_model(model_name), natural, files[model_name])
        for _file, _array, model_name, natural, _values in _TABLES
    )


def _upsert(model: Any, natural: tuple[str, ...], rows: list[dict[str, Any]]) -> int:
    changed = 0
    for row in rows:
        lookup = {name: row[name] for name in (*natural, "valid_from")}
        fields = {k: v for k, v in row.items() if k not in lookup}
        obj = model.objects.filter(**lookup).first()
        if obj is None:
            model.objects.create(**lookup, **fields)
            changed += 1
            continue
        dirty = [k for k, v in fields.items() if getattr(obj, k) != v]
        if dirty:
            for k in dirty:
                setattr(obj, k, fields[k])
            obj.save(update_fields=dirty)
            changed += 1
    return changed


def load_rule_file(rule_file: RuleFile, get_model: Callable[[str], Any]) -> int:
    """Upsert one app's rule file through ``get_model("app_label.Model")``. Call it from the
    app's data migration too (``apps.get_model``), so test databases hold the rows."""
    choices = {"confidence": Confidence.values, **rule_file.choices}
    rows = _read_rows(rule_file.path, rule_file.array, rule_file.natural, rule_file.values, choices)
    return _upsert(get_model(rule_file.model), rule_file.natural, rows)


def sync_rules(directory: Path = RULES_DIR) -> int:
    """Load ``law/rules/*.toml`` into the rule tables (idempotent); returns rows written."""
    from django.apps import apps

    with transaction.atomic():
        changed = load_rules(lambda name: apps.get_model("law", name), directory)
        if directory == RULES_DIR:
            for extra in registered_rule_files():
                changed += load_rule_file(extra, apps.get_model)
    clear_cache()
    return changed


# --- snapshots ---------------------------------------------------------------------------------

_snapshot_lock = threading.Lock()
_snapshots: dict[str, Any] = {}


def snapshot_for(rules: ContributionRules) -> Any:
    """The ``RuleSnapshot`` of this rule set, created on first use (keyed by ``rules.digest``).
    Rows are cached once committed, so a rolled-back snapshot is never reused."""
    from ansinh.law.models import RuleSnapshot

    cached = _snapshots.get(rules.digest)
    if cached is not None:
        return cached
    snap = RuleSnapshot.objects.filter(digest=rules.digest).first()
    if snap is None:
        try:
            with transaction.atomic():
                snap = RuleSnapshot.objects.create(
                    digest=rules.digest,
                    effective_on=rules.day,
                    content=rules.content(),
                    citation=rules.citation,
                )
        except IntegrityError:  # created meanwhile by another process
            snap = RuleSnapshot.objects.get(digest=rules.digest)
    digest = rules.digest

    def _remember() -> None:
        with _snapshot_lock:
            _snapshots[digest] = snap

    transaction.on_commit(_remember)
    return snap


def forget_snapshots() -> None:
    """Drop the snapshot id cache (tests that delete snapshots)."""
    with _snapshot_lock:
        _snapshots.clear()


def parameter_snapshot(key: str, day: dt.date) -> Any:
    """A ``RuleSnapshot`` of one legal parameter in force on ``day`` (e.g. the interest rate an
    interest charge used)."""
    import hashlib
    import json

    from ansinh.law.models import RuleSnapshot
    from ansinh.law.selectors import parameter_row

    row = parameter_row(key, day)
    content = {
        "parameter": key,
        "value": str(Decimal(row.value).normalize()),
        "unit": row.unit,
        "legal_source": row.legal_source,
        "confidence": row.confidence,
    }
    digest = hashlib.sha256(
        json.dumps(content, sort_keys=True, ensure_ascii=False).encode()
    ).hexdigest()
    snap = RuleSnapshot.objects.filter(digest=digest).first()
    if snap is None:
        snap = RuleSnapshot.objects.create(
            digest=digest, effective_on=day, content=content, citation=row.legal_source
        )
    return snap
