"""The audit log: what an event records, append-only in the database, authorised reads."""

from __future__ import annotations

import datetime as dt

import pytest
from django.db import DatabaseError, connection, transaction
from django.test import RequestFactory

from ansinh.access.models import AuditAction, AuditEvent
from ansinh.access.services import audit, authorize_employer_read, authorize_person_read
from ansinh.access.testing import make_org, make_unit, make_user
from ansinh.access.tests.helpers import employer, person, spell
from ansinh.core.errors import Forbidden

pytestmark = pytest.mark.django_db


def test_event_records_who_what_why_channel_and_ip() -> None:
    user = make_user("officer")
    request = RequestFactory().get("/registry/persons/1", REMOTE_ADDR="10.1.2.3")
    event = audit(
        actor=user,
        action=AuditAction.READ,
        object_type="person",
        object_id=42,
        purpose="verify claim",
        request=request,
        detail={"fields": 3},
    )
    event.refresh_from_db()
    assert (event.actor, event.actor_username, event.organisation_id) == (
        user,
        user.username,
        user.organisation_id,
    )
    assert (event.action, event.object_type, event.object_id) == ("read", "person", "42")
    assert (event.purpose, event.channel, event.ip, event.detail) == (
        "verify claim",
        "web",
        "10.1.2.3",
        {"fields": 3},
    )


def test_channel_comes_from_the_request() -> None:
    user = make_user("officer")
    api_request = RequestFactory().get("/anything")
    api_request.auth_channel = "api"
    assert audit(actor=user, action="read", object_type="x", request=api_request).channel == "api"
    session_api = RequestFactory().get("/api/v1/registry/persons")
    assert audit(actor=user, action="read", object_type="x", request=session_api).channel == "api"
    assert audit(actor=user, action="read", object_type="x").channel == "cli"
    assert audit(actor=user, action="read", object_type="x", channel="task").channel == "task"
    with pytest.raises(ValueError):
        audit(actor=user, action="peek", object_type="x")


def test_model_refuses_update_and_delete() -> None:
    event = audit(actor=None, action="login_failed", object_type="user")
    event.purpose = "tampered"
    with pytest.raises(RuntimeError):
        event.save()
    with pytest.raises(RuntimeError):
        event.delete()


def _raw(sql: str, params: list) -> None:
    with transaction.atomic(), connection.cursor() as cursor:
        cursor.execute(sql, params)


def test_database_refuses_update_and_delete_through_raw_sql() -> None:
    """Append-only at database level (migration 0002), on SQLite and PostgreSQL alike."""
    event = audit(actor=make_user("officer"), action="read", object_type="person", object_id=1)
    with pytest.raises(DatabaseError, match="append-only"):
        _raw("UPDATE access_auditevent SET purpose = %s WHERE id = %s", ["x", event.pk])
    with pytest.raises(DatabaseError, match="append-only"):
        _raw("DELETE FROM access_auditevent WHERE id = %s", [event.pk])
    with pytest.raises(DatabaseError, match="append-only"), transaction.atomic():
        AuditEvent.objects.filter(pk=event.pk).update(purpose="x")
    with pytest.raises(DatabaseError, match="append-only"), transaction.atomic():
        AuditEvent.objects.filter(pk=event.pk).delete()
    event.refresh_from_db()
    assert event.purpose == ""
    # Inserting still works.
    audit(actor=None, action="login_failed", object_type="user")


def test_database_refuses_truncate_on_postgresql() -> None:
    if connection.vendor != "postgresql":
        pytest.skip("TRUNCATE exists on PostgreSQL only")
    with pytest.raises(DatabaseError, match="append-only"):
        _raw("TRUNCATE access_auditevent", [])


@pytest.mark.django_db(transaction=True)
def test_flush_still_empties_the_database() -> None:
    """The test runner and `ansinh flush` wipe everything; the triggers come back after."""
    from django.core.management import call_command

    audit(actor=make_user("officer"), action="read", object_type="person", object_id=1)
    call_command("flush", interactive=False, verbosity=0)
    assert not AuditEvent.objects.exists()
    event = audit(actor=None, action="login_failed", object_type="user")
    with pytest.raises(DatabaseError, match="append-only"):
        _raw("DELETE FROM access_auditevent WHERE id = %s", [event.pk])


def test_authorized_person_read_is_audited() -> None:
    unit = make_unit("00101")
    officer = make_user("officer", org=make_org(scope_codes=("01",)))
    p = person(unit)
    authorize_person_read(officer, p, purpose="answer a citizen's request")
    event = AuditEvent.objects.get(action="read")
    assert (event.actor_id, event.object_type, event.object_id) == (officer.pk, "person", str(p.pk))
    assert event.purpose == "answer a citizen's request"


def test_out_of_scope_read_is_refused_and_audited_as_denied() -> None:
    officer = make_user("officer", org=make_org(scope_codes=("79",)))
    p = person(make_unit("00101"))
    with pytest.raises(Forbidden) as exc:
        authorize_person_read(officer, p, purpose="curiosity")
    assert exc.value.first.code == "out_of_scope"
    assert exc.value.status == 403
    event = AuditEvent.objects.get(action="denied")
    assert event.detail == {"reason": "out_of_scope"} and event.object_id == str(p.pk)
    assert not AuditEvent.objects.filter(action="read").exists()


def test_role_without_person_permission_is_refused() -> None:
    auditor = make_user("auditor", org=make_org(scope_codes=("01",)))
    p = person(make_unit("00101"))
    with pytest.raises(Forbidden) as exc:
        authorize_person_read(auditor, p, purpose="look")
    assert exc.value.first.code == "permission_denied"
    assert AuditEvent.objects.filter(action="denied", actor=auditor).count() == 1


def test_read_through_employer_in_scope_is_allowed() -> None:
    officer = make_user("officer", org=make_org(scope_codes=("01",)))
    commuter = person(make_unit("79001", province="79"))
    firm = employer(make_unit("00101"))
    spell(commuter, firm, dt.date(2024, 1, 1))
    authorize_person_read(officer, commuter, purpose="contribution check")
    authorize_employer_read(officer, firm, purpose="bill")
    assert AuditEvent.objects.filter(action="read").count() == 2
    far_firm = employer(make_unit("79001", province="79"))
    with pytest.raises(Forbidden):
        authorize_employer_read(officer, far_firm, purpose="bill")
