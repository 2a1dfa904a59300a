"""The centre side over real HTTP: this deployment's live server is registered as its own
insurance peer, with test-only stand-ins for the insurance side's services (the real ones live
in ``benefits``, which this app never imports). Every call is signed and logged."""

from __future__ import annotations

import datetime as dt
import socket
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pytest

from ansinh.core.errors import NotFound
from ansinh.exchange import outbox, registry
from ansinh.exchange import services as xservices
from ansinh.exchange.ids import MemberId
from ansinh.exchange.models import LogEntry, Outbox, OutboxState, Peer, Received
from ansinh.exchange.registry import ServiceRequest
from ansinh.exchange.testing import make_identity
from ansinh.law.services import sync_rules
from ansinh.unemployment import services
from ansinh.unemployment.models import CaseNotice, ClaimState
from ansinh.unemployment.testing import history_payload, make_centre, make_officer

pytestmark = pytest.mark.django_db(transaction=True)

CENTRE = "VN/GOV/SNV-HN/unemployment"
VN = ZoneInfo("Asia/Ho_Chi_Minh")
FILED = dt.datetime(2026, 10, 5, 10, 0, tzinfo=VN)
LATER = dt.datetime(2026, 10, 20, 9, 0, tzinfo=VN)
PID = "001090054321"


def _dead_url() -> str:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    return f"http://127.0.0.1:{port}"


class StandIn:
    """What the insurance side would answer, kept in memory."""

    def __init__(self) -> None:
        self.decisions: list[dict[str, Any]] = []
        self.events: list[dict[str, Any]] = []

    def history(self, request: ServiceRequest) -> dict[str, Any]:
        pid = request.json()["personal_id"]
        if pid != PID:
            raise NotFound("unknown_person", "personal_id", "Không có người này.", "Unknown.")
        return history_payload(PID)

    def awards(self, request: ServiceRequest) -> dict[str, Any]:
        return {"awards": []}

    def notify(self, request: ServiceRequest) -> dict[str, Any]:
        data = request.json()
        self.decisions.append(data)
        return {
            "decision_no": data["decision_no"],
            "kind": data["kind"],
            "status": "recorded",
            "repeated": False,
            "payments": [],
        }

    def payments(self, request: ServiceRequest) -> dict[str, Any]:
        no = request.json()["decision_no"]
        return {
            "decision_no": no,
            "status": "active",
            "held": False,
            "payments": [],
            "health_card": None,
            "open_cases": [],
        }

    def feed(self, request: ServiceRequest) -> dict[str, Any]:
        after = request.json()["after"]
        events = [e for e in self.events if e["seq"] > after]
        return {"events": events, "last": events[-1]["seq"] if events else after}


@pytest.fixture
def insurance(settings: Any, exchange_keys: Path, live_server: Any) -> Iterator[StandIn]:
    sync_rules()  # a transactional test flushed the rows the data migrations loaded
    identity = make_identity(exchange_keys, member=CENTRE)
    peer = xservices.add_peer(
        MemberId.parse(CENTRE), base_url=live_server.url, public_key_pem=identity.public_key_pem
    )
    stand = StandIn()
    handlers = {
        "bhtnHistory": stand.history,
        "benefitHistory": stand.awards,
        "notifyDecision": stand.notify,
        "reemploymentFeed": stand.feed,
        "paymentStatus": stand.payments,
    }
    # If the insurance app is installed in this deployment too, its handlers step aside.
    saved = {code: registry.get(code) for code in handlers}
    for code, fn in handlers.items():
        registry.unregister(code)
        registry.service(code, fn, description="test stand-in")
        xservices.grant(peer, code)
    xservices.grant(peer, "benefitCase")
    settings.UNEMPLOYMENT_INSURANCE_PEER = CENTRE
    yield stand
    for code, old in saved.items():
        registry.unregister(code)
        if old is not None:
            registry.service(code, old.handler, methods=old.methods, description=old.description)


def _sig(number: str, day: dt.date = dt.date(2026, 10, 20)) -> services.Signature:
    return services.Signature(number, day, "Nguyễn Văn Giám")


def _file(centre: Any, officer: Any, pid: str = PID) -> Any:
    return services.file_claim(
        office=centre,
        applicant=services.Applicant(pid, "Trần Thị Thử"),
        termination_date=dt.date(2026, 9, 30),
        termination_reason="contract_end",
        actor=officer,
        at=FILED,
    )


def test_claim_fetched_decided_notified_then_reemployment_terminates(insurance: StandIn) -> None:
    """Law 74/2025 Art. 38–41 end to end on the centre side, over signed HTTP."""
    centre = make_centre()
    officer, manager = make_officer(centre), make_officer(centre, "manager")
    claim = _file(centre, officer)
    assert claim.state == ClaimState.HISTORY_FETCHED
    assert LogEntry.objects.filter(message_id=claim.history_message_id).count() >= 2
    services.assess(claim, actor=officer, at=FILED)
    services.propose(claim, actor=officer, at=LATER)
    decision = services.decide(claim, _sig("200/QĐ-SNV"), actor=manager, at=LATER)
    # Delivered after the commit (tasks run at once in tests), signed and logged.
    row = Outbox.objects.get(message_id=decision.message_id)
    assert row.state == OutboxState.DELIVERED
    assert insurance.decisions[0]["kind"] == "grant"
    assert insurance.decisions[0]["monthly_amount"] == 6_000_000
    assert insurance.decisions[0]["start"] == "2026-10-19"

    # The insurance side reports new contributions; the officer confirms.
    insurance.events.append(
        {
            "seq": 1,
            "personal_id": PID,
            "decision_no": "200/QĐ-SNV",
            "kind": "contribution",
            "employer_code": "TB0002",
            "period": "2026-11",
            "start": None,
            "detected_at": "2026-11-20T08:00:00+07:00",
        }
    )
    assert services.poll_reemployment() == 1
    assert services.poll_reemployment() == 0  # the cursor moved
    claim.refresh_from_db()
    assert claim.reemployment["employer_code"] == "TB0002"
    services.confirm_reemployment(claim, _sig("201/QĐ-SNV", dt.date(2026, 11, 20)), actor=manager)
    claim.refresh_from_db()
    assert claim.state == ClaimState.TERMINATED and claim.reemployment is None
    assert insurance.decisions[-1] == {
        "kind": "terminate",
        "decision_no": "200/QĐ-SNV",
        "personal_id": PID,
        "effective_on": "2026-11-01",
        "reason": "new_employment",
        "signed_on": "2026-11-20",
        "signer": "Nguyễn Văn Giám",
    }

    # The insurance side tells us about a case (our benefitCase service).
    peer = Peer.objects.get()
    case = {
        "case_no": "FR-9",
        "decision_no": "200/QĐ-SNV",
        "personal_id": PID,
        "kind": "reemployed",
        "status": "open",
        "payments_held": True,
        "evidence": {},
        "opened_at": "2026-11-20T09:00:00+07:00",
        "resolved_at": None,
        "resolution": "",
    }
    _row, result = outbox.call_now(peer, "benefitCase", case)
    assert result.ok and result.json() == {"case_no": "FR-9", "status": "recorded"}
    assert CaseNotice.objects.get().claim_id == claim.pk


def test_peer_down_keeps_the_claim_pending_until_it_returns(insurance: StandIn) -> None:
    """Nothing is lost: the claim waits in history_pending and the retry fetches it."""
    centre = make_centre()
    officer = make_officer(centre)
    peer = Peer.objects.get()
    live = peer.base_url
    Peer.objects.filter(pk=peer.pk).update(base_url=_dead_url())
    claim = _file(centre, officer)
    assert claim.state == ClaimState.HISTORY_PENDING and claim.history_error == ""
    row = Outbox.objects.get(service="bhtnHistory")
    assert row.state == OutboxState.PENDING and row.last_error == "peer_down"
    assert services.retry_pending_histories() == 1  # still down
    claim.refresh_from_db()
    assert claim.state == ClaimState.HISTORY_PENDING
    Peer.objects.filter(pk=peer.pk).update(base_url=live)
    assert services.retry_pending_histories() == 1
    claim.refresh_from_db()
    assert claim.state == ClaimState.HISTORY_FETCHED
    assert claim.history_message_id == row.message_id  # the same message, delivered once
    assert Received.objects.filter(message_id=row.message_id).count() == 1
    assert Outbox.objects.get(pk=row.pk).state == OutboxState.DELIVERED


def test_unknown_person_is_a_final_answer(insurance: StandIn) -> None:
    centre = make_centre()
    claim = _file(centre, make_officer(centre), pid="001090099999")
    assert claim.state == ClaimState.HISTORY_PENDING
    assert claim.history_error == "unknown_person"
    assert services.retry_pending_histories() == 0  # not retried: the officer refuses it


def test_api_reads_across_provinces_through_the_exchange(insurance: StandIn, client: Any) -> None:
    """``benefitHistory`` (all provinces) and ``paymentStatus`` through the API, audited."""
    from ansinh.access.models import AuditEvent
    from ansinh.access.testing import token_for

    centre = make_centre()
    officer, manager = make_officer(centre), make_officer(centre, "manager")
    headers = {"Authorization": f"Bearer {token_for(officer)}"}
    r = client.get(f"/api/v1/unemployment/persons/{PID}/benefits", headers=headers)
    assert r.status_code == 200 and r.json() == {"awards": []}
    assert AuditEvent.objects.filter(object_type="bhtn_benefits", object_id=PID).exists()
    claim = _file(centre, officer)
    services.assess(claim, actor=officer, at=FILED)
    services.propose(claim, actor=officer, at=LATER)
    services.decide(claim, _sig("300/QĐ-SNV"), actor=manager, at=LATER)
    r = client.get(f"/api/v1/unemployment/claims/{claim.code}/payments", headers=headers)
    assert r.status_code == 200 and r.json()["decision_no"] == "300/QĐ-SNV"
