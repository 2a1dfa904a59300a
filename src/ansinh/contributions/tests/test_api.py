"""Contribution API: reports (idempotent), months, bills, payments, history, rule tables."""

from __future__ import annotations

from typing import Any

import pytest
from django.test import Client

from ansinh.access.models import AuditEvent
from ansinh.access.testing import make_org, make_user, token_for
from ansinh.contributions.models import ChangeReport

pytestmark = pytest.mark.django_db

BASE = "/api/v1/contributions"


def officer_client(scope: str = "01", role: str = "officer") -> tuple[Client, Any]:
    user = make_user(role, org=make_org(scope_codes=(scope,)))
    return Client(HTTP_AUTHORIZATION=f"Bearer {token_for(user)}", HTTP_X_PURPOSE="test"), user


def post(client: Client, url: str, body: dict, **headers: str) -> Any:
    return client.post(url, body, content_type="application/json", headers=headers)


def test_rules_on_a_day_with_sources(units: None) -> None:
    client, _ = officer_client()
    r = client.get(f"{BASE}/rules", {"on": "2026-07-01"})
    assert r.status_code == 200
    body = r.json()
    base = [a for a in body["reference_amounts"] if a["key"] == "base_salary/0"]
    assert base[0]["value"] == "2530000" and base[0]["legal_source"] == "Decree 161/2026/NĐ-CP"
    assert base[0]["confidence"] == "medium"
    assert {r["key"] for r in body["rates"]} >= {"bhxh_hts/employee", "bhtn/employer"}
    assert client.get(f"{BASE}/rules", {"on": "2026-13-01"}).status_code == 422


def test_full_cycle(employer: Any, person: Any) -> None:
    client, user = officer_client()
    body = {
        "employer": employer.unit_code,
        "person": person.ss_number,
        "start": "2026-01-01",
        "contract_type": "indefinite",
        "salary": 10_000_000,
    }
    r = post(client, f"{BASE}/reports/increase", body, **{"Idempotency-Key": "abc"})
    assert r.status_code == 201, r.json()
    assert r.json()["spell_id"]
    r2 = post(client, f"{BASE}/reports/increase", body, **{"Idempotency-Key": "abc"})
    assert r2.status_code == 200 and r2.json()["replayed"] and r2.json()["id"] == r.json()["id"]
    assert ChangeReport.objects.count() == 1

    bad = post(client, f"{BASE}/reports/increase", {**body, "salary": -1})
    assert bad.status_code == 400
    assert (bad.json()["code"], bad.json()["field"]) == ("salary_negative", "salary")

    r = post(client, f"{BASE}/employers/{employer.unit_code}/months/2026-01/build", {})
    assert r.json() == {"employer": employer.unit_code, "period": 202601, "rows_written": 1}
    r = post(client, f"{BASE}/employers/{employer.unit_code}/bills", {"period": "202601"})
    assert r.status_code == 201 and r.json()["amount"] == 3_200_000
    assert r.json()["due_on"] == "2026-02-28"

    r = post(
        client,
        f"{BASE}/employers/{employer.unit_code}/payments",
        {"amount": 3_200_000, "received_on": "2026-02-10", "reference": "VCB1"},
    )
    assert r.status_code == 201 and r.json()["unapplied"] == 0
    r = post(
        client,
        f"{BASE}/employers/{employer.unit_code}/payments",
        {"amount": 3_200_000, "received_on": "2026-02-10", "reference": "VCB1"},
    )
    assert r.status_code == 200

    bills = client.get(f"{BASE}/employers/{employer.unit_code}/bills").json()
    assert [(b["period"], b["status"]) for b in bills] == [(202601, "paid")]
    detail = client.get(f"{BASE}/employers/{employer.unit_code}/bills/202601").json()
    assert detail["rows"][0]["amounts"]["ee_retirement"] == 800_000
    assert detail["totals"]["er_health"] == 300_000
    arrears = client.get(f"{BASE}/employers/{employer.unit_code}/arrears", {"on": "2026-03-10"})
    assert arrears.json()["total"] == 0

    h = client.get(f"{BASE}/persons/{person.ss_number}/history", {"start": "2026-01"})
    assert h.status_code == 200, h.json()
    assert h.json()["months_contributed"] == {"bhxh": 1, "bhyt": 1, "bhtn": 1}
    assert h.json()["months"][0]["states"]["bhtn"] == "paid"
    assert h.json()["average_insured_salary_6"] == 10_000_000
    assert AuditEvent.objects.filter(
        actor=user, action="read", object_type="person", object_id=str(person.pk)
    ).exists()


def test_history_needs_purpose_and_scope(employer: Any, person: Any) -> None:
    client, _ = officer_client()
    bare = Client(HTTP_AUTHORIZATION=client.defaults["HTTP_AUTHORIZATION"])
    r = bare.get(f"{BASE}/persons/{person.ss_number}/history")
    assert r.status_code == 400 and r.json()["code"] == "purpose_required"
    outsider, _ = officer_client(scope="79")
    r = outsider.get(f"{BASE}/persons/{person.ss_number}/history")
    assert r.status_code == 403 and r.json()["code"] == "out_of_scope"


def test_writes_need_permission_and_scope(employer: Any, person: Any) -> None:
    auditor, _ = officer_client(role="auditor")
    r = post(auditor, f"{BASE}/employers/{employer.unit_code}/months/202601/build", {})
    assert r.status_code == 403 and r.json()["code"] == "permission_denied"
    outsider, _ = officer_client(scope="79")
    r = post(outsider, f"{BASE}/employers/{employer.unit_code}/months/202601/build", {})
    assert r.status_code == 403 and r.json()["code"] == "out_of_scope"
    assert Client().get(f"{BASE}/rules").status_code == 401
