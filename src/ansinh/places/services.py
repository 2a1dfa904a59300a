"""Writes for administrative units (đơn vị hành chính): loading both systems and the 2025
old→new mapping from the bundled data of ``vietnamadminunits``.

Legal basis: Resolution 202/2025/QH15 of the National Assembly on the arrangement of
provincial-level units (63 → 34 provinces) and the 2025 resolutions of the National Assembly
Standing Committee on the arrangement of commune-level units of each province (3,321 communes,
districts abolished), all in force from 2025-07-01 (``REFORM_DATE``).
"""

from __future__ import annotations

import datetime as dt

from django.db import transaction
from tqdm import tqdm

from ansinh.core.text import normalise
from ansinh.places.models import REFORM_DATE, AdminUnit, UnitLevel, UnitSuccession, UnitSystem
from ansinh.places.source import SuccessionRow, UnitRow, read_source

LEGACY_VALID_TO = REFORM_DATE - dt.timedelta(days=1)

# Parents are written before their children so a child can point at its parent's id.
_ORDER: tuple[tuple[str, str, str | None], ...] = (
    (UnitSystem.LEGACY.value, UnitLevel.PROVINCE.value, None),
    (UnitSystem.LEGACY.value, UnitLevel.DISTRICT.value, UnitLevel.PROVINCE.value),
    (UnitSystem.LEGACY.value, UnitLevel.COMMUNE.value, UnitLevel.DISTRICT.value),
    (UnitSystem.CURRENT.value, UnitLevel.PROVINCE.value, None),
    (UnitSystem.CURRENT.value, UnitLevel.COMMUNE.value, UnitLevel.PROVINCE.value),
)
_FIELDS = (
    "name",
    "short_name",
    "unit_type",
    "parent_id",
    "province_code",
    "key",
    "search_name",
    "latitude",
    "longitude",
    "valid_from",
    "valid_to",
)
_BATCH = 500

Ident = tuple[str, str, str]  # (system, level, code)


def _values(row: UnitRow, parent_id: int | None) -> dict[str, object]:
    legacy = row.system == UnitSystem.LEGACY
    return {
        "name": row.name,
        "short_name": row.short_name,
        "unit_type": row.unit_type,
        "parent_id": parent_id,
        "province_code": row.province_code,
        "key": row.key,
        "search_name": normalise(row.name),
        "latitude": row.latitude,
        "longitude": row.longitude,
        "valid_from": None if legacy else REFORM_DATE,
        "valid_to": LEGACY_VALID_TO if legacy else None,
    }


def load_admin_units(*, progress: bool = False) -> dict[str, int]:
    """Load or refresh both systems of administrative units and the old→new successions.

    Idempotent: a unit is matched on (system, level, code) and written only when a value
    differs, so a second run writes nothing. Units are never deleted (people and employers
    point at them); successions no longer in the data are. All or nothing (one transaction).

    Returns the counts in the database afterwards, what this run created/updated/deleted, and
    the gaps of the source data (``legacy_unmapped``: legacy communes without a successor;
    ``current_unmapped``: current communes without a predecessor; ``unknown_keys``: mapping
    entries naming no unit; ``duplicates``: repeated commune codes).
    """
    data = read_source()
    by_group: dict[tuple[str, str], list[UnitRow]] = {}
    for row in data.units:
        by_group.setdefault((row.system, row.level), []).append(row)

    bar = tqdm(
        total=len(data.units) + len(data.successions),
        disable=not progress,
        desc="administrative units",
        unit="row",
    )
    stats = {"created": 0, "updated": 0}
    with bar, transaction.atomic():
        ids = _load_units(by_group, bar, stats)
        succ = _load_successions(data.successions, ids, bar)

    counts = {
        f"{level}s_{system}": AdminUnit.objects.filter(system=system, level=level).count()
        for system, level, _ in _ORDER
    }
    counts["successions"] = UnitSuccession.objects.count()
    counts["split_communes"] = (
        UnitSuccession.objects.filter(is_split=True, old__level=UnitLevel.COMMUNE)
        .values("old_id")
        .distinct()
        .count()
    )
    counts["legacy_unmapped"] = len(data.unmapped_legacy)
    counts["current_unmapped"] = (
        AdminUnit.objects.filter(system=UnitSystem.CURRENT, level=UnitLevel.COMMUNE)
        .filter(predecessors__isnull=True)
        .count()
    )
    counts["unknown_keys"] = len(data.unknown_keys)
    counts["duplicates"] = len(data.duplicates)
    counts.update(stats)
    counts.update(succ)
    return counts


def _load_units(
    by_group: dict[tuple[str, str], list[UnitRow]], bar: tqdm, stats: dict[str, int]
) -> dict[Ident, int]:
    existing: dict[Ident, AdminUnit] = {
        (u.system, u.level, u.code): u for u in AdminUnit.objects.all()
    }
    ids: dict[Ident, int] = {}
    for system, level, parent_level in _ORDER:
        to_create: list[AdminUnit] = []
        to_update: list[AdminUnit] = []
        for row in by_group.get((system, level), []):
            parent_id = ids[(system, parent_level, row.parent_code)] if parent_level else None
            values = _values(row, parent_id)
            unit = existing.get((system, level, row.code))
            if unit is None:
                to_create.append(AdminUnit(system=system, level=level, code=row.code, **values))
            elif any(getattr(unit, name) != value for name, value in values.items()):
                for name, value in values.items():
                    setattr(unit, name, value)
                to_update.append(unit)
            bar.update()
        AdminUnit.objects.bulk_create(to_create, batch_size=_BATCH)
        AdminUnit.objects.bulk_update(to_update, _FIELDS, batch_size=_BATCH)
        stats["created"] += len(to_create)
        stats["updated"] += len(to_update)
        # Re-read the ids rather than rely on bulk_create returning them on every backend.
        for pk, code in AdminUnit.objects.filter(system=system, level=level).values_list(
            "pk", "code"
        ):
            ids[(system, level, code)] = pk
    return ids


def _load_successions(
    rows: list[SuccessionRow], ids: dict[Ident, int], bar: tqdm
) -> dict[str, int]:
    wanted: dict[tuple[int, int], tuple[bool, bool]] = {}
    for row in rows:
        old_id = ids[(UnitSystem.LEGACY, row.old_level, row.old_code)]
        new_id = ids[(UnitSystem.CURRENT, row.new_level, row.new_code)]
        wanted[(old_id, new_id)] = (row.is_default, row.is_split)
    to_create: list[UnitSuccession] = []
    to_update: list[UnitSuccession] = []
    stale: list[int] = []
    for succ in UnitSuccession.objects.all():
        flags = wanted.pop((succ.old_id, succ.new_id), None)
        if flags is None:
            stale.append(succ.pk)
        elif flags != (succ.is_default, succ.is_split):
            succ.is_default, succ.is_split = flags
            to_update.append(succ)
    for (old_id, new_id), (is_default, is_split) in wanted.items():
        to_create.append(
            UnitSuccession(old_id=old_id, new_id=new_id, is_default=is_default, is_split=is_split)
        )
    bar.update(len(rows))
    for start in range(0, len(stale), _BATCH):
        UnitSuccession.objects.filter(pk__in=stale[start : start + _BATCH]).delete()
    UnitSuccession.objects.bulk_create(to_create, batch_size=_BATCH)
    UnitSuccession.objects.bulk_update(to_update, ["is_default", "is_split"], batch_size=_BATCH)
    return {
        "successions_created": len(to_create),
        "successions_updated": len(to_update),
        "successions_deleted": len(stale),
    }
