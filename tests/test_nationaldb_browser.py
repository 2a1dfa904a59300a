"""The e-card in a real browser (headless Chromium via Playwright): an officer issues a card from
the person page, then anyone checks it on the public page by opening the QR code's address (the
page's script posts the token found after ``#``), and an altered token is shown as forged.
Screenshots go to docs/screenshots/ (ecard-*.png)."""

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
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking"]

pytestmark = pytest.mark.browser


@pytest.fixture
def browser() -> Iterator[Any]:
    if not CHROMIUM.exists():
        pytest.skip("no Chromium at /usr/bin/chromium")
    from playwright.sync_api import sync_playwright

    os.environ["DJANGO_ALLOW_ASYNC_UNSAFE"] = "true"
    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        yield browser
        browser.close()


def _page(browser: Any) -> Any:
    context = browser.new_context(viewport={"width": 1280, "height": 900}, locale="vi-VN")
    page = context.new_page()
    page.set_default_timeout(15_000)
    return page


def test_issue_then_check_a_card_in_the_browser(
    live_server: Any, transactional_db: None, browser: Any, settings: Any, tmp_path: Path
) -> None:
    from ansinh.access.testing import PASSWORD, make_org, make_user
    from ansinh.nationaldb import services
    from ansinh.nationaldb.models import ECard
    from ansinh.places.testing import ensure_units_loaded
    from ansinh.registry.testing import make_person

    settings.NATIONALDB_KEY_DIR = str(tmp_path / "keys")
    settings.PUBLIC_BASE_URL = live_server.url
    ensure_units_loaded()
    services.create_signing_key()
    secret = pyotp.random_base32()
    officer = make_user(
        "officer",
        org=make_org(scope_codes=("01",), name="Bảo hiểm xã hội Thành phố Hà Nội"),
        username="can.bo.the",
        totp_secret=secret,
        totp_enabled=True,
    )
    person = make_person(full_name="Nguyễn Thị Mai", date_of_birth=dt.date(1988, 3, 8), sex="F")
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)

    staff = _page(browser)
    staff.goto(live_server.url + "/")
    staff.fill("#id_username", officer.username)
    staff.fill("#id_password", PASSWORD)
    staff.click("main button[type=submit]")
    staff.wait_for_url("**/2fa/**")
    staff.fill("#id_code", pyotp.TOTP(secret).now())
    staff.click("main button[type=submit]")
    staff.wait_for_selector("#qs")
    staff.goto(f"{live_server.url}/registry/persons/{person.ss_number}/")
    staff.select_option("#id_purpose", "citizen_request")
    staff.click("main form button[type=submit]")
    staff.wait_for_selector("#ecard")
    staff.click("#ecard-issue")
    staff.wait_for_selector("#ecard-revoke")
    card = ECard.objects.get(person=person)
    assert card.card_id in staff.inner_text("#ecard")
    staff.locator("#ecard").screenshot(path=str(SCREENSHOTS / "ecard-panel.png"))

    # Anyone, not signed in, opens the QR code's address.
    public = _page(browser)
    public.goto(f"{live_server.url}/the-an-sinh/kiem-tra/#{card.token}")
    public.wait_for_selector("#result.st-valid")
    assert "#" not in public.url  # the token left the address bar
    text = public.inner_text("#result")
    assert "Nguyễn Thị Mai" in text and person.ss_number not in text
    assert person.ss_number[-4:] in text
    public.screenshot(path=str(SCREENSHOTS / "ecard-check-valid.png"), full_page=True)

    i = len(card.token) // 3
    altered = card.token[:i] + ("Q" if card.token[i] != "Q" else "R") + card.token[i + 1 :]
    public.fill("#id_token", altered)
    public.click("#check-form button[type=submit]")
    public.wait_for_selector("#result.st-forged")
    assert "Nguyễn Thị Mai" not in public.inner_text("#result")
    public.screenshot(path=str(SCREENSHOTS / "ecard-check-forged.png"), full_page=True)
