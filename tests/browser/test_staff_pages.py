"""The staff pages in a real browser (headless Chromium driven by Playwright): sign in with
password and TOTP, search a person by a name typed without diacritics, state a purpose, open
the record and see the contribution history grid. Screenshots go to docs/screenshots/."""

from __future__ import annotations

import datetime as dt
import os
from pathlib import Path
from typing import Any

import pyotp
import pytest

CHROMIUM = Path("/usr/bin/chromium")
SCREENSHOTS = Path(__file__).resolve().parents[2] / "docs" / "screenshots"
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]

pytestmark = pytest.mark.browser


@pytest.fixture
def browser_page() -> Any:
    if not CHROMIUM.exists():
        pytest.skip("no Chromium at /usr/bin/chromium")
    from playwright.sync_api import sync_playwright

    # Playwright's sync API runs an event loop in this thread; the ORM calls made by the
    # fixtures and assertions are still plain synchronous code.
    os.environ["DJANGO_ALLOW_ASYNC_UNSAFE"] = "true"
    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        context = browser.new_context(viewport={"width": 1280, "height": 900}, locale="vi-VN")
        page = context.new_page()
        page.set_default_timeout(15_000)
        yield page
        context.close()
        browser.close()


def _ledger_history(person: Any, employer: Any) -> None:
    """Twelve months of contributions, eleven of them paid in full and the last one billed."""
    from ansinh.contributions import services as ledger

    ledger.report_increase(
        employer=employer,
        person=person,
        start=dt.date(2025, 1, 1),
        salary=12_000_000,
        contract_type="indefinite",
    )
    for month in range(1, 13):
        period = 202500 + month
        ledger.build_month(employer, period)
        bill = ledger.issue_bill(employer, period)
        if month < 12:
            ledger.record_payment(
                employer=employer,
                amount=bill.amount,
                received_on=bill.due_on,
                reference=f"UNC-{period}",
            )


def _data(secret: str) -> Any:
    from ansinh.access.testing import make_org, make_user
    from ansinh.law.services import sync_rules
    from ansinh.places.testing import ensure_units_loaded
    from ansinh.registry.services import issue_card
    from ansinh.registry.testing import make_employer, make_person

    ensure_units_loaded()
    sync_rules()
    org = make_org(scope_codes=("01",), name="Bảo hiểm xã hội Thành phố Hà Nội")
    officer = make_user(
        "officer",
        org=org,
        username="can.bo",
        first_name="Phạm Thị",
        last_name="Lan",
        totp_secret=secret,
        totp_enabled=True,
    )
    employer = make_employer(name="Công ty TNHH Cơ khí Sông Hồng")
    person = make_person(
        full_name="Nguyễn Văn An", date_of_birth=dt.date(1985, 4, 12), legacy_numbers=["0112345678"]
    )
    issue_card(
        person,
        participant_group="DN",
        benefit_level=4,
        province_code="01",
        valid_from=dt.date(2025, 1, 1),
        facility_code="01001",
        facility_name="Bệnh viện Bạch Mai",
    )
    make_person(full_name="Nguyễn Văn Anh", date_of_birth=dt.date(1992, 9, 3))
    make_person(full_name="Nguyễn Thị Ân", date_of_birth=dt.date(1979, 1, 25), sex="F")
    _ledger_history(person, employer)
    return officer, person


def test_officer_signs_in_searches_and_opens_a_person(
    live_server: Any, transactional_db: None, browser_page: Any
) -> None:
    secret = pyotp.random_base32()
    officer, person = _data(secret)
    page = browser_page

    page.goto(live_server.url + "/")
    page.fill("#id_username", officer.username)
    page.fill("#id_password", "correct-horse-battery-42")
    page.click("main button[type=submit]")
    page.wait_for_url("**/2fa/**")
    page.fill("#id_code", pyotp.TOTP(secret).now())
    page.click("main button[type=submit]")
    page.wait_for_selector("#qs")  # the home page's quick search
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SCREENSHOTS / "home.png"), full_page=True)

    page.goto(live_server.url + "/registry/persons/")
    page.fill("#id_q", "nguyen van an")
    page.wait_for_selector("#person-results")
    results = page.inner_text("#person-results")
    assert "Nguyễn Văn An" in results and "Nguyễn Văn Anh" in results
    assert "Nguyễn Thị Ân" not in results
    page.screenshot(path=str(SCREENSHOTS / "search.png"), full_page=True)

    page.click(f"a[href$='/registry/persons/{person.ss_number}/'] >> nth=0")
    page.select_option("#id_purpose", "dossier")
    page.fill("#id_purpose_text", "HS-2026-000123")
    page.click("main form button[type=submit]")
    grid = page.wait_for_selector("#history-grid")
    assert grid.is_visible()
    assert page.locator("table.months[data-scheme=bhxh] td.st-paid").count() == 11
    assert page.locator("table.months[data-scheme=bhxh] td.st-billed").count() == 1
    assert "Nguyễn Văn An" in page.inner_text("h1")
    page.screenshot(path=str(SCREENSHOTS / "person.png"), full_page=True)

    # The employer, one click away; the purpose given above is still remembered.
    page.click("ol.spells a >> nth=0")
    page.wait_for_selector("#bills")
    assert page.locator(".chart svg rect.b-paid").count() == 12
    assert page.locator("#bills tr.arrears").count() == 1
    page.screenshot(path=str(SCREENSHOTS / "employer.png"), full_page=True)

    page.click("#bills a >> nth=0")  # the newest bill, row by row with its legal basis
    page.wait_for_selector("#bill-rows")
    assert "Nguyễn Văn An" in page.inner_text("#bill-rows")
    page.screenshot(path=str(SCREENSHOTS / "bill.png"), full_page=True)

    page.goto(live_server.url + "/contributions/rules/?on=2026-01-15")
    assert "Decree 293/2025" in page.inner_text("#references")
    page.screenshot(path=str(SCREENSHOTS / "rules.png"), full_page=True)

    from ansinh.access.models import AuditEvent

    read = AuditEvent.objects.get(action="read", object_type="person", object_id=str(person.pk))
    assert read.purpose == "dossier: HS-2026-000123"
    assert AuditEvent.objects.filter(action="search", actor=officer).exists()
