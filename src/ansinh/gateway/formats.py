"""Our electronic dossier formats (định dạng hồ sơ điện tử): identify, validate and read them.

No public XML schema exists for Vietnam's social insurance e-transactions (brief, "Electronic
transactions"), so we define our own: one namespace and one XSD per procedure and version,
``urn:ansinh:gateway:<procedure>:<version>`` with the root element ``Dossier`` and the schema
``schemas/<procedure>-<version>.xsd`` (types shared by all formats come from
``schemas/common-<n>.xsd``, included into each procedure's namespace). The XSD is the single
source of truth for formats (12-digit personal IDs, dates, money as non-negative whole đồng …);
this module only adds what a schema cannot say: the attachment digests. See
docs/gateway-format.md for every element and the version policy.

Use in this order, on the element the signature covers: ``identify`` → ``validate`` → ``read``.
"""

from __future__ import annotations

import base64
import datetime as dt
import functools
import hashlib
import re
import threading
from collections import Counter
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from django.conf import settings
from django.utils import timezone
from lxml import etree

from ansinh.core.errors import DomainError, ErrorDetail

NS_PREFIX = "urn:ansinh:gateway:"
DSIG_NS = "http://www.w3.org/2000/09/xmldsig#"
ROOT = "Dossier"
SCHEMA_DIR = Path(__file__).resolve().parent / "schemas"

#: Procedure code → versions accepted, oldest first (the newest is the last one).
SUPPORTED: dict[str, list[str]] = {
    "600": ["1.0"],
    "604": ["1.0"],
    "THE-CAPLAI": ["1.0"],
}

#: (procedure, version) → last day a superseded version is still accepted (inclusive, local
#: date). Empty while every version is current; see "Version policy" in docs/gateway-format.md.
SUNSET: dict[tuple[str, str], dt.date] = {}

#: Default cap on the schema errors reported for one document (settings.GATEWAY_MAX_SCHEMA_ERRORS).
DEFAULT_MAX_SCHEMA_ERRORS = 1000


# --- What a dossier reads into ---------------------------------------------------------------


@dataclass(frozen=True)
class EmployerRef:
    """The employer the dossier is for (đơn vị): unit code (mã đơn vị), tax code, name."""

    unit_code: str
    tax_code: str
    name: str


@dataclass(frozen=True)
class AttachmentData:
    """A scanned document carried in the package; ``digest`` is the SHA-256 of ``content``."""

    name: str
    media_type: str
    digest: str
    content: bytes


@dataclass(frozen=True)
class RowData:
    """One row: ``kind`` is a ``gateway.models.RowKind`` value, ``data`` JSON-safe (dates as
    ISO strings, money as int VND) with every key of the row kind present."""

    number: int
    kind: str
    personal_id: str
    data: dict[str, Any]


@dataclass(frozen=True)
class Package:
    procedure_code: str
    version: str
    transaction_id: str
    employer: EmployerRef
    signed_at: dt.datetime | None
    ivan_code: str
    ivan_received_at: dt.datetime | None
    rows: list[RowData]
    attachments: list[AttachmentData]


def attachment(name: str, media_type: str, content: bytes) -> AttachmentData:
    """An attachment with its digest computed."""
    return AttachmentData(name, media_type, hashlib.sha256(content).hexdigest(), content)


# --- The field tables (shared by read, builder, xlsx and the docs) ---------------------------


@dataclass(frozen=True)
class Field:
    """One child element of a row: its key in ``RowData.data``, the XSD simple type, how the
    value is held (``text``, ``date`` ISO string, ``int``, or the nested ``participant``),
    whether the schema requires it, the default ``read`` fills in when absent, and the field's
    name on the paper form."""

    key: str
    element: str
    xsd_type: str
    value: str
    required: bool
    label_vi: str
    label_en: str
    default: Any = ""


def _f(
    key: str,
    element: str,
    xsd_type: str,
    value: str,
    required: bool,
    vi: str,
    en: str,
    default: Any = "",
) -> Field:
    return Field(key, element, xsd_type, value, required, vi, en, default)


# fmt: off
_PERSONAL_ID = _f("personal_id", "PersonalId", "PersonalId", "text", True,
                  "Số định danh cá nhân", "Personal ID")
_FULL_NAME_OPT = _f("full_name", "FullName", "Text120", "text", False, "Họ và tên", "Full name")
_NOTE = _f("note", "Note", "Text300", "text", False, "Ghi chú", "Note")

PARTICIPANT_FIELDS: tuple[Field, ...] = (
    _f("phone", "Phone", "Phone", "text", False, "Số điện thoại", "Phone"),
    _f("email", "Email", "Email", "text", False, "Thư điện tử", "E-mail"),
    _f("hospital_code", "HospitalCode", "HospitalCode", "text", True,
       "Mã nơi đăng ký khám chữa bệnh ban đầu", "Initial health-care facility code"),
)

_FIELDS_1_0: dict[str, tuple[Field, ...]] = {
    "increase": (
        _PERSONAL_ID,
        _f("ss_number", "SsNumber", "SsNumber", "text", False, "Mã số BHXH (10 số, nếu có)",
           "Former social insurance number (10 digits)"),
        _f("full_name", "FullName", "Text120", "text", True, "Họ và tên", "Full name"),
        _f("date_of_birth", "DateOfBirth", "Date", "date", True, "Ngày sinh", "Date of birth"),
        _f("sex", "Sex", "Sex", "text", True, "Giới tính", "Sex"),
        _f("nationality", "Nationality", "Country", "text", False, "Quốc tịch", "Nationality",
           "VN"),
        _f("address_unit_code", "AddressUnitCode", "CommuneCode", "text", False,
           "Mã xã, phường nơi cư trú", "Commune of residence (code)"),
        _f("occupation", "Occupation", "Text120", "text", False,
           "Cấp bậc, chức vụ, chức danh nghề", "Position or occupation"),
        _f("contract_type", "ContractType", "ContractType", "text", True,
           "Loại hợp đồng lao động", "Contract type"),
        _f("start", "Start", "Date", "date", True, "Từ ngày (bắt đầu đóng)",
           "Start of employment"),
        _f("salary", "Salary", "Money", "int", True, "Mức lương (đồng)", "Salary (VND)"),
        _f("allowances", "Allowances", "Money", "int", False, "Phụ cấp (đồng)",
           "Allowances (VND)", 0),
        _NOTE,
        _f("participant", "Participant", "ParticipantType", "participant", False,
           "Tờ khai TK1-TS (người tham gia mới)", "TK1-TS declaration (new participant)",
           None),
    ),
    "decrease": (
        _PERSONAL_ID,
        _FULL_NAME_OPT,
        _f("end", "End", "Date", "date", True, "Đến ngày (ngày cuối làm việc)",
           "Last day of employment"),
        _f("reason", "Reason", "DecreaseReason", "text", True, "Lý do giảm", "Reason"),
        _NOTE,
    ),
    "adjustment": (
        _PERSONAL_ID,
        _FULL_NAME_OPT,
        _f("occupation", "Occupation", "Text120", "text", False,
           "Cấp bậc, chức vụ, chức danh nghề", "Position or occupation"),
        _f("valid_from", "ValidFrom", "Date", "date", True, "Áp dụng từ ngày", "Valid from"),
        _f("salary", "Salary", "Money", "int", True, "Mức lương mới (đồng)",
           "New salary (VND)"),
        _f("allowances", "Allowances", "Money", "int", False, "Phụ cấp (đồng)",
           "Allowances (VND)", 0),
        _NOTE,
    ),
    "employer": (
        _f("change", "Change", "EmployerChange", "text", True, "Đăng ký mới / điều chỉnh",
           "Register or change"),
        _f("unit_code", "UnitCode", "UnitCode", "text", True, "Mã đơn vị", "Unit code"),
        _f("unit_type", "UnitType", "ShortCode", "text", True, "Loại hình đơn vị",
           "Unit type"),
        _f("participant_group", "ParticipantGroup", "ShortCode", "text", True,
           "Nhóm đối tượng tham gia", "Participant group"),
        _f("name", "Name", "Text200", "text", True, "Tên đơn vị", "Employer name"),
        _f("tax_code", "TaxCode", "TaxCode", "text", False, "Mã số thuế", "Tax code"),
        _f("address_unit_code", "AddressUnitCode", "CommuneCode", "text", True,
           "Mã xã, phường trụ sở", "Commune of the head office (code)"),
        _f("address", "Address", "Text200", "text", False, "Địa chỉ (số nhà, đường)",
           "Street address"),
        _f("wage_region", "WageRegion", "WageRegion", "int", True, "Vùng lương tối thiểu",
           "Minimum-wage region", None),
        _f("sector", "Sector", "Text60", "text", False, "Ngành nghề kinh doanh", "Sector"),
        _f("phone", "Phone", "Phone", "text", False, "Số điện thoại", "Phone"),
        _f("email", "Email", "Email", "text", False, "Thư điện tử", "E-mail"),
    ),
    "card": (
        _PERSONAL_ID,
        _FULL_NAME_OPT,
        _f("card_number", "CardNumber", "CardNumber", "text", False, "Mã thẻ BHYT cũ",
           "Current card number"),
        _f("reason", "Reason", "CardReason", "text", True, "Lý do cấp lại", "Reason"),
        _f("hospital_code", "HospitalCode", "HospitalCode", "text", False,
           "Mã nơi đăng ký khám chữa bệnh ban đầu", "Initial health-care facility code"),
        _NOTE,
    ),
}
# fmt: on


@dataclass(frozen=True)
class FormatSpec:
    """One procedure and version: its namespace, the row elements it allows and their fields."""

    procedure: str
    version: str
    common: str  # the common types file it includes, e.g. "common-1.0.xsd"
    rows: Mapping[str, str]  # row element → RowKind value
    fields: Mapping[str, tuple[Field, ...]]  # RowKind value → fields in schema order

    @property
    def namespace(self) -> str:
        return namespace(self.procedure, self.version)

    @property
    def schema_file(self) -> Path:
        return SCHEMA_DIR / f"{self.procedure}-{self.version}.xsd"

    def element_for(self, kind: str) -> str | None:
        return next((el for el, k in self.rows.items() if k == kind), None)


SPECS: dict[tuple[str, str], FormatSpec] = {
    ("600", "1.0"): FormatSpec(
        "600",
        "1.0",
        "common-1.0.xsd",
        {"Increase": "increase", "Decrease": "decrease", "Adjustment": "adjustment"},
        {k: _FIELDS_1_0[k] for k in ("increase", "decrease", "adjustment")},
    ),
    ("604", "1.0"): FormatSpec(
        "604",
        "1.0",
        "common-1.0.xsd",
        {"Employer": "employer"},
        {"employer": _FIELDS_1_0["employer"]},
    ),
    ("THE-CAPLAI", "1.0"): FormatSpec(
        "THE-CAPLAI", "1.0", "common-1.0.xsd", {"Card": "card"}, {"card": _FIELDS_1_0["card"]}
    ),
}


def namespace(procedure: str, version: str) -> str:
    return f"{NS_PREFIX}{procedure}:{version}"


def spec(procedure: str, version: str) -> FormatSpec:
    """The format of ``procedure`` ``version``; DomainError when it is not supported."""
    _check_supported(procedure, version)
    return SPECS[(procedure, version)]


# --- identify ----------------------------------------------------------------------------------


def _root(node: Any) -> etree._Element:
    return node.getroot() if isinstance(node, etree._ElementTree) else node


def _unknown(detail_vi: str, detail_en: str) -> DomainError:
    return DomainError(
        "unknown_format",
        ROOT,
        f"Không nhận ra định dạng hồ sơ: {detail_vi}",
        f"Unknown dossier format: {detail_en}",
    )


def _check_supported(
    procedure: str, version: str, at: dt.datetime | None = None, *, sunset: bool = False
) -> None:
    if procedure not in SUPPORTED:
        known = ", ".join(SUPPORTED)
        raise _unknown(
            f"thủ tục '{procedure}' không nhận qua cổng (nhận: {known}).",
            f"procedure '{procedure}' is not accepted here (accepted: {known}).",
        )
    versions = SUPPORTED[procedure]
    if version not in versions or (procedure, version) not in SPECS:
        listed = ", ".join(versions)
        raise DomainError(
            "schema_version_unsupported",
            ROOT,
            f"Phiên bản định dạng '{version}' của thủ tục {procedure} không được hỗ trợ "
            f"(hỗ trợ: {listed}).",
            f"Version '{version}' of procedure {procedure} is not supported (supported: {listed}).",
        )
    last_day = SUNSET.get((procedure, version)) if sunset else None
    if last_day is not None:
        day = (at or timezone.now()).astimezone(dt.timezone(dt.timedelta(hours=7))).date()
        if day > last_day:
            raise DomainError(
                "schema_version_unsupported",
                ROOT,
                f"Phiên bản {version} của thủ tục {procedure} đã ngừng nhận từ sau ngày "
                f"{last_day:%d/%m/%Y}; hãy dùng phiên bản {versions[-1]}.",
                f"Version {version} of procedure {procedure} was retired after {last_day}; "
                f"use version {versions[-1]}.",
            )


def identify(root: Any, *, at: dt.datetime | None = None) -> tuple[str, str]:
    """(procedure, version) from the root element's namespace. Raises ``unknown_format`` for
    anything that is not one of our dossiers (wrong root, foreign namespace, procedure we do not
    take) and ``schema_version_unsupported`` for a version we do not accept, or no longer
    accept at ``at`` (default now) because its sunset day in ``SUNSET`` has passed."""
    return _identify(root, at=at, check_sunset=True)


def _identify(
    root: Any, *, at: dt.datetime | None = None, check_sunset: bool = False
) -> tuple[str, str]:
    root = _root(root)
    tag = root.tag if isinstance(root.tag, str) else ""
    ns, _, local = tag[1:].partition("}") if tag.startswith("{") else ("", "", tag)
    if local != ROOT or not ns.startswith(NS_PREFIX):
        raise _unknown(
            f"phần tử gốc phải là {ROOT} trong không gian tên {NS_PREFIX}<thủ tục>:<phiên bản>.",
            f"the root element must be {ROOT} in namespace {NS_PREFIX}<procedure>:<version>.",
        )
    procedure, sep, version = ns[len(NS_PREFIX) :].rpartition(":")
    if not sep or not procedure or not version:
        raise _unknown(
            f"không gian tên '{ns}' thiếu mã thủ tục hoặc phiên bản.",
            f"namespace '{ns}' lacks the procedure or the version.",
        )
    _check_supported(procedure, version, at, sunset=check_sunset)
    return procedure, version


# --- validate ----------------------------------------------------------------------------------

_local = threading.local()


def _xsd_parser() -> etree.XMLParser:
    return etree.XMLParser(resolve_entities=False, no_network=True, load_dtd=False)


def schema(procedure: str, version: str) -> etree.XMLSchema:
    """The compiled XSD, compiled once per thread (a validator's error log is not shareable
    between threads) and kept."""
    cache: dict[tuple[str, str], etree.XMLSchema] | None = getattr(_local, "schemas", None)
    if cache is None:
        cache = _local.schemas = {}
    key = (procedure, version)
    compiled = cache.get(key)
    if compiled is None:
        path = spec(procedure, version).schema_file
        compiled = etree.XMLSchema(etree.parse(str(path), _xsd_parser()))
        cache[key] = compiled
    return compiled


@dataclass(frozen=True)
class SchemaError:
    """One schema violation: ``path`` is an XPath with local names (``/Dossier/Rows/
    Increase[2]/Salary``), ``line`` the line in the parsed document (0 if built in memory),
    ``row`` the row number (STT) it sits in, if any, ``element`` the element itself."""

    path: str
    line: int
    message: str
    row: int | None
    element: etree._Element | None


_STEP = re.compile(r"([^\[\]/]+)(?:\[(\d+)\])?")
_NS_IN_MESSAGE = re.compile(r"\{(?:urn|https?):[^}]*\}")


def _resolve(root: etree._Element, path: str | None) -> etree._Element | None:
    """The element at libxml2's node path (``/*/*[1]/*[3]``, relative to the validated root);
    the nearest element found when the path ends on a non-element."""
    steps = [s for s in (path or "").split("/") if s][1:]
    if not path:
        return None
    if not steps:
        return root
    try:
        found = root.xpath("./" + "/".join(steps), namespaces={"ds": DSIG_NS})
    except etree.XPathError:
        found = []
    if found and isinstance(found[0], etree._Element) and isinstance(found[0].tag, str):
        return found[0]
    node = root
    for step in steps:  # slow path: stop at the deepest element we can reach
        m = _STEP.fullmatch(step)
        if m is None or "(" in step:
            break
        name, index = m.group(1), int(m.group(2) or 1)
        local = name.rpartition(":")[2]
        matches = [
            c
            for c in node
            if isinstance(c.tag, str) and (local == "*" or etree.QName(c).localname == local)
        ]
        if len(matches) < index:
            break
        node = matches[index - 1]
    return node


class _Paths:
    """Readable element paths (``/Dossier/Rows/Increase[2]/Salary``), the sibling positions of
    each parent computed once, so many errors in a long list stay linear."""

    def __init__(self) -> None:
        self._positions: dict[etree._Element, dict[etree._Element, str]] = {}

    def _step(self, node: etree._Element, parent: etree._Element) -> str:
        table = self._positions.get(parent)
        if table is None:
            total = Counter(c.tag for c in parent)
            seen: Counter[Any] = Counter()
            table = {}
            for c in parent:
                if not isinstance(c.tag, str):
                    continue
                seen[c.tag] += 1
                local = etree.QName(c).localname
                table[c] = f"{local}[{seen[c.tag]}]" if total[c.tag] > 1 else local
            self._positions[parent] = table
        return table[node]

    def __call__(self, node: etree._Element) -> str:
        parts: list[str] = []
        while node is not None:
            parent = node.getparent()
            parts.append(
                self._step(node, parent) if parent is not None else etree.QName(node).localname
            )
            node = parent
        return "/" + "/".join(reversed(parts))


def _row_number(node: etree._Element | None) -> int | None:
    while node is not None:
        parent = node.getparent()
        if parent is not None and etree.QName(parent).localname == "Rows":
            number = node.get("number", "")
            return int(number) if number.isdigit() else None
        node = parent
    return None


#: Default caps on the lists of one dossier (settings GATEWAY_MAX_ROWS, GATEWAY_MAX_ATTACHMENTS).
#: Beyond them the submitter splits the dossier. They also bound validation time: lxml computes
#: each schema error's path by scanning the element's siblings, so a list full of errors costs
#: errors × siblings (20,000 bad rows: half a minute; 5,000: about a second).
DEFAULT_MAX_ROWS = 5000
DEFAULT_MAX_ATTACHMENTS = 100


@dataclass
class _Found:
    path: str  # libxml2's node path
    line: int
    message: str
    node: etree._Element | None = None


def _entries(validator: etree.XMLSchema, doc: etree._Element) -> list[_Found]:
    if validator.validate(doc):
        return []
    return [
        _Found(e.path or "", e.line or 0, _NS_IN_MESSAGE.sub("", e.message).strip())
        for e in validator.error_log
        # libxml2 noise after an invalid @number already reported:
        if "No precomputed value available" not in e.message
    ]


def _check_sizes(root: etree._Element) -> None:
    caps = {
        "Rows": (
            int(getattr(settings, "GATEWAY_MAX_ROWS", DEFAULT_MAX_ROWS)),
            "too_many_rows",
            ("dòng", "rows"),
        ),
        "Attachments": (
            int(getattr(settings, "GATEWAY_MAX_ATTACHMENTS", DEFAULT_MAX_ATTACHMENTS)),
            "too_many_attachments",
            ("tài liệu đính kèm", "attachments"),
        ),
    }
    for child in root:
        if not isinstance(child.tag, str):
            continue
        cap = caps.get(etree.QName(child).localname)
        if cap is not None and len(child) > cap[0]:
            limit, code, (noun_vi, noun_en) = cap
            raise DomainError(
                code,
                f"/{ROOT}/{etree.QName(child).localname}",
                f"Hồ sơ có {len(child):,} {noun_vi}, tối đa {limit:,}: hãy chia thành nhiều hồ sơ.",
                f"The dossier has {len(child):,} {noun_en}, at most {limit:,} are accepted: "
                "split it into several dossiers.",
                status=413,
            )


def _collect(root: etree._Element, limit: int) -> tuple[list[SchemaError], int]:
    """The first ``limit`` violations in detail, and how many there are in all."""
    procedure, version = _identify(root)
    _check_sizes(root)
    found = _entries(schema(procedure, version), root)
    paths = _Paths()
    errors = []
    for f in found[:limit]:
        node = _resolve(root, f.path)
        errors.append(
            SchemaError(
                path=paths(node) if node is not None else f.path,
                line=f.line,
                message=f.message,
                row=_row_number(node),
                element=node,
            )
        )
    return errors, len(found)


def schema_errors(root: Any, *, limit: int | None = None) -> list[SchemaError]:
    """The violations of the dossier's XSD (identify must succeed first), at most ``limit``
    (default settings.GATEWAY_MAX_SCHEMA_ERRORS); empty when the document is valid. Raises
    ``too_many_rows`` / ``too_many_attachments`` (413) for a dossier over the caps."""
    return _collect(_root(root), _max_errors() if limit is None else limit)[0]


def _max_errors() -> int:
    return int(getattr(settings, "GATEWAY_MAX_SCHEMA_ERRORS", DEFAULT_MAX_SCHEMA_ERRORS))


def validate(root: Any) -> None:
    """Validate against the version's XSD. Raises ``schema_invalid`` listing every violation
    (up to GATEWAY_MAX_SCHEMA_ERRORS), each with the element path as ``field`` and the line in
    the message; ``too_many_rows`` / ``too_many_attachments`` (413) before that for a dossier
    over the caps (GATEWAY_MAX_ROWS, GATEWAY_MAX_ATTACHMENTS)."""
    root = _root(root)
    procedure, version = _identify(root)
    found, total = _collect(root, _max_errors())
    if not found:
        return
    details = [_schema_detail(procedure, version, e) for e in found]
    if total > len(found):
        more = total - len(found)
        details.append(
            ErrorDetail(
                "schema_invalid",
                None,
                f"… và {more} lỗi lược đồ khác không liệt kê.",
                f"… and {more} more schema errors not listed.",
            )
        )
    raise DomainError.many(details)


def _schema_detail(procedure: str, version: str, e: SchemaError) -> ErrorDetail:
    where_vi = f"dòng {e.line}" if e.line else "vị trí"
    where_en = f"line {e.line}" if e.line else "at"
    row_vi = f", STT {e.row}" if e.row is not None else ""
    row_en = f", row {e.row}" if e.row is not None else ""
    detail = e.message[:300]
    return ErrorDetail(
        "schema_invalid",
        e.path,
        f"Không đúng lược đồ {procedure} phiên bản {version} ({where_vi}, {e.path}{row_vi}): "
        f"{detail}",
        f"Not valid against schema {procedure} version {version} ({where_en}, {e.path}"
        f"{row_en}): {detail}",
    )


# --- read --------------------------------------------------------------------------------------


@dataclass(frozen=True)
class _RowTags:
    kind: str
    fields: Mapping[str, Field]  # child tag → field
    defaults: Mapping[str, Any]


@dataclass(frozen=True)
class _Tags:
    header: str
    rows: str
    attachments: str
    transaction_id: str
    employer: str
    signed_at: str
    ivan: str
    unit_code: str
    tax_code: str
    name: str
    code: str
    received_at: str
    row_fields: Mapping[str, _RowTags]  # row element tag → its kind and fields
    participant: Mapping[str, Field]


@functools.cache
def _tags(procedure: str, version: str) -> _Tags:
    fs = SPECS[(procedure, version)]
    ns = fs.namespace

    def q(name: str) -> str:
        return f"{{{ns}}}{name}"

    return _Tags(
        header=q("Header"),
        rows=q("Rows"),
        attachments=q("Attachments"),
        transaction_id=q("TransactionId"),
        employer=q("Employer"),
        signed_at=q("SignedAt"),
        ivan=q("Ivan"),
        unit_code=q("UnitCode"),
        tax_code=q("TaxCode"),
        name=q("Name"),
        code=q("Code"),
        received_at=q("ReceivedAt"),
        row_fields={
            q(el): _RowTags(
                kind,
                {q(f.element): f for f in fs.fields[kind]},
                _defaults(fs.fields[kind]),
            )
            for el, kind in fs.rows.items()
        },
        participant={q(f.element): f for f in PARTICIPANT_FIELDS},
    )


def _datetime(text: str | None) -> dt.datetime:
    return dt.datetime.fromisoformat((text or "").strip())


def _value(f: Field, text: str | None) -> Any:
    if f.value == "int":
        return int((text or "").strip())
    if f.value == "date":
        return (text or "").strip()
    return text or ""


def _defaults(fields: tuple[Field, ...]) -> dict[str, Any]:
    return {f.key: f.default for f in fields}


def _read_row(el: etree._Element, row: _RowTags, tags: _Tags) -> RowData:
    data = dict(row.defaults)
    fields = row.fields
    for child in el:
        f = fields.get(child.tag)
        if f is None:
            continue
        if f.value == "participant":
            part = _defaults(PARTICIPANT_FIELDS)
            for sub in child:
                pf = tags.participant.get(sub.tag)
                if pf is not None:
                    part[pf.key] = _value(pf, sub.text)
            data[f.key] = part
        else:
            data[f.key] = _value(f, child.text)
    return RowData(
        number=int(el.get("number", "0").strip()),
        kind=row.kind,
        personal_id=data.get("personal_id", ""),
        data=data,
    )


def read(root: Any) -> Package:
    """The package in a schema-valid dossier (call ``validate`` first). Checks each
    attachment's SHA-256 digest: ``attachment_digest_mismatch`` lists every one that differs."""
    root = _root(root)
    procedure, version = _identify(root)
    tags = _tags(procedure, version)
    header = root.find(tags.header)
    employer_el = header.find(tags.employer)
    ivan_el = header.find(tags.ivan)
    signed_at = header.findtext(tags.signed_at)
    employer = EmployerRef(
        unit_code=employer_el.findtext(tags.unit_code) or "",
        tax_code=employer_el.findtext(tags.tax_code) or "",
        name=employer_el.findtext(tags.name) or "",
    )
    rows: list[RowData] = []
    for el in root.find(tags.rows):
        row = tags.row_fields.get(el.tag)
        if row is not None:
            rows.append(_read_row(el, row, tags))
    attachments: list[AttachmentData] = []
    mismatches: list[ErrorDetail] = []
    container = root.find(tags.attachments)
    for i, el in enumerate(container if container is not None else (), start=1):
        content = base64.b64decode(el.text or "")
        declared = el.get("digest", "")
        name = el.get("name", "")
        if hashlib.sha256(content).hexdigest() != declared:
            mismatches.append(
                ErrorDetail(
                    "attachment_digest_mismatch",
                    f"/{ROOT}/Attachments/Attachment[{i}]",
                    f"Tài liệu đính kèm '{name}' không khớp mã băm SHA-256 đã khai.",
                    f"Attachment '{name}' does not match its declared SHA-256 digest.",
                )
            )
        attachments.append(AttachmentData(name, el.get("mediaType", ""), declared, content))
    if mismatches:
        raise DomainError.many(mismatches)
    return Package(
        procedure_code=procedure,
        version=version,
        transaction_id=header.findtext(tags.transaction_id) or "",
        employer=employer,
        signed_at=_datetime(signed_at) if signed_at is not None else None,
        ivan_code=(ivan_el.findtext(tags.code) or "") if ivan_el is not None else "",
        ivan_received_at=(
            _datetime(ivan_el.findtext(tags.received_at)) if ivan_el is not None else None
        ),
        rows=rows,
        attachments=attachments,
    )


# --- Simple-type checks outside a document (the XLSX reader, web forms) ----------------------

_XS = "{http://www.w3.org/2001/XMLSchema}"


@dataclass(frozen=True)
class _SimpleType:
    base: str
    patterns: tuple[re.Pattern[str], ...]
    enumeration: tuple[str, ...]
    max_length: int | None
    max_inclusive: int | None


@functools.cache
def _simple_types(procedure: str, version: str) -> dict[str, _SimpleType]:
    fs = spec(procedure, version)
    types: dict[str, _SimpleType] = {}
    for path in (SCHEMA_DIR / fs.common, fs.schema_file):
        doc = etree.parse(str(path), _xsd_parser())
        for st in doc.getroot().iter(f"{_XS}simpleType"):
            name = st.get("name")
            restriction = st.find(f"{_XS}restriction")
            if not name or restriction is None:
                continue

            def values(facet: str, r: etree._Element = restriction) -> list[str]:
                return [e.get("value", "") for e in r.findall(f"{_XS}{facet}")]

            max_len, max_inc = values("maxLength"), values("maxInclusive")
            types[name] = _SimpleType(
                base=restriction.get("base", "").rpartition(":")[2],
                patterns=tuple(re.compile(p) for p in values("pattern")),
                enumeration=tuple(values("enumeration")),
                max_length=int(max_len[0]) if max_len else None,
                max_inclusive=int(max_inc[0]) if max_inc else None,
            )
    return types


def value_ok(procedure: str, version: str, type_name: str, value: str) -> bool:
    """Whether ``value`` is a valid lexical value of the XSD simple type ``type_name`` of this
    format — the schema's own facets, so a form or spreadsheet checks exactly what the XSD will."""
    types = _simple_types(procedure, version)
    name: str | None = type_name
    while name in types:
        t = types[name]
        if t.patterns and not any(p.fullmatch(value) for p in t.patterns):
            return False
        if t.enumeration and value not in t.enumeration:
            return False
        if t.max_length is not None and len(value) > t.max_length:
            return False
        if t.max_inclusive is not None and (not value.isdigit() or int(value) > t.max_inclusive):
            return False
        name = t.base
    try:
        if name == "date":
            dt.date.fromisoformat(value)
        elif name == "dateTime":
            dt.datetime.fromisoformat(value)
        elif name in ("positiveInteger", "nonNegativeInteger", "integer"):
            return value.isdigit() and (name != "positiveInteger" or int(value) > 0)
    except ValueError:
        return False
    return True


def enumeration(procedure: str, version: str, type_name: str) -> tuple[str, ...]:
    """The values an enumerated XSD simple type allows (empty for a free-form type)."""
    types = _simple_types(procedure, version)
    name: str | None = type_name
    while name in types:
        if types[name].enumeration:
            return types[name].enumeration
        name = types[name].base
    return ()
