"""Reads the administrative units bundled with the MIT-licensed ``vietnamadminunits`` package.

Only its data files are read (``data/dataset.db`` with SQLite, ``data/converter_2025.json``):
the package itself is never imported, because some of its parser and converter functions call
an online geocoder, and an address is personal data that must not leave the system.

What the data holds, and its quirks:

* ``admin_units``: the 3,321 current communes (34 provinces) — Resolution 202/2025/QH15 on the
  arrangement of provinces and the NA Standing Committee resolutions of 2025 on the arrangement
  of communes, in force from 2025-07-01.
* ``admin_units_legacy``: 10,040 rows of the 63-province system; five island districts have no
  communes (Bạch Long Vĩ, Cồn Cỏ, Hoàng Sa, Lý Sơn, Côn Đảo) and appear as a row without a ward.
* The converter identifies an old commune by ``province_district_ward`` keys and a new one by
  (province key, ward key). Keys are accent-free except where two names differ only by their
  diacritics (e.g. ``xãthanhan`` / ``xãthạnhan``): there the key keeps them, so keys are compared
  exactly, after NFC normalisation only.
* An old commune that was split has several candidates, one flagged ``isDefaultNewWard``.
"""

from __future__ import annotations

import importlib.util
import json
import sqlite3
import unicodedata
from collections import defaultdict
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path

from ansinh.places.models import UnitLevel, UnitSystem

PACKAGE = "vietnamadminunits"


@dataclass(frozen=True)
class UnitRow:
    system: str
    level: str
    code: str
    name: str
    short_name: str
    unit_type: str
    parent_code: str | None  # code of the parent one level up in the same system
    province_code: str
    key: str
    latitude: float | None
    longitude: float | None


@dataclass(frozen=True)
class SuccessionRow:
    old_level: str  # legacy province, district (island without communes) or commune
    old_code: str
    new_level: str  # current province or commune
    new_code: str
    is_default: bool
    is_split: bool


@dataclass
class SourceData:
    units: list[UnitRow]
    successions: list[SuccessionRow]
    #: Legacy communes (or commune-less districts) the converter gives no successor.
    unmapped_legacy: list[str] = field(default_factory=list)
    #: Converter keys that name no unit of the dataset.
    unknown_keys: list[str] = field(default_factory=list)
    #: Rows dropped because their code was already seen.
    duplicates: list[str] = field(default_factory=list)


def data_dir() -> Path:
    """The package's data directory, located without importing (and so running) the package."""
    spec = importlib.util.find_spec(PACKAGE)
    if spec is None or not spec.submodule_search_locations:
        raise RuntimeError(f"The Python package {PACKAGE!r} is not installed.")
    return Path(next(iter(spec.submodule_search_locations))) / "data"


def _k(value: str | None) -> str:
    return unicodedata.normalize("NFC", value or "")


def _s(value: str | None) -> str:
    return unicodedata.normalize("NFC", (value or "").strip())


def _prefix(name: str, short: str) -> str:
    """'Tỉnh Cao Bằng', 'Cao Bằng' → 'Tỉnh'."""
    return name[: -len(short)].strip() if short and name.endswith(short) else ""


@lru_cache(maxsize=1)
def read_source() -> SourceData:
    """Parse both systems and the old→new mapping into plain rows (cached: the files are part
    of an installed package and do not change while the process runs)."""
    directory = data_dir()
    uri = (directory / "dataset.db").as_uri() + "?mode=ro"
    with sqlite3.connect(uri, uri=True) as db:
        db.row_factory = sqlite3.Row
        legacy = db.execute(
            "SELECT * FROM admin_units_legacy ORDER BY provinceCode, districtCode, wardCode"
        ).fetchall()
        current = db.execute("SELECT * FROM admin_units ORDER BY provinceCode, wardCode").fetchall()
    converter = json.loads((directory / "converter_2025.json").read_text(encoding="utf-8"))

    units: list[UnitRow] = []
    seen: set[tuple[str, str, str]] = set()
    duplicates: list[str] = []

    def add(row: UnitRow) -> bool:
        ident = (row.system, row.level, row.code)
        if ident in seen:
            # Province and district rows repeat once per commune: only a repeated commune
            # code is a real duplicate worth reporting.
            if row.level == UnitLevel.COMMUNE:
                duplicates.append(f"{row.system}:{row.code}")
            return False
        seen.add(ident)
        units.append(row)
        return True

    legacy_province_key: dict[str, str] = {}  # province key → code
    old_commune: dict[str, tuple[str, str]] = {}  # "p_d_w" key → (level, code)
    L, C = UnitSystem.LEGACY.value, UnitSystem.CURRENT.value
    for r in legacy:
        pcode, pkey = _s(r["provinceCode"]), _k(r["provinceKey"])
        add(
            UnitRow(
                L, UnitLevel.PROVINCE, pcode, _s(r["province"]), _s(r["provinceShort"]),
                _prefix(_s(r["province"]), _s(r["provinceShort"])), None, pcode, pkey,
                r["provinceLat"], r["provinceLon"],
            )
        )  # fmt: skip
        legacy_province_key[pkey] = pcode
        dcode, dkey = _s(r["districtCode"]), f"{pkey}_{_k(r['districtKey'])}"
        add(
            UnitRow(
                L, UnitLevel.DISTRICT, dcode, _s(r["district"]), _s(r["districtShort"]),
                _s(r["districtType"]), pcode, pcode, dkey, r["districtLat"], r["districtLon"],
            )
        )  # fmt: skip
        wcode = _s(r["wardCode"])
        if not wcode:  # an island district without communes: the district itself is mapped
            old_commune[f"{dkey}_"] = (UnitLevel.DISTRICT, dcode)
            continue
        wkey = f"{dkey}_{_k(r['wardKey'])}"
        if add(
            UnitRow(
                L, UnitLevel.COMMUNE, wcode, _s(r["ward"]), _s(r["wardShort"]),
                _s(r["wardType"]), dcode, pcode, wkey, r["wardLat"], r["wardLon"],
            )
        ):  # fmt: skip
            old_commune[wkey] = (UnitLevel.COMMUNE, wcode)

    current_province_key: dict[str, str] = {}
    new_commune: dict[tuple[str, str], str] = {}  # (province key, ward key) → code
    for r in current:
        pcode, pkey = _s(r["provinceCode"]), _k(r["provinceKey"])
        add(
            UnitRow(
                C, UnitLevel.PROVINCE, pcode, _s(r["province"]), _s(r["provinceShort"]),
                _prefix(_s(r["province"]), _s(r["provinceShort"])), None, pcode, pkey,
                r["provinceLat"], r["provinceLon"],
            )
        )  # fmt: skip
        current_province_key[pkey] = pcode
        wcode, wkey = _s(r["wardCode"]), _k(r["wardKey"])
        if add(
            UnitRow(
                C, UnitLevel.COMMUNE, wcode, _s(r["ward"]), _s(r["wardShort"]),
                _s(r["wardType"]), pcode, pcode, f"{pkey}_{wkey}", r["wardLat"], r["wardLon"],
            )
        ):  # fmt: skip
            new_commune[(pkey, wkey)] = wcode

    successions: list[SuccessionRow] = []
    unknown: list[str] = []
    for new_pkey, old_pkeys in converter["DICT_PROVINCE"].items():
        new_code = current_province_key.get(_k(new_pkey))
        for old_pkey in old_pkeys:
            old_code = legacy_province_key.get(_k(old_pkey))
            if new_code is None or old_code is None:
                unknown.append(f"{old_pkey}→{new_pkey}")
                continue
            successions.append(
                SuccessionRow(
                    UnitLevel.PROVINCE, old_code, UnitLevel.PROVINCE, new_code, True, False
                )
            )

    # old (level, code) → {new code: is_default}; split or not is decided by the count below.
    targets: dict[tuple[str, str], dict[str, bool]] = defaultdict(dict)
    for new_pkey, wards in converter["DICT_PROVINCE_WARD_NO_DIVIDED"].items():
        for new_wkey, old_keys in wards.items():
            new_code = new_commune.get((_k(new_pkey), _k(new_wkey)))
            for old_key in old_keys:
                old = old_commune.get(_k(old_key))
                if new_code is None or old is None:
                    unknown.append(f"{old_key}→{new_pkey}_{new_wkey}")
                    continue
                targets[old][new_code] = True
    for new_pkey, olds in converter["DICT_PROVINCE_WARD_DIVIDED"].items():
        for old_key, candidates in olds.items():
            old = old_commune.get(_k(old_key))
            for cand in candidates:
                new_code = new_commune.get((_k(new_pkey), _k(cand["newWardKey"])))
                if new_code is None or old is None:
                    unknown.append(f"{old_key}→{new_pkey}_{cand['newWardKey']}")
                    continue
                targets[old][new_code] = bool(cand["isDefaultNewWard"])
    for (old_level, old_code), news in targets.items():
        split = len(news) > 1
        for new_code, is_default in news.items():
            successions.append(
                SuccessionRow(
                    old_level, old_code, UnitLevel.COMMUNE, new_code, is_default or not split, split
                )
            )

    unmapped = sorted(code for level, code in old_commune.values() if (level, code) not in targets)
    return SourceData(units, successions, unmapped, unknown, duplicates)
