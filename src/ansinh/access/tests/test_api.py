"""Token authentication and the /api/v1/access endpoints."""

from __future__ import annotations

import datetime as dt

import pytest
from django.test import Client
from django.utils import timezone

from ansinh.access.models import ApiToken, AuditEvent
from ansinh.access.services import audit, issue_token
from ansinh.access.testing import login_verified, make_org, make_user, token_for

pytestmark = pytest.mark.django_db

ERROR_KEYS = {"code", "field", "message_vi", "message_en"}


def bearer(token: str) -> dict[str, str]:
    return {"HTTP_AUTHORIZATION": f"Bearer {token}"}


def test_valid_token_authenticates_and_only_a_digest_is_stored() -> None:
    user = make_user("officer", org=make_org(scope_codes=("01",), code="HN01", name="BHXH HN"))
    token = token_for(user)
    assert not ApiToken.objects.filter(digest=token).exists()
    response = Client().get("/api/v1/access/me", **bearer(token))
    assert response.status_code == 200
    body = response.json()
    assert body["username"] == user.username
    assert body["organisation"] == {"code": "HN01", "name": "BHXH HN", "kind": "province_office"}
    assert body["roles"] == ["officer"]
    assert body["scope"]["nationwide"] is False and body["scope"]["units"] == ["01"]


@pytest.mark.parametrize("problem", ["revoked", "expired", "unknown", "inactive"])
def test_bad_tokens_get_401_with_the_error_shape(problem: str) -> None:
    user = make_user("officer")
    row, token = issue_token(user, "x")
    if problem == "revoked":
        ApiToken.objects.filter(pk=row.pk).update(revoked_at=timezone.now())
    elif problem == "expired":
        ApiToken.objects.filter(pk=row.pk).update(
            expires_at=timezone.now() - dt.timedelta(seconds=1)
        )
    elif problem == "unknown":
        token = token + "x"
    else:
        user.is_active = False
        user.save()
    response = Client().get("/api/v1/access/me", **bearer(token))
    assert response.status_code == 401
    body = response.json()
    assert set(body) == ERROR_KEYS and body["code"] == "not_authenticated"


def test_session_without_second_factor_is_not_enough() -> None:
    user = make_user("officer")
    client = Client()
    client.force_login(user)
    assert client.get("/api/v1/access/me").status_code == 401
    login_verified(client, user)
    assert client.get("/api/v1/access/me").status_code == 200


def test_issue_and_revoke_tokens() -> None:
    user = make_user("officer")
    client = login_verified(Client(), user)
    response = client.post(
        "/api/v1/access/tokens", {"name": "batch", "days": 30}, content_type="application/json"
    )
    assert response.status_code == 201
    body = response.json()
    token = body["token"]
    assert token.startswith(body["prefix"]) and body["expires_at"]
    assert Client().get("/api/v1/access/me", **bearer(token)).status_code == 200
    # A token cannot mint more tokens.
    minted = Client().post(
        "/api/v1/access/tokens", {"name": "y"}, content_type="application/json", **bearer(token)
    )
    assert minted.status_code == 403 and minted.json()["code"] == "session_required"
    assert client.delete(f"/api/v1/access/tokens/{body['prefix']}").status_code == 204
    assert Client().get("/api/v1/access/me", **bearer(token)).status_code == 401
    again = client.delete(f"/api/v1/access/tokens/{body['prefix']}")
    assert again.status_code == 404 and again.json()["code"] == "unknown_token"


def test_cannot_revoke_someone_elses_token() -> None:
    owner, other = make_user("officer"), make_user("officer")
    row, token = issue_token(owner, "x")
    client = login_verified(Client(), other)
    assert client.delete(f"/api/v1/access/tokens/{row.prefix}").status_code == 404
    assert Client().get("/api/v1/access/me", **bearer(token)).status_code == 200


def test_audit_api_for_auditors_only_with_filters_and_paging() -> None:
    officer = make_user("officer")
    for i in range(3):
        audit(actor=officer, action="read", object_type="person", object_id=i)
    audit(actor=officer, action="update", object_type="employer", object_id=9)
    auditor = make_user("auditor")
    denied = Client().get("/api/v1/access/audit", **bearer(token_for(officer)))
    assert denied.status_code == 403 and denied.json()["code"] == "permission_denied"
    headers = bearer(token_for(auditor))
    page = (
        Client()
        .get(
            "/api/v1/access/audit",
            {"actor": officer.username, "object_type": "person", "page_size": 2},
            **headers,
        )
        .json()
    )
    assert page["count"] == 3 and len(page["results"]) == 2
    assert page["results"][0]["object_id"] == "2"  # newest first
    second = (
        Client()
        .get(
            "/api/v1/access/audit",
            {"actor": officer.username, "object_type": "person", "page_size": 2, "page": 2},
            **headers,
        )
        .json()
    )
    assert [r["object_id"] for r in second["results"]] == ["0"]
    only = Client().get("/api/v1/access/audit", {"action": "update"}, **headers).json()
    assert [r["object_type"] for r in only["results"]] == ["employer"]
    assert only["results"][0]["channel"] == "cli"


def test_token_issue_and_revoke_are_audited_by_channel() -> None:
    officer = make_user("officer")
    token_for(officer)  # no request: the command line
    client = login_verified(Client(), officer)
    body = client.post(
        "/api/v1/access/tokens", {"name": "n"}, content_type="application/json"
    ).json()
    client.delete(f"/api/v1/access/tokens/{body['prefix']}")
    events = AuditEvent.objects.filter(object_type="api_token").order_by("id")
    assert [(e.action, e.channel) for e in events] == [
        ("create", "cli"),
        ("create", "api"),
        ("update", "api"),
    ]
