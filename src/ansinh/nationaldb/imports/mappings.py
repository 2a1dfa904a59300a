"""Declared column mappings, one per source system (ánh xạ cột). Data, not code: each field
has its header aliases (as the source systems' exports name them), whether it is required and
its type. Headers are compared after ``core.text.normalise`` with ``_`` and ``-`` read as
spaces, so an alias matches with and without diacritics and in any case."""

from __future__ import annotations

import re
from dataclasses import dataclass

from ansinh.core.errors import DomainError
from ansinh.core.text import normalise


@dataclass(frozen=True)
class Column:
    field: str
    aliases: tuple[str, ...]
    kind: str = "text"  # text | date | int | code
    required: bool = False


_IDENTITY = (
    Column(
        "personal_id",
        ("Số định danh cá nhân", "Số CCCD", "CCCD", "Số định danh", "CMND/CCCD", "personal_id"),
    ),
    Column("full_name", ("Họ và tên", "Họ tên", "Tên đối tượng", "full_name"), required=True),
    Column(
        "date_of_birth",
        ("Ngày sinh", "Ngày tháng năm sinh", "date_of_birth", "DOB"),
        "date",
        required=True,
    ),
    Column("sex", ("Giới tính", "sex")),
    Column(
        "commune_code",
        ("Mã xã", "Mã xã/phường", "Mã đơn vị hành chính", "commune_code"),
        "code",
    ),
    Column("legacy_commune_code", ("Mã xã cũ", "Mã xã trước 2025", "legacy_commune_code"), "code"),
)
_PROGRAMME = (
    Column(
        "category",
        ("Mã diện", "Diện đối tượng", "Mã đối tượng", "category"),
        "code",
        required=True,
    ),
    Column(
        "monthly_allowance",
        ("Mức trợ cấp", "Mức hưởng", "Trợ cấp hằng tháng", "monthly_allowance"),
        "int",
    ),
    Column(
        "start_date",
        ("Ngày hưởng", "Hưởng từ ngày", "Từ ngày", "start_date"),
        "date",
        required=True,
    ),
    Column("end_date", ("Đến ngày", "Ngày thôi hưởng", "end_date"), "date"),
    Column("paying_office", ("Nơi chi trả", "Đơn vị chi trả", "paying_office")),
)

SOURCES: dict[str, tuple[Column, ...]] = {
    "tgxh": (*_IDENTITY, *_PROGRAMME),
    "nguoicocong": (*_IDENTITY, *_PROGRAMME),
    "hongheo": (
        *_IDENTITY,
        Column("household_code", ("Mã hộ", "Mã hộ gia đình", "household_code"), "code", True),
        Column("relation", ("Quan hệ với chủ hộ", "Quan hệ", "relation")),
        Column(
            "poverty_level",
            ("Phân loại hộ", "Loại hộ", "Hộ nghèo/cận nghèo", "poverty_level"),
            required=True,
        ),
        Column("year", ("Năm rà soát", "Năm", "year"), "int", True),
    ),
    "bhxh": (
        *_IDENTITY,
        Column("legacy_number", ("Mã số BHXH", "Số sổ BHXH", "legacy_number"), "code"),
    ),
}


def header_key(text: str) -> str:
    return re.sub(r"[\s_\-]+", " ", normalise(str(text))).strip()


def column_index(source: str, header: list[str]) -> dict[str, int]:
    """Field → column position of a file's header row. Raises ``DomainError``
    ``missing_columns`` naming every required column that is absent (nothing is staged)."""
    keys = [header_key(h) for h in header]
    found: dict[str, int] = {}
    for col in SOURCES[source]:
        for alias in col.aliases:
            key = header_key(alias)
            if key in keys:
                found[col.field] = keys.index(key)
                break
    missing = [c for c in SOURCES[source] if c.required and c.field not in found]
    if missing:
        names_vi = ", ".join(f"{c.aliases[0]} ({c.field})" for c in missing)
        raise DomainError(
            "missing_columns",
            "header",
            f"Tệp thiếu cột bắt buộc: {names_vi}. Không dòng nào được nhập.",
            f"The file lacks required columns: {names_vi}. Nothing was staged.",
        )
    return found
