"""Staged imports of source files (issue 6, "Bad input"): encodings, delimiters, columns,
dates, duplicates, conflicts, re-import, commit/discard atomicity, legacy units."""

from __future__ import annotations

import datetime as dt
import io
from typing import Any

import pytest

from ansinh.core.errors import DomainError
from ansinh.nationaldb.imports import services
from ansinh.nationaldb.imports.legacy_codecs import (
    decode_tcvn3,
    decode_vni,
    encode_cp1258,
    encode_tcvn3,
    encode_vni,
)
from ansinh.nationaldb.imports.readers import detect_encoding, sniff_delimiter
from ansinh.nationaldb.imports.validate import parse_date
from ansinh.nationaldb.models import BatchState, Beneficiary, ImportBatch, ImportRow
from ansinh.registry.models import Person
from ansinh.registry.testing import default_commune_code, make_person, personal_id_for

pytestmark = pytest.mark.django_db

HEADER = ["Số định danh cá nhân", "Họ và tên", "Ngày sinh", "Giới tính", "Mã xã", "Mã diện",
          "Ngày hưởng", "Nơi chi trả"]  # fmt: skip


def _pid(born: dt.date, sex: str, n: int) -> str:
    return personal_id_for(born, sex, n=n)


def _rows(n: int = 3) -> list[list[str]]:
    commune = default_commune_code()
    names = ["Nguyễn Văn Hùng", "Trần Thị Ánh", "Lê Đức Thọ", "Phạm Thị Hường", "Đỗ Văn Lực"]
    out = []
    for i in range(n):
        born = dt.date(1950 + i, 3, 4 + i)
        sex = "F" if "Thị" in names[i % 5] else "M"
        out.append([
            _pid(born, sex, 100 + i), names[i % 5], born.strftime("%d/%m/%Y"),
            "Nữ" if sex == "F" else "Nam", commune, "NCT_80", "01/08/2024", "Bưu điện xã",
        ])  # fmt: skip
    return out


def _csv(rows: list[list[str]], *, header: list[str] = HEADER, delimiter: str = ",") -> str:
    lines = [delimiter.join(header)] + [delimiter.join(r) for r in rows]
    return "\r\n".join(lines) + "\r\n"


def _encode(text: str, encoding: str) -> bytes:
    encoders = {"tcvn3": encode_tcvn3, "vni": encode_vni, "cp1258": encode_cp1258}
    return encoders[encoding](text) if encoding in encoders else text.encode(encoding)


def _stage(data: bytes, source: str = "tgxh", **kw: Any) -> ImportBatch:
    kw.setdefault("link", False)
    return services.stage_file(source, "test.csv", data, **kw)


# --- legacy codecs ---------------------------------------------------------------------------


def test_tcvn3_known_bytes() -> None:
    """TCVN 5712:1993 (VN3): 'Nguyễn Văn Hùng' is N g u y 0xD4 n … V 0xA8 n … H 0xEF n g."""
    known = b"Nguy\xd4n V\xa8n H\xefng"
    assert decode_tcvn3(known) == "Nguyễn Văn Hùng"
    assert encode_tcvn3("Nguyễn Văn Hùng") == known
    assert decode_tcvn3(b"\xae\xad\xeang") == "đường"


def test_vni_known_bytes() -> None:
    """VNI-Windows: base letter + mark byte ('Nguyeãn Vaên Huøng'); ư ơ đ single bytes."""
    known = b"Nguye\xe3n Va\xean Hu\xf8ng"
    assert decode_vni(known) == "Nguyễn Văn Hùng"
    assert encode_vni("Nguyễn Văn Hùng") == known
    assert decode_vni(b"\xf1\xf6\xf4\xf8ng") == "đường"
    text = "Trương Thị Ánh Tuyết, ĐẶNG THỊ THỦY, Lê Quý Đôn, Kỳ, ỵ"
    assert decode_vni(encode_vni(text)) == text


@pytest.mark.parametrize("encoding", ["utf-8", "utf-8-sig", "cp1258", "tcvn3", "vni"])
def test_encoding_detected(encoding: str) -> None:
    text = _csv(_rows(5))
    data = _encode(text, encoding)
    assert detect_encoding(data) == encoding


@pytest.mark.parametrize("encoding", ["utf-8-sig", "cp1258", "tcvn3", "vni"])
def test_legacy_encoded_file_imports_with_vietnamese_names(encoding: str) -> None:
    text = _csv(_rows(5))
    data = _encode(text, encoding)
    batch = _stage(data)
    assert batch.encoding == encoding
    assert batch.state == BatchState.STAGED
    names = [r.data["full_name"] for r in batch.rows.order_by("line")]
    assert names == [
        "Nguyễn Văn Hùng",
        "Trần Thị Ánh",
        "Lê Đức Thọ",
        "Phạm Thị Hường",
        "Đỗ Văn Lực",
    ]
    assert batch.counts["loaded"] == 5


def test_encoding_override() -> None:
    data = encode_vni(_csv(_rows(2)))
    batch = _stage(data, encoding="vni")
    assert batch.encoding == "vni"
    with pytest.raises(DomainError) as exc:
        _stage(b"x", encoding="ebcdic")
    assert exc.value.code == "encoding_unknown"


def test_non_nfc_text_is_normalised() -> None:
    import unicodedata

    rows = _rows(1)
    rows[0][1] = unicodedata.normalize("NFD", rows[0][1])
    batch = _stage(_csv(rows).encode())
    row = batch.rows.get()
    assert row.data["full_name"] == "Nguyễn Văn Hùng"
    assert unicodedata.is_normalized("NFC", row.data["full_name"])


@pytest.mark.parametrize("delimiter", [";", "\t", "|"])
def test_delimiter_sniffed(delimiter: str) -> None:
    batch = _stage(_csv(_rows(3), delimiter=delimiter).encode())
    assert batch.delimiter == delimiter
    assert batch.counts["loaded"] == 3
    assert sniff_delimiter("a;b;c") == ";"


def test_missing_columns_named_and_nothing_staged() -> None:
    header = [h for h in HEADER if h not in ("Ngày sinh", "Mã diện")]
    rows = [[c for i, c in enumerate(r) if HEADER[i] in header] for r in _rows(2)]
    with pytest.raises(DomainError) as exc:
        _stage(_csv(rows, header=header).encode())
    assert exc.value.code == "missing_columns"
    assert "Ngày sinh" in exc.value.first.message_vi and "category" in exc.value.first.message_en
    assert not ImportBatch.objects.exists() and not ImportRow.objects.exists()


def test_headers_without_diacritics() -> None:
    header = ["So dinh danh ca nhan", "HO VA TEN", "ngay_sinh", "gioi tinh", "Ma xa", "Ma dien",
              "Ngay huong", "Noi chi tra"]  # fmt: skip
    batch = _stage(_csv(_rows(2), header=header).encode())
    assert batch.counts["loaded"] == 2


def test_dates_swapped_and_excel_serial() -> None:
    assert parse_date("04/03/1950") == (dt.date(1950, 3, 4), "")
    assert parse_date("03/24/1950") == (dt.date(1950, 3, 24), "date_swapped")
    assert parse_date("18326") == (dt.date(1950, 3, 4), "excel_serial_date")
    assert parse_date("1950-03-04") == (dt.date(1950, 3, 4), "")
    assert parse_date("31/02/1950") == (None, "date_invalid")
    rows = _rows(2)
    rows[0][2] = "03/24/1950"
    rows[1][2] = str((dt.date(1951, 3, 5) - dt.date(1899, 12, 30)).days)
    batch = _stage(_csv(rows).encode())
    first, second = batch.rows.order_by("line")
    assert first.data["date_of_birth"] == "1950-03-24"
    assert "date_swapped" in [r["code"] for r in first.reasons]
    assert second.data["date_of_birth"] == "1951-03-05"
    assert "excel_serial_date" in [r["code"] for r in second.reasons]


def test_xlsx_with_excel_dates(tmp_path: Any) -> None:
    from openpyxl import Workbook

    book = Workbook()
    sheet = book.active
    sheet.append(HEADER)
    for row in _rows(3):
        born = dt.datetime.strptime(row[2], "%d/%m/%Y")
        sheet.append([row[0], row[1], born, row[3], int(row[4]), row[5], dt.datetime(2024, 8, 1),
                      row[7]])  # fmt: skip
    buf = io.BytesIO()
    book.save(buf)
    batch = services.stage_file("tgxh", "tgxh.xlsx", buf.getvalue(), link=False)
    assert batch.file_format == "xlsx"
    assert batch.counts["loaded"] == 3
    row = batch.rows.order_by("line").first()
    assert row.data["date_of_birth"] == "1950-03-04" and row.data["start_date"] == "2024-08-01"


def test_bad_rows_rejected_with_reasons_never_dropped() -> None:
    rows = _rows(5)
    rows[0][0] = "12345"  # personal ID format
    rows[1][2] = "không rõ"  # date
    rows[2][5] = "XYZ"  # category
    rows[3][4] = "99999"  # unit
    batch = _stage(_csv(rows).encode())
    verdicts = dict(batch.rows.values_list("line", "verdict"))
    assert verdicts == {2: "rejected", 3: "rejected", 4: "rejected", 5: "rejected", 6: "loaded"}
    reasons = dict(batch.rows.values_list("line", "reason"))
    assert reasons[2] == "personal_id_format" and reasons[3] == "date_invalid"
    assert reasons[4] == "category_unknown" and reasons[5] == "unknown_unit"
    assert all(r.reasons for r in batch.rows.all())
    assert sum(batch.counts.values()) == 5


def test_duplicate_rows_and_conflicting_records() -> None:
    rows = _rows(3)
    rows.append(list(rows[0]))  # the same row again
    conflict = list(rows[1])
    conflict[1] = "Trần Thị Bích"  # same ID, another name
    rows.append(conflict)
    batch = _stage(_csv(rows).encode())
    verdicts = dict(batch.rows.values_list("line", "verdict"))
    assert verdicts[5] == "duplicate"
    assert verdicts[3] == "review" and verdicts[6] == "review"  # both sides of the conflict
    assert batch.rows.get(line=6).reason == "conflicting_records"
    assert batch.counts == {"loaded": 2, "merged": 0, "review": 2, "rejected": 0, "duplicate": 1}


def test_reimport_is_a_noop() -> None:
    data = _csv(_rows(3)).encode()
    first = _stage(data)
    again = _stage(data)
    assert again.pk == first.pk
    assert ImportBatch.objects.count() == 1 and ImportRow.objects.count() == 3


def test_existing_person_merged() -> None:
    rows = _rows(2)
    born = dt.datetime.strptime(rows[0][2], "%d/%m/%Y").date()
    person = make_person(personal_id=rows[0][0], full_name=rows[0][1], date_of_birth=born, sex="M")
    batch = _stage(_csv(rows).encode())
    row = batch.rows.get(line=2)
    assert row.verdict == "merged" and row.person_id == person.pk
    # The same ID with another birth date goes to review (without linkage).
    rows[1][0] = person.personal_id
    rows[1][1] = "Nguyễn Văn Hùng"
    batch2 = _stage(_csv(rows[1:]).encode())
    assert batch2.rows.get().reason == "id_identity_mismatch"


def test_commit_writes_persons_and_beneficiaries_with_cited_allowance() -> None:
    """Decree 76/2024/NĐ-CP: standard level 500,000 from 2024-07-01; NCT_80 coefficient 1.0
    (Decree 20/2021/NĐ-CP Art. 6(1))."""
    batch = _stage(_csv(_rows(3)).encode())
    before = Person.objects.count()
    services.commit_batch(batch)
    batch.refresh_from_db()
    assert batch.state == BatchState.COMMITTED
    assert Person.objects.count() == before + 3
    bens = list(Beneficiary.objects.filter(source_batch=batch))
    assert len(bens) == 3
    assert {b.monthly_allowance for b in bens} == {500_000}
    assert "Decree 76/2024/NĐ-CP" in bens[0].legal_basis
    assert bens[0].rule_snapshot.content["amount"] == 500_000
    assert all(r.person_id and r.beneficiary_id for r in batch.rows.all())


def test_allowance_before_july_2024_uses_decree_20() -> None:
    """Decree 20/2021/NĐ-CP Art. 4(1): 360,000 VND until 2024-06-30; child under 4: × 2.5."""
    from ansinh.nationaldb.models import BeneficiaryCategory
    from ansinh.nationaldb.programmes.services import compute_allowance

    cat = BeneficiaryCategory.objects.get(code="TE_DUOI4")
    old = compute_allowance(cat, dt.date(2024, 6, 30))
    assert old.amount == 900_000 and "Decree 20/2021/NĐ-CP Art. 4(1)" in old.citation
    assert compute_allowance(cat, dt.date(2024, 7, 1)).amount == 1_250_000


def test_commit_failure_leaves_nothing(monkeypatch: pytest.MonkeyPatch) -> None:
    batch = _stage(_csv(_rows(3)).encode())
    before = Person.objects.count()

    def boom(*a: Any, **kw: Any) -> None:
        raise RuntimeError("disk full")

    monkeypatch.setattr(Beneficiary.objects, "bulk_create", boom)
    with pytest.raises(RuntimeError):
        services.commit_batch(batch)
    batch.refresh_from_db()
    assert batch.state == BatchState.STAGED
    assert Person.objects.count() == before and not Beneficiary.objects.exists()
    assert not batch.rows.filter(person__isnull=False).exists()


def test_discard_keeps_rows_and_refuses_commit() -> None:
    batch = _stage(_csv(_rows(2)).encode())
    services.discard_batch(batch)
    batch.refresh_from_db()
    assert batch.state == BatchState.DISCARDED and batch.rows.count() == 2
    with pytest.raises(DomainError) as exc:
        services.commit_batch(batch)
    assert exc.value.code == "batch_not_staged"


def test_legacy_unit_converted() -> None:
    from ansinh.places.models import UnitSuccession

    succ = (
        UnitSuccession.objects.filter(is_split=False, old__level="commune")
        .select_related("old", "new")
        .first()
    )
    rows = _rows(1)
    header = [*HEADER[:4], "Mã xã cũ", *HEADER[5:]]
    rows[0][4] = succ.old.code
    batch = _stage(_csv(rows, header=header).encode())
    row = batch.rows.get()
    assert row.data["commune_code"] == succ.new.code
    assert row.data["legacy_commune_code"] == succ.old.code
    assert row.verdict == "loaded"
    assert any(r["code"] in ("legacy_unit_converted", "legacy_unit_split") for r in row.reasons)
    services.commit_batch(batch)
    assert Person.objects.get(personal_id=rows[0][0]).address_unit_id == succ.new_id


def test_cp1258_known_bytes() -> None:
    """Windows-1258: 'ễ' is ê (0xEA) + combining tilde (0xDE); 'ă' (0xE3) and 'ù' (0xF9) have
    bytes of their own."""
    from ansinh.nationaldb.imports.readers import decode

    known = b"Nguy\xea\xden V\xe3n H\xf9ng"
    assert encode_cp1258("Nguyễn Văn Hùng") == known
    assert decode(known, "cp1258") == "Nguyễn Văn Hùng"


def test_tcvn3_names_capitalised() -> None:
    """TCVN3 has no upper-case toned vowels: 'Ánh' was typed with the lower-case byte."""
    rows = _rows(2)
    batch = _stage(encode_tcvn3(_csv(rows)))
    assert batch.encoding == "tcvn3"
    assert batch.rows.get(line=3).data["full_name"] == "Trần Thị Ánh"


def test_allowance_in_file_checked_against_the_rules() -> None:
    """Decree 76/2024/NĐ-CP: 500,000 × 1.0 from 2024-07-01 for NCT_80; no standard level
    before Decree 20/2021/NĐ-CP took effect (2021-07-01) → the row is rejected."""
    header = [*HEADER, "Mức trợ cấp"]
    rows = [[*r, "450.000"] for r in _rows(2)]
    rows[1][6] = "01/01/2019"
    batch = _stage(_csv(rows, header=header).encode())
    first, second = batch.rows.order_by("line")
    assert first.verdict == "loaded" and first.data["monthly_allowance"] == 500_000
    assert "amount_differs" in [r["code"] for r in first.reasons]
    assert first.data["allowance_in_file"] == 450_000
    assert second.verdict == "rejected" and second.reason == "no_rule"
