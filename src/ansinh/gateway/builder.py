"""Build the XML of a dossier package (lập hồ sơ điện tử) for the submitter to sign.

The web form and the XLSX upload of small employers, the sandbox samples, tests and the bench
all make their dossiers here, so what we hand out is exactly what ``formats`` reads back. The
output is unsigned: the employer or its I-VAN adds the enveloped XML-DSig signature with its own
tool (a USB-token tool or ``xmlsec1``) as the last child of the root — its private key never
reaches us.
"""

from __future__ import annotations

import base64
import dataclasses
import datetime as dt
import hashlib
import io
from collections.abc import Mapping
from typing import Any

from lxml import etree

from ansinh.core.errors import DomainError, ErrorDetail
from ansinh.gateway import formats
from ansinh.gateway.formats import (
    PARTICIPANT_FIELDS,
    AttachmentData,
    EmployerRef,
    Field,
    Package,
    RowData,
)


def _text(value: Any, f: Field) -> str:
    if f.value == "date" and isinstance(value, dt.date):
        return value.isoformat()
    return str(value)


def _instant(value: dt.datetime) -> str:
    """ISO 8601 with the UTC offset the schema requires; an offset in seconds becomes UTC."""
    offset = value.utcoffset()
    if offset is not None and offset % dt.timedelta(minutes=1):
        value = value.astimezone(dt.UTC)
    return value.isoformat()


def _fields(parent: etree._Element, ns: str, fields: tuple[Field, ...], data: Mapping) -> None:
    for f in fields:
        value = data.get(f.key)
        if value is None or value == "":
            continue  # absent; the schema reports it if it is required
        if f.value == "participant":
            el = etree.SubElement(parent, f"{{{ns}}}{f.element}")
            _fields(el, ns, PARTICIPANT_FIELDS, value if isinstance(value, Mapping) else {})
        else:
            etree.SubElement(parent, f"{{{ns}}}{f.element}").text = _text(value, f)


def build_tree(package: Package) -> etree._Element:
    """The dossier as an element tree, not validated (``build`` validates)."""
    fs = formats.spec(package.procedure_code, package.version)
    ns = fs.namespace

    def sub(parent: etree._Element, name: str, text: str | None = None) -> etree._Element:
        el = etree.SubElement(parent, f"{{{ns}}}{name}")
        if text is not None:
            el.text = text
        return el

    root = etree.Element(f"{{{ns}}}{formats.ROOT}", nsmap={None: ns})
    header = sub(root, "Header")
    sub(header, "TransactionId", package.transaction_id)
    employer = sub(header, "Employer")
    sub(employer, "UnitCode", package.employer.unit_code)
    if package.employer.tax_code:
        sub(employer, "TaxCode", package.employer.tax_code)
    sub(employer, "Name", package.employer.name)
    if package.signed_at is not None:
        sub(header, "SignedAt", _instant(package.signed_at))
    if package.ivan_code or package.ivan_received_at is not None:
        ivan = sub(header, "Ivan")
        sub(ivan, "Code", package.ivan_code)
        if package.ivan_received_at is not None:
            sub(ivan, "ReceivedAt", _instant(package.ivan_received_at))
    rows = sub(root, "Rows")
    wrong: list[ErrorDetail] = []
    for i, row in enumerate(package.rows):
        element = fs.element_for(row.kind)
        if element is None:
            allowed = ", ".join(fs.rows.values())
            wrong.append(
                ErrorDetail(
                    "row_kind_invalid",
                    f"rows[{i}].kind",
                    f"Thủ tục {fs.procedure} không có loại dòng '{row.kind}' (chỉ {allowed}).",
                    f"Procedure {fs.procedure} has no row kind '{row.kind}' (only {allowed}).",
                )
            )
            continue
        el = sub(rows, element)
        el.set("number", str(row.number))
        _fields(el, ns, fs.fields[row.kind], row.data)
    if wrong:
        raise DomainError.many(wrong)
    if package.attachments:
        container = sub(root, "Attachments")
        for a in package.attachments:
            el = sub(container, "Attachment", base64.b64encode(a.content).decode("ascii"))
            el.set("name", a.name)
            el.set("mediaType", a.media_type)
            el.set("digest", a.digest)
    return root


def _check_digests(attachments: list[AttachmentData]) -> None:
    wrong = [
        ErrorDetail(
            "attachment_digest_mismatch",
            f"/{formats.ROOT}/Attachments/Attachment[{i}]",
            f"Mã băm SHA-256 khai cho tài liệu '{a.name}' không khớp nội dung.",
            f"The SHA-256 digest given for attachment '{a.name}' does not match its content.",
        )
        for i, a in enumerate(attachments, start=1)
        if hashlib.sha256(a.content).hexdigest() != a.digest
    ]
    if wrong:
        raise DomainError.many(wrong)


def build(package: Package) -> bytes:
    """The package as unsigned, schema-valid UTF-8 XML. Raises ``schema_invalid`` (every
    violation, as ``formats.validate``), ``row_kind_invalid`` or ``attachment_digest_mismatch``
    instead of producing a dossier we would refuse."""
    _check_digests(package.attachments)
    root = build_tree(package)
    formats.validate(root)
    return etree.tostring(root, xml_declaration=True, encoding="UTF-8", pretty_print=True)


# --- Example packages (docs/gateway/samples, the sandbox, tests, bench) ------------------------

_EXAMPLE_EMPLOYER = EmployerRef(
    unit_code="0101234567", tax_code="0101234567", name="Công ty TNHH Ví Dụ An Sinh"
)
_GIVEN = ("An", "Bình", "Chi", "Dũng", "Giang", "Hà", "Khánh", "Lan", "Minh", "Ngọc")
_FAMILY = ("Nguyễn", "Trần", "Lê", "Phạm", "Hoàng", "Vũ", "Đặng", "Bùi")


def _example_person(i: int) -> dict[str, Any]:
    """A made-up worker: a personal ID consistent with birth year and sex (no real person)."""
    year = 1970 + i % 35
    sex = "M" if i % 2 == 0 else "F"
    digit = ("0" if sex == "M" else "1") if year < 2000 else ("2" if sex == "M" else "3")
    middle = "Văn" if sex == "M" else "Thị"
    return {
        "personal_id": f"001{digit}{year % 100:02d}{(i * 7919) % 1_000_000:06d}",
        "full_name": f"{_FAMILY[i % len(_FAMILY)]} {middle} {_GIVEN[i % len(_GIVEN)]}",
        "date_of_birth": f"{year}-{1 + i % 12:02d}-{1 + i % 28:02d}",
        "sex": sex,
    }


def example_row(kind: str, number: int, *, new_participant: bool = False) -> RowData:
    """A valid row of ``kind`` for a made-up worker (or the example employer)."""
    person = _example_person(number)
    data: dict[str, Any]
    if kind == "increase":
        data = {
            **person,
            "ss_number": "",
            "nationality": "VN",
            "address_unit_code": "00004",
            "occupation": "Nhân viên kinh doanh",
            "contract_type": "indefinite",
            "start": "2026-10-01",
            "salary": 8_000_000 + number * 1000,
            "allowances": 500_000,
            "note": "",
            "participant": (
                {"phone": "0912345678", "email": "", "hospital_code": "01001"}
                if new_participant
                else None
            ),
        }
    elif kind == "decrease":
        data = {
            "personal_id": person["personal_id"],
            "full_name": person["full_name"],
            "end": "2026-10-31",
            "reason": "contract_end",
            "note": "",
        }
    elif kind == "adjustment":
        data = {
            "personal_id": person["personal_id"],
            "full_name": person["full_name"],
            "occupation": "Trưởng nhóm",
            "valid_from": "2026-11-01",
            "salary": 12_000_000,
            "allowances": 1_000_000,
            "note": "",
        }
    elif kind == "employer":
        data = {
            "change": "register",
            "unit_code": _EXAMPLE_EMPLOYER.unit_code,
            "unit_type": "DN",
            "participant_group": "DN",
            "name": _EXAMPLE_EMPLOYER.name,
            "tax_code": _EXAMPLE_EMPLOYER.tax_code,
            "address_unit_code": "00004",
            "address": "Số 1 phố Ví Dụ",
            "wage_region": 1,
            "sector": "trade",
            "phone": "02431234567",
            "email": "",
        }
    elif kind == "card":
        data = {
            "personal_id": person["personal_id"],
            "full_name": person["full_name"],
            "card_number": f"DN401{number:010d}",
            "reason": "lost",
            "hospital_code": "",
            "note": "",
        }
    else:
        raise ValueError(kind)
    return RowData(number=number, kind=kind, personal_id=data.get("personal_id", ""), data=data)


def example_package(
    procedure: str = "600",
    *,
    rows: int = 1,
    transaction_id: str = "VD-2026-0001",
    signed_at: dt.datetime | None = None,
    ivan_code: str = "",
    ivan_received_at: dt.datetime | None = None,
    employer: EmployerRef | None = None,
    attachments: list[AttachmentData] | None = None,
) -> Package:
    """A valid made-up package: for 600, ``rows`` increase rows (the first a new participant);
    604 has its one employer row; THE-CAPLAI ``rows`` card requests."""
    tz = dt.timezone(dt.timedelta(hours=7))
    if procedure == "600":
        body = [example_row("increase", n, new_participant=n == 1) for n in range(1, rows + 1)]
    elif procedure == "604":
        body = [example_row("employer", 1)]
    elif procedure == "THE-CAPLAI":
        body = [example_row("card", n) for n in range(1, rows + 1)]
    else:
        formats.spec(procedure, "")  # raises unknown_format
        body = []
    return Package(
        procedure_code=procedure,
        version=formats.SUPPORTED[procedure][-1],
        transaction_id=transaction_id,
        employer=employer or _EXAMPLE_EMPLOYER,
        signed_at=signed_at or dt.datetime(2026, 11, 2, 9, 30, tzinfo=tz),
        ivan_code=ivan_code,
        ivan_received_at=ivan_received_at,
        rows=body,
        attachments=list(attachments or []),
    )


def _sample_pdf(title: str) -> bytes:
    """A one-page PDF standing in for a scanned document (deterministic bytes)."""
    from reportlab.lib.pagesizes import A4
    from reportlab.pdfgen import canvas

    out = io.BytesIO()
    pdf = canvas.Canvas(out, pagesize=A4, invariant=1, pageCompression=1)
    pdf.setTitle(title)
    pdf.drawString(72, 770, title)
    pdf.showPage()
    pdf.save()
    return out.getvalue()


def sample_packages() -> dict[str, Package]:
    """The unsigned examples in docs/gateway/samples/, by file name (a test keeps the files and
    this function in step)."""
    tz = dt.timezone(dt.timedelta(hours=7))
    one = example_package("600", rows=1, transaction_id="VD-600-0001")
    three = example_package(
        "600",
        rows=1,
        transaction_id="VD-600-0002",
        ivan_code="IVAN01",
        ivan_received_at=dt.datetime(2026, 11, 2, 9, 31, 12, tzinfo=tz),
        attachments=[
            formats.attachment(
                "hop-dong-lao-dong.pdf",
                "application/pdf",
                _sample_pdf("Hop dong lao dong (mau / sample)"),
            )
        ],
    )
    three = dataclasses.replace(
        three, rows=[*three.rows, example_row("decrease", 2), example_row("adjustment", 3)]
    )
    employer = example_package(
        "604",
        transaction_id="VD-604-0001",
        attachments=[
            formats.attachment(
                "giay-chung-nhan-dkdn.pdf",
                "application/pdf",
                _sample_pdf("Giay chung nhan dang ky doanh nghiep (mau / sample)"),
            )
        ],
    )
    cards = example_package("THE-CAPLAI", rows=2, transaction_id="VD-THE-0001")
    return {
        "600-1.0-one-row.xml": one,
        "600-1.0-three-rows.xml": three,
        "604-1.0-register.xml": employer,
        "THE-CAPLAI-1.0-reissue.xml": cards,
    }
