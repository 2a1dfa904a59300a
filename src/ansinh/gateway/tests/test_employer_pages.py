"""Pages for employers without software: their dossiers, the XLSX template and upload, the short
web form, and the upload of the file they signed themselves (Decree 166/2016/NĐ-CP Art. 9–11:
the employer signs its own dossier; the agency never holds its key)."""

from __future__ import annotations

import io

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client
from django.urls import reverse
from lxml import etree
from openpyxl import load_workbook

from ansinh.access.testing import login_verified, make_user
from ansinh.gateway import builder, formats, xlsx
from ansinh.gateway import testing as gw
from ansinh.gateway.models import Channel, Submission, Verdict
from ansinh.onestop.testing import make_office
from ansinh.registry.testing import make_employer, make_person

pytestmark = pytest.mark.django_db


@pytest.fixture
def office():
    return make_office(province_code="01")


@pytest.fixture
def employer():
    gw.trust_test_ca()
    emp = make_employer(tax_code="0101234567")
    gw.register_etrans(emp)
    return emp


@pytest.fixture
def clerk(client: Client, employer) -> Client:
    """A signed-in user of the employer's own organisation."""
    return login_verified(client, make_user("employer", org=gw.employer_org(employer)))


def test_employer_pages_are_for_employer_users_only(client: Client, clerk: Client) -> None:
    """An employer's clerk opens the pages; an officer of an office gets 403."""
    for name in ("employer_home", "employer_upload", "employer_form", "employer_submit"):
        assert clerk.get(reverse(f"gateway:{name}")).status_code == 200, name
    officer = Client()
    login_verified(officer, make_user("officer"))
    for name in ("employer_home", "employer_upload", "employer_form", "employer_submit"):
        assert officer.get(reverse(f"gateway:{name}")).status_code == 403, name
    url = reverse("gateway:employer_template", args=["600"])
    assert officer.get(url).status_code == 403
    assert Client().get(reverse("gateway:employer_home")).status_code == 302  # sign in first


def test_template_download_opens_in_openpyxl(clerk: Client) -> None:
    response = clerk.get(reverse("gateway:employer_template", args=["600"]))
    assert response.status_code == 200
    assert "spreadsheetml" in response["Content-Type"]
    wb = load_workbook(io.BytesIO(response.content))
    assert xlsx.SHEETS["600"] in wb.sheetnames
    assert clerk.get(reverse("gateway:employer_template", args=["999"])).status_code == 404


def _filled_workbook(rows: list[dict]) -> bytes:
    wb = load_workbook(io.BytesIO(xlsx.template("600")))
    ws = wb[xlsx.SHEETS["600"]]
    column = {}
    for cell in ws[2]:
        if cell.value:
            column[str(cell.value).split(" ", 1)[0]] = cell.column
    for r, values in enumerate(rows, start=xlsx.FIRST_DATA_ROW):
        for key, value in values.items():
            ws.cell(row=r, column=column[key], value=value)
    out = io.BytesIO()
    wb.save(out)
    return out.getvalue()


def _row(n: int, **over) -> dict:
    data = builder.example_row("increase", n).data
    keep = ("personal_id", "full_name", "date_of_birth", "sex", "contract_type", "start", "salary")
    return {"kind": "increase", **{k: data[k] for k in keep}, **over}


def test_xlsx_upload_with_one_bad_row_shows_the_error(clerk: Client) -> None:
    content = _filled_workbook([_row(1), _row(2, date_of_birth="31/02/1990")])
    upload = SimpleUploadedFile("d02.xlsx", content)
    response = clerk.post(
        reverse("gateway:employer_upload"), {"procedure": "600", "workbook": upload}
    )
    assert response.status_code == 200
    html = response.content.decode()
    assert 'id="row-errors"' in html and "date_invalid" in html
    assert ">4<" in html  # the spreadsheet row of the bad line
    assert "dossier.xml" not in html and not Submission.objects.exists()


def test_valid_xlsx_upload_builds_the_unsigned_dossier(clerk: Client, employer) -> None:
    upload = SimpleUploadedFile("d02.xlsx", _filled_workbook([_row(1), _row(2)]))
    response = clerk.post(
        reverse("gateway:employer_upload"), {"procedure": "600", "workbook": upload}
    )
    assert response.status_code == 200
    assert "xmlsec1 --sign" in response.content.decode()
    xml = clerk.get(reverse("gateway:employer_download")).content
    package = formats.read(etree.fromstring(xml))
    assert len(package.rows) == 2 and package.employer.unit_code == employer.unit_code
    assert package.transaction_id.startswith(f"{employer.unit_code}-")


def _form_data(rows: list[dict]) -> dict:
    data = {
        "rows-TOTAL_FORMS": "5",
        "rows-INITIAL_FORMS": "0",
        "rows-MIN_NUM_FORMS": "0",
        "rows-MAX_NUM_FORMS": "5",
    }
    for i, row in enumerate(rows):
        data.update({f"rows-{i}-{k}": v for k, v in row.items()})
    return data


def test_web_form_builds_schema_valid_xml(clerk: Client, employer) -> None:
    person = builder.example_row("increase", 3).data
    row = {
        "personal_id": person["personal_id"],
        "full_name": person["full_name"],
        "date_of_birth": person["date_of_birth"],
        "sex": person["sex"],
        "address_unit_code": "00004",
        "start": "2026-11-01",
        "contract_type": "indefinite",
        "salary": "9000000",
    }
    response = clerk.post(reverse("gateway:employer_form"), _form_data([row]))
    assert response.status_code == 200
    html = response.content.decode()
    assert "ansinh.gateway.client sign" in html and "xmlsec1" in html
    xml = clerk.get(reverse("gateway:employer_download")).content
    root = etree.fromstring(xml)
    formats.validate(root)  # raises if the dossier is not schema-valid
    package = formats.read(root)
    assert [r.data["salary"] for r in package.rows] == [9_000_000]
    assert package.employer.unit_code == employer.unit_code


def test_web_form_reports_missing_fields(clerk: Client) -> None:
    response = clerk.post(reverse("gateway:employer_form"), _form_data([{"full_name": "An"}]))
    assert response.status_code == 200
    assert "field-error" in response.content.decode()


def test_signed_upload_is_received_and_listed(clerk: Client, office, employer) -> None:
    person = make_person()
    package = gw.package_600(employer, [gw.increase_row(1, person)], transaction_id="WEB-1")
    signed = gw.signed(package, gw.employer_identity(employer))
    upload = SimpleUploadedFile("signed.xml", signed, content_type="application/xml")
    response = clerk.post(reverse("gateway:employer_submit"), {"signed": upload})
    assert response.status_code == 200
    sub = Submission.objects.get(transaction_id="WEB-1")
    assert sub.verdict == Verdict.ACCEPTED and sub.channel == Channel.WEB
    html = response.content.decode()
    assert sub.dossier.code in html and 'id="receipt"' in html
    home = clerk.get(reverse("gateway:employer_home")).content.decode()
    assert sub.dossier.code in home and "WEB-1" in home
    receipt = clerk.get(reverse("gateway:employer_receipt", args=[sub.pk]))
    assert receipt.status_code == 200 and receipt.content == bytes(sub.receipt_xml)


def test_unsigned_upload_is_refused_with_both_messages(clerk: Client, office, employer) -> None:
    package = gw.package_600(employer, [gw.increase_row(1, make_person())])
    upload = SimpleUploadedFile("d.xml", builder.build(package), content_type="application/xml")
    response = clerk.post(reverse("gateway:employer_submit"), {"signed": upload})
    html = response.content.decode()
    assert response.status_code == 200 and 'id="refusal"' in html
    assert "signature_missing" in html
    evidence = Submission.objects.get()
    assert evidence.verdict == Verdict.REFUSED and evidence.channel == Channel.WEB


def test_another_employers_receipt_is_not_found(clerk: Client, office) -> None:
    other = make_employer(tax_code="0109999999")
    gw.register_etrans(other)
    package = gw.package_600(other, [gw.increase_row(1, make_person())], transaction_id="O-1")
    from ansinh.gateway import services

    sub = services.submit(
        gw.signed(package, gw.employer_identity(other)), submitter=gw.employer_org(other)
    ).submission
    assert clerk.get(reverse("gateway:employer_receipt", args=[sub.pk])).status_code == 404
