"""The insurance side's services called through the exchange layer by a centre (a FakePeer
with its own key), and the case pushed to the centre over a real local HTTP server."""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from django.test import Client
from django.utils import timezone

from ansinh.benefits import services
from ansinh.benefits.models import Award, FraudCase, ReemploymentEvent
from ansinh.benefits.tests.conftest import CENTRE, at
from ansinh.benefits.tests.helpers import employ, grant_message
from ansinh.exchange.testing import FakePeer, make_identity, make_peer, send, signed_headers

pytestmark = pytest.mark.django_db

BASE = "http://testserver/r1/VN/GOV/BHXH/benefits"
ALL = ("bhtnHistory", "benefitHistory", "notifyDecision", "paymentStatus", "reemploymentFeed")


@pytest.fixture
def centre(exchange_keys: Path, db: None) -> FakePeer:
    make_identity(exchange_keys)
    return make_peer(CENTRE, grants=ALL)


_ids = iter(range(1, 10_000))


def call(client: Client, caller: FakePeer, service: str, payload: Any, **kw: Any) -> Any:
    url = f"{BASE}/{service}"
    body = json.dumps(payload).encode()
    message_id = kw.pop("message_id", None) or f"m-{next(_ids)}"
    headers = signed_headers(caller, url, body, message_id=message_id)
    return send(client, url, body, headers)


def test_bhtn_history_lists_months_gaps_and_overlaps(
    client: Client, centre: FakePeer, units: None
) -> None:
    from ansinh.access.models import AuditEvent

    w = employ(start=dt.date(2025, 1, 1), end=dt.date(2025, 3, 31))
    employ(person=w.person, start=dt.date(2025, 6, 1), end=dt.date(2025, 9, 30))
    # A second employer's row for July (the registry refuses overlapping spells, but a ledger
    # fed by imports may still hold two employers in a month).
    from ansinh.contributions.models import LedgerRow
    from ansinh.registry.testing import make_employer

    row = LedgerRow.objects.get(person=w.person, period=202507)
    row.pk, row.employer = None, make_employer()
    row.save()
    response = call(client, centre, "bhtnHistory", {"personal_id": w.personal_id})
    assert response.status_code == 200, response.content
    data = response.json()
    assert data["personal_id"] == w.personal_id and data["deceased_on"] is None
    assert [m["period"] for m in data["months"]][:4] == ["2025-01", "2025-02", "2025-03", "2025-06"]
    assert data["months"][0] == {
        "period": "2025-01",
        "bhtn_salary": 10_000_000,
        "employer_code": w.employer.unit_code,
        "wage_region": 1,
        "pay_scale": "employer",
    }
    assert data["gaps"] == [["2025-04", "2025-05"]]
    assert data["overlaps"] == ["2025-07"]
    assert len(data["spells"]) == 2 and data["spells"][0]["end"] == "2025-03-31"
    event = AuditEvent.objects.get(object_type="person", object_id=str(w.person.pk))
    assert event.actor is None and CENTRE in event.purpose and event.action == "read"
    until = call(
        client, centre, "bhtnHistory", {"personal_id": w.personal_id, "until": "2025-02-28"}
    )
    assert [m["period"] for m in until.json()["months"]] == ["2025-01", "2025-02"]


def test_bhtn_history_refusals_and_a_deceased_person(
    client: Client, centre: FakePeer, units: None
) -> None:
    from ansinh.registry.services import mark_deceased
    from ansinh.registry.testing import make_person

    bad = call(client, centre, "bhtnHistory", {"personal_id": "12ab"})
    assert bad.status_code == 400 and bad.json()["code"] == "personal_id_invalid"
    assert bad["X-Road-Error"] == "personal_id_invalid"
    unknown = call(client, centre, "bhtnHistory", {"personal_id": "001090999999"})
    assert unknown.status_code == 404 and unknown.json()["field"] == "personal_id"
    person = make_person()
    mark_deceased(person, date_of_death=dt.date(2026, 3, 1))
    dead = call(client, centre, "bhtnHistory", {"personal_id": person.personal_id})
    assert dead.json()["deceased_on"] == "2026-03-01" and dead.json()["months"] == []


def test_decisions_over_the_exchange(client: Client, centre: FakePeer, worker: Any) -> None:
    msg = grant_message(worker)
    first = call(client, centre, "notifyDecision", msg)
    assert first.status_code == 200, first.content
    body = first.json()
    assert body["status"] == "recorded" and not body["repeated"] and len(body["payments"]) == 3
    # Another message id, same decision: recorded once, answered as a repeat.
    again = call(client, centre, "notifyDecision", msg)
    assert again.json()["repeated"] is True
    conflict = call(client, centre, "notifyDecision", {**msg, "months": 4})
    assert conflict.status_code == 409 and conflict.json()["code"] == "decision_conflict"
    unknown = call(
        client,
        centre,
        "notifyDecision",
        {
            "kind": "suspend",
            "decision_no": "x",
            "personal_id": worker.personal_id,
            "effective_on": "2025-11-01",
            "reason": "r",
            "signed_on": "2025-11-01",
            "signer": "s",
        },
    )
    assert unknown.status_code == 404 and unknown.json()["code"] == "unknown_decision"
    # A second centre grants an overlapping award: refused, and a case is kept.
    other = make_peer("VN/GOV/SNV-HP/unemployment", grants=ALL)
    second = call(
        client, other, "notifyDecision", {**msg, "decision_no": "7/QĐ-HP", "province_code": "31"}
    )
    assert second.status_code == 409 and second.json()["code"] == "overlapping_award"
    assert FraudCase.objects.filter(kind="overlapping_claim").count() == 1
    status = call(client, centre, "paymentStatus", {"decision_no": msg["decision_no"]})
    data = status.json()
    assert data["held"] is True and data["health_card"] is None
    assert data["open_cases"] == [FraudCase.objects.get().case_no]
    assert {p["status"] for p in data["payments"]} == {"held"}
    history = call(client, other, "benefitHistory", {"personal_id": worker.personal_id}).json()
    assert [a["decision_no"] for a in history["awards"]] == [msg["decision_no"]]
    assert history["awards"][0]["months_paid"] == 0
    missing = call(client, centre, "paymentStatus", {"decision_no": "none"})
    assert missing.status_code == 404


def test_the_feed_gives_each_centre_its_own_events(
    client: Client, centre: FakePeer, worker: Any
) -> None:
    award = services.grant(grant_message(worker), client=CENTRE, at=at("2025-10-21")).award
    now = timezone.now()
    mine = ReemploymentEvent.objects.create(
        award=award,
        centre=CENTRE,
        kind="contribution",
        employer_code="0100000001",
        period=202511,
        detected_at=now,
    )
    ReemploymentEvent.objects.create(
        award=award,
        centre="VN/GOV/SNV-HP/unemployment",
        kind="enrolment",
        employer_code="0100000002",
        start=dt.date(2025, 11, 3),
        detected_at=now,
    )
    feed = call(client, centre, "reemploymentFeed", {"after": 0}).json()
    assert [e["seq"] for e in feed["events"]] == [mine.pk] and feed["last"] == mine.pk
    assert feed["events"][0]["period"] == "2025-11"
    assert feed["events"][0]["decision_no"] == award.decision_no
    assert call(client, centre, "reemploymentFeed", {"after": mine.pk}).json() == {
        "events": [],
        "last": mine.pk,
    }
    bad = call(client, centre, "reemploymentFeed", {"after": -1})
    assert bad.status_code == 400 and bad.json()["field"] == "after"


def test_services_not_granted_are_refused(client: Client, centre: FakePeer) -> None:
    stranger = make_peer("VN/GOV/OTHER/x", grants=("paymentStatus",))
    response = call(client, stranger, "bhtnHistory", {"personal_id": "001090000001"})
    assert response.status_code == 403 and response.json()["code"] == "service_not_granted"


# --- the case pushed to the centre over HTTP ---------------------------------------------------


RECEIVED: list[dict[str, Any]] = []


@pytest.fixture
def stand_in_centre() -> Iterator[None]:
    """Test-only stand-in for the centre's ``benefitCase`` service (the real one, when the
    centre's app is installed in the same deployment, is put back afterwards)."""
    from ansinh.exchange import registry

    real = registry.get("benefitCase")
    registry.unregister("benefitCase")

    def handler(request: Any) -> dict[str, Any]:
        data = request.json()
        RECEIVED.append(data)
        return {"case_no": data["case_no"], "status": "recorded"}

    RECEIVED.clear()
    registry.service("benefitCase", handler)
    yield
    registry.unregister("benefitCase")
    if real is not None:
        registry.service(
            "benefitCase", real.handler, methods=real.methods, description=real.description
        )


def test_a_case_is_pushed_to_the_centre_on_open_and_on_resolve(
    exchange_keys: Path, transactional_db: None, live_server: Any, stand_in_centre: None
) -> None:
    from ansinh.access.testing import make_user
    from ansinh.exchange import services as exchange
    from ansinh.exchange.ids import MemberId
    from ansinh.exchange.models import Outbox
    from ansinh.exchange.testing import OWN

    identity = make_identity(exchange_keys)
    peer = exchange.add_peer(
        MemberId.parse(OWN), base_url=live_server.url, public_key_pem=identity.public_key_pem
    )
    exchange.grant(peer, "benefitCase")
    award = Award.objects.create(
        decision_no="1/QĐ",
        centre=OWN,
        province_code="01",
        law="38/2013",
        personal_id="001090000001",
        signed_on=dt.date(2025, 10, 20),
        signer="s",
        termination_date=dt.date(2025, 9, 30),
        termination_period=202509,
        filed_on=dt.date(2025, 10, 6),
        start=dt.date(2025, 10, 26),
        end=dt.date(2026, 1, 25),
        start_period=202510,
        end_period=202601,
        months=3,
        monthly_amount=6_000_000,
        average_salary=10_000_000,
        contribution_months=12,
        payment_method="bank",
        received_at=at("2025-10-21"),
    )
    case, _ = services.open_case(award, "reemployed", "0100000001", {"ledger_rows": []})
    assert [r["status"] for r in RECEIVED] == ["open"]
    assert RECEIVED[0]["case_no"] == case.case_no and RECEIVED[0]["payments_held"] is True
    assert RECEIVED[0]["decision_no"] == "1/QĐ" and RECEIVED[0]["kind"] == "reemployed"
    officer = make_user("officer", totp_secret="")
    services.resolve_case(case, note="Đã xác minh", actor=officer)
    assert [r["status"] for r in RECEIVED] == ["open", "resolved"]
    assert RECEIVED[1]["payments_held"] is False and RECEIVED[1]["resolution"] == "Đã xác minh"
    assert set(Outbox.objects.values_list("state", flat=True)) == {"delivered"}
