"""The e-card API: staff issue, read and revoke a person's card under role, scope and purpose
rules (Decree 13/2023/NĐ-CP Art. 27: every read logged); anyone checks a token."""

from __future__ import annotations

import pytest
from django.test import Client

from ansinh.access.models import AuditEvent
from ansinh.access.testing import make_org, make_user, token_for
from ansinh.nationaldb import services
from ansinh.registry.testing import make_person

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def _key() -> None:
    services.create_signing_key()


def test_issue_read_revoke_and_check(client: Client) -> None:
    officer = make_user("officer", org=make_org(scope_codes=("01",)))
    auth = {"HTTP_AUTHORIZATION": f"Bearer {token_for(officer)}"}
    person = make_person()
    base = f"/api/v1/nationaldb/persons/{person.ss_number}/ecard"
    assert client.get(base, **auth).json()["code"] == "purpose_required"
    created = client.post(base, **auth)
    assert created.status_code == 201, created.content
    card = created.json()
    read = client.get(base, HTTP_X_PURPOSE="verification", **auth)
    assert read.status_code == 200 and read.json()["card_id"] == card["card_id"]
    assert AuditEvent.objects.filter(purpose="verification", action="read").exists()

    checked = client.post(
        "/api/v1/nationaldb/ecards/check", {"token": card["token"]}, content_type="application/json"
    ).json()
    assert checked["status"] == "valid" and checked["ss_number_masked"].endswith(
        person.ss_number[-4:]
    )
    assert person.ss_number not in str(checked)

    revoked = client.post(
        base + "/revoke", {"reason": "lost"}, content_type="application/json", **auth
    )
    assert revoked.status_code == 200 and revoked.json()["revocation_reason"] == "lost"
    checked = client.post(
        "/api/v1/nationaldb/ecards/check", {"token": card["token"]}, content_type="application/json"
    ).json()
    assert checked["status"] == "revoked"
    forged = client.post(
        "/api/v1/nationaldb/ecards/check", {"token": "a.b.c"}, content_type="application/json"
    ).json()
    assert forged == {**forged, "status": "forged", "name": None}


def test_roles_without_change_permission_cannot_issue(client: Client) -> None:
    auditor = make_user("auditor")
    person = make_person()
    answer = client.post(
        f"/api/v1/nationaldb/persons/{person.ss_number}/ecard",
        HTTP_AUTHORIZATION=f"Bearer {token_for(auditor)}",
    )
    assert answer.status_code == 403 and answer.json()["code"] == "permission_denied"


def test_population_check_without_a_registry_is_stored_pending(client: Client) -> None:
    officer = make_user("officer", org=make_org(scope_codes=("01",)))
    person = make_person()
    answer = client.post(
        f"/api/v1/nationaldb/persons/{person.ss_number}/population-checks",
        HTTP_AUTHORIZATION=f"Bearer {token_for(officer)}",
    )
    assert answer.status_code == 201
    assert answer.json()["state"] == "pending" and answer.json()["error"] == "not_configured"
