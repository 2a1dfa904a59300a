"""The six roles and their permissions; sensitive data is in no default role."""

from __future__ import annotations

import pytest
from django.contrib.auth.models import Group

from ansinh.access.services import ROLES, ensure_roles
from ansinh.access.testing import make_user

pytestmark = pytest.mark.django_db


def perms(role: str) -> set[str]:
    """The role's own permissions: a user without organisation, so no kind narrows them."""
    return make_user(role, org=False).get_all_permissions()


def test_roles_exist_after_migrate_and_ensure_is_idempotent() -> None:
    assert set(Group.objects.values_list("name", flat=True)) >= set(ROLES)
    before = {g.name: set(g.permissions.values_list("pk", flat=True)) for g in Group.objects.all()}
    ensure_roles()
    after = {g.name: set(g.permissions.values_list("pk", flat=True)) for g in Group.objects.all()}
    assert before == after


def test_officer_reads_and_writes_registry_but_nothing_sensitive() -> None:
    p = perms("officer")
    assert {
        "registry.view_person",
        "registry.add_person",
        "registry.change_employer",
        "registry.add_employmentspell",
        "registry.view_healthinsurancecard",
    } <= p
    assert any(x.startswith("contributions.change_") for x in p)
    assert "registry.delete_person" not in p
    assert "registry.view_sensitive" not in p and "registry.view_sensitiveattributes" not in p
    assert "registry.view_any_area" not in p
    assert "access.view_auditevent" not in p


def test_manager_is_officer_plus_reports() -> None:
    extra = {
        "access.view_reports",
        "access.view_organisation",
        "onestop.reassign_dossier",
        "unemployment.decide_claim",
        "nationaldb.commit_importbatch",
        "benefits.resolve_case",
    }
    assert perms("officer") | extra == perms("manager")


def test_auditor_sees_audit_log_and_no_personal_data() -> None:
    p = perms("auditor")
    assert "access.view_auditevent" in p
    assert not any(x.startswith("registry.") for x in p)
    assert not any(x.startswith(("access.add_", "access.change_", "access.delete_")) for x in p)


def test_administrator_manages_users_and_rules_but_not_personal_data() -> None:
    p = perms("administrator")
    assert {"access.add_user", "access.change_organisation", "access.view_apitoken"} <= p
    assert any(x.startswith("law.change_") for x in p)
    assert not any(x.startswith("registry.") for x in p)
    assert "access.view_auditevent" not in p


def test_sensitive_data_permission_is_in_no_default_role() -> None:
    """Decision: ethnicity (Decree 13/2023 sensitive data) is granted per user, never by role."""
    for role in ROLES:
        assert "registry.view_sensitive" not in perms(role), role
        assert "registry.view_any_area" not in perms(role), role


def test_employer_and_ivan_have_no_registry_reads() -> None:
    for role in ("employer", "ivan"):
        assert not any(x.startswith("registry.") for x in perms(role))
