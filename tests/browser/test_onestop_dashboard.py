"""The one-stop statistics dashboard in a real browser (headless Chromium driven by Playwright):
a provincial manager opens the October 2026 dashboard of their province, sees the indicator
cards and the trend chart, drills down to an office and an officer, and checks the period
validation. Screenshots go to docs/screenshots/."""

from __future__ import annotations

import datetime as dt
import os
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

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

pytestmark = pytest.mark.browser


@pytest.fixture
def browser_page() -> Any:
    if not CHROMIUM.exists():
        pytest.skip("no Chromium at /usr/bin/chromium")
    from playwright.sync_api import sync_playwright

    os.environ["DJANGO_ALLOW_ASYNC_UNSAFE"] = "true"
    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        context = browser.new_context(viewport={"width": 1280, "height": 900}, locale="vi-VN")
        page = context.new_page()
        page.set_default_timeout(15_000)
        yield page
        context.close()
        browser.close()


def _at(year: int, month: int, day: int, hour: int = 10) -> dt.datetime:
    return dt.datetime(year, month, day, hour, tzinfo=VN)


def _data() -> Any:
    """A provincial office and a commune office of Hà Nội with two officers each and a year of
    dossiers (one reception a working day or so per officer), some late, some still open."""
    import random

    from ansinh.access.testing import make_org, make_unit
    from ansinh.law.calendar import is_working_day
    from ansinh.onestop import services
    from ansinh.onestop.models import SatisfactionRating
    from ansinh.onestop.testing import make_dossier, make_office, make_officer

    rng = random.Random(7)
    make_unit("01", name="Thành phố Hà Nội")
    province = make_office(
        make_org(scope_codes=("01",), name="Bảo hiểm xã hội Thành phố Hà Nội"),
        agency_code="000.00.01.H26",
    )
    commune = make_office(
        make_org(
            kind="commune_office",
            scope_codes=("01",),
            name="Bảo hiểm xã hội cơ sở Ba Đình",
            parent=province.organisation,
        ),
        agency_code="000.00.02.H26",
    )
    manager = make_officer(
        province, "manager", username="lanh.dao", first_name="Hoàng Văn", last_name="Minh"
    )
    people = {
        province: [
            make_officer(province, first_name="Phạm Thị", last_name="Lan"),
            make_officer(province, first_name="Nguyễn Văn", last_name="Bình"),
        ],
        commune: [
            make_officer(commune, first_name="Trần Thu", last_name="Hà"),
            make_officer(commune, first_name="Lê Đức", last_name="Anh"),
        ],
    }
    day = dt.date(2025, 1, 2)
    end = dt.date(2026, 11, 13)
    while day <= end:
        if is_working_day(day):
            for office, officers in people.items():
                for officer in officers:
                    if rng.random() < (0.75 if day.year == 2025 else 0.5):
                        continue
                    hour = rng.randint(8, 15)
                    received = _at(day.year, day.month, day.day, hour)
                    channel = rng.choice(("counter", "counter", "online", "gateway"))
                    d = make_dossier(office, actor=officer, at=received, channel=channel)
                    start = received + dt.timedelta(hours=1)
                    d = services.start_processing(
                        d, actor=officer, expected_version=d.version, at=start
                    )
                    spent = rng.choice((1, 2, 3, 4, 6, 7, 7, 8, 9))
                    done = received + dt.timedelta(days=spent)
                    if done < _at(2026, 11, 20):
                        services.record_result(
                            d, actor=officer, expected_version=d.version, at=done
                        )
                        if rng.random() < 0.3:
                            level = rng.choice(("very_satisfied", "satisfied", "not_satisfied"))
                            SatisfactionRating.objects.create(
                                dossier=d, level=level, rated_at=done + dt.timedelta(days=1)
                            )
        day += dt.timedelta(days=1)
    return manager


def _sign_in(page: Any, base: str, user: Any) -> None:
    """A verified session cookie, as login_verified() makes for the test client."""
    from django.conf import settings
    from django.test import Client

    from ansinh.access.testing import login_verified

    client = login_verified(Client(), user)
    cookie = client.cookies[settings.SESSION_COOKIE_NAME]
    page.context.add_cookies(
        [{"name": settings.SESSION_COOKIE_NAME, "value": cookie.value, "url": base}]
    )


def test_manager_reads_the_dashboard_and_drills_down(
    live_server: Any, transactional_db: None, browser_page: Any
) -> None:
    manager = _data()
    page = browser_page
    _sign_in(page, live_server.url, manager)

    page.goto(live_server.url + "/onestop/reports/?period=month&month=2026-10")
    page.wait_for_selector("#indicators .stat")
    assert "Thành phố Hà Nội" in page.inner_text(".page-head")
    assert page.locator("#indicators .stat").count() == 6
    assert page.locator(".chart svg rect").count() == 24  # 12 months × this year, last year
    figures = page.inner_text("#figures")
    assert "Bảo hiểm xã hội cơ sở Ba Đình" in figures and "Tổng" in figures
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SCREENSHOTS / "onestop-dashboard.png"), full_page=True)

    page.click("#figures a:has-text('Bảo hiểm xã hội Thành phố Hà Nội')")
    page.wait_for_selector("#figures a:has-text('Lan')")
    page.click("#figures a:has-text('Lan')")
    page.wait_for_selector("#dossiers")
    assert page.locator("#dossiers tbody tr").count() > 5
    assert page.locator("#dossiers a[href^='/onestop/dossiers/000.00.01.H26-']").count() > 5
    page.screenshot(path=str(SCREENSHOTS / "onestop-dashboard-officer.png"), full_page=True)

    page.goto(live_server.url + "/onestop/reports/?period=range&from=2026-10-31&to=2026-10-01")
    assert "Ngày kết thúc" in page.inner_text("#period-errors")
