"""XLSX templates for employers without software (mẫu bảng tính kê khai), and reading them back.

A small employer fills one sheet per dossier (the D02-LT list for procedure 600, the TK3-TS
details for 604, card requests for THE-CAPLAI), uploads it, and gets the dossier XML to sign
with the tool it already uses. Row 1 holds the Vietnamese column names, row 2 the field key and
an English hint (the reader maps columns by that key, so columns may be moved), data from row 3.

Reading keeps the good rows and reports every bad one (row, field, code, message vi/en), like
``ansinh import_persons``. Each cell is checked against the XSD's own facets
(``formats.value_ok``), and the rows kept are validated once more as a whole document, so the
package returned always builds into a schema-valid dossier.
"""

from __future__ import annotations

import datetime as dt
import functools
import io
import re
import zipfile
from collections.abc import Sequence
from dataclasses import dataclass, replace
from typing import Any

from openpyxl import Workbook, load_workbook
from openpyxl.styles import Alignment, Font, PatternFill
from openpyxl.utils import get_column_letter
from openpyxl.utils.datetime import from_excel
from openpyxl.worksheet.datavalidation import DataValidation

from ansinh.core.errors import DomainError
from ansinh.core.text import clean_name, normalise
from ansinh.gateway import builder, formats
from ansinh.gateway.formats import PARTICIPANT_FIELDS, EmployerRef, Field, Package, RowData

#: Sheet name per procedure: the paper form the sheet stands for.
SHEETS = {"600": "D02-LT", "604": "TK3-TS", "THE-CAPLAI": "THE-CAPLAI"}
GUIDE_SHEET = "Huong dan"
FIRST_DATA_ROW = 3
#: Rows of the template that carry drop-down lists and cell formats.
TEMPLATE_ROWS = 5000
#: Upper bound on the uncompressed size of an uploaded workbook (a zip bomb guard).
MAX_UNCOMPRESSED = 64 * 1024 * 1024

#: Code → (Vietnamese, English) meaning, per XSD type (and the row kind column).
CODE_LABELS: dict[str, dict[str, tuple[str, str]]] = {
    "RowKind": {
        "increase": ("Tăng", "Increase (joins)"),
        "decrease": ("Giảm", "Decrease (leaves)"),
        "adjustment": ("Điều chỉnh lương", "Salary adjustment"),
    },
    "Sex": {"M": ("Nam", "Male"), "F": ("Nữ", "Female")},
    "ContractType": {
        "indefinite": ("HĐLĐ không xác định thời hạn", "Indefinite-term contract"),
        "fixed": ("HĐLĐ xác định thời hạn", "Fixed-term contract"),
        "seasonal": ("HĐ mùa vụ hoặc dưới 12 tháng", "Seasonal or under 12 months"),
        "civil_servant": ("Cán bộ, công chức, viên chức", "Civil servant"),
    },
    "DecreaseReason": {
        "contract_end": ("Hết hạn hợp đồng", "Contract ended"),
        "resigned": ("Nghỉ việc", "Resigned"),
        "dismissed": ("Bị sa thải, kỷ luật", "Dismissed"),
        "retired": ("Nghỉ hưu", "Retired"),
        "deceased": ("Chết", "Deceased"),
        "other": ("Khác", "Other"),
    },
    "CardReason": {
        "lost": ("Mất thẻ", "Lost"),
        "damaged": ("Hỏng thẻ", "Damaged"),
        "changed_info": ("Thay đổi thông tin", "Details changed"),
    },
    "EmployerChange": {
        "register": ("Đăng ký mới", "First registration"),
        "change": ("Điều chỉnh thông tin", "Change of details"),
    },
    "WageRegion": {
        "1": ("Vùng I", "Region I"),
        "2": ("Vùng II", "Region II"),
        "3": ("Vùng III", "Region III"),
        "4": ("Vùng IV", "Region IV"),
    },
}

#: Per type: every accepted spelling of a code (the code, its Vietnamese and English names,
#: accents and case ignored) → the code.
_ALIASES: dict[str, dict[str, str]] = {
    t: {normalise(name): code for code, names in labels.items() for name in (code, *names)}
    for t, labels in CODE_LABELS.items()
}

#: Format hints (Vietnamese, English) per XSD type, shown in row 2 and in error messages.
TYPE_HINTS: dict[str, tuple[str, str]] = {
    "PersonalId": ("12 chữ số", "12 digits"),
    "SsNumber": ("10 chữ số", "10 digits"),
    "Date": ("ngày dd/mm/yyyy", "date dd/mm/yyyy"),
    "Money": ("số đồng, không âm", "whole VND, not negative"),
    "Country": ("mã ISO 2 chữ cái, mặc định VN", "ISO 2-letter code, default VN"),
    "CommuneCode": ("5 chữ số", "5 digits"),
    "HospitalCode": ("5 chữ số", "5 digits"),
    "CardNumber": ("15 ký tự hoặc 10 chữ số", "15 characters or 10 digits"),
    "Phone": ("8–15 chữ số", "8–15 digits"),
    "Email": ("địa chỉ thư điện tử", "e-mail address"),
    "UnitCode": ("chữ hoa, chữ số, tối đa 13 ký tự", "capitals or digits, up to 13"),
    "TaxCode": ("10 chữ số hoặc 10-3", "10 digits or 10-3"),
    "ShortCode": ("1–4 chữ hoa hoặc chữ số", "1–4 capitals or digits"),
    "Text60": ("tối đa 60 ký tự", "up to 60 characters"),
    "Text120": ("tối đa 120 ký tự", "up to 120 characters"),
    "Text200": ("tối đa 200 ký tự", "up to 200 characters"),
    "Text300": ("tối đa 300 ký tự", "up to 300 characters"),
    "RowNumber": ("số thứ tự 1, 2, 3…", "1, 2, 3…"),
}

#: Rules stricter than the XSD, applied at upload so the employer hears of them at once: the
#: schema bounds a personal ID loosely (a wrong one rejects its row in processing, not the
#: dossier), but a spreadsheet row can be left out right away.
_STRICTER = {"PersonalId": re.compile(r"\d{12}")}
#: Digit codes Excel turns into numbers (dropping leading zeros): padded back on reading.
_PAD = {"PersonalId": 12, "SsNumber": 10, "CommuneCode": 5, "HospitalCode": 5}
#: Column order of the D02-LT sheet (the union of the three row kinds' fields).
_ORDER_600 = (
    "personal_id", "full_name", "ss_number", "date_of_birth", "sex", "nationality",
    "address_unit_code", "occupation", "contract_type", "start", "end", "reason", "valid_from",
    "salary", "allowances", "phone", "email", "hospital_code", "note",
)  # fmt: skip
_THOUSANDS = re.compile(r"\d{1,3}(?:[.,\s]\d{3})+|\d+")
_DMY = re.compile(r"(\d{1,2})[/.\-](\d{1,2})[/.\-](\d{4})")


@dataclass(frozen=True)
class Column:
    """A column of a template: a row field (``field``), or the row number / row kind."""

    key: str
    label_vi: str
    label_en: str
    xsd_type: str
    value: str  # text | date | int
    field: Field | None = None


def _columns(procedure: str, version: str) -> list[Column]:
    fs = formats.spec(procedure, version)
    cols = [Column("number", "STT", "Row number", "RowNumber", "int")]
    if len(fs.rows) > 1:
        cols.append(Column("kind", "Phương án", "Kind of row", "RowKind", "text"))
    seen: dict[str, Column] = {}
    for kind in fs.rows.values():
        for f in fs.fields[kind]:
            for g in PARTICIPANT_FIELDS if f.value == "participant" else (f,):
                if g.key not in seen:
                    seen[g.key] = Column(g.key, g.label_vi, g.label_en, g.xsd_type, g.value, g)
    keys = list(seen)
    if procedure == "600":
        keys = [k for k in _ORDER_600 if k in seen] + [k for k in keys if k not in _ORDER_600]
    return cols + [seen[k] for k in keys]


@functools.cache
def _choices(procedure: str, version: str, col: Column) -> tuple[str, ...]:
    if col.key == "kind":
        return tuple(formats.spec(procedure, version).rows.values())
    return formats.enumeration(procedure, version, col.xsd_type)


def _hint(procedure: str, version: str, col: Column) -> tuple[str, str]:
    choices = _choices(procedure, version, col)
    labels = CODE_LABELS.get(col.xsd_type, {})
    if choices:
        return (
            "; ".join(f"{c} = {labels.get(c, (c, c))[0]}" for c in choices),
            "; ".join(f"{c} = {labels.get(c, (c, c))[1]}" for c in choices),
        )
    return TYPE_HINTS.get(col.xsd_type, ("", ""))


def _required_for(procedure: str, version: str, key: str) -> list[str]:
    fs = formats.spec(procedure, version)
    if key in ("number", "kind"):
        return [] if key == "number" else list(fs.rows.values())
    kinds = [k for k in fs.rows.values() if any(f.key == key and f.required for f in fs.fields[k])]
    if any(f.key == key for f in PARTICIPANT_FIELDS if f.required):
        kinds.append("TK1-TS")
    return kinds


def template(procedure: str, version: str | None = None) -> bytes:
    """The XLSX template of ``procedure`` (latest version unless given): the data sheet with
    Vietnamese headers, English hints, drop-down lists for codes, text cells for IDs (so
    leading zeros survive), and a guide sheet describing every column."""
    version = version or formats.SUPPORTED.get(procedure, [""])[-1]
    fs = formats.spec(procedure, version)
    cols = _columns(procedure, version)
    wb = Workbook()
    wb.properties.title = f"ansinh gateway {procedure} {version}"
    ws = wb.active
    ws.title = SHEETS[procedure]
    head = Font(bold=True)
    fill = PatternFill("solid", fgColor="DDEBF7")
    hint_font = Font(italic=True, size=9, color="555555")
    last = FIRST_DATA_ROW + TEMPLATE_ROWS - 1
    for i, col in enumerate(cols, start=1):
        letter = get_column_letter(i)
        hint_vi, hint_en = _hint(procedure, version, col)
        top = ws.cell(row=1, column=i, value=col.label_vi)
        top.font, top.fill = head, fill
        top.alignment = Alignment(wrap_text=True, vertical="top")
        hint = ws.cell(row=2, column=i, value=f"{col.key} — {col.label_en}: {hint_en}")
        hint.font = hint_font
        hint.alignment = Alignment(wrap_text=True, vertical="top")
        ws.column_dimensions[letter].width = max(14, min(36, len(col.label_vi) + 4))
        number_format = {"date": "DD/MM/YYYY", "int": "#,##0"}.get(col.value, "@")
        for r in range(FIRST_DATA_ROW, FIRST_DATA_ROW + 200):
            ws.cell(row=r, column=i).number_format = number_format
        choices = _choices(procedure, version, col)
        if choices:
            dv = DataValidation(
                type="list",
                formula1='"' + ",".join(choices) + '"',
                allow_blank=True,
                showErrorMessage=True,
                errorTitle="Mã không hợp lệ / Invalid code",
                error=f"{hint_vi} | {hint_en}"[:255],
            )
            dv.add(f"{letter}{FIRST_DATA_ROW}:{letter}{last}")
            ws.add_data_validation(dv)
    ws.freeze_panes = f"A{FIRST_DATA_ROW}"
    ws.row_dimensions[2].height = 45
    _guide(wb.create_sheet(GUIDE_SHEET), procedure, version, cols, fs)
    out = io.BytesIO()
    wb.save(out)
    return out.getvalue()


def _guide(ws: Any, procedure: str, version: str, cols: list[Column], fs: Any) -> None:
    ws.append([f"Mẫu kê khai thủ tục {procedure} (định dạng {version}) — {SHEETS[procedure]}"])
    ws.append(
        [
            "Điền từ dòng 3 của trang dữ liệu, mỗi dòng một người (hoặc một đơn vị). Dòng có lỗi "
            "được báo lại và không đưa vào hồ sơ; các dòng đúng vẫn được giữ."
        ]
    )
    ws.append(["Fill in from row 3 of the data sheet, one row per person (or employer). Rows with "
               "errors are reported and left out; the valid rows are kept."])  # fmt: skip
    ws.append([])
    ws.append(
        [
            "Cột / key",
            "Tên cột",
            "Column",
            "Bắt buộc với / required for",
            "Định dạng, mã",
            "Format, codes",
        ]
    )
    for cell in ws[5]:
        cell.font = Font(bold=True)
    for col in cols:
        hint_vi, hint_en = _hint(procedure, version, col)
        required = ", ".join(_required_for(procedure, version, col.key))
        ws.append([col.key, col.label_vi, col.label_en, required, hint_vi, hint_en])
    for letter, width in zip("ABCDEF", (20, 36, 32, 24, 60, 60), strict=True):
        ws.column_dimensions[letter].width = width


# --- Reading -----------------------------------------------------------------------------------


def _invalid_file(detail_vi: str, detail_en: str) -> DomainError:
    return DomainError(
        "xlsx_invalid",
        None,
        f"Không đọc được tệp bảng tính: {detail_vi}",
        f"The spreadsheet cannot be read: {detail_en}",
    )


def _open(data: bytes) -> Any:
    """openpyxl after a zip check: bounded size, and no DTD in any XML part (openpyxl reads
    with the standard library, which we do not let near a DOCTYPE)."""
    try:
        with zipfile.ZipFile(io.BytesIO(data)) as zf:
            infos = zf.infolist()
            if sum(i.file_size for i in infos) > MAX_UNCOMPRESSED:
                raise _invalid_file("nội dung giải nén quá lớn.", "it expands too much.")
            for info in infos:
                if info.filename.endswith((".xml", ".rels", ".vml")):
                    head = zf.read(info)
                    if b"<!DOCTYPE" in head.upper() or b"<!ENTITY" in head.upper():
                        raise _invalid_file("có khai báo DTD.", "it contains a DTD.")
        return load_workbook(io.BytesIO(data), read_only=True, data_only=True)
    except DomainError:
        raise
    except Exception:  # any unreadable upload is the same error for the user
        raise _invalid_file("không phải tệp .xlsx hợp lệ.", "not a valid .xlsx file.") from None


def _text(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return clean_name(str(value))


class _CellError(Exception):
    def __init__(self, code: str, vi: str, en: str) -> None:
        self.code, self.vi, self.en = code, vi, en


def _convert(col: Column, raw: Any) -> str:
    """The cell as the XSD lexical value (or ``_CellError``); "" when empty."""
    if col.value == "date":
        if isinstance(raw, dt.datetime):
            return raw.date().isoformat()
        if isinstance(raw, dt.date):
            return raw.isoformat()
        if isinstance(raw, int | float) and not isinstance(raw, bool):
            try:
                return from_excel(raw).date().isoformat()
            except (ValueError, OverflowError, TypeError):
                raise _CellError("date_invalid", "", "") from None
        s = _text(raw)
        if not s:
            return ""
        m = _DMY.fullmatch(s)
        if m:
            s = f"{m.group(3)}-{int(m.group(2)):02d}-{int(m.group(1)):02d}"
        try:
            dt.date.fromisoformat(s)
        except ValueError:
            raise _CellError("date_invalid", "", "") from None
        return s
    aliases = _ALIASES.get(col.xsd_type)
    if aliases and isinstance(raw, str) and raw.strip():
        code = aliases.get(normalise(raw))
        if code is not None:
            return code
    if col.value == "int":
        if isinstance(raw, bool):
            raise _CellError("number_invalid", "", "")
        if isinstance(raw, int | float):
            if raw < 0 or (isinstance(raw, float) and not raw.is_integer()):
                raise _CellError("number_invalid", "", "")
            return str(int(raw))
        s = _text(raw)
        if not s:
            return ""
        if not _THOUSANDS.fullmatch(s):
            raise _CellError("number_invalid", "", "")
        return re.sub(r"\D", "", s)
    if isinstance(raw, int | float) and not isinstance(raw, bool) and col.xsd_type in _PAD:
        return _text(raw).zfill(_PAD[col.xsd_type])
    return _text(raw)


def _error(excel_row: int, field: str, code: str, vi: str, en: str) -> dict[str, Any]:
    return {"row": excel_row, "field": field, "code": code, "message_vi": vi, "message_en": en}


def _check(procedure: str, version: str, col: Column, raw: Any, required: bool) -> Any:
    """The field's value for ``RowData.data`` (None when empty), or ``_CellError``."""
    try:
        s = _convert(col, raw)
    except _CellError as exc:
        hint_vi, hint_en = _hint(procedure, version, col)
        noun_vi, noun_en = ("ngày", "date") if exc.code == "date_invalid" else ("số", "number")
        raise _CellError(
            exc.code,
            f"{col.label_vi}: không phải {noun_vi} hợp lệ ({hint_vi}).",
            f"{col.label_en}: not a valid {noun_en} ({hint_en}).",
        ) from None
    if not s:
        if required:
            raise _CellError("required", f"Thiếu {col.label_vi}.", f"{col.label_en} is missing.")
        return None
    choices = _choices(procedure, version, col)
    if choices and s not in choices:
        hint_vi, hint_en = _hint(procedure, version, col)
        raise _CellError(
            "code_invalid",
            f"{col.label_vi}: '{s[:40]}' không có trong danh mục ({hint_vi}).",
            f"{col.label_en}: '{s[:40]}' is not one of the codes ({hint_en}).",
        )
    stricter = _STRICTER.get(col.xsd_type)
    if col.key != "kind" and (
        not formats.value_ok(procedure, version, col.xsd_type, s)
        or (stricter is not None and not stricter.fullmatch(s))
    ):
        hint_vi, hint_en = _hint(procedure, version, col)
        raise _CellError(
            "format_invalid",
            f"{col.label_vi}: '{s[:40]}' không đúng định dạng ({hint_vi}).",
            f"{col.label_en}: '{s[:40]}' is not in the expected format ({hint_en}).",
        )
    return int(s) if col.value == "int" else s


def _header_map(top: Sequence[Any], keys_row: Sequence[Any], cols: list[Column]) -> dict[str, int]:
    by_key = {c.key: c for c in cols}
    by_label = {normalise(c.label_vi): c.key for c in cols}
    found: dict[str, int] = {}
    for i in range(max(len(top), len(keys_row))):
        key_cell = _text(keys_row[i]) if i < len(keys_row) else ""
        label = normalise(_text(top[i])) if i < len(top) else ""
        key = key_cell.split(" ", 1)[0] if key_cell else ""
        if key not in by_key:
            key = by_label.get(label, "")
        if key and key not in found:
            found[key] = i
    return found


def read_workbook(
    data: bytes,
    *,
    procedure: str,
    header: EmployerRef,
    transaction_id: str,
    signed_at: dt.datetime | None = None,
    version: str | None = None,
) -> tuple[Package, list[dict[str, Any]]]:
    """The package in a filled template, and the errors of the rows left out (``row`` is the
    spreadsheet row, with ``field``, ``code``, ``message_vi``, ``message_en``). Whole-file
    problems raise ``xlsx_invalid``, ``xlsx_columns_missing``, ``unknown_format``, or
    ``schema_invalid`` for a bad header (employer reference, transaction id). The package may
    have no rows when none was valid; ``signed_at`` is the declared signing time to write."""
    version = version or formats.SUPPORTED.get(procedure, [""])[-1]
    fs = formats.spec(procedure, version)
    cols = _columns(procedure, version)
    by_key = {c.key: c for c in cols}
    wb = _open(data)
    try:
        ws = wb[SHEETS[procedure]] if SHEETS[procedure] in wb.sheetnames else wb.worksheets[0]
        lines = list(ws.iter_rows(values_only=True))
    finally:
        wb.close()
    top = lines[0] if lines else ()
    keys_row = lines[1] if len(lines) > 1 else ()
    where = _header_map(top, keys_row, cols)
    needed = {f.key for kind in fs.rows.values() for f in fs.fields[kind] if f.required} | (
        {"kind"} if "kind" in by_key else set()
    )
    missing = sorted(needed - set(where))
    if missing:
        names = ", ".join(by_key[k].label_vi for k in missing)
        names_en = ", ".join(by_key[k].label_en for k in missing)
        raise DomainError(
            "xlsx_columns_missing",
            missing[0],
            f"Bảng tính thiếu cột: {names}. Hãy dùng mẫu tải từ cổng.",
            f"The spreadsheet lacks columns: {names_en}. Use the template from the gateway.",
        )
    single_kind = next(iter(fs.rows.values())) if len(fs.rows) == 1 else None
    errors: list[dict[str, Any]] = []
    rows: list[RowData] = []
    excel_row_of: dict[int, int] = {}
    ordinal = 0
    for offset, values in enumerate(lines[FIRST_DATA_ROW - 1 :]):
        if all(v is None or (isinstance(v, str) and not v.strip()) for v in values):
            continue
        ordinal += 1
        line = _Line(procedure, version, by_key, where, values, FIRST_DATA_ROW + offset)
        number = line.take("number", False) or ordinal
        kind = single_kind or line.take("kind", True)
        data: dict[str, Any] = {}
        for f in fs.fields[kind] if kind else ():
            if f.value == "participant":
                data[f.key] = line.participant()
            else:
                value = line.take(f.key, f.required)
                data[f.key] = f.default if value is None else value
        if number in excel_row_of:
            line.error(
                "number",
                "duplicate_row_number",
                f"STT {number} trùng với dòng {excel_row_of[number]}.",
                f"Row number {number} repeats row {excel_row_of[number]}.",
            )
        if line.errors:
            errors.extend(line.errors)
            continue
        excel_row_of[number] = line.excel_row
        rows.append(RowData(number, kind, data.get("personal_id", ""), data))
    package = Package(
        procedure_code=procedure,
        version=version,
        transaction_id=transaction_id,
        employer=header,
        signed_at=signed_at,
        ivan_code="",
        ivan_received_at=None,
        rows=rows,
        attachments=[],
    )
    package, late = _schema_pass(package, excel_row_of)
    errors.extend(late)
    errors.sort(key=lambda e: e["row"])
    return package, errors


class _Line:
    """One spreadsheet row being read: its cells by field key, and its errors."""

    def __init__(
        self,
        procedure: str,
        version: str,
        columns: dict[str, Column],
        where: dict[str, int],
        values: Sequence[Any],
        excel_row: int,
    ) -> None:
        self.procedure, self.version = procedure, version
        self.columns, self.where, self.values = columns, where, values
        self.excel_row = excel_row
        self.errors: list[dict[str, Any]] = []

    def cell(self, key: str) -> Any:
        i = self.where.get(key)
        return self.values[i] if i is not None and i < len(self.values) else None

    def error(self, field: str, code: str, vi: str, en: str) -> None:
        self.errors.append(_error(self.excel_row, field, code, vi, en))

    def take(self, key: str, required: bool, *, why_vi: str = "", why_en: str = "") -> Any:
        """The checked value of the ``key`` column, None when empty or wrong (error noted)."""
        try:
            return _check(self.procedure, self.version, self.columns[key], self.cell(key), required)
        except _CellError as exc:
            vi, en = exc.vi, exc.en
            if exc.code == "required" and why_vi:
                vi, en = f"{vi[:-1]} {why_vi}.", f"{en[:-1]} {why_en}."
            self.error(key, exc.code, vi, en)
            return None

    def participant(self) -> dict[str, Any] | None:
        """The TK1-TS part of an increase row: present when any of its columns is filled."""
        if all(_text(self.cell(f.key)) == "" for f in PARTICIPANT_FIELDS):
            return None
        part: dict[str, Any] = {}
        for f in PARTICIPANT_FIELDS:
            value = self.take(
                f.key,
                f.required,
                why_vi="(bắt buộc với người tham gia mới, tờ khai TK1-TS)",
                why_en="(required for a new participant, form TK1-TS)",
            )
            part[f.key] = f.default if value is None else value
        return part


def _schema_pass(
    package: Package, excel_row_of: dict[int, int]
) -> tuple[Package, list[dict[str, Any]]]:
    """Validate the kept rows as one document; drop any row the XSD still refuses (a header
    error is the whole file's: it raises)."""
    errors: list[dict[str, Any]] = []
    for _ in range(3):
        if not package.rows:
            return package, errors
        found = formats.schema_errors(builder.build_tree(package), limit=10**9)
        if not found:
            return package, errors
        header = [e for e in found if e.row is None]
        if header:
            formats.validate(builder.build_tree(package))  # raises schema_invalid
        bad = {e.row for e in found}
        for e in found:
            errors.append(
                _error(
                    excel_row_of.get(e.row or 0, 0),
                    e.path.rsplit("/", 1)[-1],
                    "schema_invalid",
                    f"Không đúng lược đồ: {e.message[:200]}",
                    f"Not valid against the schema: {e.message[:200]}",
                )
            )
        package = replace(package, rows=[r for r in package.rows if r.number not in bad])
    return package, errors
