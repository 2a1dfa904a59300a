"""The staff home page and the layout: login, counts in scope, language switch."""

from __future__ import annotations

import pytest
from django.test import Client
from django.urls import reverse

from ansinh.access.testing import login_verified, make_org, make_user
from ansinh.portal.selectors import home_counts
from ansinh.registry.testing import make_employer, make_person


@pytest.mark.django_db
def test_home_requires_login(client: Client) -> None:
    response = client.get("/")
    assert response.status_code == 302
    assert response["Location"].startswith(reverse("access:login"))


def test_home_shows_organisation_scope_and_counts(client: Client, admin_units: None) -> None:
    org = make_org(scope_codes=("01",), name="BHXH Thành phố Hà Nội")
    officer = make_user("officer", org=org)
    make_person(full_name="Trần Thị Bình")
    make_employer()
    login_verified(client, officer)
    response = client.get("/")
    assert response.status_code == 200
    html = response.content.decode()
    assert "BHXH Thành phố Hà Nội" in html
    assert 'name="q"' in html  # quick search
    assert home_counts(officer, use_cache=False).persons == 1
    assert home_counts(officer, use_cache=False).employers == 1


def test_home_counts_only_what_is_in_scope(admin_units: None) -> None:
    from ansinh.places.models import AdminUnit, UnitLevel, UnitSystem

    elsewhere = (
        AdminUnit.objects.filter(system=UnitSystem.CURRENT, level=UnitLevel.COMMUNE)
        .exclude(province_code="01")
        .order_by("code")
        .first()
    )
    make_person(full_name="Lê Văn Cường", address_unit_code=elsewhere.code)
    make_person(full_name="Phạm Thị Dung")
    officer = make_user("officer", org=make_org(scope_codes=("01",)))
    nationwide = make_user("officer", org=make_org(kind="central", scope_codes=(), nationwide=True))
    assert home_counts(officer, use_cache=False).persons == 1
    assert home_counts(nationwide, use_cache=False).persons == 2


@pytest.mark.django_db
def test_pages_are_vietnamese_by_default_and_english_on_request(client: Client) -> None:
    login_verified(client, make_user("officer"))
    vi = client.get("/").content.decode()
    assert 'lang="vi"' in vi
    assert "Tra cứu người" in vi
    response = client.post("/i18n/setlang/", {"language": "en", "next": "/"})
    assert response.status_code == 302
    en = client.get("/").content.decode()
    assert 'lang="en"' in en
    assert "Search persons" in en
    assert "Tra cứu người" not in en


@pytest.mark.django_db
def test_layout_links_audit_log_only_for_auditors(client: Client) -> None:
    login_verified(client, make_user("officer"))
    assert "/access/audit/" not in client.get("/").content.decode()
    auditor = Client()
    login_verified(auditor, make_user("auditor"))
    assert "/access/audit/" in auditor.get("/").content.decode()
