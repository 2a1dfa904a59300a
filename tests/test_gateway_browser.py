"""The officer's queue of gateway rows in a real browser (headless Chromium, Playwright): an
officer signs in with password and TOTP, follows the navigation badge to the rows awaiting a
decision, opens the row whose name differs from the registry's, sees both side by side, tries
to reject it without a reason, then accepts it — and, the last row decided, the dossier's signed
result is issued. Screenshots: docs/screenshots/gateway-queue.png, gateway-row.png."""

from __future__ import annotations

import datetime as dt
import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pyotp
import pytest

CHROMIUM = Path("/usr/bin/chromium")
SCREENSHOTS = Path(__file__).resolve().parents[1] / "docs" / "screenshots"
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]
DECLARED_NAME = "Đỗ Thị Hương"
REGISTERED_NAME = "Đỗ Thị Giang"

pytestmark = pytest.mark.browser


@pytest.fixture(autouse=True)
def _fresh_rule_caches(transactional_db: None) -> Iterator[None]:
    """A transactional test before this one flushed the rule rows the migrations seeded: load
    them again (idempotent); they are flushed after it, so forget what was cached."""
    from django.apps import apps

    from ansinh.law.services import load_rules

    load_rules(lambda name: apps.get_model("law", name))
    yield
    from ansinh.law.selectors import clear_cache
    from ansinh.law.services import forget_snapshots

    clear_cache()
    forget_snapshots()


@pytest.fixture
def browser() -> Any:
    if not CHROMIUM.exists():
        pytest.skip("no Chromium at /usr/bin/chromium")
    from playwright.sync_api import sync_playwright

    os.environ["DJANGO_ALLOW_ASYNC_UNSAFE"] = "true"
    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        yield browser
        browser.close()


def _data(secret: str) -> tuple[Any, Any]:
    """An office of Hà Nội with its officer, and an employer's D02-LT dossier whose row 2 is a
    worker still employed elsewhere and row 3 a name that differs from the registry's."""
    from ansinh.access.testing import make_org
    from ansinh.contributions import services as contributions
    from ansinh.gateway import services
    from ansinh.gateway import testing as gw
    from ansinh.onestop.testing import make_office, make_officer
    from ansinh.registry.testing import make_employer, make_person

    org = make_org(scope_codes=("01",), name="Bảo hiểm xã hội Thành phố Hà Nội")
    office = make_office(org, agency_code="000.00.01.H26")
    officer = make_officer(
        office,
        username="can.bo.thu",
        first_name="Phạm Thị",
        last_name="Lan",
        totp_secret=secret,
        totp_enabled=True,
    )
    gw.trust_test_ca()
    employer = make_employer(tax_code="0101234567", name="Công ty TNHH Cơ khí Sông Hồng")
    gw.register_etrans(employer)
    elsewhere = make_employer(tax_code="0108888888", name="Công ty CP Dệt may Hà Đông")
    busy = make_person(full_name="Nguyễn Văn Bình")
    contributions.report_increase(
        employer=elsewhere,
        person=busy,
        start=dt.date(2025, 1, 1),
        contract_type="indefinite",
        salary=7_000_000,
    )
    renamed = make_person(full_name=REGISTERED_NAME)
    rows = [
        gw.increase_row(1, make_person()),
        gw.increase_row(2, busy),
        gw.increase_row(3, renamed, full_name=DECLARED_NAME),
    ]
    package = gw.package_600(employer, rows, transaction_id="SH-2026-11-0001")
    signed = gw.signed(package, gw.employer_identity(employer))
    sub = services.submit(signed, submitter=gw.employer_org(employer)).submission
    sub = services.process_submission(sub.pk)
    assert sub.rows_queued == 2
    # Row 2 is decided beforehand (rejected): row 3 is then the dossier's last waiting row.
    services.decide_row(
        sub.rows.get(number=2), actor=officer, accept=False, note="Đơn vị cũ chưa báo giảm"
    )
    return officer, sub


def test_officer_decides_a_queued_row_in_the_browser(
    live_server: Any, transactional_db: None, browser: Any
) -> None:
    from ansinh.gateway.models import RowStatus, Submission

    secret = pyotp.random_base32()
    officer, sub = _data(secret)
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    context = browser.new_context(viewport={"width": 1280, "height": 900}, locale="vi-VN")
    page = context.new_page()
    page.set_default_timeout(15_000)

    page.goto(live_server.url + "/gateway/queue/")
    page.fill("#id_username", officer.username)
    page.fill("#id_password", "correct-horse-battery-42")
    page.click("main button[type=submit]")
    page.wait_for_url("**/2fa/**")
    page.fill("#id_code", pyotp.TOTP(secret).now())
    page.click("main button[type=submit]")

    page.wait_for_selector("#queued-rows")
    assert "1" in page.inner_text("#nav-gateway-queue")
    assert page.locator("#queued-rows tbody tr").count() == 1
    assert "Dòng chờ cán bộ quyết định" in page.inner_text("h1")
    assert sub.dossier.code in page.inner_text("#queued-rows")
    page.screenshot(path=str(SCREENSHOTS / "gateway-queue.png"), full_page=True)

    page.click("#queued-rows a.btn")
    page.wait_for_selector("#compare")
    assert DECLARED_NAME in page.inner_text("#compare")
    assert REGISTERED_NAME in page.inner_text("#compare")
    assert page.locator("#compare tr.differs").count() == 1

    page.click("#reject")  # no reason given: refused, nothing written
    page.wait_for_selector("#note-error")
    page.screenshot(path=str(SCREENSHOTS / "gateway-row.png"), full_page=True)

    page.fill("#id_note", "Đã đối chiếu căn cước: tên trên danh sách đúng, sổ đăng ký cũ")
    page.click("#accept")
    page.wait_for_selector(".messages")
    assert "chấp nhận" in page.inner_text(".messages")
    assert page.locator("#queue-empty").count() == 1

    sub = Submission.objects.get(pk=sub.pk)
    assert sub.rows.get(number=3).status == RowStatus.ACCEPTED and sub.result_xml


def test_employer_builds_the_card_reissue_and_details_dossiers_in_the_browser(
    live_server: Any, transactional_db: None, browser: Any
) -> None:
    """An employer's clerk signs in (password and TOTP), ticks a worker whose card was lost,
    builds the THE-CAPLAI dossier, then opens the TK3-TS form prefilled from the registry.
    Screenshots: gateway-employer-cards.png, gateway-employer-details.png."""
    from ansinh.access.testing import make_user
    from ansinh.contributions import services as contributions
    from ansinh.gateway import testing as gw
    from ansinh.registry import services as registry
    from ansinh.registry.testing import make_employer, make_person

    gw.trust_test_ca()
    employer = make_employer(
        tax_code="0101234567", name="Công ty TNHH Cơ khí Sông Hồng", sector="Cơ khí"
    )
    gw.register_etrans(employer)
    for name, sex in (("Lê Thị Mai", "F"), ("Phạm Văn Nam", "M"), ("Vũ Thị Hoa", "F")):
        person = make_person(full_name=name, sex=sex)
        contributions.report_increase(
            employer=employer,
            person=person,
            start=dt.date(2025, 3, 1),
            contract_type="indefinite",
            salary=9_000_000,
        )
        registry.issue_card(
            person,
            participant_group="DN",
            benefit_level=4,
            province_code="01",
            valid_from=dt.date(2025, 3, 1),
            facility_code="01001",
        )
    secret = pyotp.random_base32()
    clerk = make_user(
        "employer",
        org=gw.employer_org(employer),
        username="ke.toan",
        totp_secret=secret,
        totp_enabled=True,
    )
    context = browser.new_context(viewport={"width": 1280, "height": 900}, locale="vi-VN")
    page = context.new_page()
    page.set_default_timeout(15_000)
    page.goto(live_server.url + "/gateway/employer/cards/")
    page.fill("#id_username", clerk.username)
    page.fill("#id_password", "correct-horse-battery-42")
    page.click("main button[type=submit]")
    page.wait_for_url("**/2fa/**")
    page.fill("#id_code", pyotp.TOTP(secret).now())
    page.click("main button[type=submit]")

    page.wait_for_selector("#workers")
    assert page.locator("#workers tbody tr").count() == 3
    page.check("#workers tbody tr:nth-child(1) input[type=checkbox]")
    page.select_option("#workers tbody tr:nth-child(1) select", "lost")
    page.screenshot(path=str(SCREENSHOTS / "gateway-employer-cards.png"), full_page=True)
    page.click("#cards-form button[type=submit]")
    page.wait_for_selector("#transaction-id")
    assert "THE-CAPLAI" in page.inner_text("main")

    page.goto(live_server.url + "/gateway/employer/details/")
    page.wait_for_selector("#details-form")
    assert page.input_value("#id_sector") == "Cơ khí"
    page.screenshot(path=str(SCREENSHOTS / "gateway-employer-details.png"), full_page=True)
