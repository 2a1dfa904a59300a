"""The linkage review screen and the 360° person view in a real browser (headless Chromium via
Playwright): an officer signs in, opens the review queue, compares a source record with the
registry person side by side, links them with a note, and finds the decision on the person's
page (linkage section, overview facts, life timeline). Screenshots go to docs/screenshots/
(linkage-queue.png, linkage-pair.png, person-360.png)."""

from __future__ import annotations

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


def test_officer_reviews_a_pair_and_sees_it_on_the_person_page(
    live_server: Any, transactional_db: None, browser: Any, settings: Any
) -> None:
    from ansinh.access.services import ensure_roles
    from ansinh.access.testing import PASSWORD, make_org, make_user
    from ansinh.law.services import sync_rules
    from ansinh.linkage import quality
    from ansinh.linkage.models import PairState, ReviewPair
    from ansinh.linkage.normalise import fold
    from ansinh.linkage.records import SourceRecord
    from ansinh.linkage.services import link_records
    from ansinh.linkage.testing import load_population
    from ansinh.places.testing import ensure_units_loaded
    from ansinh.registry.models import Person

    settings.LINKAGE_LINK_THRESHOLD = 0.999999999
    settings.LINKAGE_REVIEW_THRESHOLD = 0.01
    ensure_units_loaded()
    sync_rules()  # an earlier transactional test may have flushed the seeded rows
    ensure_roles()
    people = list(quality.population(60, seed=21, prefix="b"))
    pks = load_population(people)
    p = people[0]
    # The social assistance file has the name without diacritics and no personal ID.
    record = SourceRecord(
        "tgxh:demo:r12", None, fold(p.full_name).title(), p.birth_date, p.sex, None
    )
    link_records([record])
    pair = ReviewPair.objects.get(record_key="tgxh:demo:r12")
    person = Person.objects.get(pk=pks[p.uid])
    secret = pyotp.random_base32()
    officer = make_user(
        "officer",
        org=make_org(scope_codes=("01",), name="Bảo hiểm xã hội Thành phố Hà Nội"),
        username="can.bo.doi.sanh",
        totp_secret=secret,
        totp_enabled=True,
    )
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)

    page = browser.new_context(viewport={"width": 1280, "height": 900}, locale="vi-VN").new_page()
    page.set_default_timeout(15_000)
    page.goto(live_server.url + "/")
    page.fill("#id_username", officer.username)
    page.fill("#id_password", PASSWORD)
    page.click("main button[type=submit]")
    page.wait_for_url("**/2fa/**")
    page.fill("#id_code", pyotp.TOTP(secret).now())
    page.click("main button[type=submit]")
    page.wait_for_selector("#qs")

    page.click("nav >> text=Đối sánh hồ sơ")  # the nav link to the review queue
    page.wait_for_selector("#review-pairs")
    page.screenshot(path=str(SCREENSHOTS / "linkage-queue.png"), full_page=True)
    page.click(f"#review-pairs a[href$='/pairs/{pair.pk}/']")
    page.wait_for_selector("#side-by-side")
    assert person.full_name in page.inner_text("#side-by-side")
    assert page.locator("#weights-chart rect").count() > 0
    page.screenshot(path=str(SCREENSHOTS / "linkage-pair.png"), full_page=True)
    page.fill("#decide-form input[name=note]", "Đối chiếu CCCD tại xã: cùng một người")
    page.click("#decide-form button[value=link]")
    page.wait_for_selector("#decisions")
    pair.refresh_from_db()
    assert pair.state == PairState.LINKED

    page.goto(f"{live_server.url}/registry/persons/{person.ss_number}/")
    page.select_option("#id_purpose", "verification")
    page.click("main form button[type=submit]")
    page.wait_for_selector("#h-linkage")
    assert f"#{pair.pk}" in page.inner_text("#linkage")
    assert page.locator("#h-timeline").count() == 1
    page.screenshot(path=str(SCREENSHOTS / "person-360.png"), full_page=True)
