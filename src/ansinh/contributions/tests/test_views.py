"""Staff pages of the ledger: the rule tables page and a bill's detail page."""

from __future__ import annotations

import pytest
from django.test import Client
from django.urls import reverse

from ansinh.access.testing import login_verified, make_user
from ansinh.law.services import sync_rules


@pytest.fixture
def staff(client: Client, db: None) -> Client:
    sync_rules()
    return login_verified(client, make_user("officer"))


def test_rule_tables_show_rates_and_sources_in_force_on_a_day(staff: Client) -> None:
    """Base salary 2,340,000 from 2024-07-01 (Decree 73/2024/NĐ-CP Art. 3); BHXH retirement
    14% employer (Law 41/2024/QH15 Art. 33)."""
    html = staff.get(reverse("contributions:rules"), {"on": "2025-03-01"}).content.decode()
    assert "Decree 73/2024" in html
    assert "2.340.000" in html or "2,340,000" in html
    assert ">14%<" in html
    earlier = staff.get(reverse("contributions:rules"), {"on": "2020-03-01"}).content.decode()
    assert "Decree 73/2024" not in earlier
    assert "Decree 38/2019" in earlier


def test_rule_tables_refuse_a_bad_date(staff: Client) -> None:
    response = staff.get(reverse("contributions:rules"), {"on": "1/3/2025"})
    assert response.status_code == 200
    assert 'class="alert alert-bad"' in response.content.decode()


@pytest.mark.django_db
def test_rule_tables_require_login(client: Client) -> None:
    response = client.get(reverse("contributions:rules"))
    assert response.status_code == 302
