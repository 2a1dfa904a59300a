"""The dossier formats (XSD per procedure and version): identify, validate, read, build.

No test here touches the database: formats are pure functions of the XML. The rule they check
is the brief's "Electronic transactions" section (Decree 166/2016/NĐ-CP): no public schema
exists, so ours is versioned, documented (docs/gateway-format.md) and shipped with examples.
"""

from __future__ import annotations

import base64
import dataclasses
import datetime as dt
import hashlib
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from lxml import etree

from ansinh.core.errors import DomainError
from ansinh.gateway import builder, formats, xmlsafe
from ansinh.gateway.formats import AttachmentData, EmployerRef, Package, RowData

SAMPLES = Path(__file__).resolve().parents[4] / "docs" / "gateway" / "samples"
VN = dt.timezone(dt.timedelta(hours=7))
NS600 = "urn:ansinh:gateway:600:1.0"


def parse(data: bytes | str) -> etree._Element:
    return xmlsafe.parse(data.encode() if isinstance(data, str) else data)


def roundtrip(package: Package) -> Package:
    root = parse(builder.build(package))
    formats.validate(root)
    return formats.read(root)


def errors_of(xml: bytes | str) -> DomainError:
    with pytest.raises(DomainError) as info:
        formats.validate(parse(xml))
    return info.value


def sample_600(rows: int = 3) -> str:
    return builder.build(builder.example_package("600", rows=rows)).decode()


# --- Samples shipped in docs/ ----------------------------------------------------------------


def test_every_sample_in_docs_validates_and_reads() -> None:
    """Every unsigned example in docs/gateway/samples/ is valid against its XSD and reads back
    into the package ``builder.sample_packages`` describes (docs and code stay in step)."""
    files = sorted(SAMPLES.glob("*.xml"))
    expected = builder.sample_packages()
    assert {f.name for f in files} == set(expected)
    for path in files:
        root = parse(path.read_bytes())
        procedure, version = formats.identify(root)
        assert version in formats.SUPPORTED[procedure]
        formats.validate(root)
        package = formats.read(root)
        want = expected[path.name]
        assert dataclasses.replace(package, attachments=[]) == dataclasses.replace(
            want, attachments=[]
        )
        assert [(a.name, a.media_type) for a in package.attachments] == [
            (a.name, a.media_type) for a in want.attachments
        ]


def test_samples_cover_the_brief() -> None:
    """600 with one row and with three (increase with a TK1-TS declaration, decrease,
    adjustment), 604 (TK3-TS) and a card reissue request."""
    packages = {p.name: formats.read(parse(p.read_bytes())) for p in SAMPLES.glob("*.xml")}
    procedures = sorted({p.procedure_code for p in packages.values()})
    assert procedures == ["600", "604", "THE-CAPLAI"]
    three = packages["600-1.0-three-rows.xml"]
    assert [r.kind for r in three.rows] == ["increase", "decrease", "adjustment"]
    assert three.rows[0].data["participant"]["hospital_code"] == "01001"
    assert three.ivan_code == "IVAN01" and three.ivan_received_at is not None
    assert len(packages["600-1.0-one-row.xml"].rows) == 1


def test_schemas_ship_for_every_supported_version() -> None:
    for procedure, versions in formats.SUPPORTED.items():
        for version in versions:
            assert formats.spec(procedure, version).schema_file.is_file()
            assert formats.schema(procedure, version) is formats.schema(procedure, version)


# --- identify ----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("xml", "code"),
    [
        ("<Dossier/>", "unknown_format"),
        ('<Other xmlns="urn:ansinh:gateway:600:1.0"/>', "unknown_format"),
        ('<Dossier xmlns="urn:example:600:1.0"/>', "unknown_format"),
        ('<Dossier xmlns="urn:ansinh:gateway:601:1.0"/>', "unknown_format"),
        ('<Dossier xmlns="urn:ansinh:gateway:600"/>', "unknown_format"),
        ('<Dossier xmlns="urn:ansinh:gateway:600:9.0"/>', "schema_version_unsupported"),
        ('<Dossier xmlns="urn:ansinh:gateway:THE-CAPLAI:0.9"/>', "schema_version_unsupported"),
    ],
)
def test_identify_refuses_what_is_not_ours(xml: str, code: str) -> None:
    with pytest.raises(DomainError) as info:
        formats.identify(parse(xml))
    assert info.value.code == code
    assert info.value.first.message_vi and info.value.first.message_en


def test_identify_names_procedure_and_version() -> None:
    assert formats.identify(parse(sample_600())) == ("600", "1.0")
    assert formats.identify(etree.ElementTree(parse(sample_600()))) == ("600", "1.0")


def test_a_retired_version_is_refused_after_its_sunset(monkeypatch: pytest.MonkeyPatch) -> None:
    """Version policy: a superseded version stays accepted until its sunset day, inclusive."""
    root = parse(sample_600())
    monkeypatch.setitem(formats.SUNSET, ("600", "1.0"), dt.date(2026, 10, 31))
    assert formats.identify(root, at=dt.datetime(2026, 10, 31, 23, 59, tzinfo=VN))
    with pytest.raises(DomainError) as info:
        formats.identify(root, at=dt.datetime(2026, 11, 1, 0, 0, tzinfo=VN))
    assert info.value.code == "schema_version_unsupported"
    assert "31/10/2026" in info.value.first.message_vi
    formats.validate(root)  # validate and read do not re-judge the date: identify did
    assert formats.read(root).procedure_code == "600"


# --- validate ----------------------------------------------------------------------------------


def test_validate_collects_every_error_with_path_and_line() -> None:
    xml = sample_600(3)
    xml = xml.replace(
        "<PersonalId>001171007919</PersonalId>", "<PersonalId>0011 7100791</PersonalId>"
    )
    xml = xml.replace("<Salary>8002000</Salary>", "<Salary>-1</Salary>")
    xml = xml.replace(
        "<DateOfBirth>1973-04-04</DateOfBirth>", "<DateOfBirth>1973-02-30</DateOfBirth>"
    )
    exc = errors_of(xml)
    assert exc.code == "schema_invalid"
    fields = [e.field for e in exc.errors]
    assert fields == [
        "/Dossier/Rows/Increase[1]/PersonalId",
        "/Dossier/Rows/Increase[2]/Salary",
        "/Dossier/Rows/Increase[3]/DateOfBirth",
    ]
    assert all(e.code == "schema_invalid" for e in exc.errors)
    line = xml.splitlines().index("      <Salary>-1</Salary>") + 1
    assert f"line {line}" in exc.errors[1].message_en
    assert f"dòng {line}" in exc.errors[1].message_vi
    assert "row 2" in exc.errors[1].message_en and "STT 2" in exc.errors[1].message_vi
    assert "{urn:" not in exc.errors[0].message_en


@pytest.mark.parametrize(
    ("old", "new", "path"),
    [
        # personal ID: letters and digits only (its exact format is checked per row)
        ("<PersonalId>001171007919</PersonalId>", "<PersonalId>0011-7100791</PersonalId>",
         "PersonalId"),
        # money: whole đồng, no decimals, no sign, no thousands separator
        ("<Salary>8001000</Salary>", "<Salary>8001000.5</Salary>", "Salary"),
        ("<Salary>8001000</Salary>", "<Salary>+8001000</Salary>", "Salary"),
        ("<Salary>8001000</Salary>", "<Salary>8.001.000</Salary>", "Salary"),
        ("<Salary>8001000</Salary>", "<Salary>10000000001</Salary>", "Salary"),
        # dates: calendar dates, no time zone, years 1900–2099
        ("<Start>2026-10-01</Start>", "<Start>01/10/2026</Start>", "Start"),
        ("<Start>2026-10-01</Start>", "<Start>2026-10-01Z</Start>", "Start"),
        ("<Start>2026-10-01</Start>", "<Start>1850-10-01</Start>", "Start"),
        # codes
        ("<Sex>F</Sex>", "<Sex>f</Sex>", "Sex"),
        ("<ContractType>indefinite</ContractType>", "<ContractType>x</ContractType>",
         "ContractType"),
        ("<HospitalCode>01001</HospitalCode>", "<HospitalCode>1001</HospitalCode>",
         "HospitalCode"),
        # text: no surrounding spaces, not empty
        ("<FullName>Trần Thị Bình</FullName>", "<FullName> Trần Thị Bình</FullName>",
         "FullName"),
        ("<FullName>Trần Thị Bình</FullName>", "<FullName></FullName>", "FullName"),
        # the declared signing time needs its UTC offset
        ("<SignedAt>2026-11-02T09:30:00+07:00</SignedAt>",
         "<SignedAt>2026-11-02T09:30:00</SignedAt>", "SignedAt"),
        ("<TransactionId>VD-2026-0001</TransactionId>", "<TransactionId>VD 1</TransactionId>",
         "TransactionId"),
    ],
)  # fmt: skip
def test_formats_are_checked_by_the_xsd(old: str, new: str, path: str) -> None:
    xml = sample_600(1)
    assert old in xml
    exc = errors_of(xml.replace(old, new, 1))
    assert exc.code == "schema_invalid"
    assert exc.first.field.endswith(path)


def test_a_wrong_personal_id_does_not_refuse_the_dossier() -> None:
    """Bad input "rows with invalid IDs among valid rows": the schema bounds a personal ID only
    loosely, so the dossier is received and processing rejects that row with its reason."""
    xml = sample_600(3).replace(
        "<PersonalId>001171007919</PersonalId>", "<PersonalId>00117100791</PersonalId>"
    )
    root = parse(xml)
    formats.validate(root)
    assert formats.read(root).rows[0].personal_id == "00117100791"


def test_structure_errors() -> None:
    xml = sample_600(3)
    dup = xml.replace('number="3"', 'number="1"')
    assert "Duplicate" in errors_of(dup).first.message_en
    card = xml.replace('<Increase number="3">', '<Card number="3">', 1)
    card = card.replace("</Increase>\n  </Rows>", "</Card>\n  </Rows>")
    assert errors_of(card).first.field == "/Dossier/Rows/Card"
    no_hospital = xml.replace("<HospitalCode>01001</HospitalCode>", "")
    assert errors_of(no_hospital).first.field.endswith("/Participant")
    no_rows = xml[: xml.index("<Rows>")] + "<Rows/>\n</Dossier>\n"
    assert errors_of(no_rows).first.field == "/Dossier/Rows"


DS = '<ds:Signature xmlns:ds="http://www.w3.org/2000/09/xmldsig#"><ds:SignedInfo/></ds:Signature>'


def test_room_for_the_signature_as_last_child_only() -> None:
    """The enveloped ds:Signature fits as the root's last child; anywhere else, twice, or a
    foreign element in its place is a schema error."""
    xml = sample_600(1)
    signed = xml.replace("</Dossier>", DS + "</Dossier>")
    formats.validate(parse(signed))
    assert formats.read(parse(signed)) == formats.read(parse(xml))
    twice = xml.replace("</Dossier>", DS + DS + "</Dossier>")
    assert errors_of(twice).code == "schema_invalid"
    in_header = xml.replace("</Header>", DS + "</Header>")
    assert errors_of(in_header).code == "schema_invalid"
    before_rows = xml.replace("<Rows>", DS + "<Rows>")
    assert errors_of(before_rows).code == "schema_invalid"
    foreign = xml.replace("</Dossier>", '<x:Extra xmlns:x="urn:x"/></Dossier>')
    assert errors_of(foreign).code == "schema_invalid"


def test_error_count_is_capped(settings) -> None:
    settings.GATEWAY_MAX_SCHEMA_ERRORS = 5
    xml = builder.build(builder.example_package("600", rows=20)).decode()
    xml = xml.replace("<Sex>M</Sex>", "<Sex>X</Sex>").replace("<Sex>F</Sex>", "<Sex>X</Sex>")
    exc = errors_of(xml)
    assert len(exc.errors) == 6
    assert "15 more" in exc.errors[-1].message_en


def test_row_and_attachment_caps(settings) -> None:
    """Long lists are refused before the schema (they also bound validation time)."""
    settings.GATEWAY_MAX_ROWS = 3
    with pytest.raises(DomainError) as info:
        formats.validate(parse(builder.build(builder.example_package("600", rows=3)).replace(
            b"</Rows>", b"<Decrease/></Rows>"
        )))  # fmt: skip
    assert (info.value.code, info.value.status) == ("too_many_rows", 413)
    assert info.value.first.field == "/Dossier/Rows"
    settings.GATEWAY_MAX_ATTACHMENTS = 1
    docs = [formats.attachment(f"{i}.png", "image/png", b"png") for i in range(2)]
    with pytest.raises(DomainError) as info:
        builder.build(builder.example_package("604", attachments=docs))
    assert info.value.code == "too_many_attachments"


def test_a_long_list_full_of_errors_stays_fast() -> None:
    """Every one of 2,000 rows wrong: reported (capped) in well under the intake budget."""
    xml = builder.build(builder.example_package("600", rows=2000))
    xml = xml.replace(b"<Sex>M</Sex>", b"<Sex>X</Sex>").replace(b"<Sex>F</Sex>", b"<Sex>X</Sex>")
    root = parse(xml)
    start = time.perf_counter()
    with pytest.raises(DomainError) as info:
        formats.validate(root)
    elapsed = time.perf_counter() - start
    assert len(info.value.errors) == formats.DEFAULT_MAX_SCHEMA_ERRORS + 1
    assert "1000 more" in info.value.errors[-1].message_en
    print(f"2,000 rows all invalid: {elapsed * 1000:.0f} ms")
    assert elapsed < 5


def test_validation_is_safe_across_threads() -> None:
    good = builder.build(builder.example_package("600", rows=50))
    bad = good.replace(b"<Sex>M</Sex>", b"<Sex>X</Sex>")

    def check(data: bytes) -> int:
        try:
            formats.validate(parse(data))
        except DomainError as exc:
            return len(exc.errors)
        return 0

    with ThreadPoolExecutor(4) as pool:
        results = list(pool.map(check, [good, bad] * 20))
    assert results == [0, 25] * 20


# --- read --------------------------------------------------------------------------------------


def test_read_fills_defaults_of_optional_fields() -> None:
    xml = sample_600(1)
    for tag in ("Nationality", "Allowances", "Occupation", "AddressUnitCode"):
        start = xml.index(f"<{tag}>")
        xml = xml[:start] + xml[xml.index(f"</{tag}>") + len(tag) + 3 :]
    xml = xml[: xml.index("<Participant>")] + xml[xml.index("</Participant>") + 14 :]
    xml = xml.replace("<SignedAt>2026-11-02T09:30:00+07:00</SignedAt>", "")
    row = formats.read(parse(xml)).rows[0]
    assert row.data["nationality"] == "VN"
    assert row.data["allowances"] == 0
    assert row.data["occupation"] == "" and row.data["ss_number"] == ""
    assert row.data["participant"] is None
    assert formats.read(parse(xml)).signed_at is None
    assert row.personal_id == row.data["personal_id"]


def test_read_gives_aware_datetimes() -> None:
    package = formats.read(parse(sample_600(1)))
    assert package.signed_at == dt.datetime(2026, 11, 2, 2, 30, tzinfo=dt.UTC)
    assert package.signed_at.utcoffset() == dt.timedelta(hours=7)


def test_attachment_digest_mismatch() -> None:
    doc = formats.attachment("scan.pdf", "application/pdf", b"%PDF-1.4 scan")
    package = builder.example_package("604", attachments=[doc])
    xml = builder.build(package).decode()
    forged = base64.b64encode(b"%PDF-1.4 forged").decode()
    xml = xml.replace(base64.b64encode(doc.content).decode(), forged)
    root = parse(xml)
    formats.validate(root)  # still schema-valid
    with pytest.raises(DomainError) as info:
        formats.read(root)
    assert info.value.code == "attachment_digest_mismatch"
    assert info.value.first.field == "/Dossier/Attachments/Attachment[1]"


def test_attachments_only_scanned_media_types() -> None:
    doc = AttachmentData(
        "run.exe", "application/octet-stream", hashlib.sha256(b"x").hexdigest(), b"x"
    )
    with pytest.raises(DomainError) as info:
        builder.build(builder.example_package("604", attachments=[doc]))
    assert info.value.code == "schema_invalid"
    assert info.value.first.field == "/Dossier/Attachments/Attachment"


# --- build -------------------------------------------------------------------------------------


def test_build_refuses_what_we_would_refuse() -> None:
    package = builder.example_package("600", rows=2)
    bad_row = dataclasses.replace(
        package.rows[1], data={**package.rows[1].data, "salary": -5, "sex": "X"}
    )
    with pytest.raises(DomainError) as info:
        builder.build(dataclasses.replace(package, rows=[package.rows[0], bad_row]))
    assert info.value.code == "schema_invalid"
    assert len(info.value.errors) == 2
    card = builder.example_row("card", 3)
    with pytest.raises(DomainError) as info:
        builder.build(dataclasses.replace(package, rows=[card]))
    assert info.value.code == "row_kind_invalid"
    naive = dataclasses.replace(package, signed_at=dt.datetime(2026, 11, 2, 9, 30))
    with pytest.raises(DomainError) as info:
        builder.build(naive)
    assert info.value.first.field == "/Dossier/Header/SignedAt"
    wrong = AttachmentData("a.pdf", "application/pdf", "0" * 64, b"%PDF")
    with pytest.raises(DomainError) as info:
        builder.build(dataclasses.replace(package, attachments=[wrong]))
    assert info.value.code == "attachment_digest_mismatch"


def test_build_accepts_date_objects_and_missing_optional_keys() -> None:
    row = RowData(
        1,
        "decrease",
        "001090012345",
        {"personal_id": "001090012345", "end": dt.date(2026, 10, 31), "reason": "resigned"},
    )
    package = dataclasses.replace(builder.example_package("600"), rows=[row])
    back = roundtrip(package)
    assert back.rows[0].data == {
        "personal_id": "001090012345",
        "full_name": "",
        "end": "2026-10-31",
        "reason": "resigned",
        "note": "",
    }


# --- Round trip (hypothesis): read(parse(build(p))) == p ---------------------------------------

_CHARS = st.characters(codec="utf-8", exclude_categories=("Cc", "Cs", "Cn"))


def _text(max_size: int) -> st.SearchStrategy[str]:
    return st.text(_CHARS, min_size=1, max_size=max_size).filter(
        lambda s: s[0] != " " and s[-1] != " "
    )


def _re(pattern: str) -> st.SearchStrategy[str]:
    return st.from_regex(pattern, fullmatch=True)


def _opt(strategy: st.SearchStrategy) -> st.SearchStrategy:
    return st.one_of(st.just(""), strategy)


_date = st.dates(dt.date(1900, 1, 1), dt.date(2099, 12, 31)).map(dt.date.isoformat)
_money = st.integers(0, 10_000_000_000)
_zones = st.sampled_from(
    [dt.UTC, VN, dt.timezone(dt.timedelta(hours=-5, minutes=-30)), dt.timezone(dt.timedelta(0))]
)
_instant = st.datetimes(dt.datetime(1900, 1, 2), dt.datetime(2099, 12, 30), timezones=_zones)
_pid = _re(r"[0-9]{12}")
_phone = _re(r"\+?[0-9]{8,15}")
_email = _re(r"[a-z0-9._%+\-]{1,20}@[a-z0-9\-]{1,20}\.[a-z]{2,6}")
_hospital = _re(r"[0-9]{5}")

_participant = st.fixed_dictionaries(
    {"phone": _opt(_phone), "email": _opt(_email), "hospital_code": _hospital}
)
_ROW_DATA = {
    "increase": st.fixed_dictionaries(
        {
            "personal_id": _pid,
            "ss_number": _opt(_re(r"[0-9]{10}")),
            "full_name": _text(120),
            "date_of_birth": _date,
            "sex": st.sampled_from(["M", "F"]),
            "nationality": _re(r"[A-Z]{2}"),
            "address_unit_code": _opt(_re(r"[0-9]{5}")),
            "occupation": _opt(_text(120)),
            "contract_type": st.sampled_from(["indefinite", "fixed", "seasonal", "civil_servant"]),
            "start": _date,
            "salary": _money,
            "allowances": _money,
            "note": _opt(_text(300)),
            "participant": st.none() | _participant,
        }
    ),
    "decrease": st.fixed_dictionaries(
        {
            "personal_id": _pid,
            "full_name": _opt(_text(120)),
            "end": _date,
            "reason": st.sampled_from(
                ["contract_end", "resigned", "dismissed", "retired", "deceased", "other"]
            ),
            "note": _opt(_text(300)),
        }
    ),
    "adjustment": st.fixed_dictionaries(
        {
            "personal_id": _pid,
            "full_name": _opt(_text(120)),
            "occupation": _opt(_text(120)),
            "valid_from": _date,
            "salary": _money,
            "allowances": _money,
            "note": _opt(_text(300)),
        }
    ),
    "employer": st.fixed_dictionaries(
        {
            "change": st.sampled_from(["register", "change"]),
            "unit_code": _re(r"[0-9A-Z][0-9A-Z\-]{0,12}"),
            "unit_type": _re(r"[0-9A-Z]{1,4}"),
            "participant_group": _re(r"[0-9A-Z]{1,4}"),
            "name": _text(200),
            "tax_code": _opt(_re(r"[0-9]{10}(-[0-9]{3})?")),
            "address_unit_code": _re(r"[0-9]{5}"),
            "address": _opt(_text(200)),
            "wage_region": st.integers(1, 4),
            "sector": _opt(_text(60)),
            "phone": _opt(_phone),
            "email": _opt(_email),
        }
    ),
    "card": st.fixed_dictionaries(
        {
            "personal_id": _pid,
            "full_name": _opt(_text(120)),
            "card_number": _opt(_re(r"[A-Z]{2}[1-5][0-9]{12}|[0-9]{10}")),
            "reason": st.sampled_from(["lost", "damaged", "changed_info"]),
            "hospital_code": _opt(_hospital),
            "note": _opt(_text(300)),
        }
    ),
}
_KINDS = {
    "600": ["increase", "decrease", "adjustment"],
    "604": ["employer"],
    "THE-CAPLAI": ["card"],
}


@st.composite
def packages(draw: st.DrawFn, procedure: str) -> Package:
    kinds = _KINDS[procedure]
    count = 1 if procedure == "604" else draw(st.integers(1, 6))
    numbers = draw(st.lists(st.integers(1, 999_999), min_size=count, max_size=count, unique=True))
    rows = []
    for number in numbers:
        kind = draw(st.sampled_from(kinds))
        data = draw(_ROW_DATA[kind])
        rows.append(RowData(number, kind, data.get("personal_id", ""), data))
    names = draw(
        st.lists(_re(r"[A-Za-z0-9][A-Za-z0-9 ._\-]{0,30}[A-Za-z0-9]"), max_size=3, unique=True)
    )
    attachments = [
        formats.attachment(
            name,
            draw(st.sampled_from(["application/pdf", "image/jpeg", "image/png", "image/tiff"])),
            draw(st.binary(max_size=300)),
        )
        for name in names
    ]
    ivan = draw(st.booleans())
    return Package(
        procedure_code=procedure,
        version="1.0",
        transaction_id=draw(_re(r"[A-Za-z0-9][A-Za-z0-9._:\-]{0,63}")),
        employer=EmployerRef(
            unit_code=draw(_re(r"[0-9A-Z][0-9A-Z\-]{0,12}")),
            tax_code=draw(_opt(_re(r"[0-9]{10}(-[0-9]{3})?"))),
            name=draw(_text(200)),
        ),
        signed_at=draw(st.none() | _instant),
        ivan_code=draw(_re(r"[0-9A-Za-z][0-9A-Za-z_\-]{0,19}")) if ivan else "",
        ivan_received_at=draw(_instant) if ivan else None,
        rows=rows,
        attachments=attachments,
    )


@pytest.mark.parametrize("procedure", ["600", "604", "THE-CAPLAI"])
@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(data=st.data())
def test_roundtrip(procedure: str, data: st.DataObject) -> None:
    """read(parse(build(p))) == p for any valid package of each procedure."""
    package = data.draw(packages(procedure))
    assert roundtrip(package) == package


# --- value checks shared with the spreadsheet and forms --------------------------------------


def test_value_ok_uses_the_xsd_facets() -> None:
    ok = formats.value_ok
    assert ok("600", "1.0", "PersonalId", "001090012345")
    assert not ok("600", "1.0", "PersonalId", "0010 9001234")
    assert ok("600", "1.0", "SsNumber", "0109001234")
    assert not ok("600", "1.0", "SsNumber", "010900123")
    assert ok("600", "1.0", "Money", "10000000000")
    assert not ok("600", "1.0", "Money", "10000000001")
    assert not ok("600", "1.0", "Date", "2026-02-30")
    assert not ok("600", "1.0", "Text120", "x" * 121)
    assert ok("604", "1.0", "WageRegion", "4") and not ok("604", "1.0", "WageRegion", "5")
    assert formats.enumeration("600", "1.0", "Sex") == ("M", "F")
    assert "changed_info" in formats.enumeration("THE-CAPLAI", "1.0", "CardReason")


# --- Performance -------------------------------------------------------------------------------


def test_thousand_row_d02_lt_reads_and_validates_fast() -> None:
    """Goal: reading and validating a 1,000-row D02-LT well under 0.5 s (parse included)."""
    package = builder.example_package("600", rows=1000)
    data = builder.build(package)
    timings = []
    for _ in range(5):
        start = time.perf_counter()
        root = parse(data)
        formats.identify(root)
        formats.validate(root)
        read = formats.read(root)
        timings.append(time.perf_counter() - start)
    assert read == package
    best = min(timings)
    print(f"1,000-row D02-LT ({len(data):,} bytes): parse+validate+read best {best * 1000:.0f} ms")
    assert best < 0.5
