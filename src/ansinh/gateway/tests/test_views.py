"""The gateway's staff pages: who may open them, what they show, and the exports."""

from __future__ import annotations

import csv
import datetime as dt
import io

import pytest
from django.test import Client
from django.urls import reverse
from openpyxl import load_workbook

from ansinh.access.models import AuditEvent
from ansinh.access.testing import login_verified, make_org, make_user
from ansinh.gateway import submitters
from ansinh.gateway.models import Channel, EtransRegistration, IvanProbe, IvanProvider, Verdict
from ansinh.gateway.tests.submitter_factories import at, employer_in, make_ivan, submission

pytestmark = pytest.mark.django_db

OCTOBER = {"from": "2026-10-01", "to": "2026-10-31"}


@pytest.fixture
def manager(client: Client) -> Client:
    """A signed-in manager of a nationwide organisation."""
    org = make_org(kind="central", scope_codes=(), nationwide=True)
    return login_verified(client, make_user("manager", org=org))


@pytest.fixture
def data() -> dict:
    ivan = make_ivan("VNPT", name="VNPT-VAN", health_url="https://van.example.vn/up")
    hanoi, saigon = (
        employer_in("01", name="Công ty Hà Nội"),
        employer_in("79", name="Công ty Sài Gòn"),
    )
    r = at(6, 9)
    submission(ivan=ivan, employer=hanoi, received_at=r, ivan_received_at=r - dt.timedelta(hours=3))
    submission(ivan=ivan, employer=hanoi, received_at=r, signed_at=r - dt.timedelta(minutes=20))
    submission(ivan=ivan, received_at=at(7, 9), verdict=Verdict.REFUSED)
    employer_in("79")  # idle
    IvanProbe.objects.create(ivan=ivan, at=r, ok=True, status=200)
    for employer in (hanoi, saigon):
        submitters.register_employer_etrans(
            employer=employer,
            channel=Channel.IVAN,
            ivan=ivan,
            registered_on=dt.date(2026, 9, 1),
            email="lienhe@example.vn",
        )
    return {"ivan": ivan, "hanoi": hanoi, "saigon": saigon}


PAGES = [
    ("gateway:ivans", (), "ivan"),
    ("gateway:ivan", ("VNPT",), "ivan"),
    ("gateway:registrations", (), "etrans_registration"),
    ("gateway:adoption", (), "etrans_adoption"),
    ("gateway:adoption_export", ("xlsx",), "etrans_adoption"),
]


@pytest.mark.parametrize(("name", "args", "object_type"), PAGES)
def test_pages_need_a_login_and_the_reports_permission(
    client: Client, data: dict, name: str, args: tuple, object_type: str
) -> None:
    url = reverse(name, args=args)
    assert client.get(url).status_code == 302
    officer = make_user("officer")
    login_verified(client, officer)
    response = client.get(url)
    assert response.status_code == 403
    denied = AuditEvent.objects.get(actor=officer, action="denied")
    assert denied.object_type == object_type and denied.detail["reason"] == "permission_denied"


def test_ivan_list_shows_status_and_figures(manager: Client, data: dict) -> None:
    submitters.suspend_ivan(make_ivan("PAUSE", name="Paused VAN"), reason="Kiểm tra định kỳ")
    response = manager.get(reverse("gateway:ivans"), OCTOBER)
    assert response.status_code == 200
    html = response.content.decode()
    assert 'id="ivans"' in html and "VNPT-VAN" in html and "Kiểm tra định kỳ" in html
    rows = {r["ivan"].code: r for r in response.context["rows"]}
    f = rows["VNPT"]["f"]
    assert (f.submissions, f.refused, f.breaches, f.timed, f.employers) == (3, 1, 1, 2, 2)
    assert rows["VNPT"]["rates"]["availability"] == 100.0
    assert rows["PAUSE"]["badge"] == "due"
    assert "Tổ chức cung cấp dịch vụ I-VAN" in html  # Vietnamese by default


def test_ivan_detail_draws_the_volume_and_the_distribution(manager: Client, data: dict) -> None:
    response = manager.get(reverse("gateway:ivan", args=["VNPT"]), OCTOBER)
    assert response.status_code == 200
    html = response.content.decode()
    assert html.count("<svg") == 2
    assert 'id="days"' in html and 'id="delays"' in html
    volume = response.context["volume"]
    assert len(volume["bars"]) == 31
    buckets = {b["label"]: b["bucket"].count for b in response.context["buckets"]}
    assert buckets["15 phút – 30 phút"] == 1


def test_ivan_detail_unknown_and_bad_period(manager: Client, data: dict) -> None:
    assert manager.get(reverse("gateway:ivan", args=["NOPE"])).status_code == 404
    response = manager.get(reverse("gateway:ivan", args=["VNPT"]), {"from": "2026-13-01"})
    assert response.status_code == 400
    assert "period-errors" in response.content.decode()
    response = manager.get(reverse("gateway:ivans"), {"from": "2026-10-05", "to": "2026-10-01"})
    assert response.status_code == 400


def test_registrations_are_searchable_scoped_and_audited(client: Client, data: dict) -> None:
    user = make_user("manager", org=make_org(scope_codes=("01",)))
    login_verified(client, user)
    response = client.get(reverse("gateway:registrations"))
    assert response.status_code == 200
    listed = [r.employer for r in response.context["page"].object_list]
    assert listed == [data["hanoi"]]  # the Sài Gòn employer is outside the scope
    event = AuditEvent.objects.get(actor=user, action="search")
    assert event.object_type == "etrans_registration"
    assert event.detail == {"criteria": [], "state": "open", "results": 1}
    response = client.get(reverse("gateway:registrations"), {"q": "Sài Gòn"})
    assert response.context["page"].paginator.count == 0
    response = client.get(reverse("gateway:registrations"), {"channel": "fax"})
    assert response.status_code == 400


def test_registrations_filters(manager: Client, data: dict) -> None:
    url = reverse("gateway:registrations")
    assert manager.get(url, {"q": "Sài Gòn"}).context["page"].paginator.count == 1
    assert manager.get(url, {"ivan": "VNPT"}).context["page"].paginator.count == 2
    assert manager.get(url, {"channel": "web"}).context["page"].paginator.count == 0
    assert manager.get(url, {"state": "ended"}).context["page"].paginator.count == 0


def test_adoption_page_table_chart_and_target_line(manager: Client, data: dict) -> None:
    response = manager.get(reverse("gateway:adoption"), {"month": "2026-10"})
    assert response.status_code == 200
    html = response.content.decode()
    assert 'id="target-line"' in html and 'id="provinces"' in html
    rows = {r["row"].code: r for r in response.context["rows"]}
    assert rows["01"]["pct"] == 100.0 and rows["79"]["pct"] == 0.0
    assert [b["row"].code for b in response.context["below"]] == ["79"]
    assert response.context["target_pct"] == 90.0


def test_adoption_defaults_to_last_month_and_checks_the_month(manager: Client) -> None:
    response = manager.get(reverse("gateway:adoption"))
    assert response.status_code == 200
    assert response.context["month"] == "2026-10"
    assert manager.get(reverse("gateway:adoption"), {"month": "2026-13"}).status_code == 400
    assert manager.get(reverse("gateway:adoption"), {"month": "2027-01"}).status_code == 400


def test_adoption_is_limited_to_the_province_of_the_office(client: Client, data: dict) -> None:
    login_verified(client, make_user("manager", org=make_org(scope_codes=("79",))))
    response = client.get(reverse("gateway:adoption"), {"month": "2026-10"})
    assert [r["row"].code for r in response.context["rows"]] == ["79"]


def test_adoption_without_an_area_is_refused(client: Client) -> None:
    user = make_user("manager", org=make_org(scope_codes=()))
    login_verified(client, user)
    response = client.get(reverse("gateway:adoption"))
    assert response.status_code == 403
    assert AuditEvent.objects.get(actor=user, action="denied").detail["reason"] == "no_report_scope"


def test_adoption_exports_open_and_are_audited(manager: Client, data: dict) -> None:
    url = reverse("gateway:adoption_export", args=["xlsx"])
    response = manager.get(url, {"month": "2026-10"})
    assert response.status_code == 200
    assert response["Content-Disposition"].endswith('ty-le-giao-dich-dien-tu-2026-10.xlsx"')
    wb = load_workbook(io.BytesIO(response.content))
    ws = wb.worksheets[0]
    table = {row[0]: row for row in ws.iter_rows(min_row=7, values_only=True) if row[0] is not None}
    assert table["01"][2:6] == (1, 1, 1.0, None)
    assert table["79"][2:6] == (2, 0, 0.0, "x")
    assert [c.value for c in wb["Dưới mục tiêu"]["A"]][2:] == ["79"]

    response = manager.get(reverse("gateway:adoption_export", args=["csv"]), {"month": "2026-10"})
    assert response.status_code == 200
    text = response.content.decode("utf-8")
    assert text.startswith("\ufeff")
    lines = list(csv.reader(io.StringIO(text.lstrip("\ufeff"))))
    assert lines[0] == ["BÁO CÁO TỶ LỆ ĐƠN VỊ SỬ DỤNG LAO ĐỘNG GIAO DỊCH ĐIỆN TỬ"]
    assert ["79", "Thành phố Hồ Chí Minh", "2", "0", "0.0000", "x"] in lines
    assert lines[-1][1:5] == ["Tổng cộng", "3", "1", "0.3333"]

    exports = AuditEvent.objects.filter(action="export", object_type="etrans_adoption")
    assert sorted(e.detail["format"] for e in exports) == ["csv", "xlsx"]
    assert all(e.object_id == "2026-10" for e in exports)
    assert manager.get(reverse("gateway:adoption_export", args=["pdf"])).status_code == 404


def test_nav_link_for_managers(manager: Client) -> None:
    html = manager.get(reverse("gateway:ivans")).content.decode()
    assert f'href="{reverse("gateway:ivans")}"' in html


# --- Django admin ------------------------------------------------------------------------------


@pytest.fixture
def admin_client(client: Client) -> Client:
    return login_verified(client, make_user(None, org=False, is_superuser=True, is_staff=True))


def test_admin_creates_and_suspends_an_ivan_through_the_services(admin_client: Client) -> None:
    add = reverse("admin:gateway_ivanprovider_add")
    assert admin_client.get(add).status_code == 200
    form = {
        "code": "misa",
        "name": "MISA I-VAN",
        "contract_start": "2025-01-01",
        "contract_end": "2024-01-01",
        "tax_code": "",
        "contract_number": "",
        "contact_email": "",
        "health_url": "",
    }
    response = admin_client.post(add, form)
    assert response.status_code == 200  # shown again with the error on its field
    assert "contract_end" in response.context["adminform"].form.errors
    form["contract_end"] = ""
    assert admin_client.post(add, form).status_code == 302
    ivan = IvanProvider.objects.get(code="MISA")
    assert ivan.organisation.code == "IVAN-MISA"

    change = reverse("admin:gateway_ivanprovider_change", args=[ivan.pk])
    assert admin_client.get(change).status_code == 200
    edit = {**form, "status_action": "suspend", "reason": "", "status_on": ""}
    response = admin_client.post(change, edit)
    assert response.status_code == 200
    assert "reason" in response.context["adminform"].form.errors
    edit["reason"] = "Vi phạm quy định 2 giờ"
    assert admin_client.post(change, edit).status_code == 302
    ivan.refresh_from_db()
    assert (ivan.status, ivan.status_reason) == ("suspended", "Vi phạm quy định 2 giờ")


def test_admin_registers_and_ends_a_registration(admin_client: Client) -> None:
    employer = employer_in("01")
    add = reverse("admin:gateway_etransregistration_add")
    assert admin_client.get(add).status_code == 200
    form = {
        "employer": employer.pk,
        "channel": "web",
        "ivan": "",
        "contact_name": "Kế toán",
        "email": "",
        "phone": "",
        "registered_on": "2026-10-01",
    }
    response = admin_client.post(add, form)
    assert response.status_code == 200
    assert "email" in response.context["adminform"].form.errors  # contact_required
    form["phone"] = "0901234567"
    assert admin_client.post(add, form).status_code == 302
    reg = EtransRegistration.objects.get(employer=employer)
    change = reverse("admin:gateway_etransregistration_change", args=[reg.pk])
    assert admin_client.get(change).status_code == 200
    assert admin_client.post(change, {"ended_on": "2026-10-31"}).status_code == 302
    reg.refresh_from_db()
    assert reg.ended_on == dt.date(2026, 10, 31)
