"""Claim services: intake, the state machine, idempotency and refusals (no HTTP here; the
exchange calls are in test_exchange.py)."""

from __future__ import annotations

import datetime as dt
import io
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from pypdf import PdfReader

from ansinh.core.errors import Conflict, DomainError, Forbidden
from ansinh.exchange import keys
from ansinh.exchange import services as xservices
from ansinh.exchange.ids import MemberId
from ansinh.exchange.models import Outbox
from ansinh.onestop.models import DossierState
from ansinh.unemployment import services
from ansinh.unemployment.models import ClaimState, Decision, JobSearchReport
from ansinh.unemployment.testing import (
    history_payload,
    make_centre,
    make_claim,
    make_officer,
)

pytestmark = pytest.mark.django_db

VN = ZoneInfo("Asia/Ho_Chi_Minh")
FILED = dt.datetime(2026, 10, 5, 10, 0, tzinfo=VN)
LATER = dt.datetime(2026, 10, 20, 9, 0, tzinfo=VN)


@pytest.fixture
def peer(settings: Any, tmp_path: Path) -> Any:
    settings.UNEMPLOYMENT_INSURANCE_PEER = "VN/GOV/BHXH/benefits"
    key = keys.new_key()
    return xservices.add_peer(
        MemberId.parse("VN/GOV/BHXH/benefits"),
        base_url="http://127.0.0.1:9",
        public_key_pem=keys.public_pem(key.public_key()),
    )


@pytest.fixture
def centre() -> Any:
    return make_centre()


def _sig(number: str = "125/QĐ-SNV", day: dt.date = dt.date(2026, 10, 20)) -> services.Signature:
    return services.Signature(number, day, "Nguyễn Văn Giám", "GIÁM ĐỐC")


def test_the_same_termination_filed_twice_is_a_conflict(centre: Any) -> None:
    """One claim per termination (Law 74/2025 Art. 40: one dossier per termination)."""
    officer = make_officer(centre)
    claim = make_claim(centre, actor=officer, pid="001090000001", at=FILED)
    assert claim.state == ClaimState.RECEIVED and claim.dossier.procedure.code == "TCTN"
    assert claim.decision_due == dt.date(2026, 11, 2)  # 20 working days (Art. 40 cl. 2)
    with pytest.raises(Conflict) as exc:
        make_claim(centre, actor=officer, pid="001090000001", at=FILED)
    assert exc.value.code == "claim_exists"
    # After a withdrawal the person may file again.
    services.withdraw(claim, actor=officer, note="Đương sự xin rút", at=FILED)
    again = make_claim(centre, actor=officer, pid="001090000001", at=FILED)
    assert again.pk != claim.pk


def test_intake_validates(centre: Any) -> None:
    with pytest.raises(DomainError) as exc:
        services.file_claim(
            office=centre,
            applicant=services.Applicant("123", ""),
            termination_date=dt.date(2026, 12, 1),
            termination_reason="contract_end",
            at=FILED,
            fetch=False,
        )
    assert [e.code for e in exc.value.errors] == [
        "personal_id_invalid",
        "required",
        "termination_in_future",
    ]


def test_grant_path_with_decision_pdf_and_notice_queued(centre: Any, peer: Any) -> None:
    """Law 74/2025 Art. 39–40: assessed, proposed, decided; the decision goes to the insurance
    side in the same transaction (outbox)."""
    officer, manager = make_officer(centre), make_officer(centre, "manager")
    claim = make_claim(centre, actor=officer, at=FILED, history=history_payload())
    assert claim.state == ClaimState.HISTORY_FETCHED
    a = services.assess(claim, actor=officer, at=FILED)
    assert a.eligible and a.law == "74/2025"
    assert a.monthly_amount == 6_000_000 and a.duration_months == 3
    assert a.result["start"] == "2026-10-19" and a.result["end"] == "2027-01-18"
    with pytest.raises(DomainError) as exc:
        services.decide(claim, _sig(), actor=manager, at=LATER)
    assert exc.value.code == "illegal_transition"
    services.propose(claim, actor=officer, at=LATER)
    with pytest.raises(Forbidden):
        services.decide(claim, _sig(), actor=officer, at=LATER)  # officers do not sign
    d = services.decide(claim, _sig(), actor=manager, at=LATER)
    claim.refresh_from_db()
    assert claim.state == ClaimState.DECIDED
    text = "\n".join(p.extract_text() for p in PdfReader(io.BytesIO(bytes(d.pdf))).pages)
    for part in (
        "CỘNG HÒA XÃ HỘI CHỦ NGHĨA VIỆT NAM",
        "Độc lập - Tự do - Hạnh phúc",
        "SỞ NỘI VỤ",
        "Số: 125/QĐ-SNV",
        "QUYẾT ĐỊNH",
        "Về việc hưởng trợ cấp thất nghiệp",
        "Căn cứ Luật Việc làm số 74/2025/QH15",
        "Điều 1.",
        "Điều 3.",
        "6.000.000 đồng",
        "19/10/2026",
        "Nguyễn Văn Giám",
    ):
        assert part in text, part
    row = Outbox.objects.get(message_id=d.message_id)
    assert row.service == "notifyDecision"
    body = row.body if isinstance(row.body, bytes) else bytes(row.body)
    assert b'"kind":"grant"' in body and b'"monthly_amount":6000000' in body
    assert claim.dossier.__class__.objects.get(pk=claim.dossier_id).state == (
        DossierState.RESULT_READY
    )
    # Months 2 and 3 of job-search reports are scheduled.
    assert list(claim.reports.values_list("month_no", flat=True)) == [2, 3]
    # A second claim cannot reuse the decision number.
    other = make_claim(centre, actor=officer, at=FILED, history=history_payload())
    services.assess(other, actor=officer, at=FILED)
    services.propose(other, actor=officer, at=LATER)
    with pytest.raises(Conflict) as exc2:
        services.decide(other, _sig(), actor=manager, at=LATER)
    assert exc2.value.code == "decision_number_used"


def test_ineligible_claims_are_refused_with_reasons(centre: Any, peer: Any) -> None:
    """Law 74/2025 Art. 38 cl. 1 b: 11 months is not enough; refusal rejects the dossier."""
    officer, manager = make_officer(centre), make_officer(centre, "manager")
    claim = make_claim(centre, actor=officer, at=FILED, history=history_payload(months=11))
    a = services.assess(claim, actor=officer, at=FILED)
    assert not a.eligible
    assert [r["code"] for r in a.result["reasons"]] == ["insufficient_contributions"]
    with pytest.raises(DomainError) as exc:
        services.propose(claim, actor=officer, at=LATER)
    assert exc.value.code == "not_eligible"
    d = services.refuse(claim, _sig("7/QĐ-SNV"), actor=manager, reason="Chưa đủ 12 tháng", at=LATER)
    assert d.kind == "refuse" and d.reason == "insufficient_contributions"
    claim.refresh_from_db()
    assert claim.state == ClaimState.REFUSED
    assert claim.dossier.__class__.objects.get(pk=claim.dossier_id).state == DossierState.REJECTED
    assert not Outbox.objects.filter(service="notifyDecision").exists()


def test_officer_recodes_a_disqualifying_termination(centre: Any) -> None:
    """Law 74/2025 Art. 38 cl. 1 a: an unlawful unilateral termination disqualifies."""
    officer = make_officer(centre)
    claim = make_claim(
        centre, actor=officer, at=FILED, reason="resigned", history=history_payload()
    )
    assert services.assess(claim, actor=officer, at=FILED).eligible
    a = services.assess(claim, actor=officer, at=FILED, termination_reason="resigned_unlawful")
    assert [r["code"] for r in a.result["reasons"]] == ["termination_disqualifies"]


def _granted(centre: Any) -> tuple[Any, Any, Any]:
    officer, manager = make_officer(centre), make_officer(centre, "manager")
    claim = make_claim(centre, actor=officer, at=FILED, history=history_payload())
    services.assess(claim, actor=officer, at=FILED)
    services.propose(claim, actor=officer, at=LATER)
    services.decide(claim, _sig(), actor=manager, at=LATER)
    return claim, officer, manager


def test_missed_report_suspends_and_a_report_resumes(centre: Any, peer: Any) -> None:
    """Decree 28/2015 Art. 20: a missed monthly report suspends; reporting resumes."""
    claim, officer, manager = _granted(centre)
    assert services.advance_claims(dt.date(2026, 10, 20)) == 1
    claim.refresh_from_db()
    assert claim.state == ClaimState.ACTIVE
    report = JobSearchReport.objects.get(claim=claim, month_no=2)
    # Month 2 starts 19/11; due 3 working days later (assumption; 24/11 is a day off).
    assert report.due_on == dt.date(2026, 11, 23)
    # The real today is 23/11 (services refuse future dates): move that due day back.
    JobSearchReport.objects.filter(pk=report.pk).update(due_on=dt.date(2026, 11, 20))
    assert services.check_reports(dt.date(2026, 11, 20)) == 0
    assert services.check_reports(dt.date(2026, 11, 23)) == 1
    claim.refresh_from_db()
    assert claim.state == ClaimState.SUSPENDED
    susp = claim.decisions.get(kind="suspend")
    assert susp.reason == "job_search_report_missed"
    r = services.report_job_search(
        claim, month_no=2, received_on=dt.date(2026, 11, 23), actor=officer
    )
    assert r.late
    with pytest.raises(Conflict):
        services.report_job_search(
            claim, month_no=2, received_on=dt.date(2026, 11, 23), actor=officer
        )
    services.resume(
        claim,
        _sig("126/QĐ-SNV", dt.date(2026, 11, 23)),
        actor=manager,
        effective_on=dt.date(2026, 11, 23),
    )
    claim.refresh_from_db()
    assert claim.state == ClaimState.ACTIVE
    kinds = list(Decision.objects.filter(claim=claim).values_list("kind", flat=True))
    assert kinds == ["grant", "suspend", "resume"]
    services.terminate(
        claim,
        _sig("127/QĐ-SNV", dt.date(2026, 11, 23)),
        actor=manager,
        reason="new_employment",
        effective_on=dt.date(2026, 11, 23),
    )
    claim.refresh_from_db()
    assert claim.state == ClaimState.TERMINATED
    with pytest.raises(DomainError) as exc:
        services.terminate(
            claim,
            _sig("128/QĐ-SNV", dt.date(2026, 11, 23)),
            actor=manager,
            reason="other",
            effective_on=dt.date(2026, 11, 23),
        )
    assert exc.value.code == "illegal_transition"


def test_benefit_case_is_recorded_once_per_status(centre: Any, peer: Any) -> None:
    claim, _officer, _manager = _granted(centre)
    payload = {
        "case_no": "FR-1",
        "decision_no": "125/QĐ-SNV",
        "personal_id": claim.personal_id,
        "kind": "reemployed",
        "status": "open",
        "payments_held": True,
        "evidence": {"employer_code": "X"},
        "opened_at": "2026-11-20T10:00:00+07:00",
        "resolved_at": None,
        "resolution": "",
    }
    assert services.record_case(payload, client="VN/GOV/BHXH/benefits", message_id="m1") == {
        "case_no": "FR-1",
        "status": "recorded",
    }
    services.record_case(payload, client="VN/GOV/BHXH/benefits", message_id="m2")
    assert claim.cases.count() == 1
    assert claim.events.filter(action="case_open").count() == 1
    services.record_case({**payload, "status": "resolved"}, client="x", message_id="m3")
    assert claim.cases.get().status == "resolved"


def test_the_feed_poll_does_nothing_where_no_insurance_agency_is_paired() -> None:
    """The insurance side runs the same periodic tasks: without the peer there is no feed to
    read, and the task must not fail every quarter of an hour."""
    from ansinh.unemployment import services as centre

    assert centre.poll_reemployment() == 0
