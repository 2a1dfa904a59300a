"""Role permissions narrowed by the organisation's kind: the insurance agency and the labour
side share role names, not business."""

from __future__ import annotations

import pytest
from django.test import Client

from ansinh.access.testing import login_verified, make_org, make_user

pytestmark = pytest.mark.django_db


def test_insurance_officer_does_not_take_unemployment_claims() -> None:
    """Law on Employment 38/2013 Art. 46: claims are filed at the employment service centre."""
    officer = make_user("officer")  # a provincial social security office
    assert officer.has_perm("registry.view_person")
    assert officer.has_perm("benefits.view_award")
    assert not officer.has_perm("unemployment.view_claim")
    assert not officer.has_perm("unemployment.add_claim")


def test_centre_staff_keep_claims_and_lose_the_insurance_apps() -> None:
    centre = make_org(kind="employment_centre", scope_codes=("01",))
    officer = make_user("officer", org=centre)
    manager = make_user("manager", org=centre)
    assert officer.has_perm("unemployment.add_claim")
    assert manager.has_perm("unemployment.decide_claim")
    assert officer.has_perm("onestop.change_dossier")
    for perm in ("registry.view_person", "contributions.view_ledgerrow", "benefits.view_award"):
        assert not officer.has_perm(perm), perm
    assert not manager.has_perm("benefits.resolve_case")


def test_labour_department_reads_the_registry_not_the_ledger() -> None:
    dept = make_user("officer", org=make_org(kind="labour_dept", scope_codes=("01",)))
    assert dept.has_perm("registry.view_person")
    assert dept.has_perm("unemployment.view_claim")
    assert not dept.has_perm("contributions.view_ledgerrow")


def test_superuser_and_users_without_organisation_are_not_narrowed() -> None:
    admin = make_user(None, org=False, is_superuser=True)
    assert admin.has_perm("unemployment.add_claim") and admin.has_perm("benefits.view_award")
    loose = make_user("officer", org=False)
    assert loose.has_perm("unemployment.view_claim") and loose.has_perm("registry.view_person")


def test_centre_navigation_shows_claims_not_person_search(client: Client) -> None:
    centre = make_org(kind="employment_centre", scope_codes=("01",))
    login_verified(client, make_user("officer", org=centre))
    html = client.get("/").content.decode()
    assert "/unemployment/" in html
    assert "/registry/persons/" not in html and "/benefits/" not in html


def test_password_login_uses_the_narrowing_backend(client: Client) -> None:
    user = make_user("officer")
    response = client.post("/access/login/", {"username": user.username, "password": "x"})
    assert response.status_code in (200, 302)
    from ansinh.access.testing import PASSWORD

    client.post("/access/login/", {"username": user.username, "password": PASSWORD})
    assert client.session.get("_auth_user_backend") == (
        "ansinh.access.backends.OrganisationKindBackend"
    )
