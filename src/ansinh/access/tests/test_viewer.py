"""The auditor's audit log page: filters, paging, CSV export (itself audited), permission."""

from __future__ import annotations

import csv
import datetime as dt
import io
from unittest import mock

import pytest
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from ansinh.access.models import AuditEvent
from ansinh.access.services import audit
from ansinh.access.testing import login_verified, make_org, make_user
from ansinh.access.views import PAGE_SIZE

pytestmark = pytest.mark.django_db
URL = "/access/audit/"


@pytest.fixture
def events() -> dict:
    hanoi = make_org(scope_codes=("01",), code="HN")
    hcm = make_org(scope_codes=("79",), code="HCM")
    a = make_user("officer", org=hanoi, username="an")
    b = make_user("officer", org=hcm, username="binh")
    old = timezone.make_aware(dt.datetime(2026, 1, 10, 9, 0))
    with mock.patch("django.utils.timezone.now", return_value=old):
        audit(actor=a, action="read", object_type="person", object_id=1, purpose="old claim")
    audit(actor=a, action="read", object_type="person", object_id=2, purpose="card reissue")
    audit(actor=b, action="update", object_type="employer", object_id=7, purpose="address fix")
    return {"a": a, "b": b}


def auditor_client() -> Client:
    return login_verified(Client(), make_user("auditor"))


def ids(response: object) -> list[str]:
    return [e.object_id for e in response.context["page"]]


def test_non_auditors_are_forbidden(events: dict) -> None:
    client = login_verified(Client(), make_user("officer"))
    assert client.get(URL).status_code == 403
    assert client.get(URL, {"format": "csv"}).status_code == 403
    anonymous = Client().get(URL)
    assert anonymous.status_code == 302 and anonymous["Location"].startswith("/access/login/")


def test_filters(events: dict) -> None:
    client = auditor_client()
    assert reverse("access:audit") == URL
    everything = client.get(URL)
    assert everything.status_code == 200
    reads_and_updates = [e.object_id for e in everything.context["page"] if e.action != "create"]
    assert reads_and_updates == ["7", "2", "1"]  # newest first
    assert ids(client.get(URL, {"actor": "binh"})) == ["7"]
    assert ids(client.get(URL, {"organisation": "HN"})) == ["2", "1"]
    assert ids(client.get(URL, {"action": "update"})) == ["7"]
    assert ids(client.get(URL, {"object_type": "person", "object_id": "2"})) == ["2"]
    assert ids(client.get(URL, {"purpose": "CLAIM"})) == ["1"]
    assert ids(client.get(URL, {"date_to": "2026-01-10"})) == ["1"]
    assert ids(client.get(URL, {"date_from": "2026-01-11", "object_type": "person"})) == ["2"]


def test_paging(events: dict) -> None:
    actor = events["a"]
    for i in range(PAGE_SIZE):
        audit(actor=actor, action="search", object_type="person", object_id=100 + i)
    client = auditor_client()
    first = client.get(URL, {"action": "search"})
    assert len(first.context["page"]) == PAGE_SIZE and first.context["page"].has_next() is False
    total = AuditEvent.objects.count()
    assert PAGE_SIZE < total < 2 * PAGE_SIZE
    second = client.get(URL, {"page": 2})
    assert len(second.context["page"]) == total - PAGE_SIZE
    assert ids(second)[-1] == str(AuditEvent.objects.order_by("at", "id").first().object_id)
    assert b"page=1" in second.content


def test_csv_export_is_audited(events: dict) -> None:
    auditor = make_user("auditor")
    client = login_verified(Client(), auditor)
    response = client.get(URL, {"actor": "an", "format": "csv"})
    assert response.status_code == 200 and response["Content-Type"].startswith("text/csv")
    rows = list(csv.reader(io.StringIO(b"".join(response.streaming_content).decode())))
    assert rows[0][:4] == ["at", "actor", "organisation", "action"]
    assert [r[5] for r in rows[1:]] == ["2", "1"]
    export = AuditEvent.objects.get(action="export")
    assert export.actor == auditor and export.detail == {"filters": {"actor": "an"}}
