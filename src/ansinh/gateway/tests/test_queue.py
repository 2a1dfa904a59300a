"""The officer's queue of gateway rows: who sees which rows, what each read leaves in the audit
log, the decision pages and API with their precise errors, and the last decision answering the
dossier (Decree 166/2016/NĐ-CP Art. 11: the agency answers every electronic dossier; rows it may
not decide alone wait for an officer, the one-stop clock running)."""

from __future__ import annotations

import datetime as dt
import json
from typing import Any

import pytest
from django.test import Client
from django.urls import reverse

from ansinh.access.models import AuditEvent
from ansinh.access.testing import login_verified, make_user, token_for
from ansinh.contributions import services as contributions
from ansinh.gateway import selectors, services
from ansinh.gateway import testing as gw
from ansinh.gateway.models import RowStatus, Submission, SubmissionRow
from ansinh.onestop.models import Dossier, DossierState
from ansinh.onestop.testing import make_office, make_officer
from ansinh.registry.testing import make_employer, make_person

pytestmark = pytest.mark.django_db


@pytest.fixture
def office():
    return make_office(province_code="01")


@pytest.fixture
def employer():
    gw.trust_test_ca()
    emp = make_employer(tax_code="0101234567")
    gw.register_etrans(emp)
    return emp


def queued_dossier(employer: Any, *, tx: str = "Q-1") -> Submission:
    """A processed D02-LT dossier: row 1 accepted, row 2 a worker still employed elsewhere
    (``employed_elsewhere``), row 3 a name that differs from the registry's
    (``name_mismatch``)."""
    elsewhere = make_employer(tax_code="0108888888")
    busy = make_person()
    contributions.report_increase(
        employer=elsewhere,
        person=busy,
        start=dt.date(2025, 1, 1),
        contract_type="indefinite",
        salary=7_000_000,
    )
    renamed = make_person(full_name="Đỗ Thị Giang")
    rows = [
        gw.increase_row(1, make_person()),
        gw.increase_row(2, busy),
        gw.increase_row(3, renamed, full_name="Đỗ Thị Hương"),
    ]
    signed = gw.signed(
        gw.package_600(employer, rows, transaction_id=tx), gw.employer_identity(employer)
    )
    sub = services.submit(signed, submitter=gw.employer_org(employer)).submission
    sub = services.process_submission(sub.pk)
    assert sub.rows_queued == 2, list(sub.rows.values("number", "status", "error_code"))
    return sub


def row(sub: Submission, number: int) -> SubmissionRow:
    return sub.rows.get(number=number)


@pytest.fixture
def officer(office) -> Any:
    return make_officer(office)


@pytest.fixture
def desk(client: Client, officer) -> Client:
    return login_verified(client, officer)


def stranger() -> Any:
    """An officer of another province's office: outside the dossier's remit."""
    return make_officer(make_office(province_code="79"))


# --- scope and the list ------------------------------------------------------------------------


def test_queue_lists_the_rows_of_the_officers_dossiers_oldest_first(
    desk: Client, officer, employer
) -> None:
    first = queued_dossier(employer, tx="Q-1")
    second = queued_dossier(employer, tx="Q-2")
    response = desk.get(reverse("gateway:queue"))
    assert response.status_code == 200
    html = response.content.decode()
    assert first.dossier.code in html and second.dossier.code in html
    assert html.index(first.dossier.code) < html.index(second.dossier.code)
    assert reverse("onestop:dossier", args=[first.dossier.code]) in html
    ids = list(selectors.officer_queue(officer).values_list("pk", flat=True))
    assert ids == [row(first, 2).pk, row(first, 3).pk, row(second, 2).pk, row(second, 3).pk]
    assert dict(selectors.queue_reason_counts(officer)) == {
        "employed_elsewhere": 2,
        "name_mismatch": 2,
    }
    search = AuditEvent.objects.filter(action="search", object_type="gateway_row").latest("id")
    assert search.detail == {"filters": [], "results": 4}


def test_queue_filters_by_reason_employer_procedure_date_and_dossier(
    desk: Client, officer, employer
) -> None:
    sub = queued_dossier(employer)
    today = sub.received_at.astimezone(dt.UTC).date()

    def listed(**params: str) -> list[int]:
        response = desk.get(reverse("gateway:queue"), params)
        assert response.status_code == 200, response.content[:300]
        return [r["row"].pk for r in response.context["rows"]]

    assert listed(reason="name_mismatch") == [row(sub, 3).pk]
    assert listed(employer=employer.unit_code) == [row(sub, 2).pk, row(sub, 3).pk]
    assert listed(employer="no such employer name") == []
    assert listed(procedure="604") == []
    assert listed(received_from=(today + dt.timedelta(days=2)).isoformat()) == []
    assert len(listed(received_to=(today + dt.timedelta(days=1)).isoformat())) == 2
    assert listed(dossier=sub.dossier.code, reason="employed_elsewhere") == [row(sub, 2).pk]
    bad = desk.get(
        reverse("gateway:queue"), {"received_from": "2026-11-20", "received_to": "2026-11-01"}
    )
    assert bad.status_code == 400
    # Counts per reason ignore the reason filter, so every chip keeps its number.
    html = desk.get(reverse("gateway:queue"), {"reason": "name_mismatch"}).content.decode()
    assert 'data-reason="employed_elsewhere"' in html
    detail = AuditEvent.objects.filter(action="search", object_type="gateway_row").latest("id")
    assert detail.detail["filters"] == ["reason"]  # names of filters, never their values


def test_other_offices_and_other_roles_see_nothing(client: Client, employer, office) -> None:
    sub = queued_dossier(employer)
    other = stranger()
    assert not selectors.officer_queue(other).exists()
    login_verified(client, other)
    assert client.get(reverse("gateway:queue")).context["rows"] == []
    # The stranger opening a row of that dossier: 403 and a DENIED event, nothing shown.
    response = client.get(reverse("gateway:queue_row", args=[row(sub, 3).pk]))
    assert response.status_code == 403
    denied = AuditEvent.objects.filter(action="denied", object_type="gateway_row").get()
    assert denied.detail == {"reason": "out_of_scope"}
    assert "Đỗ Thị Giang" not in response.content.decode()
    # Roles without dossier rights (auditor, employer) may not open the queue at all.
    for role in ("auditor", "employer"):
        client.force_login(make_user(role))
        login_verified(client, make_user(role))
        assert client.get(reverse("gateway:queue")).status_code == 403, role


def test_a_manager_of_the_province_above_sees_the_rows(client: Client, employer) -> None:
    """The one-stop remit: an organisation above the office handling the dossier."""
    from ansinh.access.testing import make_org

    parent = make_org(scope_codes=("01",), name="BHXH cấp trên")
    office = make_office(province_code="01", parent=parent)
    assert office is not None
    sub = queued_dossier(employer)
    assert sub.dossier.receiving_office == office
    manager = make_user("manager", org=parent)
    assert selectors.queued_count(manager) == 2


# --- the decision page ---------------------------------------------------------------------------


def test_row_page_shows_declared_data_beside_the_registry_and_audits_each_read(
    desk: Client, officer, employer
) -> None:
    sub = queued_dossier(employer)
    mismatch = row(sub, 3)
    response = desk.get(reverse("gateway:queue_row", args=[mismatch.pk]))
    assert response.status_code == 200
    html = response.content.decode()
    assert "Đỗ Thị Hương" in html and "Đỗ Thị Giang" in html  # declared and on record
    compare = {c.key: c for c in response.context["review"].fields}
    assert compare["full_name"].differs and compare["full_name"].at_fault
    assert not compare["date_of_birth"].differs
    person = response.context["review"].person
    reads = AuditEvent.objects.filter(actor=officer, action="read")
    assert reads.filter(object_type="dossier", object_id=str(sub.dossier_id)).exists()
    person_read = reads.get(object_type="person", object_id=str(person.pk))
    assert person_read.purpose == "gateway_row_decision"
    assert person_read.detail == {"gateway_row": mismatch.pk, "dossier": sub.dossier_id}

    busy = desk.get(reverse("gateway:queue_row", args=[row(sub, 2).pk]))
    review = busy.context["review"]
    assert len(review.conflicting) == 1  # the open spell at the other employer
    assert 'class="conflict"' in busy.content.decode()


def test_reject_needs_a_note_and_the_last_decision_answers_the_dossier(
    desk: Client, officer, employer
) -> None:
    sub = queued_dossier(employer)
    busy, renamed = row(sub, 2), row(sub, 3)
    url = reverse("gateway:queue_decide", args=[busy.pk])

    response = desk.post(url, {"decision": "reject", "note": "  "})
    assert response.status_code == 422
    assert 'id="note-error"' in response.content.decode()
    assert SubmissionRow.objects.get(pk=busy.pk).status == RowStatus.QUEUED

    note = "Người lao động chưa được đơn vị cũ báo giảm"
    response = desk.post(url, {"decision": "reject", "note": note, "next": "/gateway/queue/"})
    assert response.status_code == 302 and response["Location"] == "/gateway/queue/"
    busy.refresh_from_db()
    assert (busy.status, busy.error_code, busy.decided_by) == (
        RowStatus.REJECTED,
        "rejected_by_officer",
        officer,
    )
    assert note in busy.message_vi
    assert Dossier.objects.get(pk=sub.dossier_id).state == DossierState.PROCESSING

    # Decided meanwhile: 409 and the fresh page, nothing written.
    again = desk.post(url, {"decision": "accept"})
    assert again.status_code == 409 and 'id="decided"' in again.content.decode()

    response = desk.post(reverse("gateway:queue_decide", args=[renamed.pk]), {"decision": "accept"})
    assert response.status_code == 302
    sub.refresh_from_db()
    assert (sub.rows_accepted, sub.rows_rejected, sub.rows_queued) == (2, 1, 0)
    assert sub.result_xml
    assert Dossier.objects.get(pk=sub.dossier_id).state == DossierState.RETURNED
    messages = [str(m) for m in desk.get(reverse("gateway:queue")).context["messages"]]
    assert any("Hồ sơ" in m or "dossier" in m for m in messages)
    assert AuditEvent.objects.filter(object_type="gateway_row", action="update").count() == 2


def test_accepting_a_row_the_registry_still_refuses_keeps_it_waiting(
    desk: Client, employer
) -> None:
    sub = queued_dossier(employer)
    busy = row(sub, 2)
    response = desk.post(reverse("gateway:queue_decide", args=[busy.pk]), {"decision": "accept"})
    assert response.status_code == 409
    assert "spell_overlap" in response.content.decode()
    assert SubmissionRow.objects.get(pk=busy.pk).status == RowStatus.QUEUED


def test_an_officer_outside_the_remit_may_not_decide(client: Client, office, employer) -> None:
    sub = queued_dossier(employer)
    login_verified(client, stranger())
    url = reverse("gateway:queue_decide", args=[row(sub, 3).pk])
    assert client.post(url, {"decision": "accept"}).status_code == 403
    assert SubmissionRow.objects.get(pk=row(sub, 3).pk).status == RowStatus.QUEUED


def test_dossier_page_and_navigation_link_to_the_waiting_rows(desk: Client, employer) -> None:
    sub = queued_dossier(employer)
    page = desk.get(reverse("onestop:dossier", args=[sub.dossier.code])).content.decode()
    assert 'id="gateway-queued-rows"' in page
    assert f"{reverse('gateway:queue')}?dossier={sub.dossier.code.replace('/', '%2F')}" in page
    home = desk.get(reverse("gateway:queue")).content.decode()
    assert 'id="nav-gateway-queue"' in home and ">2<" in home


# --- the API -------------------------------------------------------------------------------------


def api(client: Client, user: Any, method: str, path: str, body: Any = None) -> Any:
    headers = {"HTTP_AUTHORIZATION": f"Bearer {token_for(user)}"}
    if method == "get":
        return client.get(f"/api/v1/gateway{path}", body or {}, **headers)
    return client.post(
        f"/api/v1/gateway{path}", json.dumps(body), content_type="application/json", **headers
    )


def test_api_lists_the_queue_paginated(client: Client, officer, employer) -> None:
    sub = queued_dossier(employer)
    response = api(client, officer, "get", "/queue")
    assert response.status_code == 200
    body = response.json()
    assert body["count"] == 2
    first = body["items"][0]
    assert first["reason"] == "employed_elsewhere" and first["dossier_code"] == sub.dossier.code
    assert first["employer_unit_code"] == employer.unit_code and first["number"] == 2
    only = api(client, officer, "get", "/queue", {"reason": "name_mismatch"}).json()
    assert [i["number"] for i in only["items"]] == [3]
    bad = api(client, officer, "get", "/queue", {"received_from": "23/11/2026"})
    assert bad.status_code == 422 and bad.json()["field"] == "received_from"
    assert api(client, stranger(), "get", "/queue").json()["count"] == 0
    refused = api(client, make_user("employer"), "get", "/queue")
    assert refused.status_code == 403 and refused.json()["code"] == "permission_denied"

    detail = api(client, officer, "get", f"/queue/{row(sub, 2).pk}").json()
    assert (
        detail["row"]["reason"] == "employed_elsewhere"
        and detail["person_on_record"]
        and len(detail["conflicting_spells"]) == 1
    )
    assert AuditEvent.objects.filter(action="read", object_type="person").exists()


def test_api_decision_errors_are_precise(client: Client, officer, employer) -> None:
    sub = queued_dossier(employer)
    busy, renamed = row(sub, 2), row(sub, 3)

    missing = api(client, officer, "post", "/queue/999999/decision", {"decision": "accept"})
    assert missing.status_code == 404 and missing.json()["code"] == "row_not_found"

    out = api(client, stranger(), "post", f"/queue/{busy.pk}/decision", {"decision": "accept"})
    assert out.status_code == 403 and out.json()["code"] == "out_of_scope"

    no_note = api(client, officer, "post", f"/queue/{busy.pk}/decision", {"decision": "reject"})
    assert no_note.status_code == 422
    assert (no_note.json()["code"], no_note.json()["field"]) == ("note_required", "note")

    wrong = api(client, officer, "post", f"/queue/{busy.pk}/decision", {"decision": "maybe"})
    assert wrong.status_code == 422 and wrong.json()["field"] == "decision"

    refused = api(client, officer, "post", f"/queue/{busy.pk}/decision", {"decision": "accept"})
    assert refused.status_code == 409 and refused.json()["code"] == "spell_overlap"

    done = api(
        client,
        officer,
        "post",
        f"/queue/{busy.pk}/decision",
        {"decision": "reject", "note": "Chưa báo giảm ở đơn vị cũ"},
    )
    assert done.status_code == 200
    assert done.json()["status"] == "rejected" and done.json()["rows_queued"] == 1
    assert not done.json()["result_ready"]

    twice = api(
        client, officer, "post", f"/queue/{busy.pk}/decision", {"decision": "reject", "note": "x"}
    )
    assert twice.status_code == 409 and twice.json()["code"] == "row_not_queued"

    last = api(client, officer, "post", f"/queue/{renamed.pk}/decision", {"decision": "accept"})
    assert last.status_code == 200
    assert last.json()["result"]["queue_reason"] == "name_mismatch"
    assert last.json()["result_ready"] and last.json()["rows_queued"] == 0
