"""Employer pages for procedures 604 (TK3-TS, the employer's own details) and THE-CAPLAI
(health insurance card reissue), with the same flow as 600: build the unsigned XML, the employer
signs it with its own tool, uploads it, follows the result (Decree 166/2016/NĐ-CP Art. 9–11;
the card reissue procedure of the VSS catalogue, THE-CAPLAI: same number, same benefits)."""

from __future__ import annotations

import datetime as dt
import io
from typing import Any

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client
from django.urls import reverse
from lxml import etree
from openpyxl import load_workbook

from ansinh.access.models import AuditEvent
from ansinh.access.testing import login_verified, make_org, make_user
from ansinh.contributions import services as contributions
from ansinh.gateway import client as signer
from ansinh.gateway import formats, services, xlsx
from ansinh.gateway import testing as gw
from ansinh.gateway.models import RowStatus, Submission, Verdict
from ansinh.onestop.testing import make_office
from ansinh.registry import services as registry
from ansinh.registry.models import Employer, HealthInsuranceCard
from ansinh.registry.testing import make_employer, make_person

pytestmark = pytest.mark.django_db


@pytest.fixture
def office():
    return make_office(province_code="01")


@pytest.fixture
def employer():
    gw.trust_test_ca()
    emp = make_employer(tax_code="0101234567", sector="Cơ khí")
    gw.register_etrans(emp)
    return emp


@pytest.fixture
def clerk(client: Client, employer) -> Client:
    return login_verified(client, make_user("employer", org=gw.employer_org(employer)))


def built_package(clerk: Client) -> tuple[bytes, formats.Package]:
    xml = clerk.get(reverse("gateway:employer_download")).content
    root = etree.fromstring(xml)
    formats.validate(root)
    return xml, formats.read(root)


def sign_and_submit(clerk: Client, xml: bytes, employer: Employer) -> Submission:
    ident = gw.employer_identity(employer)
    signed = signer.sign(xml, ident.key_pem, ident.cert_pem)
    upload = SimpleUploadedFile("signed.xml", signed, content_type="application/xml")
    response = clerk.post(reverse("gateway:employer_submit"), {"signed": upload})
    assert response.status_code == 200 and 'id="receipt"' in response.content.decode()
    return Submission.objects.filter(verdict=Verdict.ACCEPTED).latest("id")


def details_post(employer: Employer, **over: Any) -> dict[str, Any]:
    data = {
        "unit_type": employer.unit_type,
        "participant_group": employer.participant_group,
        "name": employer.name,
        "tax_code": employer.tax_code,
        "address_unit_code": employer.address_unit.code,
        "address": "",
        "wage_region": str(employer.wage_region),
        "sector": employer.sector,
        "phone": "",
        "email": "",
    }
    data.update(over)
    return data


# --- 604 -----------------------------------------------------------------------------------------


def test_details_form_is_prefilled_from_the_registry(clerk: Client, employer) -> None:
    response = clerk.get(reverse("gateway:employer_details"))
    assert response.status_code == 200
    form = response.context["form"]
    assert form.initial["name"] == employer.name and form.initial["sector"] == "Cơ khí"
    assert form.initial["address_unit_code"] == employer.address_unit.code
    html = response.content.decode()
    assert employer.unit_code in html and 'id="change-kind"' in html


def test_details_change_builds_a_604_dossier_that_processing_applies(
    clerk: Client, office, employer
) -> None:
    """TK3-TS change of the sector: built, signed by the employer, received and applied."""
    url = reverse("gateway:employer_details")
    same = clerk.post(url, details_post(employer))
    assert same.status_code == 400 and "no_change" in same.content.decode()
    bad = clerk.post(url, details_post(employer, tax_code="12345"))
    assert bad.status_code == 400 and "field-error" in bad.content.decode()

    response = clerk.post(url, details_post(employer, sector="Cơ khí chính xác"))
    assert response.status_code == 200 and "xmlsec1" in response.content.decode()
    xml, package = built_package(clerk)
    assert package.procedure_code == "604" and len(package.rows) == 1
    row = package.rows[0]
    assert row.kind == "employer" and row.data["change"] == "change"
    assert row.data["unit_code"] == employer.unit_code
    assert row.data["sector"] == "Cơ khí chính xác"

    sub = sign_and_submit(clerk, xml, employer)
    sub = services.process_submission(sub.pk)
    decided = sub.rows.get()
    assert decided.status == RowStatus.ACCEPTED, decided.message_en
    employer.refresh_from_db()
    assert employer.sector == "Cơ khí chính xác"
    page = clerk.get(reverse("gateway:employer_submission", args=[sub.pk]))
    assert page.status_code == 200 and 'id="result-link"' in page.content.decode()


def test_wage_region_change_is_flagged_as_the_agencys_decision(clerk: Client, employer) -> None:
    response = clerk.post(
        reverse("gateway:employer_details"), details_post(employer, wage_region="2")
    )
    assert response.status_code == 200  # built; the officer decides after receipt
    _xml, package = built_package(clerk)
    assert package.rows[0].data["wage_region"] == 2


def test_a_unit_not_yet_registered_may_only_register(client: Client) -> None:
    org = make_org(kind="employer", scope_codes=(), code="0109876543", name="Công ty TNHH Mới")
    login_verified(client, make_user("employer", org=org))
    home = client.get(reverse("gateway:employer_home"))
    assert home.status_code == 200 and 'id="register-first"' in home.content.decode()
    assert client.get(reverse("gateway:employer_form")).status_code == 403
    assert client.get(reverse("gateway:employer_cards")).status_code == 403
    template = client.get(reverse("gateway:employer_template", args=["600"]))
    assert template.status_code == 404
    assert client.get(reverse("gateway:employer_template", args=["604"])).status_code == 200

    details = client.get(reverse("gateway:employer_details"))
    assert details.status_code == 200 and details.context["change"] == "register"
    commune = make_employer().address_unit.code
    response = client.post(
        reverse("gateway:employer_details"),
        {
            "unit_type": "dn",
            "participant_group": "DN",
            "name": "Công ty TNHH Mới",
            "tax_code": "0109876543",
            "address_unit_code": commune,
            "address": "Số 2 phố Mới",
            "wage_region": "1",
            "sector": "Thương mại",
            "phone": "0241234567",
            "email": "ketoan@moi.example.vn",
        },
    )
    assert response.status_code == 200
    _xml, package = built_package(client)
    row = package.rows[0]
    assert (row.data["change"], row.data["unit_code"], row.data["unit_type"]) == (
        "register",
        "0109876543",
        "DN",
    )
    assert package.employer.unit_code == "0109876543"


# --- THE-CAPLAI ----------------------------------------------------------------------------------


def worker(employer: Employer, *, card: bool = True, **kw: Any) -> Any:
    person = make_person(**kw)
    contributions.report_increase(
        employer=employer,
        person=person,
        start=dt.date(2025, 3, 1),
        contract_type="indefinite",
        salary=9_000_000,
    )
    if card:
        registry.issue_card(
            person,
            participant_group="DN",
            benefit_level=4,
            province_code="01",
            valid_from=dt.date(2025, 3, 1),
            facility_code="01001",
        )
    return person


def cards_post(lines: list[dict[str, Any]], total: int) -> dict[str, Any]:
    data: dict[str, Any] = {
        "w-TOTAL_FORMS": str(total),
        "w-INITIAL_FORMS": str(total),
        "w-MIN_NUM_FORMS": "0",
        "w-MAX_NUM_FORMS": "1000",
    }
    for i, line in enumerate(lines):
        data.update({f"w-{i}-{k}": v for k, v in line.items()})
    return data


def test_card_page_lists_only_the_employers_current_workers(clerk: Client, employer) -> None:
    mine = worker(employer, full_name="Lê Thị Mai")
    other_employer = make_employer(tax_code="0107777777")
    theirs = worker(other_employer, full_name="Trần Văn Khoa")
    response = clerk.get(reverse("gateway:employer_cards"))
    assert response.status_code == 200
    html = response.content.decode()
    assert "Lê Thị Mai" in html and "Trần Văn Khoa" not in html
    assert mine.personal_id not in html  # masked on screen
    assert mine.personal_id[-4:] in html and theirs.personal_id[-4:] not in html
    read = AuditEvent.objects.filter(object_type="employer_workers").latest("id")
    assert read.detail == {"workers": 1, "search": False}
    found = clerk.get(reverse("gateway:employer_cards"), {"q": "mai"}).context["lines"]
    assert [line["worker"].full_name for line in found] == ["Lê Thị Mai"]


def test_card_reissue_builds_a_dossier_from_registry_data_and_is_processed(
    clerk: Client, office, employer
) -> None:
    lost = worker(employer, full_name="Lê Thị Mai")
    other = worker(employer, full_name="Phạm Văn Nam", sex="M")
    lines = clerk.get(reverse("gateway:employer_cards")).context["lines"]
    spells = {line["worker"].full_name: line["worker"].spell_id for line in lines}
    url = reverse("gateway:employer_cards")

    nothing = clerk.post(url, cards_post([{"spell": s} for s in spells.values()], 2))
    assert nothing.status_code == 400 and "no_rows" in nothing.content.decode()
    no_note = cards_post(
        [
            {"spell": spells["Lê Thị Mai"], "selected": "on", "reason": "changed_info"},
            {"spell": spells["Phạm Văn Nam"]},
        ],
        2,
    )
    assert clerk.post(url, no_note).status_code == 400

    chosen = cards_post(
        [
            {
                "spell": spells["Lê Thị Mai"],
                "selected": "on",
                "reason": "lost",
                "hospital_code": "01002",
            },
            {"spell": spells["Phạm Văn Nam"]},
        ],
        2,
    )
    response = clerk.post(url, chosen)
    assert response.status_code == 200, response.content.decode()[-800:]
    xml, package = built_package(clerk)
    assert package.procedure_code == "THE-CAPLAI" and len(package.rows) == 1
    data = package.rows[0].data
    assert data["personal_id"] == lost.personal_id and data["full_name"] == "Lê Thị Mai"
    assert data["reason"] == "lost" and data["hospital_code"] == "01002"
    old = HealthInsuranceCard.objects.get(person=lost)
    assert data["card_number"] == old.number
    assert other.personal_id not in xml.decode()

    sub = sign_and_submit(clerk, xml, employer)
    sub = services.process_submission(sub.pk)
    row = sub.rows.get()
    assert row.status == RowStatus.ACCEPTED, row.message_en
    fresh = HealthInsuranceCard.objects.get(person=lost, revoked=False)
    assert fresh.number == old.number and fresh.initial_facility_code == "01002"
    page = clerk.get(reverse("gateway:employer_submission", args=[sub.pk])).content.decode()
    assert 'data-status="accepted"' in page and old.number in page


def test_card_request_for_a_worker_of_another_employer_is_refused(clerk: Client, employer) -> None:
    worker(employer)
    stranger = make_employer(tax_code="0106666666")
    make_person_spell = worker(stranger)
    spell = make_person_spell.spells.get().pk
    response = clerk.post(
        reverse("gateway:employer_cards"),
        cards_post([{"spell": spell, "selected": "on", "reason": "lost"}], 1),
    )
    assert response.status_code == 404


def test_templates_of_every_procedure_download(clerk: Client) -> None:
    for procedure in ("600", "604", "THE-CAPLAI"):
        response = clerk.get(reverse("gateway:employer_template", args=[procedure]))
        assert response.status_code == 200 and "spreadsheetml" in response["Content-Type"]


def test_another_employers_submission_page_is_not_found(clerk: Client, office) -> None:
    other = make_employer(tax_code="0105555555")
    gw.register_etrans(other)
    package = gw.package_600(other, [gw.increase_row(1, make_person())], transaction_id="X-1")
    sub = services.submit(
        gw.signed(package, gw.employer_identity(other)), submitter=gw.employer_org(other)
    ).submission
    assert clerk.get(reverse("gateway:employer_submission", args=[sub.pk])).status_code == 404


def test_filled_604_template_uploads_into_a_604_dossier(clerk: Client, employer) -> None:
    """The upload page takes every procedure's template: here TK3-TS filled in a spreadsheet."""
    wb = load_workbook(io.BytesIO(xlsx.template("604")))
    ws = wb[xlsx.SHEETS["604"]]
    column = {str(c.value).split(" ", 1)[0]: c.column for c in ws[2] if c.value}
    values = {
        "change": "change",
        "unit_code": employer.unit_code,
        "unit_type": "DN",
        "participant_group": "DN",
        "name": employer.name,
        "address_unit_code": employer.address_unit.code,
        "wage_region": "Vùng I",
        "sector": "Cơ khí chế tạo",
    }
    for key, value in values.items():
        ws.cell(row=xlsx.FIRST_DATA_ROW, column=column[key], value=value)
    out = io.BytesIO()
    wb.save(out)
    upload = SimpleUploadedFile("tk3.xlsx", out.getvalue())
    response = clerk.post(
        reverse("gateway:employer_upload"), {"procedure": "604", "workbook": upload}
    )
    assert response.status_code == 200, response.content.decode()[-600:]
    _xml, package = built_package(clerk)
    assert package.procedure_code == "604"
    assert package.rows[0].data["sector"] == "Cơ khí chế tạo"
