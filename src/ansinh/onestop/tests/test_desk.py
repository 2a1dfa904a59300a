"""The one-stop desk pages: work queues, reception, the dossier page with its path and actions,
the receipt and apology PDFs, and the managers' overdue lists — with the permission cases
(role, office and the organisation tree) and the audit trail of every read of a dossier
(Decree 61/2018/NĐ-CP as amended by Decree 107/2021 and Decree 118/2025: Art. 19–20 reception
and processing at the one-stop desk, Art. 26 dossier code; Decree 13/2023/NĐ-CP on personal
data: restricted and logged access)."""

from __future__ import annotations

import datetime as dt
from zoneinfo import ZoneInfo

import pytest
from django.test import Client
from django.urls import reverse

from ansinh.access.models import AuditEvent
from ansinh.access.testing import login_verified, make_org, make_user
from ansinh.core.errors import DomainError
from ansinh.onestop import services
from ansinh.onestop.models import ApologySlip, Dossier, DossierState, DossierTransition
from ansinh.onestop.testing import make_dossier, make_office, make_officer

pytestmark = pytest.mark.django_db
VN = ZoneInfo("Asia/Ho_Chi_Minh")


def at(d: int, hh: int = 10, mm: int = 0, month: int = 11) -> dt.datetime:
    return dt.datetime(2026, month, d, hh, mm, tzinfo=VN)


@pytest.fixture
def office():
    return make_office(agency_code="000.00.01.H26")


@pytest.fixture
def desk(office):
    return make_officer(office, departments=("MOTCUA",), first_name="Lan", last_name="Phạm")


@pytest.fixture
def clerk(office):
    return make_officer(office, departments=("THU",), first_name="Bình", last_name="Trần")


@pytest.fixture
def manager(office):
    return make_officer(office, "manager")


@pytest.fixture
def stranger():
    other = make_office(agency_code="000.00.02.H27")
    return make_officer(other)


def _client(user) -> Client:
    return login_verified(Client(), user)


def _events(action: str, dossier: Dossier | None = None, **kw) -> list[AuditEvent]:
    qs = AuditEvent.objects.filter(action=action, object_type=kw.pop("object_type", "dossier"))
    if dossier is not None:
        qs = qs.filter(object_id=str(dossier.pk))
    return list(qs.filter(**kw))


def _post_act(client: Client, dossier: Dossier, action: str, **fields):
    data = {"action": action, "version": fields.pop("version", dossier.version), **fields}
    return client.post(reverse("onestop:act", args=[dossier.code]), data)


# --- queue ---------------------------------------------------------------------------------------


def test_queue_needs_a_login_and_the_dossier_role(office) -> None:
    response = Client().get(reverse("onestop:queue"))
    assert response.status_code == 302 and "/access/login/" in response["Location"]
    auditor = make_user("auditor", org=office.organisation)
    response = _client(auditor).get(reverse("onestop:queue"))
    assert response.status_code == 403
    assert _events("denied", object_type="dossier_queue", actor=auditor)


def test_queue_tabs_hold_my_department_and_desk_work_most_urgent_first(office, desk, clerk) -> None:
    """Mine: assigned to me, sorted by due time; department: unassigned in my departments;
    desk: received and not passed on, plus results ready to return."""
    five_days = make_dossier(office, actor=desk, at=at(16, 9))  # 600: due 23/11 17:00
    same_day = make_dossier(office, actor=desk, at=at(17, 9), procedure_code="THE-CAPLAI")
    at_desk = make_dossier(office, actor=desk, at=at(18, 9))
    to_thu = make_dossier(office, actor=desk, at=at(18, 10), department_code="THU")
    for d in (five_days, same_day):
        services.transfer(d, actor=desk, expected_version=1, to_department="THU", at=at(18, 11))
        services.start_processing(d, actor=clerk, expected_version=2, at=at(18, 12))
    ready = make_dossier(office, actor=desk, at=at(19, 9))
    services.transfer(ready, actor=desk, expected_version=1, to_department="THU", at=at(19, 10))
    services.start_processing(ready, actor=clerk, expected_version=2, at=at(19, 11))
    services.record_result(ready, actor=clerk, expected_version=3, at=at(19, 12))

    client = _client(clerk)
    page = client.get(reverse("onestop:queue"))
    assert page.status_code == 200
    rows = [d.code for d in page.context["page"].object_list]
    assert rows == [same_day.code, five_days.code]  # the same-day one is due first
    counts = {key: count for key, _label, count in page.context["tabs"]}
    assert counts == {"mine": 2, "department": 1, "desk": 2}

    dept = client.get(reverse("onestop:queue"), {"tab": "department"})
    assert [d.code for d in dept.context["page"].object_list] == [to_thu.code]
    desk_tab = client.get(reverse("onestop:queue"), {"tab": "desk"})
    assert {d.code for d in desk_tab.context["page"].object_list} == {at_desk.code, ready.code}
    html = page.content.decode()
    assert "badge bad" in html  # both are overdue now (November 2026, today is later)
    search = _events("search", actor=clerk)
    assert search and search[0].detail["results"] in (1, 2)


def test_queue_filters_and_htmx_partial(office, desk) -> None:
    a = make_dossier(office, actor=desk, at=at(16, 9))
    b = make_dossier(office, actor=desk, at=at(16, 10), procedure_code="604")
    client = _client(desk)
    url = reverse("onestop:queue")
    by_procedure = client.get(url, {"tab": "desk", "procedure": "604"})
    assert [d.code for d in by_procedure.context["page"].object_list] == [b.code]
    by_code = client.get(url, {"tab": "desk", "q": a.code[-6:]})
    assert [d.code for d in by_code.context["page"].object_list] == [a.code]
    by_state = client.get(url, {"tab": "desk", "state": "processing"})
    assert list(by_state.context["page"].object_list) == []
    partial = client.get(url, {"tab": "desk"}, headers={"HX-Request": "true"})
    assert partial.status_code == 200
    assert b"<html" not in partial.content and b'id="queue-results"' in partial.content


# --- reception -----------------------------------------------------------------------------------


def test_reception_form_receives_and_links_the_receipt(office, desk) -> None:
    client = _client(desk)
    url = reverse("onestop:receive")
    form = client.get(url)
    assert form.status_code == 200 and "600 —" in form.content.decode()
    checklist = client.get(url, {"procedure": "600"}, headers={"HX-Request": "true"})
    assert b"D02-LT" in checklist.content and b"<html" not in checklist.content
    response = client.post(
        url,
        {
            "procedure": "600",
            "channel": "counter",
            "applicant_name": "Công ty TNHH Hoa Sen",
            "applicant_id": "0101234567",
            "doc_0": "on",
            "copies_0": "1",
            "copies_1": "1",
            "extra_documents": "Giấy ủy quyền",
            "department": "THU",
        },
    )
    assert response.status_code == 302
    dossier = Dossier.objects.get()
    assert response["Location"] == reverse("onestop:dossier", args=[dossier.code]) + "?received=1"
    assert dossier.department.code == "THU" and dossier.created_by == desk
    assert [d["name"] for d in dossier.documents][1] == "Giấy ủy quyền"
    page = client.get(response["Location"])
    assert reverse("onestop:receipt", args=[dossier.code]) in page.content.decode()


def test_reception_errors_are_shown_by_field_and_nothing_is_written(
    office, desk, monkeypatch
) -> None:
    client = _client(desk)
    url = reverse("onestop:receive")
    missing = client.post(url, {"procedure": "600", "channel": "counter", "copies_0": "1"})
    assert missing.status_code == 400
    form = missing.context["form"]
    assert "applicant_name" in form.errors and "doc_0" in form.errors  # D02-LT is required
    assert not Dossier.objects.exists()

    def refuse(**kw):
        raise DomainError("required", "applicant.name", "Thiếu tên người nộp.", "Missing name.")

    monkeypatch.setattr(services, "receive_dossier", refuse)
    refused = client.post(
        url,
        {
            "procedure": "600",
            "channel": "counter",
            "applicant_name": "X",
            "doc_0": "on",
            "copies_0": "1",
            "copies_1": "1",
        },
    )
    assert refused.status_code == 400
    assert refused.context["form"].errors["applicant_name"] == ["Thiếu tên người nộp."]
    assert "Thiếu tên người nộp." in refused.content.decode()
    assert not Dossier.objects.exists()


def test_reception_needs_the_add_permission_and_an_office(office) -> None:
    auditor = make_user("auditor", org=office.organisation)
    assert _client(auditor).get(reverse("onestop:receive")).status_code == 403
    homeless = make_user("officer", org=make_org())
    assert _client(homeless).get(reverse("onestop:receive")).status_code == 403


# --- dossier page --------------------------------------------------------------------------------


def test_dossier_page_shows_the_path_and_audits_the_read(office, desk) -> None:
    dossier = make_dossier(office, actor=desk, at=at(16, 10))
    client = _client(desk)
    page = client.get(reverse("onestop:dossier", args=[dossier.code]))
    assert page.status_code == 200
    html = page.content.decode()
    assert dossier.code in html and "Công ty TNHH Thử Nghiệm" in html
    assert 'id="timeline"' in html and "23/11/2026 17:00" in html
    assert set(page.context["allowed"]) >= {"transfer", "start", "reject", "withdraw"}
    assert "reassign" not in page.context["allowed"]
    read = _events("read", dossier, actor=desk)
    assert len(read) == 1 and read[0].channel == "web"


def test_dossier_page_refuses_other_offices_and_other_roles(office, desk, stranger) -> None:
    dossier = make_dossier(office, actor=desk, at=at(16, 10))
    url = reverse("onestop:dossier", args=[dossier.code])
    assert Client().get(url).status_code == 302
    refused = _client(stranger).get(url)
    assert refused.status_code == 403
    assert "Công ty TNHH Thử Nghiệm" not in refused.content.decode()
    denied = _events("denied", dossier, actor=stranger)
    assert denied and denied[0].detail["reason"] == "not_your_office"
    auditor = make_user("auditor", org=office.organisation)
    assert _client(auditor).get(url).status_code == 403
    assert _events("denied", dossier, actor=auditor)[0].detail["reason"] == "permission_denied"
    assert not _events("read", dossier)
    assert _client(desk).get(reverse("onestop:dossier", args=["nope"])).status_code == 404


def test_offices_above_and_nationwide_staff_may_read(office, desk) -> None:
    """A province office oversees its commune offices; a nationwide agency sees all."""
    commune = make_office(
        agency_code="000.00.03.H28",
        kind="commune_office",
        parent=office.organisation,
    )
    dossier = make_dossier(commune, actor=make_officer(commune), at=at(16, 10))
    url = reverse("onestop:dossier", args=[dossier.code])
    assert _client(desk).get(url).status_code == 200  # the province office, parent of the commune
    central = make_user("officer", org=make_org(kind="central", scope_codes=(), nationwide=True))
    assert _client(central).get(url).status_code == 200
    commune_officer = make_officer(commune)
    upward = make_dossier(office, actor=desk, at=at(16, 11))
    assert (
        _client(commune_officer).get(reverse("onestop:dossier", args=[upward.code])).status_code
        == 403
    )


def test_actions_through_the_page_grow_the_timeline(office, desk, clerk) -> None:
    dossier = make_dossier(office, actor=desk, at=at(16, 10))
    thu = office.departments.get(code="THU")
    response = _post_act(
        _client(desk), dossier, "transfer", destination=f"{office.pk}:THU", note="Chuyển phòng thu"
    )
    assert response.status_code == 302
    dossier.refresh_from_db()
    assert dossier.state == DossierState.TRANSFERRED and dossier.department == thu
    client = _client(clerk)
    page = client.get(reverse("onestop:dossier", args=[dossier.code]))
    assert "start" in page.context["allowed"]
    assert _post_act(client, dossier, "start").status_code == 302
    dossier.refresh_from_db()
    assert dossier.state == DossierState.PROCESSING and dossier.assignee == clerk
    page = client.get(reverse("onestop:dossier", args=[dossier.code]))
    assert len(page.context["steps"]) == 3
    assert "Chuyển phòng thu" in page.content.decode()
    assert set(page.context["allowed"]) >= {"result_ready", "request_supplement", "apology"}


def test_stale_version_shows_the_conflict_and_the_fresh_page(office, desk) -> None:
    dossier = make_dossier(office, actor=desk, at=at(16, 10))
    services.transfer(dossier, actor=desk, expected_version=1, to_department="THU")
    response = _post_act(
        _client(desk), dossier, "transfer", version=1, destination=f"{office.pk}:SOTHE"
    )
    assert response.status_code == 409
    assert response.context["error_code"] == "stale_version"
    html = response.content.decode()
    assert "Someone else" in html or "người khác" in html
    assert response.context["dossier"].version == 2  # the fresh page
    assert DossierTransition.objects.filter(dossier=dossier).count() == 2


def test_illegal_action_and_missing_note_write_nothing(office, desk, clerk) -> None:
    dossier = make_dossier(office, actor=desk, at=at(16, 10))
    client = _client(desk)
    illegal = _post_act(client, dossier, "return_result")
    assert illegal.status_code == 409 and illegal.context["error_code"] == "illegal_transition"
    no_note = _post_act(client, dossier, "request_supplement", note="  ")
    assert no_note.status_code == 400 and no_note.context["error_code"] == "note_required"
    unknown = _post_act(client, dossier, "fly")
    assert unknown.status_code == 400
    dossier.refresh_from_db()
    assert dossier.version == 1 and dossier.path.count() == 1
    services.transfer(
        dossier, actor=desk, expected_version=1, to_department="THU", to_assignee=clerk
    )
    dossier.refresh_from_db()
    not_mine = _post_act(client, dossier, "start")  # assigned to the clerk
    assert not_mine.status_code == 403 and not_mine.context["error_code"] == "not_assignee"


def test_apology_through_the_page_and_its_pdf(office, desk, clerk) -> None:
    """The apology-and-new-date slip (phiếu xin lỗi và hẹn lại ngày trả kết quả)."""
    dossier = make_dossier(office, actor=desk, at=at(16, 10))
    services.transfer(dossier, actor=desk, expected_version=1, to_department="THU")
    services.start_processing(dossier, actor=clerk, expected_version=2)
    client = _client(clerk)
    new_day = dt.date.today() + dt.timedelta(days=10)
    response = _post_act(
        client,
        dossier,
        "apology",
        version=3,
        reason="Cần xác minh quá trình đóng",
        new_due_date=new_day.isoformat(),
        delivered_via="email",
    )
    assert response.status_code == 302
    slip = ApologySlip.objects.get()
    assert slip.number == 1 and slip.delivered_via == "email"
    assert slip.new_due_at.astimezone(VN).date() == new_day
    page = client.get(reverse("onestop:dossier", args=[dossier.code]))
    assert reverse("onestop:apology", args=[dossier.code, 1]) in page.content.decode()
    pdf = client.get(reverse("onestop:apology", args=[dossier.code, 1]))
    assert pdf.status_code == 200 and pdf["Content-Type"] == "application/pdf"
    assert pdf.content.startswith(b"%PDF")
    assert _events("export", dossier, actor=clerk)[0].detail["document"] == "apology"
    assert client.get(reverse("onestop:apology", args=[dossier.code, 2])).status_code == 404


def test_receipt_pdf_is_authorised_and_audited(office, desk, stranger) -> None:
    dossier = make_dossier(office, actor=desk, at=at(16, 10))
    url = reverse("onestop:receipt", args=[dossier.code])
    pdf = _client(desk).get(url)
    assert pdf.status_code == 200 and pdf["Content-Type"] == "application/pdf"
    assert f'filename="{dossier.code}.pdf"' in pdf["Content-Disposition"]
    assert pdf["Content-Disposition"].startswith("inline")
    export = _events("export", dossier, actor=desk)
    assert export and export[0].detail["document"] == "receipt"
    assert _client(stranger).get(url).status_code == 403
    assert _events("denied", dossier, actor=stranger)


def test_receipt_data_names_the_receiving_office_and_officer(office, desk, rf) -> None:
    from ansinh.onestop.views_desk import receipt_data

    dossier = make_dossier(office, actor=desk, at=at(16, 10))
    data = receipt_data(rf.get("/"), dossier)
    assert data.agency.name == office.organisation.name
    assert data.signer.position == "CÁN BỘ TIẾP NHẬN" and "Lan" in data.signer.name
    assert data.status_url.endswith(f"/tra-cuu/{dossier.code}/")
    assert data.due_at == at(23, 17) and data.number == "1/GTN"


# --- overdue -------------------------------------------------------------------------------------


def test_overdue_page_groups_and_reassigns(office, desk, clerk, manager) -> None:
    late = make_dossier(office, actor=desk, at=at(2, 10))  # due 9/11: overdue
    services.transfer(late, actor=desk, expected_version=1, to_department="THU", to_assignee=clerk)
    make_dossier(office, actor=desk, at=at(20, 10))  # due later: not listed
    assert _client(clerk).get(reverse("onestop:overdue")).status_code == 403
    client = _client(manager)
    page = client.get(reverse("onestop:overdue"))
    assert page.status_code == 200
    groups = page.context["groups"]
    assert len(groups) == 1 and groups[0].overdue == 1
    dept = groups[0].departments[0]
    assert dept.department.code == "THU" and dept.officers[0].officer == clerk
    assert late.code in page.content.decode()
    other = make_officer(office, departments=("THU",))
    response = client.post(
        reverse("onestop:act", args=[late.code]),
        {"action": "reassign", "version": 2, "to_assignee": other.pk, "return_to": "overdue"},
    )
    assert response.status_code == 302 and response["Location"] == reverse("onestop:overdue")
    late.refresh_from_db()
    assert late.assignee == other and late.path.last().action == "reassign"
    stale = client.post(
        reverse("onestop:act", args=[late.code]),
        {"action": "reassign", "version": 2, "to_assignee": clerk.pk, "return_to": "overdue"},
        follow=True,
    )
    assert "người khác" in stale.content.decode() or "Someone else" in stale.content.decode()


def test_managers_above_see_the_offices_under_them(office, manager) -> None:
    commune = make_office(
        agency_code="000.00.04.H29", kind="commune_office", parent=office.organisation
    )
    late = make_dossier(commune, actor=make_officer(commune), at=at(2, 10))
    page = _client(manager).get(reverse("onestop:overdue"))
    assert [g.office for g in page.context["groups"]] == [commune]
    assert late.code in page.content.decode()
    commune_manager = make_officer(commune, "manager")
    above = make_dossier(office, at=at(2, 11))
    page = _client(commune_manager).get(reverse("onestop:overdue"))
    assert above.code not in page.content.decode()


def test_navigation_links_follow_the_permissions(office, desk, manager) -> None:
    home = reverse("portal:home")
    officer_html = _client(desk).get(home).content.decode()
    assert reverse("onestop:queue") in officer_html
    assert reverse("onestop:overdue") not in officer_html
    manager_html = _client(manager).get(home).content.decode()
    assert reverse("onestop:overdue") in manager_html
    auditor = make_user("auditor", org=office.organisation)
    assert reverse("onestop:queue") not in _client(auditor).get(home).content.decode()
