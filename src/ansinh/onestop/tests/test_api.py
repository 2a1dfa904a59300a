"""The one-stop JSON API (``/api/v1/onestop``): catalogue, reception (idempotent on the
submitter's reference), a dossier with its path (authorised and audited), actions with
optimistic locking, and the public status and rating by dossier code (Decree 61/2018/NĐ-CP as
amended: Art. 26 dossier code; Decision 766/QĐ-TTg: satisfaction rated by dossier code)."""

from __future__ import annotations

import datetime as dt
from zoneinfo import ZoneInfo

import pytest
from django.core.cache import cache
from django.test import Client

from ansinh.access.models import AuditEvent
from ansinh.access.testing import make_org, make_user, token_for
from ansinh.onestop import services
from ansinh.onestop.models import Dossier, SatisfactionRating
from ansinh.onestop.testing import make_dossier, make_office, make_officer

pytestmark = pytest.mark.django_db
VN = ZoneInfo("Asia/Ho_Chi_Minh")
BASE = "/api/v1/onestop"
ERROR_KEYS = {"code", "field", "message_vi", "message_en"}


def at(d: int, hh: int = 10, mm: int = 0, month: int = 11) -> dt.datetime:
    return dt.datetime(2026, month, d, hh, mm, tzinfo=VN)


@pytest.fixture(autouse=True)
def _fresh_rate_limit():
    cache.clear()
    yield
    cache.clear()


@pytest.fixture
def office():
    return make_office(agency_code="000.00.01.H26")


@pytest.fixture
def desk(office):
    return make_officer(office, departments=("MOTCUA",))


@pytest.fixture
def clerk(office):
    return make_officer(office, departments=("THU",))


def _auth(user) -> dict[str, str]:
    return {"HTTP_AUTHORIZATION": f"Bearer {token_for(user)}"}


def _post(client: Client, url: str, body: dict, user=None):
    headers = _auth(user) if user is not None else {}
    return client.post(BASE + url, body, content_type="application/json", **headers)


def _get(client: Client, url: str, user=None):
    headers = _auth(user) if user is not None else {}
    return client.get(BASE + url, **headers)


def _error(response, status: int, code: str) -> dict:
    assert response.status_code == status, response.content
    body = response.json()
    assert ERROR_KEYS <= set(body) and body["code"] == code, body
    return body


RECEIVE = {
    "procedure_code": "600",
    "channel": "online",
    "applicant": {"name": "Công ty TNHH Hoa Sen", "id_number": "0101234567"},
    "documents": [{"name": "Mẫu D02-LT", "copies": 1}],
    "external_ref": "IVAN-2026-000042",
}


def test_catalogue_needs_authentication_and_lists_the_version_in_force(desk) -> None:
    client = Client()
    _error(_get(client, "/procedures"), 401, "not_authenticated")
    rows = _get(client, "/procedures", desk).json()
    row = next(r for r in rows if r["code"] == "600")
    assert row["deadline_days"] == 5 and row["deadline_hours"] is None
    assert row["documents"][0]["required"] is True and "595" in row["legal_source"]
    old = _get(client, "/procedures?on=2025-12-30", desk).json()
    tctn = next(r for r in old if r["code"] == "TCTN")
    assert "38/2013" in tctn["legal_source"]


def test_reception_is_idempotent_on_the_external_reference(desk) -> None:
    client = Client()
    first = _post(client, "/dossiers", RECEIVE, desk)
    assert first.status_code == 201, first.content
    body = first.json()
    assert body["code"].startswith("000.00.01.H26-") and body["state"] == "received"
    assert body["version"] == 1 and body["links"]["status"].endswith(f"/tra-cuu/{body['code']}/")
    assert body["links"]["receipt"].endswith("/receipt.pdf")
    again = _post(client, "/dossiers", RECEIVE, desk)
    assert again.status_code == 200 and again.json()["code"] == body["code"]
    assert Dossier.objects.count() == 1
    reused = _post(client, "/dossiers", {**RECEIVE, "procedure_code": "604"}, desk)
    _error(reused, 409, "external_ref_reused")


def test_reception_errors_have_the_error_shape(office, desk) -> None:
    client = Client()
    bad = _post(client, "/dossiers", {**RECEIVE, "applicant": {"name": ""}}, desk)
    assert bad.status_code == 422 and ERROR_KEYS <= set(bad.json())
    _error(
        _post(client, "/dossiers", {**RECEIVE, "procedure_code": "999"}, desk),
        404,
        "unknown_procedure",
    )
    _error(
        _post(
            client, "/dossiers", {**RECEIVE, "department_code": "NOPE", "external_ref": ""}, desk
        ),
        400,
        "unknown_department",
    )
    auditor = make_user("auditor", org=office.organisation)
    _error(_post(client, "/dossiers", RECEIVE, auditor), 403, "permission_denied")
    homeless = make_user("officer", org=make_org())
    _error(_post(client, "/dossiers", RECEIVE, homeless), 403, "no_office")
    assert not Dossier.objects.exists()


def test_dossier_read_is_authorised_and_audited(office, desk) -> None:
    dossier = make_dossier(office, actor=desk, at=at(16, 10))
    client = Client()
    response = _get(client, f"/dossiers/{dossier.code}", desk)
    assert response.status_code == 200
    body = response.json()
    assert body["applicant"]["name"] == "Công ty TNHH Thử Nghiệm"
    assert [s["action"] for s in body["path"]] == ["receive"]
    assert "transfer" in body["allowed_actions"]
    assert dt.datetime.fromisoformat(body["due_at"]) == at(23, 17)
    read = AuditEvent.objects.get(action="read", object_type="dossier")
    assert read.channel == "api" and read.actor == desk
    stranger = make_officer(make_office(agency_code="000.00.02.H27"))
    _error(_get(client, f"/dossiers/{dossier.code}", stranger), 403, "not_your_office")
    assert AuditEvent.objects.filter(action="denied", actor=stranger).exists()
    _error(_get(client, "/dossiers/000.00.01.H26-261116-9999", desk), 404, "unknown_dossier")
    _error(_get(client, "/dossiers/%00", desk), 404, "unknown_dossier")


def test_actions_with_optimistic_locking(office, desk, clerk) -> None:
    dossier = make_dossier(office, actor=desk, at=at(16, 10))
    client = Client()
    url = f"/dossiers/{dossier.code}/actions"
    moved = _post(client, url, {"action": "transfer", "version": 1, "to_department": "THU"}, desk)
    assert moved.status_code == 200, moved.content
    assert moved.json()["state"] == "transferred" and moved.json()["version"] == 2
    _error(
        _post(client, url, {"action": "transfer", "version": 1, "to_department": "SOTHE"}, desk),
        409,
        "stale_version",
    )
    _error(
        _post(client, url, {"action": "return_result", "version": 2}, desk),
        409,
        "illegal_transition",
    )
    _error(
        _post(client, url, {"action": "transfer", "version": 2, "to_assignee": "nobody"}, desk),
        400,
        "unknown_officer",
    )
    started = _post(client, url, {"action": "start", "version": 2}, clerk)
    assert started.json()["state"] == "processing"
    apology = _post(
        client,
        url,
        {
            "action": "apology",
            "version": 3,
            "reason": "Cần xác minh",
            "new_due_at": "2026-12-10T17:00:00",
        },
        clerk,
    )
    assert apology.status_code == 200, apology.content
    assert apology.json()["apology_number"] == 1
    assert dt.datetime.fromisoformat(apology.json()["promised_at"]) == at(10, 17, month=12)
    bad = _post(client, url, {"action": "fly", "version": 4}, clerk)
    assert bad.status_code == 422 and ERROR_KEYS <= set(bad.json())
    far = _post(
        client,
        url,
        {"action": "apology", "version": 4, "reason": "x", "new_due_at": "9999-12-31T23:59:59"},
        clerk,
    )
    _error(far, 400, "invalid_date")


def test_public_status_needs_no_login_and_shows_no_personal_data(office, desk) -> None:
    dossier = make_dossier(
        office,
        actor=desk,
        at=at(16, 10),
        applicant=services.Applicant(
            name="Nguyễn Thị Hồng Nhung", id_number="001190012345", phone="0912345678"
        ),
    )
    response = Client().get(f"{BASE}/status/{dossier.code}")
    assert response.status_code == 200
    text = response.content.decode()
    for private in ("Nguyễn Thị Hồng Nhung", "001190012345", "0912345678"):
        assert private not in text
    body = response.json()
    assert body["state"] == "received" and body["can_rate"] is False
    assert body["path"][0]["agency"] == office.organisation.name
    _error(Client().get(f"{BASE}/status/000.00.01.H26-261116-9999"), 404, "unknown_dossier")


def test_public_status_is_rate_limited(office, desk, settings) -> None:
    settings.ONESTOP_STATUS_RATE_PER_MINUTE = 2
    dossier = make_dossier(office, actor=desk, at=at(16, 10))
    client = Client()
    assert client.get(f"{BASE}/status/{dossier.code}").status_code == 200
    assert client.get(f"{BASE}/status/{dossier.code}").status_code == 200
    _error(client.get(f"{BASE}/status/{dossier.code}"), 429, "rate_limited")


def test_rating_by_code_once(office, desk, clerk) -> None:
    dossier = make_dossier(office, actor=desk, at=at(16, 10))
    client = Client()
    url = f"{BASE}/status/{dossier.code}/rating"
    _error(
        client.post(url, {"level": "satisfied"}, content_type="application/json"),
        409,
        "not_resolved",
    )
    services.transfer(dossier, actor=desk, expected_version=1, to_department="THU", at=at(16, 11))
    services.start_processing(dossier, actor=clerk, expected_version=2, at=at(17, 9))
    services.record_result(dossier, actor=clerk, expected_version=3, at=at(18, 9))
    rated = client.post(
        url, {"level": "satisfied", "comment": "Tốt"}, content_type="application/json"
    )
    assert rated.status_code == 201 and rated.json()["level"] == "satisfied"
    _error(
        client.post(url, {"level": "satisfied"}, content_type="application/json"),
        409,
        "already_rated",
    )
    bad = client.post(url, {"level": "meh"}, content_type="application/json")
    assert bad.status_code == 422 and ERROR_KEYS <= set(bad.json())
    assert SatisfactionRating.objects.count() == 1
    assert Client().get(f"{BASE}/status/{dossier.code}").json()["rated"] is True


def test_openapi_documents_the_operations_and_errors() -> None:
    from ansinh.api import api

    schema = api.get_openapi_schema()
    paths = schema["paths"]
    for path in (
        "/api/v1/onestop/procedures",
        "/api/v1/onestop/dossiers",
        "/api/v1/onestop/dossiers/{code}",
        "/api/v1/onestop/dossiers/{code}/actions",
        "/api/v1/onestop/status/{code}",
        "/api/v1/onestop/status/{code}/rating",
    ):
        assert path in paths, path
    status_get = paths["/api/v1/onestop/status/{code}"]["get"]
    assert "security" not in status_get or status_get["security"] in ([], [{}])
    assert {str(k) for k in status_get["responses"]} >= {"200", "404", "429"}
    actions = paths["/api/v1/onestop/dossiers/{code}/actions"]["post"]["responses"]
    assert {str(k) for k in actions} >= {"200", "403", "409", "422"}
