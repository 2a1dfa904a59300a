"""Officer pages and the JSON API: authorised by role and centre, audit-logged, one error
shape."""

from __future__ import annotations

import datetime as dt
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from django.test import Client
from django.urls import reverse

from ansinh.access.models import AuditEvent
from ansinh.access.testing import login_verified, make_user, token_for
from ansinh.law.services import sync_rules
from ansinh.unemployment import services
from ansinh.unemployment.testing import history_payload, make_centre, make_claim, make_officer

pytestmark = pytest.mark.django_db

VN = ZoneInfo("Asia/Ho_Chi_Minh")
FILED = dt.datetime(2026, 10, 5, 10, 0, tzinfo=VN)


def test_claim_pages_show_grid_breakdown_and_are_audited(client: Client) -> None:
    """The entitlement breakdown cites Law 74/2025 articles (Art. 39 cl. 1)."""
    centre = make_centre()
    officer = make_officer(centre)
    earlier = {
        "awards": [
            {
                "decision_no": "QD-OLD-79",
                "centre": "VN/GOV/SNV-HCM/unemployment",
                "province_code": "79",
                "law": "38/2013",
                "start": "2024-07-01",
                "end": "2024-09-30",
                "months": 3,
                "monthly_amount": 5_000_000,
                "status": "completed",
                "months_paid": 3,
                "contribution_months": 40,
                "reserved_months": 0,
                "last_period_used": "2024-06",
            }
        ]
    }
    claim = make_claim(centre, actor=officer, at=FILED, history=history_payload(), awards=earlier)
    services.assess(claim, actor=officer, at=FILED)
    login_verified(client, officer)
    page = client.get(reverse("unemployment:claims"))
    assert page.status_code == 200 and claim.code in page.content.decode()
    overdue = client.get(reverse("unemployment:claims"), {"due": "overdue"})
    assert claim.code in overdue.content.decode()  # due 02/11/2026, today is later
    detail = client.get(reverse("unemployment:claim", args=[claim.code]))
    html = detail.content.decode()
    assert detail.status_code == 200
    assert 'id="month-grid"' in html and "6.000.000" in html
    assert "Law on Employment 74/2025/QH15 Art. 39 cl. 1" in html
    assert "QD-OLD-79" in html and "Các lần hưởng trước" in html
    assert AuditEvent.objects.filter(
        object_type="bhtn_claim", object_id=str(claim.pk), action="read", actor=officer
    ).exists()
    # Another centre's officer is refused, and that is logged too.
    stranger = make_officer(make_centre("79"))
    login_verified(client, stranger)
    assert client.get(reverse("unemployment:claim", args=[claim.code])).status_code == 403
    assert AuditEvent.objects.filter(object_type="bhtn_claim", action="denied").exists()
    # An auditor has no claim permission.
    login_verified(client, make_user("auditor", org=centre.organisation))
    assert client.get(reverse("unemployment:claims")).status_code == 403


def test_page_buttons_move_the_claim(client: Client) -> None:
    centre = make_centre()
    officer = make_officer(centre)
    claim = make_claim(centre, actor=officer, history=history_payload())
    login_verified(client, officer)
    url = reverse("unemployment:claim", args=[claim.code])
    r = client.post(url, {"action": "assess", "termination_reason": "contract_end"})
    assert r.status_code == 302
    claim.refresh_from_db()
    assert claim.state == "assessed"
    client.post(url, {"action": "propose", "payment_method": "bank"})
    claim.refresh_from_db()
    assert claim.state == "proposed"
    # An officer cannot record the signed decision: the error is shown, nothing changes.
    r = client.post(
        url,
        {"action": "decide", "number": "1/QĐ", "signed_on": "2026-11-20", "signer_name": "X"},
        follow=True,
    )
    assert "không được phép" in r.content.decode()
    claim.refresh_from_db()
    assert claim.state == "proposed"


@pytest.mark.django_db(transaction=True)
def test_api_create_duplicate_and_read(client: Client, settings: Any) -> None:
    """One error shape; the same termination twice is a 409 ``claim_exists``."""
    sync_rules()
    settings.UNEMPLOYMENT_INSURANCE_PEER = "VN/GOV/BHXH/nowhere"
    centre = make_centre()
    officer = make_officer(centre)
    headers = {"Authorization": f"Bearer {token_for(officer)}"}
    body = {
        "personal_id": "001090077777",
        "full_name": "Lê Văn Thử",
        "termination_date": "2026-10-31",
        "termination_reason": "contract_end",
    }
    r = client.post(
        "/api/v1/unemployment/claims", body, content_type="application/json", headers=headers
    )
    assert r.status_code == 201, r.content
    data = r.json()
    # No peer registered: the claim waits for the history instead of failing.
    assert data["state"] == "history_pending" and data["history_error"] == ""
    r2 = client.post(
        "/api/v1/unemployment/claims", body, content_type="application/json", headers=headers
    )
    assert r2.status_code == 409
    assert set(r2.json()) >= {"code", "field", "message_vi", "message_en"}
    assert r2.json()["code"] == "claim_exists"
    got = client.get(f"/api/v1/unemployment/claims/{data['code']}", headers=headers)
    assert got.status_code == 200 and got.json()["events"][0]["action"] == "receive"
    bad = client.post(
        f"/api/v1/unemployment/claims/{data['code']}/assess",
        {},
        content_type="application/json",
        headers=headers,
    )
    assert bad.status_code == 409 and bad.json()["code"] == "illegal_transition"
    listed = client.get(
        "/api/v1/unemployment/claims", {"state": "history_pending"}, headers=headers
    )
    assert [c["code"] for c in listed.json()] == [data["code"]]


def test_api_decision_steps(client: Client, settings: Any) -> None:
    """Law 74/2025 Art. 40–41 through the API: decide, report, suspend; numbers are unique."""
    from ansinh.exchange import keys
    from ansinh.exchange import services as xservices
    from ansinh.exchange.ids import MemberId

    settings.UNEMPLOYMENT_INSURANCE_PEER = "VN/GOV/BHXH/benefits"
    key = keys.new_key()
    xservices.add_peer(
        MemberId.parse("VN/GOV/BHXH/benefits"),
        base_url="http://127.0.0.1:9",
        public_key_pem=keys.public_pem(key.public_key()),
    )
    centre = make_centre()
    officer, manager = make_officer(centre), make_officer(centre, "manager")
    claim = make_claim(centre, actor=officer, at=FILED, history=history_payload())
    h = {"Authorization": f"Bearer {token_for(manager)}"}
    base = f"/api/v1/unemployment/claims/{claim.code}"

    def post(path: str, body: dict[str, Any]) -> Any:
        return client.post(base + path, body, content_type="application/json", headers=h)

    assert post("/assess", {}).json()["assessment"]["monthly_amount"] == 6_000_000
    assert post("/propose", {"payment_method": "bank"}).json()["state"] == "proposed"
    sig = {"number": "9/QĐ-SNV", "signed_on": "2026-11-20", "signer_name": "Nguyễn Văn Giám"}
    r = post("/decide", sig)
    assert r.status_code == 201 and r.json()["pdf"].endswith(".pdf")
    again = post("/decide", {**sig, "number": "10/QĐ-SNV"})
    assert again.status_code == 409 and again.json()["code"] == "illegal_transition"
    pdf = client.get(r.json()["pdf"], headers=h)
    assert pdf.status_code == 302 or pdf["Content-Type"] == "application/pdf"
    rep = post("/reports", {"month_no": 2, "received_on": "2026-11-20"})
    assert rep.status_code == 201, rep.content
    s = post(
        "/suspend", {**sig, "number": "9/QĐ-SNV", "reason": "other", "effective_on": "2026-11-20"}
    )
    assert s.status_code == 409 and s.json()["code"] == "decision_number_used"
    s = post(
        "/suspend", {**sig, "number": "11/QĐ-SNV", "reason": "other", "effective_on": "2026-11-20"}
    )
    assert s.status_code == 201 and s.json()["kind"] == "suspend"
