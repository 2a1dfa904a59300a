"""The one-stop desk in a real browser (headless Chromium driven by Playwright): an officer
signs in with password and TOTP, opens the work queue, opens a dossier of their department,
starts processing it and sees the path grow; then anyone holding the code opens the public
status page, which shows the state and nothing about the applicant. Screenshots go to
docs/screenshots/ (onestop-queue.png, onestop-dossier.png, onestop-status.png)."""

from __future__ import annotations

import datetime as dt
import os
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

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
VN = ZoneInfo("Asia/Ho_Chi_Minh")
APPLICANT_NAME = "Nguyễn Thị Hồng Nhung"

pytestmark = pytest.mark.browser


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


def _new_page(browser: Any) -> Any:
    context = browser.new_context(viewport={"width": 1280, "height": 900}, locale="vi-VN")
    page = context.new_page()
    page.set_default_timeout(15_000)
    return page


def at(d: int, hh: int = 10, mm: int = 0, month: int = 11) -> dt.datetime:
    return dt.datetime(2026, month, d, hh, mm, tzinfo=VN)


def _data(secret: str) -> tuple[Any, Any, Any]:
    """An office with a desk officer and the signed-in officer (department THU), and a queue
    of dossiers in several states; returns the officer, the dossier they will start and one
    whose result is ready (to be rated)."""
    from ansinh.access.testing import make_org
    from ansinh.onestop import services
    from ansinh.onestop.testing import make_dossier, make_office, make_officer

    org = make_org(scope_codes=("01",), name="Bảo hiểm xã hội Thành phố Hà Nội")
    office = make_office(
        org,
        agency_code="000.00.01.H26",
        address="Số 9 Trần Duy Hưng, Cầu Giấy",
        phone="024 3793 0000",
    )
    desk = make_officer(office, departments=("MOTCUA",), first_name="Trần Văn", last_name="Bình")
    officer = make_officer(
        office,
        departments=("THU",),
        username="can.bo.thu",
        first_name="Phạm Thị",
        last_name="Lan",
        totp_secret=secret,
        totp_enabled=True,
    )

    def person(name: str, pid: str) -> services.Applicant:
        return services.Applicant(name=name, id_number=pid, phone="0912345678")

    # Assigned to the officer: one late, one due soon, one on track, one waiting for papers.
    plans = [
        ("600", at(2, 9), "Công ty TNHH Cơ khí Sông Hồng", "0101234567"),
        ("600-DC", at(19, 9), "Công ty CP Dệt may Hà Đông", "0107654321"),
        ("604", at(20, 14), "Hợp tác xã Nông nghiệp Đông Anh", "0109998887"),
        ("601", at(18, 15), "Công ty TNHH Thương mại Tràng An", "0105556667"),
    ]
    for n, (code, when, name, tax) in enumerate(plans):
        d = make_dossier(
            office, procedure_code=code, actor=desk, at=when, applicant=person(name, tax)
        )
        step = when + dt.timedelta(hours=1)
        services.transfer(d, actor=desk, expected_version=1, to_department="THU", at=step)
        services.start_processing(
            d, actor=officer, expected_version=2, at=step + dt.timedelta(minutes=30)
        )
        if n == 3:
            services.request_supplement(
                d,
                actor=officer,
                expected_version=3,
                note="Bổ sung văn bản đề nghị truy thu có chữ ký",
                at=step + dt.timedelta(hours=1),
            )
    # Waiting in the department: the one the officer will take.
    target = make_dossier(
        office,
        procedure_code="600",
        actor=desk,
        at=at(20, 9, 15),
        applicant=person(APPLICANT_NAME, "001190012345"),
        documents=[
            services.DocumentReceived("Tờ khai tham gia, điều chỉnh thông tin BHXH, BHYT (TK1-TS)"),
            services.DocumentReceived("Căn cước công dân", original=False),
        ],
    )
    services.transfer(
        target,
        actor=desk,
        expected_version=1,
        to_department="THU",
        note="Cấp sổ BHXH lần đầu",
        at=at(20, 10),
    )
    done = make_dossier(office, actor=desk, at=at(9, 9), applicant=person(APPLICANT_NAME, ""))
    services.transfer(done, actor=desk, expected_version=1, to_department="THU", at=at(9, 10))
    services.start_processing(done, actor=officer, expected_version=2, at=at(9, 11))
    services.record_result(done, actor=officer, expected_version=3, at=at(12, 9))
    return officer, target, done


def test_officer_works_a_dossier_and_the_citizen_looks_it_up(
    live_server: Any, transactional_db: None, browser: Any
) -> None:
    secret = pyotp.random_base32()
    officer, target, done = _data(secret)
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    page = _new_page(browser)

    page.goto(live_server.url + "/onestop/")
    page.fill("#id_username", officer.username)
    page.fill("#id_password", "correct-horse-battery-42")
    page.click("main button[type=submit]")
    page.wait_for_url("**/2fa/**")
    page.fill("#id_code", pyotp.TOTP(secret).now())
    page.click("main button[type=submit]")

    page.wait_for_selector("#queue-results table.queue")
    assert page.locator("#queue-results tbody tr").count() == 4
    assert page.locator("#queue-results .badge.bad").count() >= 1  # the dossier from 2 November
    tabs = page.inner_text("#queue-tabs")
    assert "Của tôi" in tabs and "Phòng/bộ phận" in tabs
    page.screenshot(path=str(SCREENSHOTS / "onestop-queue.png"), full_page=True)

    page.click("#queue-tabs a[data-tab=department]")
    page.click(f"#queue-results a:has-text('{target.code}')")
    page.wait_for_selector("#timeline")
    assert page.locator("#timeline > li").count() == 2
    assert APPLICANT_NAME in page.inner_text("main")

    page.click("details[data-action=start] > summary")
    page.fill("details[data-action=start] textarea[name=note]", "Kiểm tra tờ khai TK1-TS")
    page.click("details[data-action=start] button[type=submit]")
    page.wait_for_selector(".messages")
    assert page.locator("#timeline > li").count() == 3
    assert "Đang xử lý" in page.inner_text("#dossier-state")
    assert "Kiểm tra tờ khai TK1-TS" in page.inner_text("#timeline")
    page.screenshot(path=str(SCREENSHOTS / "onestop-dossier.png"), full_page=True)

    # The citizen, without an account, scans the receipt's QR code (or types the code).
    public = _new_page(browser)
    public.goto(live_server.url + "/tra-cuu/")
    public.fill("#id_code", target.code)
    public.click("#lookup-form button[type=submit]")
    public.wait_for_selector("#status-state")
    assert public.url.endswith(f"/tra-cuu/{target.code}/")
    text = public.inner_text("main")
    assert "Đang xử lý" in public.inner_text("#status-state")
    assert public.locator("#status-path > li").count() == 3
    assert "Phạm Thị Lan" in text
    for private in (APPLICANT_NAME, "001190012345", "0912345678", "Kiểm tra tờ khai"):
        assert private not in public.content()
    public.screenshot(path=str(SCREENSHOTS / "onestop-status.png"), full_page=True)

    # Once the result is ready the applicant rates the service, once.
    public.goto(live_server.url + f"/tra-cuu/{done.code}/")
    public.click("#rating label:has-text('Rất hài lòng')")
    public.click("#rating button[type=submit]")
    public.wait_for_selector("#rating-thanks")
    assert public.locator("#rating input[name=level]").count() == 0

    from ansinh.onestop.models import SatisfactionRating

    assert SatisfactionRating.objects.get().level == "very_satisfied"
