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
from collections.abc import Callable
from dataclasses import dataclass, field
from operator import itemgetter
from typing import Any

from ansinh.core.text import normalise
from ansinh.registry.identifiers import CENTURY_SEX, is_personal_id_shape
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
        for r in self.reasons:  # any(...) without a generator: called twice a row
            if is_fatal(r):
                return True
        return False


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


# --- The same checks, memoised per distinct cell value --------------------------------------


def _name_part(raw: Any, title: bool) -> tuple[str, list[dict[str, Any]]]:
    """(stored name, fatal reasons) of a name cell: ``check_row``'s name steps."""
    from ansinh.core.errors import ErrorCollector
    from ansinh.registry.services import _check_name

    name = text(raw)
    if title:
        name = _title(name)
    errs = ErrorCollector()
    name = _check_name(errs, name)
    return name, [
        reason(e.code, e.field or "", vi=e.message_vi, en=e.message_en, fatal=True)
        for e in errs.errors
    ]


def _id_part(
    pid: str, born: dt.date | None, sex: str
) -> tuple[list[str] | None, list[dict[str, Any]]]:
    """(flags, fatal reasons) of the registry's personal ID check."""
    from ansinh.registry import identifiers as ids

    check = ids.check_personal_id(pid, date_of_birth=born, sex=sex or None)
    return check.flags or None, [
        reason(e.code, e.field or "", vi=e.message_vi, en=e.message_en, fatal=True)
        for e in check.errors
    ]


class RowChecker:
    """:func:`check_row` with each part computed once per distinct value of its cells.

    A file of a million rows holds some tens of thousands of distinct names and birth dates, a
    few thousand communes and a handful of programme cells: every part of the per-row check is
    a pure function of a few cells (and of the file's context), so the same code computes its
    answer once and the rows look it up. Only the personal ID differs on every row; its check
    depends on the ID's first six digits, the birth year and the sex, which is the key of its
    cache. Cells are what the readers give: ``str``, ``date`` or ``datetime`` (no two of them
    compare equal across types, so a cell is its own cache key). ``check_row`` stays the
    reference; ``tests/test_import_fast.py`` compares the two row by row."""

    def __init__(self, ctx: Context) -> None:
        self.ctx = ctx
        idx = ctx.index
        #: Short rows are padded with "" (what ``check_row`` reads for a missing cell), and an
        #: absent column reads the padding cell at ``self.width``.
        self.width = 1 + max(idx.values(), default=-1)
        blank = self.width

        def at(f: str) -> int:
            return idx.get(f, blank)

        self.pos = tuple(
            at(f)
            for f in (
                "personal_id",
                "full_name",
                "date_of_birth",
                "sex",
                "commune_code",
                "legacy_commune_code",
            )
        )
        self.fields = _SOURCE_FIELDS.get(ctx.source, ())
        present = [(f, at(f)) for f in self.fields]
        self.programme_fields = tuple(f for f, i in present if i != blank)
        programme_at = [i for _f, i in present if i != blank]
        self.programme_cells: Callable[[list[Any]], Any] = (
            itemgetter(*programme_at) if programme_at else (lambda _cells: ())
        )
        self.single = len(programme_at) == 1
        self.dates: dict[Any, tuple[dt.date | None, str | None, list, list]] = {}
        self.names: dict[Any, tuple[str, list]] = {}
        self.sexes: dict[Any, str] = {}
        self.units: dict[Any, tuple[str | None, str | None, list]] = {}
        self.programme: dict[Any, tuple[dict[str, Any], list]] = {}
        self.id_checks: dict[Any, tuple[list[str] | None, list]] = {}

    def _date(self, raw: Any) -> tuple[dt.date | None, str | None, list, list]:
        born, warn = parse_date(raw)
        before = [reason(warn, "date_of_birth")] if warn else []
        after = []
        if born is not None and (born > self.ctx.today or born < EARLIEST_BIRTH):
            after.append(reason("date_of_birth_out_of_range", "date_of_birth"))
        found = (born, born.isoformat() if born else None, before, after)
        self.dates[raw] = found
        return found

    def _sex(self, raw: Any) -> str:
        sex_raw = text(raw).lower()
        found = _SEX.get(sex_raw) or _SEX.get(normalise(sex_raw), sex_raw.upper())
        self.sexes[raw] = found
        return found

    def _unit(self, key: tuple[Any, Any]) -> tuple[str | None, str | None, list]:
        ctx = self.ctx
        reasons: list[dict[str, Any]] = []
        code = text(key[0])
        legacy = text(key[1])
        commune = None
        legacy_code = None
        if code:
            code = code.zfill(5)
            if code in ctx.communes:
                commune = code
            elif code in ctx.legacy:
                legacy, code = code, ""
            else:
                reasons.append(reason("unknown_unit", "commune_code"))
        if legacy and commune is None:
            legacy = legacy.zfill(5)
            successor = ctx.legacy.get(legacy)
            if successor is None:
                reasons.append(reason("unknown_unit", "legacy_commune_code"))
            else:
                commune = successor[0]
                legacy_code = legacy
                reasons.append(
                    reason("legacy_unit_split" if successor[1] else "legacy_unit_converted")
                )
        found = (legacy_code, commune, reasons)
        self.units[key] = found
        return found

    def _programme(self, key: Any) -> tuple[dict[str, Any], list]:
        cells = (key,) if self.single else key
        v = dict(zip(self.programme_fields, cells, strict=True))
        data: dict[str, Any] = {}
        reasons: list[dict[str, Any]] = []
        _programme_fields(v, self.ctx, data, reasons)
        found = (data, reasons)
        self.programme[key] = found
        return found

    def check(self, cells: list[Any]) -> Checked:
        """The same ``Checked`` as ``check_row(cells, ctx)``."""
        if len(cells) <= self.width:
            cells = [*cells, *[""] * (self.width + 1 - len(cells))]
        p_pid, p_name, p_born, p_sex, p_code, p_legacy = self.pos
        raw = cells[p_pid]
        if raw.__class__ is str and raw.isdigit() and raw.isascii():
            pid: str | None = raw  # the common case: text() would change nothing
        else:
            pid = text(raw).replace(" ", "") or None
        raw = cells[p_name]
        named = self.names.get(raw)
        if named is None:
            named = self.names[raw] = _name_part(raw, self.ctx.title_names)
        raw = cells[p_born]
        dated = self.dates.get(raw) or self._date(raw)
        born = dated[0]
        reasons = list(dated[2])
        raw = cells[p_sex]
        sex = self.sexes.get(raw)
        if sex is None:
            sex = self._sex(raw)
        if not sex and pid and len(pid) == 12 and pid[3] in CENTURY_SEX:
            sex = CENTURY_SEX[pid[3]][1]
            reasons.append(_SEX_FROM_ID)
        elif not sex:
            reasons.append(_SEX_MISSING)
        data: dict[str, Any] = {
            "personal_id": pid,
            "full_name": named[0],
            "date_of_birth": dated[1],
            "sex": sex,
        }
        key = (cells[p_code], cells[p_legacy])
        unit = self.units.get(key) or self._unit(key)
        if unit[0] is not None:
            data["legacy_commune_code"] = unit[0]
        data["commune_code"] = unit[1]
        if unit[2]:
            reasons += unit[2]
        if dated[3]:
            reasons += dated[3]
        if sex and sex != "M" and sex != "F":
            reasons.append(_SEX_INVALID)
        if named[1]:
            reasons += named[1]
        if pid is not None:
            # A format error is the same answer for every such ID (key None).
            id_key = None
            if is_personal_id_shape(pid):
                id_key = (pid[:6], born.year if born else None, sex)
            checked_id = self.id_checks.get(id_key)
            if checked_id is None:
                checked_id = self.id_checks[id_key] = _id_part(pid, born, sex)
            if checked_id[0]:
                data["id_flags"] = list(checked_id[0])
            if checked_id[1]:
                reasons += checked_id[1]
        key = self.programme_cells(cells)
        programme = self.programme.get(key) or self._programme(key)
        data.update(programme[0])
        if programme[1]:
            reasons += programme[1]
        return Checked(data, reasons)


_SOURCE_FIELDS: dict[str, tuple[str, ...]] = {
    "tgxh": ("category", "monthly_allowance", "start_date", "end_date", "paying_office"),
    "nguoicocong": ("category", "monthly_allowance", "start_date", "end_date", "paying_office"),
    "hongheo": ("household_code", "relation", "poverty_level", "year"),
    "bhxh": ("legacy_number",),
}
_SEX_FROM_ID = reason("sex_from_id", "sex")
_SEX_MISSING = reason("sex_missing", "sex")
_SEX_INVALID = reason("sex_invalid", "sex")
