"""Registry API: authentication, purpose, audit of reads, sensitive data, batch, spells."""

from __future__ import annotations

import datetime as dt

import pytest
from django.contrib.auth.models import Permission
from django.test import Client

from ansinh.access.models import AuditEvent, User
from ansinh.access.testing import make_org, make_user, token_for
from ansinh.registry.models import Person
from ansinh.registry.testing import default_commune_code, make_employer, make_person

pytestmark = pytest.mark.django_db

BASE = "/api/v1/registry"


def _client(*, sensitive: bool = False, scope: str = "01") -> tuple[Client, User]:
    """An officer of a provincial office serving ``scope``; the factories' communes lie in 01."""
    default_commune_code()
    user = make_user("officer", org=make_org(scope_codes=(scope,)))
    if sensitive:
        user.user_permissions.add(Permission.objects.get(codename="view_sensitive"))
        user = User.objects.get(pk=user.pk)  # drop the permission cache
    token = token_for(user)
    return Client(HTTP_AUTHORIZATION=f"Bearer {token}", HTTP_X_PURPOSE="test"), user


def test_authentication_required() -> None:
    assert Client().get(f"{BASE}/persons").status_code == 401


def test_read_requires_purpose_and_is_audited() -> None:
    client, user = _client()
    person = make_person(legacy_numbers=["0133334444"], ethnicity_code="01")
    bare = Client(HTTP_AUTHORIZATION=client.defaults["HTTP_AUTHORIZATION"])
    r = bare.get(f"{BASE}/persons/{person.ss_number}")
    assert r.status_code == 400 and r.json()["code"] == "purpose_required"
    for number in (person.ss_number, "0133334444"):
        r = client.get(f"{BASE}/persons/{number}")
        assert r.status_code == 200
        body = r.json()
        assert body["personal_id"] == person.personal_id
        assert body["ethnicity_code"] is None
    reads = AuditEvent.objects.filter(actor=user, action="read", object_id=str(person.pk))
    assert reads.count() == 2
    r = client.get(f"{BASE}/persons/001090999999")
    assert r.status_code == 404 and r.json()["code"] == "person_not_found"


def test_out_of_scope_read_is_forbidden_and_audited() -> None:
    client, user = _client(scope="79")
    person = make_person()
    r = client.get(f"{BASE}/persons/{person.ss_number}")
    assert r.status_code == 403 and r.json()["code"] == "out_of_scope"
    assert AuditEvent.objects.filter(actor=user, action="denied").exists()
    assert client.get(f"{BASE}/persons", {"q": person.ss_number}).json()["count"] == 0


def test_ethnicity_only_with_permission_and_audited_as_sensitive() -> None:
    client, user = _client(sensitive=True)
    person = make_person(ethnicity_code="05")
    body = client.get(f"{BASE}/persons/{person.ss_number}").json()
    assert body["ethnicity_code"] == "05"
    assert AuditEvent.objects.filter(actor=user, detail__sensitive=True).exists()


def test_create_search_and_patch() -> None:
    client, _ = _client()
    unit = default_commune_code()
    payload = {
        "personal_id": "001090123456",
        "full_name": "Nguyễn Văn An",
        "date_of_birth": "1990-05-17",
        "sex": "M",
        "address_unit_code": unit,
    }
    r = client.post(f"{BASE}/persons", payload, content_type="application/json")
    assert r.status_code == 201, r.content
    r = client.post(f"{BASE}/persons", payload, content_type="application/json")
    assert r.status_code == 409 and r.json()["code"] == "duplicate_personal_id"
    r = client.get(f"{BASE}/persons", {"q": "an nguyen"})
    assert r.status_code == 200
    assert [p["ss_number"] for p in r.json()["items"]] == ["001090123456"]
    r = client.patch(
        f"{BASE}/persons/001090123456",
        {"full_name": "Nguyễn Văn Ân", "date_of_birth": "2999-01-01"},
        content_type="application/json",
    )
    assert r.status_code == 400 and r.json()["field"] == "date_of_birth"
    r = client.patch(f"{BASE}/persons/001090123456", {"sex": "F"}, content_type="application/json")
    assert r.json()["identity_flags"] == ["sex_mismatch"]


def test_batch_all_or_nothing() -> None:
    client, _ = _client()
    rows = [
        {"full_name": "Kim Min Jun", "date_of_birth": "1990-01-01", "sex": "M",
         "nationality": "KR"},
        {"full_name": "", "date_of_birth": "1990-01-01", "sex": "M", "nationality": "KR"},
    ]  # fmt: skip
    r = client.post(f"{BASE}/persons/batch", {"rows": rows}, content_type="application/json")
    assert r.status_code == 400 and r.json()["field"] == "rows[1].full_name"
    assert Person.objects.count() == 0
    r = client.post(f"{BASE}/persons/batch", {"rows": rows[:1]}, content_type="application/json")
    assert r.status_code == 201 and r.json()[0]["ss_number"].startswith("NN")


def test_employers_spells_cards_and_legacy_numbers() -> None:
    client, _ = _client()
    person = make_person()
    unit = default_commune_code()
    r = client.post(
        f"{BASE}/employers",
        {"unit_code": "0312345678", "unit_type": "DN", "participant_group": "DN",
         "name": "Công ty Cổ phần Ánh Dương", "address_unit_code": unit, "wage_region": 1},
        content_type="application/json",
    )  # fmt: skip
    assert r.status_code == 201, r.content
    assert client.get(f"{BASE}/employers/0312345678").json()["name"].endswith("Ánh Dương")
    assert client.get(f"{BASE}/employers", {"q": "anh duong"}).json()["count"] == 1
    r = client.post(
        f"{BASE}/spells",
        {"person": person.ss_number, "employer": "0312345678", "start": "2025-01-01",
         "contract_type": "indefinite", "salary": 9000000},
        content_type="application/json",
    )  # fmt: skip
    assert r.status_code == 201, r.content
    spell_id = r.json()["id"]
    r = client.post(
        f"{BASE}/spells/{spell_id}/salaries",
        {"valid_from": "2025-07-01", "salary": -1},
        content_type="application/json",
    )
    assert r.status_code == 400 and r.json()["field"] == "salary"
    r = client.post(
        f"{BASE}/spells/{spell_id}/close", {"end": "2025-12-31"}, content_type="application/json"
    )
    assert r.json()["end"] == "2025-12-31"
    spells = client.get(f"{BASE}/persons/{person.ss_number}/spells").json()
    assert [s["salaries"][0]["salary"] for s in spells] == [9000000]
    r = client.post(
        f"{BASE}/persons/{person.ss_number}/legacy-numbers",
        {"number": "0100000001"},
        content_type="application/json",
    )
    assert r.json()["legacy_numbers"] == ["0100000001"]
    r = client.post(
        f"{BASE}/persons/{person.ss_number}/cards",
        {"participant_group": "DN", "benefit_level": 4, "province_code": "01",
         "valid_from": str(dt.date(2026, 1, 1))},
        content_type="application/json",
    )  # fmt: skip
    assert r.status_code == 201 and r.json()["number"] == "DN4010100000001"
    make_employer()
