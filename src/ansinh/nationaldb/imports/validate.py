"""Per-row normalisation and validation of a source file (kiểm tra từng dòng).

A row's cells become the normalised fields of its source (NFC text, dates, codes, amounts);
each problem is a reason code. *Fatal* reasons reject the row; *warnings* (a swapped day and
month, a converted pre-2025 commune, an ID that disagrees with the birth year) keep it but stay
on record. The person fields go through the registry's own checks (``_check_name``,
``identifiers.check_personal_id``, the same birth-date bounds, sex and commune rules), so a
row that stages also registers at the commit. (``registry.services.validate_person`` itself
reads the database per call and costs ~15× more per row: too slow for a 1M-row file.)
"""

from __future__ import annotations

import datetime as dt
import re
import unicodedata
from dataclasses import dataclass, field
from typing import Any

from ansinh.core.text import normalise
from ansinh.registry.identifiers import CENTURY_SEX
from ansinh.registry.services import EARLIEST_BIRTH

#: code → (Vietnamese, English, fatal)
REASONS: dict[str, tuple[str, str, bool]] = {
    "date_swapped": (
        "Ngày và tháng bị đảo (tháng > 12); đã đọc lại theo ngày/tháng.",
        "Day and month were swapped (month > 12); read as day/month.",
        False,
    ),
    "excel_serial_date": (
        "Ngày ở dạng số sê-ri Excel; đã chuyển thành ngày.",
        "Date given as an Excel serial number; converted.",
        False,
    ),
    "date_invalid": ("Ngày không hợp lệ.", "The date is not valid.", True),
    "date_of_birth_out_of_range": (
        "Ngày sinh ở tương lai hoặc trước 01/01/1900.",
        "The date of birth is in the future or before 1900-01-01.",
        True,
    ),
    "sex_invalid": ("Giới tính phải là Nam hoặc Nữ.", "Sex must be male or female.", True),
    "date_required": ("Thiếu ngày bắt buộc.", "A required date is missing.", True),
    "end_before_start": (
        "Ngày thôi hưởng trước ngày bắt đầu hưởng.",
        "The end date is before the start date.",
        True,
    ),
    "legacy_unit_converted": (
        "Xã/phường cũ (trước 01/7/2025) đã chuyển sang đơn vị hiện hành.",
        "A pre-2025 commune was converted to its current successor.",
        False,
    ),
    "legacy_unit_split": (
        "Xã/phường cũ đã bị chia; địa chỉ tạm theo đơn vị mặc định và chờ xác định.",
        "The pre-2025 commune was split; the default successor is used pending review.",
        False,
    ),
    "unknown_unit": ("Mã đơn vị hành chính không tồn tại.", "Unknown administrative unit.", True),
    "sex_from_id": (
        "Giới tính lấy theo số định danh cá nhân.",
        "Sex taken from the personal ID.",
        False,
    ),
    "sex_missing": (
        "Thiếu giới tính và không có số định danh để suy ra.",
        "Sex missing and no personal ID to derive it from.",
        True,
    ),
    "category_unknown": (
        "Mã diện đối tượng không thuộc chương trình.",
        "The category code is not one of the programme's.",
        True,
    ),
    "amount_invalid": ("Số tiền không hợp lệ.", "The amount is not a valid number.", True),
    "no_rule": (
        "Không có mức chuẩn/hệ số có hiệu lực vào ngày bắt đầu hưởng.",
        "No standard level or coefficient was in force on the start date.",
        True,
    ),
    "amount_differs": (
        "Mức trợ cấp trong tệp khác mức tính theo quy định; dùng mức theo quy định.",
        "The file's allowance differs from the rule-based amount; the rule-based one is used.",
        False,
    ),
    "poverty_level_invalid": (
        "Phân loại hộ phải là nghèo hoặc cận nghèo.",
        "The household class must be poor or near-poor.",
        True,
    ),
    "year_invalid": ("Năm không hợp lệ.", "The year is not valid.", True),
    "code_required": ("Thiếu mã bắt buộc.", "A required code is missing.", True),
    "duplicate_row": (
        "Dòng trùng hoàn toàn với một dòng trước trong tệp.",
        "The same row appears earlier in the file.",
        False,
    ),
    "conflicting_records": (
        "Cùng số định danh nhưng họ tên/ngày sinh khác nhau trong tệp.",
        "Rows with the same personal ID disagree on name or date of birth.",
        False,
    ),
    "id_identity_mismatch": (
        "Số định danh đã có trong sổ đăng ký với họ tên/ngày sinh khác.",
        "The personal ID is registered with another name or date of birth.",
        False,
    ),
    "linkage_review": (
        "Có thể trùng một người trong sổ đăng ký; chờ cán bộ đối chiếu.",
        "May be a registered person; waiting for an officer's review.",
        False,
    ),
    "no_personal_id": (
        "Không có số định danh; chờ đối chiếu trước khi tạo người mới.",
        "No personal ID; waiting for a review before a new person is created.",
        False,
    ),
    "identity_incomplete": (
        "Không đủ thông tin nhận dạng để tạo người mới.",
        "Not enough identity data to create a new person.",
        False,
    ),
    "linked": ("Khớp với một người trong sổ đăng ký.", "Linked to a registered person.", False),
    "new_person": ("Người mới sẽ được đăng ký.", "A new person will be registered.", False),
    "matched_id": (
        "Khớp số định danh, họ tên và ngày sinh.",
        "Matches a registered personal ID, name and date of birth.",
        False,
    ),
    "review_linked": (
        "Cán bộ đã xác định là cùng một người.",
        "An officer linked it to a person.",
        False,
    ),
    "review_rejected": (
        "Cán bộ đã loại dòng này khi đối chiếu.",
        "An officer rejected this row in the review.",
        False,
    ),
    "review_separated": (
        "Cán bộ đã xác định là người khác; tạo người mới.",
        "An officer found it is another person; a new person is registered.",
        False,
    ),
}

_DMY = re.compile(r"^(\d{1,2})[/\-.](\d{1,2})[/\-.](\d{4})$")
_ISO = re.compile(r"^(\d{4})-(\d{1,2})-(\d{1,2})(?:[ T].*)?$")
_EXCEL_EPOCH = dt.date(1899, 12, 30)
_SEX = {"m": "M", "nam": "M", "male": "M", "1": "M", "f": "F", "nu": "F", "nữ": "F", "female": "F",
        "0": "F"}  # fmt: skip
_POVERTY = {
    "ngheo": "poor",
    "ho ngheo": "poor",
    "poor": "poor",
    "n": "poor",
    "1": "poor",
    "can ngheo": "near_poor",
    "ho can ngheo": "near_poor",
    "near poor": "near_poor",
    "near_poor": "near_poor",
    "cn": "near_poor",
    "2": "near_poor",
}
_RELATION = {
    "chu ho": "head",
    "head": "head",
    "vo": "spouse",
    "chong": "spouse",
    "spouse": "spouse",
    "con": "child",
    "child": "child",
    "bo": "parent",
    "me": "parent",
    "cha": "parent",
    "parent": "parent",
}
_WS = re.compile(r"\s+")


def reason(code: str, field_name: str = "", **extra: Any) -> dict[str, Any]:
    out: dict[str, Any] = {"code": code}
    if field_name:
        out["field"] = field_name
    out.update(extra)
    return out


def is_fatal(r: dict[str, Any]) -> bool:
    known = REASONS.get(r["code"])
    return r.get("fatal", known[2] if known else True)


def message(r: dict[str, Any], lang: str = "vi") -> str:
    """The reason's message (from the catalogue, or stored with the row for registry errors)."""
    if lang in r:
        return str(r[lang])
    known = REASONS.get(r["code"])
    if known is None:
        return r["code"]
    return known[0] if lang == "vi" else known[1]


def text(value: Any) -> str:
    """NFC, trimmed, single spaces."""
    if value is None:
        return ""
    s = value if isinstance(value, str) else str(value)
    if not s.isascii():
        s = unicodedata.normalize("NFC", s)
    if "  " in s or "\t" in s or "\n" in s:
        return _WS.sub(" ", s).strip()
    return s.strip()


def parse_date(value: Any) -> tuple[dt.date | None, str]:
    """(date, warning code or "") of a cell; (None, "date_invalid") if it is no date.

    Vietnamese files write day/month/year; a month above 12 with a day up to 12 is a swapped
    date and is read the other way, flagged. A bare number is an Excel serial date."""
    if isinstance(value, dt.datetime):
        return value.date(), ""
    if isinstance(value, dt.date):
        return value, ""
    s = text(value)
    try:
        m = _DMY.match(s)
        if m:
            day, month, year = int(m[1]), int(m[2]), int(m[3])
            if month > 12 and day <= 12:
                return dt.date(year, day, month), "date_swapped"
            return dt.date(year, month, day), ""
        m = _ISO.match(s)
        if m:
            return dt.date(int(m[1]), int(m[2]), int(m[3])), ""
        if s.isdigit():
            if len(s) == 8 and s[:2] in ("19", "20"):
                return dt.date(int(s[:4]), int(s[4:6]), int(s[6:])), ""
            if 1 <= int(s) <= 80000:
                return _EXCEL_EPOCH + dt.timedelta(days=int(s)), "excel_serial_date"
        else:
            f = float(s)  # "36526.0" from some exports
            if f.is_integer() and 1 <= f <= 80000:
                return _EXCEL_EPOCH + dt.timedelta(days=int(f)), "excel_serial_date"
    except ValueError:
        pass
    return None, "date_invalid"


def parse_amount(value: Any) -> int | None:
    """VND amount: "1.500.000", "1,500,000", "1500000 đ" → 1500000; None if not an amount."""
    s = text(value).lower()
    for junk in ("vnđ", "vnd", "đồng", "đ", " ", ".", ","):
        s = s.replace(junk, "")
    if not s.isdigit():
        return None
    return int(s)


@dataclass
class Context:
    """What validating a file's rows needs, read once per file."""

    source: str
    index: dict[str, int]
    communes: dict[str, Any]
    legacy: dict[str, tuple[str, bool]]
    categories: set[str]
    title_names: bool = False
    today: dt.date = field(default_factory=dt.date.today)
    extra: dict[str, Any] = field(default_factory=dict)


@dataclass
class Checked:
    data: dict[str, Any]
    reasons: list[dict[str, Any]]

    @property
    def fatal(self) -> bool:
        return any(is_fatal(r) for r in self.reasons)


def _title(name: str) -> str:
    return " ".join(w[:1].upper() + w[1:] for w in name.split(" "))


def check_row(cells: list[Any], ctx: Context) -> Checked:
    """Normalise and validate one row; never raises for bad data."""
    n = len(cells)
    v = {name: cells[i] for name, i in ctx.index.items() if i < n}

    reasons: list[dict[str, Any]] = []
    data: dict[str, Any] = {}
    pid = text(v.get("personal_id", "")).replace(" ", "") or None
    name = text(v.get("full_name", ""))
    if ctx.title_names:
        name = _title(name)
    data["personal_id"] = pid
    data["full_name"] = name
    born, warn = parse_date(v.get("date_of_birth", ""))
    if warn:
        reasons.append(reason(warn, "date_of_birth"))
    data["date_of_birth"] = born.isoformat() if born else None
    sex_raw = text(v.get("sex", "")).lower()
    sex = _SEX.get(sex_raw) or _SEX.get(normalise(sex_raw), sex_raw.upper())
    if not sex and pid and len(pid) == 12 and pid[3] in CENTURY_SEX:
        sex = CENTURY_SEX[pid[3]][1]
        reasons.append(reason("sex_from_id", "sex"))
    elif not sex:
        reasons.append(reason("sex_missing", "sex"))
    data["sex"] = sex
    # Address: a current commune, or a pre-2025 one converted through the 2025 successions.
    code = text(v.get("commune_code", ""))
    legacy = text(v.get("legacy_commune_code", ""))
    commune = None
    if code:
        code = code.zfill(5)
        if code in ctx.communes:
            commune = code
        elif code in ctx.legacy:  # an old code in the current-code column
            legacy, code = code, ""
        else:
            reasons.append(reason("unknown_unit", "commune_code"))
    if legacy and commune is None:
        legacy = legacy.zfill(5)
        found = ctx.legacy.get(legacy)
        if found is None:
            reasons.append(reason("unknown_unit", "legacy_commune_code"))
        else:
            commune = found[0]
            data["legacy_commune_code"] = legacy
            reasons.append(reason("legacy_unit_split" if found[1] else "legacy_unit_converted"))
    data["commune_code"] = commune
    if born is None:
        if not any(r["code"] == "date_invalid" for r in reasons):
            reasons.append(reason("date_invalid", "date_of_birth"))
    elif born > ctx.today or born < EARLIEST_BIRTH:
        reasons.append(reason("date_of_birth_out_of_range", "date_of_birth"))
    if sex and sex not in ("M", "F"):
        reasons.append(reason("sex_invalid", "sex"))
    _person_checks(pid, name, born, sex, data, reasons)
    _programme_fields(v, ctx, data, reasons)
    return Checked(data, reasons)


def _person_checks(
    pid: str | None,
    name: str,
    born: dt.date | None,
    sex: str,
    data: dict[str, Any],
    reasons: list[dict[str, Any]],
) -> None:
    """The registry's own person checks (name rules, personal ID structure and its agreement
    with the birth year and sex), so a row that stages also registers at the commit."""
    from ansinh.core.errors import ErrorCollector
    from ansinh.registry import identifiers as ids
    from ansinh.registry.services import _check_name

    errs = ErrorCollector()
    data["full_name"] = _check_name(errs, name)
    if pid is not None:
        check = ids.check_personal_id(pid, date_of_birth=born, sex=sex or None)
        errs.errors.extend(check.errors)
        if check.flags:
            data["id_flags"] = check.flags
    for e in errs.errors:
        reasons.append(reason(e.code, e.field or "", vi=e.message_vi, en=e.message_en, fatal=True))


def _programme_fields(
    v: dict[str, Any], ctx: Context, data: dict[str, Any], reasons: list[dict]
) -> None:
    if ctx.source in ("tgxh", "nguoicocong"):
        category = text(v.get("category", ""))
        data["category"] = category
        if category not in ctx.categories:
            reasons.append(reason("category_unknown", "category"))
        amount_cell = text(v.get("monthly_allowance", ""))
        if amount_cell:
            amount = parse_amount(amount_cell)
            if amount is None or amount > 100_000_000:
                reasons.append(reason("amount_invalid", "monthly_allowance"))
            data["allowance_in_file"] = amount
        start, warn = parse_date(v.get("start_date", ""))
        if start is None:
            reasons.append(reason("date_invalid", "start_date"))
        elif warn:
            reasons.append(reason(warn, "start_date"))
        data["start_date"] = start.isoformat() if start else None
        end_cell = text(v.get("end_date", ""))
        if end_cell:
            end, warn = parse_date(end_cell)
            if end is None:
                reasons.append(reason("date_invalid", "end_date"))
            elif start is not None and end < start:
                reasons.append(reason("end_before_start", "end_date"))
            data["end_date"] = end.isoformat() if end else None
        data["paying_office"] = text(v.get("paying_office", ""))[:200]
    elif ctx.source == "hongheo":
        household = text(v.get("household_code", ""))
        if not household:
            reasons.append(reason("code_required", "household_code"))
        data["household_code"] = household[:40]
        data["relation"] = _RELATION.get(normalise(text(v.get("relation", ""))), "other")
        level = _POVERTY.get(normalise(text(v.get("poverty_level", ""))).replace("_", " "))
        if level is None:
            reasons.append(reason("poverty_level_invalid", "poverty_level"))
        data["category"] = level
        year = text(v.get("year", ""))
        if not (year.isdigit() and 2000 <= int(year) <= 2100):
            reasons.append(reason("year_invalid", "year"))
        data["year"] = int(year) if year.isdigit() else None
    elif ctx.source == "bhxh":
        number = text(v.get("legacy_number", ""))
        if number:
            data["legacy_number"] = number
