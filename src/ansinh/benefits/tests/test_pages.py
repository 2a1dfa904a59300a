"""Officers' pages and API: authorised, audit-logged, the payment timeline drawn, a case
resolved from its page."""

from __future__ import annotations

import re
from typing import Any

import pytest
from django.contrib.auth.models import Permission
from django.test import Client

from ansinh.access.models import AuditEvent
from ansinh.access.testing import login_verified, make_user, token_for
from ansinh.benefits import services
from ansinh.benefits.models import CaseKind
from ansinh.benefits.tests.conftest import CENTRE, at
from ansinh.benefits.tests.helpers import grant_message

pytestmark = pytest.mark.django_db


def _officer(*perms: str) -> Any:
    user = make_user("officer")
    for codename in perms:
        user.user_permissions.add(
            Permission.objects.get(content_type__app_label="benefits", codename=codename)
        )
    return type(user).objects.get(pk=user.pk)


def test_pages_show_the_award_and_resolve_a_case(client: Client, worker: Any) -> None:
    award = services.grant(grant_message(worker), client=CENTRE, at=at("2025-10-21")).award
    services.pay_due(award.payments.get(month_no=1).due_on, detect=False)
    case, _ = services.open_case(
        award, CaseKind.REEMPLOYED, "0100000009", {"ledger_rows": [{"period": "2025-11"}]}
    )
    nobody = make_user("auditor")  # no benefits permission
    login_verified(client, nobody)
    assert client.get("/benefits/").status_code == 403
    assert AuditEvent.objects.filter(actor=nobody, action="denied").exists()
    user = _officer("view_award", "resolve_case")
    login_verified(client, user)
    listing = client.get("/benefits/", {"held": "1", "province": "01"})
    assert listing.status_code == 200 and award.decision_no in listing.content.decode()
    page = client.get(f"/benefits/awards/{award.pk}/")
    html = page.content.decode()
    assert page.status_code == 200
    assert '<svg id="payment-chart"' in html and html.count('<rect class="bar') == 3
    assert 'class="bar paid"' in html and 'class="bar held"' in html
    # SVG numbers are not localised (a Vietnamese "37,7" would break the chart).
    assert re.search(r'<rect class="bar paid" x="\d+(\.\d+)?" y="\d+(\.\d+)?"', html)
    assert case.case_no in html
    assert AuditEvent.objects.filter(
        actor=user, object_type="benefit_award", action="read"
    ).exists()
    detail = client.get(f"/benefits/cases/{case.pk}/")
    assert detail.status_code == 200 and "2025-11" in detail.content.decode()
    empty = client.post(f"/benefits/cases/{case.pk}/", {"resolution": ""})
    assert empty.status_code == 200
    done = client.post(f"/benefits/cases/{case.pk}/", {"resolution": "Xác minh: không đi làm"})
    assert done.status_code == 302
    award.refresh_from_db()
    assert not award.held


def test_api_reads_and_resolves(client: Client, worker: Any) -> None:
    award = services.grant(grant_message(worker), client=CENTRE, at=at("2025-10-21")).award
    case, _ = services.open_case(award, CaseKind.ABOVE_ENTITLEMENT, "", {"entitlement": 1})
    reader = _officer("view_award")
    headers = {"HTTP_AUTHORIZATION": f"Bearer {token_for(reader)}"}
    listing = client.get("/api/v1/benefits/awards?held=1", **headers)
    assert (
        listing.status_code == 200
        and listing.json()["awards"][0]["decision_no"] == award.decision_no
    )
    one = client.get(f"/api/v1/benefits/awards/{award.pk}", **headers).json()
    assert one["held"] is True and len(one["payments"]) == 3
    cases = client.get("/api/v1/benefits/cases", **headers).json()["cases"]
    assert [c["case_no"] for c in cases] == [case.case_no]
    refused = client.post(
        f"/api/v1/benefits/cases/{case.case_no}/resolve",
        {"resolution": "ok"},
        content_type="application/json",
        **headers,
    )
    assert refused.status_code == 403 and refused.json()["code"] == "permission_denied"
    resolver = _officer("view_award", "resolve_case")
    headers = {"HTTP_AUTHORIZATION": f"Bearer {token_for(resolver)}"}
    done = client.post(
        f"/api/v1/benefits/cases/{case.case_no}/resolve",
        {"resolution": "Làm tròn số"},
        content_type="application/json",
        **headers,
    )
    assert done.status_code == 200 and done.json()["status"] == "resolved"
    assert done.json()["payments_held"] is False
