"""The places API (/api/v1/places): reference data, behind the API's default authentication."""

from __future__ import annotations

import pytest
from django.test import Client

from ansinh.access.testing import make_user, token_for

pytestmark = pytest.mark.usefixtures("admin_units")

BASE = "/api/v1/places"


@pytest.fixture
def api(client: Client) -> Client:
    client.defaults["HTTP_AUTHORIZATION"] = f"Bearer {token_for(make_user('officer'))}"
    return client


def test_requires_authentication(client: Client) -> None:
    response = client.get(f"{BASE}/provinces")
    assert response.status_code == 401
    assert response.json()["code"] == "not_authenticated"


def test_list_provinces_of_both_systems(api: Client) -> None:
    current = api.get(f"{BASE}/provinces").json()
    assert len(current) == 34
    assert current[0]["code"] == "01" and current[0]["name"] == "Thành phố Hà Nội"
    assert current[0]["valid_from"] == "2025-07-01" and current[0]["parent_code"] is None
    legacy = api.get(f"{BASE}/provinces", {"system": "legacy"}).json()
    assert len(legacy) == 63 and legacy[0]["valid_to"] == "2025-06-30"
    bad = api.get(f"{BASE}/provinces", {"system": "1999"})
    assert bad.status_code == 422 and bad.json()["field"] == "system"


def test_communes_of_a_province(api: Client) -> None:
    communes = api.get(f"{BASE}/provinces/01/communes").json()
    assert len(communes) == 126
    assert {c["parent_code"] for c in communes} == {"01"}
    legacy = api.get(f"{BASE}/provinces/01/communes", {"system": "legacy"}).json()
    phuc_xa = next(c for c in legacy if c["code"] == "00001")
    assert phuc_xa["parent_code"] == "001"  # Quận Ba Đình
    missing = api.get(f"{BASE}/provinces/02/communes")
    assert missing.status_code == 404
    assert missing.json()["code"] == "unknown_unit"


def test_one_unit_with_successors_and_predecessors(api: Client) -> None:
    old = api.get(f"{BASE}/units/legacy/commune/00007").json()
    assert old["name"] == "Phường Cống Vị"
    assert old["province"]["name"] == "Thành phố Hà Nội" and old["province"]["system"] == "legacy"
    assert [s["code"] for s in old["successors"]] == ["00008", "00025"]
    new = api.get(f"{BASE}/units/2025/commune/00008").json()
    assert "00007" in {p["code"] for p in new["predecessors"]}
    assert new["successors"] == []
    response = api.get(f"{BASE}/units/2025/commune/99999")
    assert response.status_code == 404
    body = response.json()
    assert body["code"] == "unknown_unit" and body["message_vi"] and body["message_en"]


def test_successors_of_legacy_communes(api: Client) -> None:
    whole = api.get(f"{BASE}/legacy-communes/00001/successors").json()
    assert whole["old"]["name"] == "Phường Phúc Xá"
    assert whole["default"]["code"] == "00097"
    assert [c["code"] for c in whole["candidates"]] == ["00097"]
    assert whole["ambiguous"] is False
    split = api.get(f"{BASE}/legacy-communes/00007/successors").json()
    assert split["default"]["name"] == "Phường Ngọc Hà"
    assert len(split["candidates"]) == 2 and split["ambiguous"] is True
    assert api.get(f"{BASE}/legacy-communes/99999/successors").status_code == 404


def test_search(api: Client) -> None:
    found = api.get(f"{BASE}/search", {"q": "ba dinh", "system": "2025"}).json()
    assert found[0]["code"] == "00004" and found[0]["name"] == "Phường Ba Đình"
    limited = api.get(f"{BASE}/search", {"q": "xa", "limit": 3}).json()
    assert len(limited) == 3
    assert api.get(f"{BASE}/search").status_code == 422  # q is required
