"""The fast staging path against the reference (issue 6, import rate).

``RowChecker`` memoises every part of the per-row check and the stager writes rows in bulk;
``check_row`` and ``stage_file(..., reference=True)`` are the reference. These tests feed both
the same inputs — every kind of bad cell the import knows, in every encoding, CSV and XLSX —
and require the same normalised fields, verdicts, reasons (in order, with their messages) and
person matches, row by row."""

from __future__ import annotations

import datetime as dt
import io
import random
import unicodedata
from typing import Any

import pytest

from ansinh.nationaldb.imports import services
from ansinh.nationaldb.imports.legacy_codecs import (
    decode_tcvn3,
    decode_vni,
    encode_cp1258,
    encode_tcvn3,
    encode_vni,
)
from ansinh.nationaldb.imports.mappings import column_index
from ansinh.nationaldb.imports.validate import RowChecker, check_row
from ansinh.nationaldb.models import ImportBatch
from ansinh.registry.testing import default_commune_code, make_person, personal_id_for

pytestmark = pytest.mark.django_db

HEADER = ["Số định danh cá nhân", "Họ và tên", "Ngày sinh", "Giới tính", "Mã xã", "Mã xã cũ",
          "Mã diện", "Mức trợ cấp", "Ngày hưởng", "Đến ngày", "Nơi chi trả"]  # fmt: skip


def _units() -> dict[str, str]:
    from ansinh.places.models import UnitSuccession

    plain = UnitSuccession.objects.filter(is_split=False, old__level="commune").first()
    split = UnitSuccession.objects.filter(is_split=True, old__level="commune").first()
    return {"current": default_commune_code(), "legacy": plain.old.code, "split": split.old.code}


def _pools() -> dict[str, list[Any]]:
    """Cell values per column: good ones and every kind of bad one."""
    # fmt: off
    units = _units()
    born = dt.date(1956, 3, 12)
    good_ids = [personal_id_for(born, s, province=p, n=n) for s in "MF" for p in ("01", "79")
                for n in (11, 12)]  # fmt: skip
    return {
        "personal_id": [
            *good_ids,
            "", "   ", "12345", "0011560000123", "abc123456789", "001 156 000 124",
            "099156000125",  # unknown province
            "101156000126",  # does not start with 0
            "001256000127",  # century digit of the 21st century
            "001199000128",  # year digits disagree with the birth date
            "\uff10\uff10\uff11\uff11\uff15\uff16\uff10\uff10\uff10\uff11\uff12\uff19",
        ],
        "full_name": [
            "Nguyễn Văn Hùng", "Trần Thị Ánh", "  Lê   Đức  Thọ ", "nguyen van hung",
            unicodedata.normalize("NFD", "Phạm Thị Hường"), "", "Lê 3 Tuấn", "O'Neil Smith",
            "Mary-Jane Đỗ", "A" * 130, "X" * 45 + " Văn An", "Đỗ", "Hoàng Văn @",
        ],
        "date_of_birth": [
            "12/03/1956", "03/12/1956", "05/13/1960", "1956-03-12", "19560312", "20553",
            "20553.0", "không rõ", "", "01/01/2030", "01/01/1850", "31/02/1960", " 12/03/1956 ",
            "32/13/1960", "1956-03-12T00:00:00", "999999",
        ],
        "sex": ["Nam", "Nữ", "nu", "NỮ", "M", "F", "male", "1", "0", "", "X", " nam "],
        "commune_code": [
            units["current"], units["current"].lstrip("0"), units["legacy"], units["split"],
            "99999", "", "abc",
        ],
        "legacy_commune_code": ["", "", units["legacy"], units["split"], "99998"],
        "category": ["NCT_80", "TE_DUOI4", "KT_NANG", "XYZ", ""],
        "monthly_allowance": ["500.000", "1,500,000 đ", "750000", "abc", "999999999", ""],
        "start_date": ["01/08/2024", "01/08/2020", "01/01/2019", "xx", "", "2024-07-01"],
        "end_date": ["", "", "01/01/2024", "bad", "31/12/2025"],
        "paying_office": ["Bưu điện xã", "", "x" * 250, "UBND  xã"],
    }
    # fmt: on


def _random_rows(n: int, seed: int) -> list[list[Any]]:
    rng = random.Random(seed)
    pools = _pools()
    fields = list(pools)
    rows = []
    born = dt.date(1956, 3, 12)
    for i in range(n):
        # Mostly good cells (the first of each pool), so that duplicates, conflicts and
        # matches are not hidden behind rejections; a fresh valid ID for most rows.
        row = [pools[f][0] if rng.random() < 0.7 else rng.choice(pools[f]) for f in fields]
        if rng.random() < 0.7:
            row[0] = personal_id_for(born, "M", n=1000 + i)
        if rng.random() < 0.03:
            row = row[: rng.randrange(1, len(row))]  # a short row
        elif rng.random() < 0.03:
            row = [*row, "extra"]
        rows.append(row)
    # Exact duplicates and conflicting records for one ID.
    for i in range(0, n, 37):
        rows.append(list(rows[i]))
    for i in range(5, n, 41):
        conflict = list(rows[i]) + [""] * 2
        conflict[1] = "Trần Văn Khác"
        rows.append(conflict)
    return rows


def _context(source: str, header: list[str], title: bool = False) -> Any:
    return services._context(source, column_index(source, header), title_names=title)


@pytest.mark.parametrize("title", [False, True])
def test_row_checker_equals_check_row_on_every_kind_of_cell(title: bool) -> None:
    """3,000 rows mixing every good and bad value of every column, checked by one
    ``RowChecker`` (so later rows hit its caches) and by ``check_row``."""
    ctx = _context("tgxh", HEADER, title)
    checker = RowChecker(ctx)
    rows = _random_rows(3000, seed=6 + title)
    # XLSX cells: dates and datetimes as calamine gives them.
    rows += [[r[0], r[1], dt.datetime(1956, 3, 12), *r[3:8], dt.date(2024, 8, 1), *r[9:]]
             for r in rows[:300] if len(r) == len(HEADER)]  # fmt: skip
    for i, cells in enumerate(rows):
        expected = check_row(cells, ctx)
        got = checker.check(cells)
        assert (got.data, got.reasons) == (expected.data, expected.reasons), (i, cells)
        assert list(got.data) == list(expected.data)  # the same key order (duplicate keys)
    assert len(checker.names) < len(rows)  # the caches were used


@pytest.mark.parametrize("source", ["hongheo", "bhxh"])
def test_row_checker_equals_check_row_for_other_sources(source: str) -> None:
    header = {
        "hongheo": [*HEADER[:6], "Mã hộ", "Quan hệ với chủ hộ", "Phân loại hộ", "Năm"],
        "bhxh": [*HEADER[:6], "Mã số BHXH"],
    }[source]
    ctx = _context(source, header)
    checker = RowChecker(ctx)
    rng = random.Random(source)
    pools = _pools()
    extra = {
        "hongheo": [["HN001", "", "  HN002 "], ["Chủ hộ", "vợ", "Con", "xx", ""],
                    ["Hộ nghèo", "cận nghèo", "CN", "2", "giàu", ""], ["2025", "1999", "x", ""]],
        "bhxh": [["0123456789", "", " 7912345678 "]],
    }[source]  # fmt: skip
    for _ in range(1500):
        cells = [rng.choice(pools[f]) for f in list(pools)[:6]]
        cells += [rng.choice(values) for values in extra]
        expected = check_row(cells, ctx)
        got = checker.check(cells)
        assert (got.data, got.reasons) == (expected.data, expected.reasons), cells


def _snapshot(batch: ImportBatch) -> list[tuple[Any, ...]]:
    return list(
        batch.rows.order_by("line").values_list(
            "line", "raw", "data", "verdict", "reason", "reasons", "person_id", "probability"
        )
    )


def _stage_both(source: str, name: str, data: bytes, **kw: Any) -> ImportBatch:
    """Stage ``data`` through the reference path, keep its rows, remove the batch, stage it
    again through the fast path and compare."""
    ref = services.stage_file(source, name, data, link=False, reference=True, **kw)
    expected, counts = _snapshot(ref), ref.counts
    ref.delete()
    fast = services.stage_file(source, name, data, link=False, **kw)
    got = _snapshot(fast)
    assert len(got) == len(expected)
    for g, e in zip(got, expected, strict=True):
        assert g == e
    assert fast.counts == counts
    return fast


def _text(rows: list[list[Any]], delimiter: str = ";") -> str:
    import csv

    out = io.StringIO()
    csv.writer(out, delimiter=delimiter, lineterminator="\r\n").writerows([HEADER, *rows])
    return out.getvalue()


def _registered() -> list[list[Any]]:
    """Registry persons and rows naming them: the same identity (matched_id, also without
    diacritics) and another birth date (id_identity_mismatch)."""
    born = dt.date(1956, 3, 12)
    rows = []
    for n, name, sex, registered_born in ((901, "Nguyễn Văn Hùng", "M", born),
                                          (902, "Trần Thị Ánh", "F", dt.date(1956, 4, 1)),
                                          (903, "Lê Thị Hà", "F", born)):  # fmt: skip
        pid = personal_id_for(born, sex, n=n)
        make_person(personal_id=pid, full_name=name, date_of_birth=registered_born, sex=sex)
        rows.append([pid, name, "12/03/1956", "Nam" if sex == "M" else "Nữ",
                     default_commune_code(), "", "NCT_80", "500.000", "01/08/2024", "",
                     "Bưu điện xã"])  # fmt: skip
    rows[2][1] = "le thi ha"
    return rows


@pytest.mark.parametrize("encoding", ["utf-8-sig", "cp1258", "tcvn3", "vni"])
def test_staged_rows_equal_the_reference_in_every_encoding(encoding: str) -> None:
    encoders = {"tcvn3": encode_tcvn3, "vni": encode_vni, "cp1258": encode_cp1258}
    rows = _random_rows(1200, seed=61) + _registered()
    if encoding in encoders:  # keep the rows the legacy encoding can write
        rows = [r for r in rows if _encodes(encoders[encoding], _text([r]))]
    text = _text(rows)
    data = encoders[encoding](text) if encoding in encoders else text.encode(encoding)
    batch = _stage_both("tgxh", f"f.{encoding}.csv", data)
    assert batch.encoding == encoding
    verdicts = set(batch.rows.values_list("verdict", flat=True))
    assert verdicts == {"loaded", "merged", "review", "rejected", "duplicate"}
    reasons = {r["code"] for rs in batch.rows.values_list("reasons", flat=True) for r in rs}
    for code in ("date_swapped", "excel_serial_date", "legacy_unit_converted", "sex_from_id",
                 "personal_id_format", "name_invalid", "unknown_unit", "amount_differs",
                 "no_rule", "conflicting_records", "duplicate_row", "id_identity_mismatch",
                 "matched_id", "end_before_start"):  # fmt: skip
        assert code in reasons, code


def _encodes(encode: Any, text: str) -> bool:
    try:
        encode(text)
    except UnicodeEncodeError:
        return False
    return True


def test_staged_xlsx_rows_equal_the_reference() -> None:
    from openpyxl import Workbook

    book = Workbook()
    sheet = book.active
    sheet.append(HEADER)
    for i, row in enumerate(_random_rows(600, seed=62) + _registered()):
        row = list(row)
        if i % 3 == 0 and len(row) > 8:
            row[2] = dt.datetime(1950 + i % 40, 1 + i % 12, 1 + i % 28)
            row[8] = dt.datetime(2024, 8, 1)
        if i % 5 == 0 and len(row) > 7 and str(row[7]).isdigit():
            row[7] = int(row[7])
        sheet.append(row)
    buf = io.BytesIO()
    book.save(buf)
    batch = _stage_both("tgxh", "f.xlsx", buf.getvalue())
    assert batch.file_format == "xlsx"
    assert batch.counts["merged"] >= 2 and batch.counts["rejected"] and batch.counts["duplicate"]


def test_legacy_decoders_equal_the_per_character_reference() -> None:
    """The table-driven decoders give what a character-by-character reading gives."""
    text = "Trương Thị Ánh Tuyết; ĐẶNG THỊ THỦY, Lê Quý Đôn, Kỳ, ỵ, Nguyễn Văn Hùng 123\r\n"
    data = encode_tcvn3(text * 50) + bytes(range(256))
    assert decode_tcvn3(data) == "".join(_tcvn3_byte(b) for b in data)
    vni = encode_vni(text * 50)
    assert decode_vni(vni) == unicodedata.normalize("NFC", (text * 50))


def _tcvn3_byte(byte: int) -> str:
    from ansinh.nationaldb.imports.legacy_codecs import TCVN3_TABLE

    return TCVN3_TABLE.get(byte, chr(byte))
