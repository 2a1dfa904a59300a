"""Demo source files with errors, imported through the staged pipeline (issue 6, "Done when").

:func:`import_demo_programmes` builds three files from the registry's persons, as the source
systems would send them — social assistance (TGXH) in TCVN3, poor/near-poor households in VNI,
meritorious people as XLSX — with controlled errors: names without diacritics, missing
personal IDs, swapped day/month, Excel serial dates, pre-2025 commune codes, exact duplicates
and persons unknown to the registry. Each file is staged (with linkage when the app is there)
and committed; rows in review stay for the officers. Safe to run again: a demo file already
imported (found by name) is not imported again.
"""

from __future__ import annotations

import csv
import datetime as dt
import io
import random
from typing import Any

from ansinh.core.text import normalise
from ansinh.nationaldb.imports import services
from ansinh.nationaldb.imports.legacy_codecs import encode_tcvn3, encode_vni
from ansinh.registry.identifiers import century_digit
from ansinh.registry.models import Person

_EPOCH = dt.date(1899, 12, 30)
_TGXH = ["Số định danh cá nhân", "Họ và tên", "Ngày sinh", "Giới tính", "Mã xã", "Mã diện",
         "Ngày hưởng", "Nơi chi trả"]  # fmt: skip
_HONGHEO = ["Mã hộ", "Họ và tên", "Ngày sinh", "Giới tính", "Số định danh cá nhân",
            "Quan hệ với chủ hộ", "Phân loại hộ", "Năm rà soát", "Mã xã"]  # fmt: skip


def _legacy_codes() -> dict[str, str]:
    """A pre-2025 commune code for each current commune merged from whole communes."""
    from ansinh.places.models import UnitSuccession

    out: dict[str, str] = {}
    for old, new in UnitSuccession.objects.filter(is_split=False, old__level="commune").values_list(
        "old__code", "new__code"
    ):
        out.setdefault(new, old)
    return out


class _Noise:
    def __init__(self, rng: random.Random, rate: float, legacy: dict[str, str]) -> None:
        self.rng = rng
        self.rate = rate
        self.legacy = legacy

    def hit(self, share: float = 1.0) -> bool:
        return self.rng.random() < self.rate * share

    def person(self, p: Person) -> tuple[str, str, str, str, str]:
        """(personal ID, name, birth date, sex word, commune code) with errors."""
        pid = "" if self.hit() or not p.personal_id else p.personal_id
        name = normalise(p.full_name).title() if self.hit() else p.full_name
        born = p.date_of_birth
        if self.hit() and born.day > 12:
            born_text = f"{born.month:02d}/{born.day:02d}/{born.year}"
        elif self.hit(0.5):
            born_text = str((born - _EPOCH).days)
        else:
            born_text = f"{born.day:02d}/{born.month:02d}/{born.year}"
        code = p.address_unit.code if p.address_unit_id else ""
        if code and self.hit() and code in self.legacy:
            code = self.legacy[code]
        return pid, name, born_text, "Nam" if p.sex == "M" else "Nữ", code


def _stranger(rng: random.Random, commune: str, n: int) -> list[str]:
    from ansinh.synth.names import vietnamese_name

    sex = rng.choice("MF")
    born = dt.date(1940, 1, 1) + dt.timedelta(days=rng.randrange(365 * 30))
    pid = f"001{century_digit(born, sex)}{born.year % 100:02d}{900000 + n:06d}"
    return [pid, vietnamese_name(rng, sex), born.strftime("%d/%m/%Y"),
            "Nam" if sex == "M" else "Nữ", commune]  # fmt: skip


def _encodable(rows: list[list[Any]], encode: Any) -> list[list[Any]]:
    """The rows the legacy encoding can write (a foreign letter has no TCVN3/VNI byte)."""
    out = []
    for row in rows:
        try:
            encode(";".join(str(c) for c in row))
        except UnicodeEncodeError:
            continue
        out.append(row)
    return out


def _csv(header: list[str], rows: list[list[Any]]) -> str:
    buf = io.StringIO()
    writer = csv.writer(buf, delimiter=";", lineterminator="\r\n")
    writer.writerow(header)
    writer.writerows(rows)
    return buf.getvalue()


def _category(p: Person, today: dt.date) -> str:
    age = (today - p.date_of_birth).days // 365
    if age < 4:
        return "TE_DUOI4"
    if age < 16:
        return "TE_TU4"
    if age >= 75:
        return "NCT_80"
    return "KT_NANG"


def build_files(
    *, share: float = 0.03, error_rate: float = 0.05, seed: int = 6, limit: int = 20_000
) -> dict[str, tuple[str, bytes]]:
    """source → (file name, bytes) for the three demo files."""
    rng = random.Random(seed)
    legacy = _legacy_codes()
    noise = _Noise(rng, error_rate, legacy)
    today = dt.date(2026, 11, 1)
    persons = list(
        Person.objects.filter(status="active", address_unit__isnull=False)
        .select_related("address_unit")
        .order_by("id")[:limit]
    )
    chosen = [p for p in persons if rng.random() < share]
    tgxh: list[list[Any]] = []
    for p in chosen:
        tgxh.append([*noise.person(p)[:5], _category(p, today), "01/08/2024", "Bưu điện xã"])
    commune = persons[0].address_unit.code if persons else "00004"
    for n in range(max(1, len(chosen) // 20)):  # unknown to the registry: new persons
        tgxh.append([*_stranger(rng, commune, n), "KT_NANG", "01/09/2024", "Bưu điện xã"])
    for row in rng.sample(tgxh, max(1, len(tgxh) // 50)):  # exact duplicates
        tgxh.append(list(row))
    households: list[list[Any]] = []
    by_commune: dict[str, list[Person]] = {}
    for p in persons:
        if rng.random() < share:
            by_commune.setdefault(p.address_unit.code, []).append(p)
    for code, members in by_commune.items():
        for i in range(0, len(members), 3):
            level = "Hộ nghèo" if rng.random() < 0.5 else "Hộ cận nghèo"
            for j, p in enumerate(members[i : i + 3]):
                pid, name, born, sex, unit = noise.person(p)
                relation = "Chủ hộ" if j == 0 else rng.choice(["Vợ", "Chồng", "Con"])
                households.append(
                    [f"{code}-{i // 3:04d}", name, born, sex, pid, relation, level, 2025, unit]
                )
    meritorious = [
        [*noise.person(p)[:5], rng.choice(["TN_LS", "BM_VNAH"]), "01/07/2024", "Phòng Nội vụ"]
        for p in persons
        if p.date_of_birth.year < 1960 and rng.random() < share
    ]
    from openpyxl import Workbook

    book = Workbook(write_only=True)
    sheet = book.create_sheet()
    sheet.append(_TGXH)
    for row in meritorious:
        sheet.append(row)
    xlsx = io.BytesIO()
    book.save(xlsx)
    return {
        "tgxh": (
            "tgxh_demo_tcvn3.csv",
            encode_tcvn3(_csv(_TGXH, _encodable(tgxh, encode_tcvn3))),
        ),
        "hongheo": (
            "hongheo_demo_vni.csv",
            encode_vni(_csv(_HONGHEO, _encodable(households, encode_vni))),
        ),
        "nguoicocong": ("nguoicocong_demo.xlsx", xlsx.getvalue()),
    }


def import_demo_programmes(**kw: Any) -> str:
    """Stage and commit the demo files; returns the line the demo command prints."""
    from ansinh.nationaldb.models import ImportBatch

    parts = []
    for source, (name, data) in build_files(**kw).items():
        # An XLSX file carries its save time, so "the same file" is found by name here.
        batch = ImportBatch.objects.filter(source=source, file_name=name).first()
        if batch is None:
            batch = services.stage_file(source, name, data)
        if batch.state == "staged":
            batch = services.commit_batch(batch)
        counts = ", ".join(f"{k} {v}" for k, v in batch.counts.items() if v)
        parts.append(f"{source} [{counts}]")
    return "programmes imported: " + "; ".join(parts)
