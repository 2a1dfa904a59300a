"""XLSX templates for employers without software, and reading them into a dossier package.

Good rows are kept and bad rows reported one by one (the dossier of a small employer should not
fail on one typo), and what is kept always builds into a schema-valid dossier. No database.
"""

from __future__ import annotations

import datetime as dt
import io
import time
import zipfile
from typing import Any

import pytest
from openpyxl import load_workbook

from ansinh.core.errors import DomainError
from ansinh.gateway import builder, formats, xlsx, xmlsafe
from ansinh.gateway.formats import EmployerRef, Package

EMPLOYER = EmployerRef("0101234567", "0101234567", "Công ty TNHH Ví Dụ An Sinh")
SIGNED = dt.datetime(2026, 11, 2, 9, 30, tzinfo=dt.timezone(dt.timedelta(hours=7)))


class Sheet:
    """A template being filled, cell by field key."""

    def __init__(self, procedure: str) -> None:
        self.wb = load_workbook(io.BytesIO(xlsx.template(procedure)))
        self.ws = self.wb.worksheets[0]
        self.keys = [c.value.split(" ", 1)[0] for c in self.ws[2]]

    def put(self, row: int, **values: Any) -> None:
        for key, value in values.items():
            self.ws.cell(row=row, column=self.keys.index(key) + 1, value=value)

    def bytes(self) -> bytes:
        out = io.BytesIO()
        self.wb.save(out)
        return out.getvalue()


def read(data: bytes, procedure: str = "600", **kw: Any) -> tuple[Package, list[dict]]:
    kw.setdefault("header", EMPLOYER)
    kw.setdefault("transaction_id", "WEB-1")
    kw.setdefault("signed_at", SIGNED)
    return xlsx.read_workbook(data, procedure=procedure, **kw)


def assert_builds(package: Package) -> None:
    root = xmlsafe.parse(builder.build(package))
    formats.validate(root)
    assert formats.read(root) == package


# --- Templates ---------------------------------------------------------------------------------


@pytest.mark.parametrize("procedure", ["600", "604", "THE-CAPLAI"])
def test_template_has_vietnamese_headers_english_hints_and_code_lists(procedure: str) -> None:
    wb = load_workbook(io.BytesIO(xlsx.template(procedure)))
    assert wb.sheetnames == [xlsx.SHEETS[procedure], xlsx.GUIDE_SHEET]
    ws = wb.worksheets[0]
    labels = [c.value for c in ws[1]]
    hints = [c.value for c in ws[2]]
    assert labels[0] == "STT"
    assert ("Số định danh cá nhân" in labels) == (procedure != "604")
    assert all(" — " in h for h in hints)
    formulas = {dv.formula1 for dv in ws.data_validations.dataValidation}
    if procedure == "600":
        assert '"increase,decrease,adjustment"' in formulas
        assert '"M,F"' in formulas
        assert '"indefinite,fixed,seasonal,civil_servant"' in formulas
        assert '"contract_end,resigned,dismissed,retired,deceased,other"' in formulas
    elif procedure == "604":
        assert '"register,change"' in formulas
        assert '"1,2,3,4"' in formulas
    else:
        assert '"lost,damaged,changed_info"' in formulas
    guide = [r[0] for r in wb[xlsx.GUIDE_SHEET].iter_rows(min_row=6, values_only=True)]
    assert guide == [h.split(" ", 1)[0] for h in hints]


def test_id_columns_are_text_so_leading_zeros_survive() -> None:
    ws = load_workbook(io.BytesIO(xlsx.template("600"))).worksheets[0]
    keys = [c.value.split(" ", 1)[0] for c in ws[2]]
    assert ws.cell(row=3, column=keys.index("personal_id") + 1).number_format == "@"
    assert ws.cell(row=3, column=keys.index("start") + 1).number_format == "DD/MM/YYYY"


# --- Reading -----------------------------------------------------------------------------------


def test_valid_rows_are_kept_and_each_bad_row_reported() -> None:
    sheet = Sheet("600")
    sheet.put(3, number=1, kind="increase", personal_id="001090012345", full_name="Nguyễn Văn An",
              date_of_birth="01/05/1990", sex="M", contract_type="indefinite",
              start="01/10/2026", salary=8_000_000, phone="0912345678",
              hospital_code="01001")  # fmt: skip
    sheet.put(4, number=2, kind="decrease", personal_id="001190012346", end="31/10/2026",
              reason="resigned")  # fmt: skip
    sheet.put(5, number=3, kind="adjustment", personal_id="12345", valid_from="2026-13-01",
              salary=-5)  # fmt: skip
    sheet.put(6, number=4, kind="increase", personal_id="001090012347", full_name="Trần Văn B",
              date_of_birth="1990-01-01", sex="M", contract_type="fixed", start="2026-10-01",
              salary=5_000_000, phone="0912")  # fmt: skip
    sheet.put(7, number=2, kind="decrease", personal_id="001090012348", end="2026-10-31",
              reason="other")  # fmt: skip
    sheet.put(8, number=6, kind="transfer", personal_id="001090012349")
    sheet.put(9, number=7, kind="adjustment", personal_id="001090012350", valid_from="2026-11-01")
    package, errors = read(sheet.bytes())
    assert [r.number for r in package.rows] == [1, 2]
    assert package.rows[0].data["participant"] == {
        "phone": "0912345678",
        "email": "",
        "hospital_code": "01001",
    }
    got = [(e["row"], e["field"], e["code"]) for e in errors]
    assert got == [
        (5, "personal_id", "format_invalid"),
        (5, "valid_from", "date_invalid"),
        (5, "salary", "number_invalid"),
        (6, "phone", "format_invalid"),
        (6, "hospital_code", "required"),
        (7, "number", "duplicate_row_number"),
        (8, "kind", "code_invalid"),
        (9, "salary", "required"),
    ]
    assert all(e["message_vi"] and e["message_en"] for e in errors)
    assert "TK1-TS" in errors[4]["message_vi"]
    assert package.signed_at == SIGNED and package.transaction_id == "WEB-1"
    assert_builds(package)


def test_spreadsheet_habits_are_understood() -> None:
    """Numbers typed into ID cells lose their leading zeros in Excel; dates arrive as date
    cells, d/m/yyyy text or serial numbers; money with thousands separators; codes in
    Vietnamese; names with stray spaces."""
    sheet = Sheet("600")
    sheet.put(3, kind="Tăng", personal_id=1090012345, full_name="  Nguyễn   Văn  An ",
              date_of_birth=dt.datetime(1990, 5, 1), sex="nữ", contract_type="indefinite",
              start="1/10/2026", salary="8.000.000", allowances="500,000",
              address_unit_code=4, hospital_code=1001)  # fmt: skip
    sheet.put(4, kind="giam", personal_id="001090012346", end=46326, reason="Nghỉ việc")
    package, errors = read(sheet.bytes())
    assert errors == []
    one, two = package.rows
    assert (one.number, two.number) == (1, 2)
    assert one.data["personal_id"] == "001090012345"
    assert one.data["full_name"] == "Nguyễn Văn An"
    assert one.data["date_of_birth"] == "1990-05-01" and one.data["start"] == "2026-10-01"
    assert one.data["sex"] == "F" and one.kind == "increase"
    assert (one.data["salary"], one.data["allowances"]) == (8_000_000, 500_000)
    assert one.data["address_unit_code"] == "00004"
    assert one.data["participant"]["hospital_code"] == "01001"
    assert two.kind == "decrease" and two.data["reason"] == "resigned"
    assert two.data["end"] == "2026-10-31"
    assert_builds(package)


def test_employer_and_card_templates_read_back() -> None:
    sheet = Sheet("604")
    sheet.put(3, change="register", unit_code="0101234567", unit_type="DN",
              participant_group="DN", name="Công ty TNHH Ví Dụ An Sinh", address_unit_code="00004",
              wage_region="Vùng I")  # fmt: skip
    package, errors = read(sheet.bytes(), "604")
    assert errors == []
    assert package.rows[0].kind == "employer" and package.rows[0].data["wage_region"] == 1
    assert_builds(package)
    sheet = Sheet("THE-CAPLAI")
    sheet.put(3, personal_id="001090012345", reason="Mất thẻ", card_number="DN4010123456789")
    sheet.put(4, personal_id="001090012346", reason="stolen")
    package, errors = read(sheet.bytes(), "THE-CAPLAI")
    assert [r.data["reason"] for r in package.rows] == ["lost"]
    assert [(e["row"], e["code"]) for e in errors] == [(4, "code_invalid")]
    assert_builds(package)


def test_an_example_package_survives_the_spreadsheet() -> None:
    """Filling the template with a package's rows reads back the same package."""
    package = builder.example_package("600", rows=5, signed_at=SIGNED, transaction_id="WEB-1")
    sheet = Sheet("600")
    for i, row in enumerate(package.rows):
        values = {k: v for k, v in row.data.items() if k != "participant" and v != ""}
        values.update(row.data["participant"] or {})
        sheet.put(3 + i, number=row.number, kind=row.kind, **values)
    got, errors = read(sheet.bytes(), header=package.employer)
    assert errors == []
    assert got == package


def test_columns_may_be_moved_and_labels_are_enough() -> None:
    sheet = Sheet("THE-CAPLAI")
    ws = sheet.ws
    ws.move_range("B1:B2", rows=0, cols=10)  # personal_id moved far right
    ws.cell(row=2, column=12, value=None)  # key row lost: matched by the Vietnamese label
    ws.cell(row=3, column=12, value="001090012345")
    sheet.put(3, reason="damaged")
    package, errors = read(sheet.bytes(), "THE-CAPLAI")
    assert errors == [] and package.rows[0].personal_id == "001090012345"


def test_whole_file_problems() -> None:
    with pytest.raises(DomainError) as info:
        read(b"not a zip")
    assert info.value.code == "xlsx_invalid"
    bomb = io.BytesIO()
    with zipfile.ZipFile(bomb, "w") as zf:
        zf.writestr("xl/workbook.xml", '<!DOCTYPE x [<!ENTITY a "a">]><x>&a;</x>')
    with pytest.raises(DomainError) as info:
        read(bomb.getvalue())
    assert info.value.code == "xlsx_invalid"
    sheet = Sheet("600")
    sheet.ws.delete_cols(sheet.keys.index("salary") + 1)
    with pytest.raises(DomainError) as info:
        read(sheet.bytes())
    assert info.value.code == "xlsx_columns_missing" and info.value.first.field == "salary"
    with pytest.raises(DomainError) as info:
        read(Sheet("600").bytes(), "601")
    assert info.value.code == "unknown_format"


def test_a_bad_header_fails_the_whole_file() -> None:
    sheet = Sheet("THE-CAPLAI")
    sheet.put(3, personal_id="001090012345", reason="lost")
    with pytest.raises(DomainError) as info:
        read(sheet.bytes(), "THE-CAPLAI", transaction_id="has spaces")
    assert info.value.code == "schema_invalid"
    assert info.value.first.field == "/Dossier/Header/TransactionId"


def test_an_empty_sheet_gives_an_empty_package() -> None:
    package, errors = read(Sheet("600").bytes())
    assert package.rows == [] and errors == []


def test_thousand_rows_read_quickly() -> None:
    package = builder.example_package("600", rows=1000, signed_at=SIGNED, transaction_id="WEB-1")
    sheet = Sheet("600")
    for i, row in enumerate(package.rows):
        values = {k: v for k, v in row.data.items() if k != "participant" and v != ""}
        values.update(row.data["participant"] or {})
        sheet.put(3 + i, number=row.number, kind=row.kind, **values)
    data = sheet.bytes()
    start = time.perf_counter()
    got, errors = read(data, header=package.employer)
    elapsed = time.perf_counter() - start
    print(f"1,000-row D02-LT workbook read in {elapsed * 1000:.0f} ms")
    assert errors == [] and got == package
    assert elapsed < 5
