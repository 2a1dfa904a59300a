"""Staff pages of the registry: search, the purpose asked before a record opens, scope, audit.

Decree 13/2023/NĐ-CP Art. 3 (purpose limitation) and Art. 27 (logging): a record opens only
for a stated purpose and every search and read leaves an audit event."""

from __future__ import annotations

import datetime as dt
import re
import time
from collections.abc import Iterator

import pytest
from django.core.cache import cache
from django.test import Client
from django.urls import reverse

from ansinh.access.models import AuditEvent
from ansinh.access.testing import login_verified, make_org, make_user
from ansinh.places.models import AdminUnit, UnitLevel, UnitSystem
from ansinh.registry import views
from ansinh.registry.models import IdentityCheck, Person
from ansinh.registry.testing import make_employer, make_person


@pytest.fixture(autouse=True)
def _fresh_caches() -> Iterator[None]:
    """Rule rows written by a test are rolled back after it: forget what was cached."""
    cache.clear()
    yield
    from ansinh.law.selectors import clear_cache
    from ansinh.law.services import forget_snapshots

    clear_cache()
    forget_snapshots()


@pytest.fixture
def officer(admin_units: None):
    return make_user("officer", org=make_org(scope_codes=("01",)))


@pytest.fixture
def staff(client: Client, officer) -> Client:
    return login_verified(client, officer)


def _other_province_commune() -> str:
    unit = (
        AdminUnit.objects.filter(system=UnitSystem.CURRENT, level=UnitLevel.COMMUNE)
        .exclude(province_code="01")
        .order_by("code")
        .first()
    )
    return unit.code


def _open(client: Client, person: Person, purpose: str = "verification", text: str = ""):
    url = reverse("registry:person_detail", args=[person.ss_number])
    client.post(url, {"purpose": purpose, "purpose_text": text})
    return client.get(url)


@pytest.mark.django_db
def test_search_requires_login(client: Client) -> None:
    response = client.get(reverse("registry:person_search"), {"q": "an"})
    assert response.status_code == 302
    assert response["Location"].startswith(reverse("access:login"))
    assert not AuditEvent.objects.filter(action="search").exists()


def test_search_by_name_without_diacritics_is_audited_without_the_query(staff, officer) -> None:
    person = make_person(full_name="Nguyễn Thị Ánh")
    make_person(full_name="Trần Văn Bảo")
    response = staff.get(reverse("registry:person_search"), {"q": "nguyen anh"})
    assert response.status_code == 200
    html = response.content.decode()
    assert person.ss_number in html and "Nguyễn Thị Ánh" in html
    assert "Trần Văn Bảo" not in html
    event = AuditEvent.objects.get(action="search", object_type="person")
    assert event.actor == officer
    assert event.detail["results"] == 1
    assert "nguyen" not in str(event.detail) and person.ss_number not in str(event.detail)


def test_search_results_follow_vietnamese_order(staff) -> None:
    """Given name first, then the Vietnamese alphabet: Anh < Ánh < Bình, whatever the family."""
    for name in ("Trần Văn Bình", "Nguyễn Thị Ánh", "Lê Thị Anh"):
        make_person(full_name=name, date_of_birth=dt.date(1988, 3, 3))
    html = staff.get(reverse("registry:person_search"), {"dob": "1988-03-03"}).content.decode()
    positions = [html.index(n) for n in ("Lê Thị Anh", "Nguyễn Thị Ánh", "Trần Văn Bình")]
    assert positions == sorted(positions)


def test_search_partial_for_htmx_and_out_of_scope_persons_hidden(staff) -> None:
    make_person(full_name="Võ Văn Khang", address_unit_code=_other_province_commune())
    mine = make_person(full_name="Võ Thị Khánh")
    response = staff.get(
        reverse("registry:person_search"), {"q": "vo kha"}, headers={"HX-Request": "true"}
    )
    html = response.content.decode()
    assert "<html" not in html  # only the results table
    assert mine.ss_number in html
    assert "Võ Văn Khang" not in html


def test_search_reports_bad_date_and_unknown_unit(staff) -> None:
    html = staff.get(reverse("registry:person_search"), {"dob": "17/05/1990"}).content.decode()
    assert 'aria-invalid="true"' in html
    html = staff.get(reverse("registry:person_search"), {"province": "99"}).content.decode()
    assert "99" in html and 'class="alert alert-bad"' in html
    assert not AuditEvent.objects.filter(action="search").exists()


def test_person_record_asks_for_a_purpose_first(staff) -> None:
    person = make_person(full_name="Đặng Văn Hải")
    url = reverse("registry:person_detail", args=[person.ss_number])
    response = staff.get(url)
    assert response.status_code == 200
    assert 'name="purpose"' in response.content.decode()
    assert "Đặng Văn Hải" not in response.content.decode()
    assert not AuditEvent.objects.filter(action="read").exists()
    refused = staff.post(url, {"purpose": "curiosity"})
    assert refused.status_code == 400
    assert not AuditEvent.objects.filter(action="read").exists()


def test_person_record_read_is_audited_with_the_purpose(staff, officer) -> None:
    person = make_person(full_name="Đặng Văn Hải")
    response = _open(staff, person, "dossier", "HS-2026-0042")
    assert response.status_code == 200
    assert "Đặng Văn Hải" in response.content.decode()
    event = AuditEvent.objects.get(action="read", object_type="person", object_id=str(person.pk))
    assert event.actor == officer
    assert event.purpose == "dossier: HS-2026-0042"
    # The purpose is remembered: the next record opens without asking again.
    other = make_person(full_name="Hồ Thị Lan")
    again = staff.get(reverse("registry:person_detail", args=[other.ss_number]))
    assert "Hồ Thị Lan" in again.content.decode()


def test_purpose_is_forgotten_after_thirty_minutes(staff, monkeypatch) -> None:
    person = make_person()
    _open(staff, person)
    later = time.time() + views.PURPOSE_MINUTES * 60 + 1
    monkeypatch.setattr(views.time, "time", lambda: later)
    response = staff.get(reverse("registry:person_detail", args=[person.ss_number]))
    assert 'name="purpose"' in response.content.decode()


def test_out_of_scope_person_is_refused_and_the_attempt_logged(staff) -> None:
    person = make_person(full_name="Lý Văn Minh", address_unit_code=_other_province_commune())
    response = _open(staff, person)
    assert response.status_code == 403
    html = response.content.decode()
    assert "Lý Văn Minh" not in html
    assert "out_of_scope" in html
    assert AuditEvent.objects.filter(action="denied", object_id=str(person.pk)).exists()
    assert not AuditEvent.objects.filter(action="read", object_id=str(person.pk)).exists()


def test_legacy_number_redirects_to_the_record(staff) -> None:
    person = make_person(legacy_numbers=["0123456789"])
    response = staff.get(reverse("registry:person_detail", args=["0123456789"]))
    assert response.status_code == 302
    assert response["Location"] == reverse("registry:person_detail", args=[person.ss_number])
    assert staff.get(reverse("registry:person_detail", args=["000000000000"])).status_code == 404


def test_flagged_identity_shows_a_warning(staff) -> None:
    person = make_person()
    Person.objects.filter(pk=person.pk).update(
        identity_check=IdentityCheck.FLAGGED, identity_flags="birth_year_mismatch"
    )
    html = _open(staff, person).content.decode()
    assert 'class="alert alert-warn"' in html
    assert "birth_year_mismatch" in html


def test_audit_trail_details_for_managers_count_for_officers(admin_units: None) -> None:
    org = make_org(scope_codes=("01",))
    person = make_person()
    officer = login_verified(Client(), make_user("officer", org=org))
    manager_user = make_user("manager", org=org)
    manager = login_verified(Client(), manager_user)
    html = _open(officer, person).content.decode()
    assert 'id="audit-trail"' not in html
    html = _open(manager, person, "inspection").content.decode()
    assert 'id="audit-trail"' in html
    assert manager_user.username in html


def test_ethnicity_only_with_the_sensitive_permission(admin_units: None) -> None:
    from ansinh.registry.services import set_ethnicity

    org = make_org(scope_codes=("01",))
    person = make_person()
    set_ethnicity(person, "01")
    officer = login_verified(Client(), make_user("officer", org=org))
    assert "Ethnicity" not in _page_in_english(officer, person)
    privileged = make_user("officer", org=org)
    from django.contrib.auth.models import Permission

    privileged.user_permissions.add(Permission.objects.get(codename="view_sensitive"))
    client = login_verified(Client(), privileged)
    assert "Ethnicity" in _page_in_english(client, person)


def _page_in_english(client: Client, person: Person) -> str:
    client.post("/i18n/setlang/", {"language": "en", "next": "/"})
    return _open(client, person).content.decode()


def test_employer_search_and_page(staff) -> None:
    employer = make_employer(name="Công ty Cổ phần Sông Hồng")
    html = staff.get(reverse("registry:employer_search"), {"q": "song hong"}).content.decode()
    assert employer.unit_code in html
    url = reverse("registry:employer_detail", args=[employer.unit_code])
    staff.post(url, {"purpose": "inspection"})
    response = staff.get(url)
    assert response.status_code == 200
    assert "Công ty Cổ phần Sông Hồng" in response.content.decode()
    assert AuditEvent.objects.filter(object_type="employer", action="read").exists()


def _history(person: Person, employer, months: int = 6, paid: int = 5) -> list:
    """``months`` months from January 2025 billed, the first ``paid`` of them paid in full."""
    from ansinh.contributions import services as ledger
    from ansinh.law.services import sync_rules

    sync_rules()
    ledger.report_increase(
        employer=employer,
        person=person,
        start=dt.date(2025, 1, 1),
        contract_type="indefinite",
        salary=10_000_000,
    )
    bills = []
    for month in range(1, months + 1):
        ledger.build_month(employer, 202500 + month)
        bill = ledger.issue_bill(employer, 202500 + month)
        if month <= paid:
            ledger.record_payment(
                employer=employer,
                amount=bill.amount,
                received_on=bill.due_on,
                reference=f"UNC{month}",
            )
        bills.append(bill)
    return bills


def test_person_page_shows_the_month_grid_and_totals(staff) -> None:
    """A month counts once paid (Law 41/2024 Art. 33); the billed, unpaid month shows apart."""
    person = make_person()
    _history(person, make_employer(), months=6, paid=5)
    html = _page_in_english(staff, person)
    assert 'id="history-grid"' in html
    for scheme in ("bhxh", "bhyt", "bhtn"):
        assert f'data-scheme="{scheme}"' in html
    assert html.count('class="st-paid"') == 15  # 5 months × 3 schemes
    assert html.count('class="st-billed"') == 3
    assert "<b>5</b> months of BHXH" in html
    assert "<b>10,000,000</b>" in html  # average insured salary of the paid months
    assert "06/2025 · billed, not paid" in html  # the cell's text for screen readers


def test_grid_cells_are_described_in_text(staff) -> None:
    person = make_person()
    _history(person, make_employer(name="Công ty Ánh Dương"), months=1, paid=1)
    html = _page_in_english(staff, person)
    assert '<span class="sr-only">01/2025 · paid · 10.000.000 đ · Công ty Ánh Dương</span>' in html


def test_employer_page_shows_bills_chart_and_arrears(staff) -> None:
    employer = make_employer(name="Công ty Cổ phần Sông Đà")
    bills = _history(make_person(), employer, months=3, paid=1)
    url = reverse("registry:employer_detail", args=[employer.unit_code])
    staff.post("/i18n/setlang/", {"language": "en", "next": "/"})
    staff.post(url, {"purpose": "inspection"})
    html = staff.get(url).content.decode()
    assert "<svg" in html and html.count('class="b-paid"') == 3
    assert 'class="alert alert-bad"' in html  # overdue bills of 2025 are arrears today
    assert html.count('<tr class="arrears">') == 2
    bill_url = reverse("contributions:bill_detail", args=[employer.unit_code, bills[0].period])
    assert bill_url in html
    # SVG coordinates are never localised (Vietnamese writes 12,5 for 12.5).
    staff.post("/i18n/setlang/", {"language": "vi", "next": "/"})
    svg = staff.get(url).content.decode().split("<svg", 1)[1].split("</svg>", 1)[0]
    coordinates = re.findall(r' (?:x|y|width|height|x1|x2|y1|y2)="([^"]*)"', svg)
    assert coordinates and all(re.fullmatch(r"-?\d+(\.\d+)?", c) for c in coordinates)


def test_bill_detail_lists_rows_totals_and_legal_basis(staff) -> None:
    employer = make_employer()
    person = make_person(full_name="Bùi Thị Hoa")
    bill = _history(person, employer, months=1, paid=1)[0]
    url = reverse("contributions:bill_detail", args=[employer.unit_code, bill.period])
    assert 'name="purpose"' in staff.get(url).content.decode()
    staff.post(url, {"purpose": "verification"})
    html = staff.get(url).content.decode()
    assert "Bùi Thị Hoa" in html
    row = bill.rows.get()
    assert row.basis.citation.split(";")[0][:20] in html
    assert html.count(f"{bill.amount:,}".replace(",", ".")) >= 2  # the bill and the row total
    assert 'id="allocations"' in html


def test_bill_of_an_employer_out_of_scope_is_refused(staff) -> None:
    employer = make_employer(address_unit_code=_other_province_commune())
    bill = _history(make_person(), employer, months=1, paid=0)[0]
    url = reverse("contributions:bill_detail", args=[employer.unit_code, bill.period])
    staff.post(url, {"purpose": "inspection"})
    assert staff.get(url).status_code == 403
