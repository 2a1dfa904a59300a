"""The 360° person view's programme panel: a beneficiary's programmes with allowance, legal
basis and source, as a section, overview facts and timeline bars; the e-card as a fact."""

from __future__ import annotations

import datetime as dt
from zoneinfo import ZoneInfo

import pytest
from django.test import Client
from django.urls import reverse

from ansinh.access.testing import login_verified, make_org, make_user
from ansinh.nationaldb import services
from ansinh.nationaldb.models import Beneficiary, BeneficiaryCategory
from ansinh.nationaldb.programmes.services import compute_allowance
from ansinh.registry.testing import make_person

pytestmark = pytest.mark.django_db
VN = ZoneInfo("Asia/Ho_Chi_Minh")


def _page(client: Client, person) -> str:
    url = reverse("registry:person_detail", args=[person.ss_number])
    client.post(url, {"purpose": "verification"})
    return client.get(url).content.decode()


def test_programmes_allowances_and_ecard_on_the_person_page(client: Client) -> None:
    """Allowance = coefficient × the standard level in force (Decree 20/2021/NĐ-CP Art. 6;
    500,000 đ from 2024-07-01, Decree 76/2024/NĐ-CP)."""
    staff = login_verified(client, make_user("officer", org=make_org(scope_codes=("01",))))
    person = make_person()
    category = BeneficiaryCategory.objects.get(programme__code="tgxh", code="NCT_80")
    allowance = compute_allowance(category, dt.date(2025, 1, 1))
    Beneficiary.objects.create(
        person=person,
        programme=category.programme,
        category=category,
        monthly_allowance=allowance.amount,
        legal_basis=allowance.citation,
        start=dt.date(2025, 1, 1),
        paying_office="UBND phường Ba Đình",
    )
    html = _page(staff, person)
    assert 'id="h-programmes"' in html
    assert category.name in html and "UBND phường Ba Đình" in html
    assert f"{allowance.amount:,}".replace(",", ".") in html  # the amount, grouped the vi way
    assert "Decree 76/2024" in html  # the legal basis it was computed from
    assert "Thẻ ASXH điện tử" in html and "không có thẻ còn hạn" in html  # fact: no e-card

    services.create_signing_key(at=dt.datetime(2026, 10, 1, 9, tzinfo=VN))
    services.issue_ecard(person)
    html = _page(staff, person)
    assert "còn hạn đến" in html


def test_a_person_without_programmes_says_so(client: Client) -> None:
    staff = login_verified(client, make_user("officer", org=make_org(scope_codes=("01",))))
    html = _page(staff, make_person())
    assert "Không hưởng chương trình nào." in html
