"""The bundled data of vietnamadminunits as we read it (no database): counts of Resolution
202/2025/QH15 (34 provinces) and the 2025 commune arrangement resolutions (3,321 communes),
and the quirks of the mapping data."""

from __future__ import annotations

import os
import subprocess
import sys
from collections import Counter, defaultdict

from ansinh.places.codes import LEGACY_PROVINCE_CODES
from ansinh.places.source import data_dir, read_source


def _groups() -> Counter:
    return Counter((row.system, row.level) for row in read_source().units)


def test_counts_of_both_systems() -> None:
    groups = _groups()
    assert groups[("2025", "province")] == 34
    assert groups[("2025", "commune")] == 3321
    assert groups[("legacy", "province")] == 63
    assert 680 <= groups[("legacy", "district")] <= 710
    assert 10_000 <= groups[("legacy", "commune")] <= 10_100


def test_legacy_province_codes_match_the_dataset() -> None:
    """Circular 07/2016/TT-BCA Art. 7 uses these 63 codes as the birth-place digits of a
    personal ID: the static list must be exactly the dataset's legacy provinces."""
    dataset = {
        row.code: row.short_name
        for row in read_source().units
        if row.system == "legacy" and row.level == "province"
    }
    assert dataset == LEGACY_PROVINCE_CODES
    assert len(LEGACY_PROVINCE_CODES) == 63
    assert LEGACY_PROVINCE_CODES["01"] == "Hà Nội"
    assert LEGACY_PROVINCE_CODES["96"] == "Cà Mau"


def test_the_package_is_located_and_read_without_importing_it() -> None:
    """Importing vietnamadminunits would load its parser/converter, which can send an address
    to an online geocoder: we read its data files only. Checked in a fresh interpreter."""
    code = (
        "import sys, django; django.setup();"
        "from ansinh.places.source import read_source; read_source();"
        "sys.exit(1 if 'vietnamadminunits' in sys.modules else 0)"
    )
    env = {**os.environ, "DJANGO_SETTINGS_MODULE": "ansinh.settings_test"}
    assert (data_dir() / "dataset.db").is_file()
    assert subprocess.run([sys.executable, "-c", code], env=env, check=False).returncode == 0


def test_every_legacy_commune_is_mapped_and_nothing_is_lost() -> None:
    data = read_source()
    assert data.unmapped_legacy == []
    assert data.unknown_keys == []
    assert data.duplicates == []
    new_communes = {
        row.code for row in data.units if row.system == "2025" and row.level == "commune"
    }
    assert {s.new_code for s in data.successions if s.new_level == "commune"} == new_communes


def test_split_communes_have_exactly_one_default() -> None:
    by_old: dict[tuple[str, str], list] = defaultdict(list)
    for s in read_source().successions:
        by_old[(s.old_level, s.old_code)].append(s)
    split = {old: rows for old, rows in by_old.items() if len(rows) > 1}
    assert len(split) > 400  # 471 in vietnamadminunits 1.0.4
    for rows in split.values():
        assert sum(r.is_default for r in rows) == 1
        assert all(r.is_split for r in rows)
    for rows in by_old.values():
        if len(rows) == 1:
            assert rows[0].is_default and not rows[0].is_split


def test_island_districts_without_communes_map_to_special_zones() -> None:
    """Bạch Long Vĩ, Cồn Cỏ, Hoàng Sa, Lý Sơn and Côn Đảo had no communes; each became a
    special zone (đặc khu), a commune-level unit of the current system."""
    data = read_source()
    districts = {s.old_code: s.new_code for s in data.successions if s.old_level == "district"}
    assert set(districts) == {"318", "471", "498", "536", "755"}
    zones = {
        row.code: row.unit_type
        for row in data.units
        if row.system == "2025" and row.code in districts.values()
    }
    assert set(zones.values()) == {"Đặc khu"}


def test_keys_with_diacritics_are_matched_exactly() -> None:
    """Where two names differ only by diacritics the data keeps them in the key
    (Xã Thanh An / Xã Thạnh An): both units exist and keep distinct keys."""
    keys = [row.key for row in read_source().units if not row.key.isascii()]
    assert keys
    assert len(keys) == len(set(keys))
