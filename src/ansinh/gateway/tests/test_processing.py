"""Processing of the rows of an accepted electronic dossier (gateway.processing): what is
accepted, rejected or queued, what is written, and that nothing is written twice or by half."""

from __future__ import annotations

import datetime as dt
import hashlib
import itertools
from typing import Any
from zoneinfo import ZoneInfo

import pytest

from ansinh.access.testing import make_org, make_user
from ansinh.contributions import services as contributions
from ansinh.contributions.models import ChangeKind, ChangeReport
from ansinh.core.errors import Conflict, DomainError, Forbidden
from ansinh.gateway import processing
from ansinh.gateway.models import (
    RowKind,
    RowStatus,
    Step,
    Submission,
    SubmissionEvent,
    SubmissionRow,
    Verdict,
)
from ansinh.places.testing import admin_units, admin_units_package  # noqa: F401
from ansinh.registry import services as registry
from ansinh.registry.models import (
    Employer,
    EmploymentSpell,
    HealthInsuranceCard,
    IdentityCheck,
    Person,
)
from ansinh.registry.testing import make_employer, make_person, personal_id_for

pytestmark = pytest.mark.django_db

TZ = ZoneInfo("Asia/Ho_Chi_Minh")
RECEIVED = dt.datetime(2026, 11, 10, 9, 30, tzinfo=TZ)
AT = dt.datetime(2026, 11, 10, 9, 35, tzinfo=TZ)
START = dt.date(2026, 11, 2)
_tx = itertools.count(1)


# --- factories -----------------------------------------------------------------------------------


@pytest.fixture
def units(admin_units: None) -> None:  # noqa: F811 - the fixture imported above
    """The real administrative units (the registry factories need current communes)."""


@pytest.fixture
def employer(units: None) -> Employer:
    return make_employer(wage_region=1)


def submission_for(
    employer: Employer | None,
    rows: list[tuple[str, dict[str, Any]]],
    *,
    received_at: dt.datetime = RECEIVED,
    org: Any = None,
    verdict: str = Verdict.ACCEPTED,
) -> Submission:
    """An accepted submission as intake leaves it, with PENDING rows numbered from 1."""
    org = org or make_org(
        kind="employer", scope_codes=(), code=employer.unit_code if employer else None
    )
    raw = b"<x/>"
    sub = Submission.objects.create(
        submitter=org,
        employer=employer,
        channel="direct",
        transaction_id=f"TX{next(_tx)}",
        received_at=received_at,
        raw=raw,
        size=len(raw),
        digest=hashlib.sha256(raw).hexdigest(),
        procedure_code="600",
        schema_version="1.0",
        verdict=verdict,
        rows_total=len(rows),
    )
    SubmissionRow.objects.bulk_create(
        [
            SubmissionRow(
                submission=sub,
                number=i,
                kind=kind,
                personal_id=str(data.get("personal_id") or "")[:12],
                data=data,
            )
            for i, (kind, data) in enumerate(rows, start=1)
        ]
    )
    return sub


def increase(person: Person | None = None, **kw: Any) -> tuple[str, dict[str, Any]]:
    """A D02-LT increase row for a registered person (their own particulars) or, with
    ``person=None``, the fields given."""
    data: dict[str, Any] = {
        "start": "2026-11-02",
        "contract_type": "indefinite",
        "salary": 10_000_000,
        "allowances": 0,
        "occupation": "Kế toán",
        "nationality": "VN",
    }
    if person is not None:
        data.update(
            personal_id=person.personal_id,
            full_name=person.full_name,
            date_of_birth=person.date_of_birth.isoformat(),
            sex=person.sex,
        )
    data.update(kw)
    return RowKind.INCREASE, data


def new_participant(**kw: Any) -> tuple[str, dict[str, Any]]:
    dob = dt.date(2001, 3, 4)
    data = {
        "personal_id": personal_id_for(dob, "F"),
        "full_name": "Trần Thị Bình",
        "date_of_birth": dob.isoformat(),
        "sex": "F",
        "address_unit_code": Employer.objects.first().address_unit.code,
        "participant": {"phone": "0912345678", "email": "", "hospital_code": "01001"},
    }
    data.update(kw)
    return increase(None, **data)


def rows_of(sub: Submission) -> dict[int, SubmissionRow]:
    return {r.number: r for r in sub.rows.all()}


def enrol(employer: Employer, person: Person, start: dt.date) -> None:
    contributions.report_increase(
        employer=employer,
        person=person,
        start=start,
        contract_type="indefinite",
        salary=9_000_000,
        reported_on=start,
    )


def officer() -> Any:
    return make_user("officer", org=make_org(scope_codes=("01",)))


# --- accepted rows -------------------------------------------------------------------------------


def test_all_valid_rows_are_processed_into_registry_and_ledger(employer: Employer) -> None:
    """Báo tăng of two known workers and one first-time participant (TK1-TS): spells opened,
    ledger reports keyed by the row, the new participant registered and given a card."""
    known = [make_person(full_name="Lê Văn Cường"), make_person(full_name="Phạm Thị Dung")]
    sub = submission_for(
        employer,
        [increase(known[0]), increase(known[1]), new_participant(ss_number="0123456789")],
    )
    result = processing.process(sub, at=AT)

    assert (result.rows_accepted, result.rows_rejected, result.rows_queued) == (3, 0, 0)
    assert result.processed_at == AT
    rows = rows_of(sub)
    assert all(r.status == RowStatus.ACCEPTED and r.processed_at == AT for r in rows.values())
    for n in (1, 2, 3):
        report = ChangeReport.objects.get(idempotency_key=f"gw:{sub.pk}:{n}")
        assert report.kind == ChangeKind.INCREASE and report.employer == employer
        assert report.data["late_enrolment"] is False
    assert EmploymentSpell.objects.filter(employer=employer, end__isnull=True).count() == 3

    new = Person.objects.get(personal_id=rows[3].personal_id)
    assert new.ss_number == new.personal_id and new.identity_check == IdentityCheck.CONSISTENT
    assert list(new.legacy_numbers.values_list("number", flat=True)) == ["0123456789"]
    card = HealthInsuranceCard.objects.get(person=new)
    # Decision 1351/QĐ-BHXH: group DN, level 4, province 01, the 10-digit BHXH number.
    assert card.number == "DN4010123456789" and card.initial_facility_code == "01001"
    assert card.valid_from == dt.date(2026, 11, 2)
    assert rows[3].result["person_registered"] is True
    assert rows[3].result["card_number"] == card.number and rows[3].result["card_issued"]
    assert rows[3].result["ss_number"] == new.ss_number
    steps = list(SubmissionEvent.objects.filter(submission=sub).values_list("step", flat=True))
    assert steps == [Step.PROCESSING, Step.ROWS_DONE]


def test_new_participant_without_legacy_number_gets_system_card_number(employer: Employer) -> None:
    sub = submission_for(employer, [new_participant()])
    processing.process(sub, at=AT)
    row = rows_of(sub)[1]
    assert row.status == RowStatus.ACCEPTED, row.message_en
    card = HealthInsuranceCard.objects.get(person__personal_id=row.personal_id)
    assert card.number.startswith("DN401") and card.short_number.startswith("99")


def test_foreign_worker_without_personal_id_gets_a_system_number(employer: Employer) -> None:
    sub = submission_for(
        employer,
        [new_participant(personal_id="", full_name="John Smith", sex="M", nationality="GB")],
    )
    processing.process(sub, at=AT)
    row = rows_of(sub)[1]
    assert row.status == RowStatus.ACCEPTED, row.message_en
    assert row.result["ss_number"].startswith("NN")


def test_decrease_adjustment_and_card_reissue(employer: Employer) -> None:
    leaving, staying = make_person(), make_person()
    for p in (leaving, staying):
        enrol(employer, p, dt.date(2026, 9, 1))
    old = registry.issue_card(
        staying,
        participant_group="DN",
        benefit_level=4,
        province_code="01",
        valid_from=dt.date(2026, 9, 1),
        facility_code="01001",
    )
    sub = submission_for(
        employer,
        [
            (
                RowKind.DECREASE,
                {"personal_id": leaving.personal_id, "end": "2026-10-31", "reason": "resigned"},
            ),
            (
                RowKind.ADJUSTMENT,
                {
                    "personal_id": staying.personal_id,
                    "valid_from": "2026-11-01",
                    "salary": 12_000_000,
                },
            ),
            (
                RowKind.CARD_REISSUE,
                {"personal_id": staying.personal_id, "reason": "lost", "hospital_code": "01002"},
            ),
        ],
    )
    processing.process(sub, at=AT)
    rows = rows_of(sub)
    assert [rows[n].status for n in (1, 2, 3)] == [RowStatus.ACCEPTED] * 3, [
        r.message_en for r in rows.values()
    ]
    assert EmploymentSpell.objects.get(person=leaving).end == dt.date(2026, 10, 31)
    spell = EmploymentSpell.objects.get(person=staying)
    assert spell.salaries.get(valid_from=dt.date(2026, 11, 1)).salary == 12_000_000
    old.refresh_from_db()
    new = HealthInsuranceCard.objects.get(person=staying, revoked=False)
    assert old.revoked and new.number == old.number and new.initial_facility_code == "01002"
    assert new.valid_from == RECEIVED.date()
    assert rows[3].result["card_number"] == old.number


# --- rejected rows -------------------------------------------------------------------------------


def test_mixed_dossier_processes_valid_rows_and_rejects_each_invalid_one(
    employer: Employer,
) -> None:
    """A dossier with invalid rows among valid ones is still processed: each invalid row is
    rejected with its code, field and reason in Vietnamese and English; totals add up."""
    good, other = make_person(), make_person()
    stranger = make_person()
    sub = submission_for(
        employer,
        [
            increase(good),
            increase(
                None, personal_id="12345", full_name="A B", date_of_birth="1990-01-01", sex="M"
            ),
            increase(other, salary="mười triệu"),
            increase(other, contract_type="forever", start="2026-11-03"),
            (
                RowKind.DECREASE,
                {"personal_id": stranger.personal_id, "end": "2026-11-01", "reason": "resigned"},
            ),
            (
                RowKind.DECREASE,
                {
                    "personal_id": personal_id_for(dt.date(1980, 1, 1), "M"),
                    "end": "2026-11-01",
                    "reason": "resigned",
                },
            ),
            (
                RowKind.DECREASE,
                {"personal_id": good.personal_id, "end": "someday", "reason": "bored"},
            ),
            new_participant(participant=None),
            increase(other, start="2026-11-05"),
        ],
    )
    result = processing.process(sub, at=AT)
    rows = rows_of(sub)
    expected = {
        1: (RowStatus.ACCEPTED, "", ""),
        2: (RowStatus.REJECTED, "personal_id_format", "personal_id"),
        3: (RowStatus.REJECTED, "salary_invalid", "salary"),
        4: (RowStatus.REJECTED, "contract_type_invalid", "contract_type"),
        5: (RowStatus.REJECTED, "spell_not_found", "personal_id"),
        6: (RowStatus.REJECTED, "person_unknown", "personal_id"),
        7: (RowStatus.REJECTED, "date_invalid", "end"),
        8: (RowStatus.REJECTED, "declaration_missing", "participant"),
        9: (RowStatus.ACCEPTED, "", ""),
    }
    got = {n: (r.status, r.error_code, r.error_field) for n, r in rows.items()}
    assert got == expected
    for n, (status, _, _) in expected.items():
        if status == RowStatus.REJECTED:
            assert rows[n].message_vi and rows[n].message_en and rows[n].processed_at == AT
    assert "reason" in rows[7].message_en  # both errors of the row are reported
    assert (result.rows_total, result.rows_accepted, result.rows_rejected) == (9, 2, 7)
    assert result.rows_queued == 0
    # Only the two valid rows wrote anything.
    assert ChangeReport.objects.filter(idempotency_key__startswith=f"gw:{sub.pk}:").count() == 2
    assert not Person.objects.filter(personal_id=rows[8].personal_id).exists()


def test_unknown_employer_rejects_every_row(units: None) -> None:
    person = make_person()
    sub = submission_for(None, [increase(person), increase(person)])
    result = processing.process(sub, at=AT)
    assert result.rows_rejected == 2
    assert {r.error_code for r in sub.rows.all()} == {"employer_unknown"}
    assert not EmploymentSpell.objects.exists()


def test_refused_submission_is_not_processed(employer: Employer) -> None:
    sub = submission_for(employer, [increase(make_person())], verdict=Verdict.REFUSED)
    with pytest.raises(Conflict) as exc:
        processing.process(sub, at=AT)
    assert exc.value.code == "submission_not_accepted"


# --- nothing half-written ------------------------------------------------------------------------


def test_failure_mid_row_leaves_nothing_of_that_row(
    employer: Employer, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The card is the last write of a new participant's row: when it fails, the person,
    the spell and the ledger report of that row are rolled back too; other rows stand."""
    known = make_person()
    registry.issue_card(
        known, participant_group="DN", benefit_level=4, province_code="01", valid_from=START
    )

    def failing_cards(requests: list[Any], **kwargs: Any) -> list[DomainError]:
        # The bulk card service refuses its item: the bulk write is undone and redone without
        # the row.
        return [
            DomainError("card_province", "province_code", "Lỗi thử.", "Test failure.")
            for _ in requests
        ]

    monkeypatch.setattr(registry, "issue_cards", failing_cards)
    sub = submission_for(employer, [increase(known), new_participant()])
    result = processing.process(sub, at=AT)
    rows = rows_of(sub)
    assert rows[1].status == RowStatus.ACCEPTED
    assert (rows[2].status, rows[2].error_code) == (RowStatus.REJECTED, "card_province")
    assert not Person.objects.filter(personal_id=rows[2].personal_id).exists()
    assert EmploymentSpell.objects.count() == 1
    assert not ChangeReport.objects.filter(idempotency_key=f"gw:{sub.pk}:2").exists()
    assert (result.rows_accepted, result.rows_rejected) == (1, 1)


def test_defect_mid_row_queues_the_row_and_writes_nothing(
    employer: Employer, monkeypatch: pytest.MonkeyPatch
) -> None:
    """An unexpected error is a defect, not bad input: the row waits for an officer."""

    def broken(*args: Any, **kwargs: Any) -> None:
        raise RuntimeError("boom")

    monkeypatch.setattr(registry, "issue_cards", broken)
    sub = submission_for(employer, [new_participant()])
    result = processing.process(sub, at=AT)
    row = rows_of(sub)[1]
    assert (row.status, row.error_code) == (RowStatus.QUEUED, "processing_failed")
    assert not Person.objects.filter(personal_id=row.personal_id).exists()
    assert not EmploymentSpell.objects.exists() and not ChangeReport.objects.exists()
    assert result.rows_queued == 1
    assert SubmissionEvent.objects.filter(submission=sub, step=Step.QUEUED).exists()


# --- idempotency ---------------------------------------------------------------------------------


def test_rerun_is_idempotent(employer: Employer) -> None:
    sub = submission_for(employer, [increase(make_person()), new_participant(), increase(None)])
    first = processing.process(sub, at=AT)
    state = list(sub.rows.values_list("number", "status", "error_code", "result"))
    events = SubmissionEvent.objects.filter(submission=sub).count()
    counts = (Person.objects.count(), EmploymentSpell.objects.count(), ChangeReport.objects.count())

    again = processing.process(sub, at=AT + dt.timedelta(hours=1))
    assert list(sub.rows.values_list("number", "status", "error_code", "result")) == state
    assert SubmissionEvent.objects.filter(submission=sub).count() == events
    assert (
        Person.objects.count(),
        EmploymentSpell.objects.count(),
        ChangeReport.objects.count(),
    ) == counts
    assert (again.rows_accepted, again.rows_rejected, again.processed_at) == (
        first.rows_accepted,
        first.rows_rejected,
        AT,
    )


def test_row_whose_status_was_lost_replays_its_report(employer: Employer) -> None:
    """Should a decided row ever be pending again, the ledger report's idempotency key makes the
    service answer with the earlier report instead of a second spell."""
    person = make_person()
    sub = submission_for(employer, [increase(person)])
    processing.process(sub, at=AT)
    SubmissionRow.objects.filter(submission=sub).update(status=RowStatus.PENDING)
    processing.process(sub, at=AT)
    row = rows_of(sub)[1]
    assert row.status == RowStatus.ACCEPTED, row.message_en
    assert EmploymentSpell.objects.filter(person=person).count() == 1
    assert ChangeReport.objects.filter(person=person).count() == 1


# --- rules: caps, deadlines, overlaps, identity ------------------------------------------------


def test_salary_above_cap_is_accepted_with_the_cap_cited(employer: Employer) -> None:
    """Insured salary above 20 × the base salary: contributions on the cap (caps.toml: Law
    41/2024/QH15 Art. 31 cl. 3 for BHXH, Decree 146/2018/NĐ-CP Art. 7 cl. 2 for BHYT)."""
    sub = submission_for(employer, [increase(make_person(), salary=80_000_000)])
    processing.process(sub, at=AT)
    row = rows_of(sub)[1]
    assert row.status == RowStatus.ACCEPTED
    assert row.result["notices"] == "salary_capped"
    # Base salary 2,530,000 from 2026-07-01 (Decree 161/2026): cap 50,600,000.
    assert "50.600.000" in row.message_vi and "50,600,000" in row.message_en
    assert "Law 41/2024/QH15 Art. 31 cl. 3" in row.message_en
    assert "Decree 146/2018/NĐ-CP Art. 7 cl. 2" in row.message_vi
    assert "BHTN" not in row.message_en  # 20 × the region I minimum wage is not reached


def test_late_enrolment_is_accepted_and_marked(employer: Employer) -> None:
    """Law 41/2024/QH15 Art. 28: enrolment within 30 days of the start; later is late (the
    ledger report is marked, the submitter told), counted to the day the dossier arrived."""
    on_time = make_person()
    late = make_person()
    sub = submission_for(
        employer,
        [increase(on_time, start="2026-10-12"), increase(late, start="2026-09-15")],
    )
    processing.process(sub, at=AT + dt.timedelta(days=20))  # processing later changes nothing
    rows = rows_of(sub)
    assert rows[1].status == rows[2].status == RowStatus.ACCEPTED
    assert rows[1].result["late_enrolment"] is False and "notices" not in rows[1].result
    assert (
        rows[2].result["late_enrolment"] is True and rows[2].result["notices"] == "late_enrolment"
    )
    assert "Law 41/2024/QH15 Art. 28" in rows[2].message_en and "56 days" in rows[2].message_en
    report = ChangeReport.objects.get(idempotency_key=f"gw:{sub.pk}:2")
    assert report.data["late_enrolment"] is True


def test_start_far_back_is_queued(employer: Employer) -> None:
    sub = submission_for(
        employer,
        [
            increase(make_person(), start="2026-06-30"),
            increase(make_person(), start="2026-08-01"),
        ],
    )
    processing.process(sub, at=AT)
    rows = rows_of(sub)
    assert (rows[1].status, rows[1].error_code) == (RowStatus.QUEUED, "retroactive_start")
    assert rows[2].status == RowStatus.ACCEPTED  # 3 months back: late but automatic


def test_overlapping_employment_elsewhere_is_queued(employer: Employer) -> None:
    """The registry keeps one employer per person and day: an increase for a worker still
    employed elsewhere waits for the other employer's decrease; at the same employer it is a
    duplicate and rejected."""
    elsewhere = make_employer(wage_region=2)
    busy, mine = make_person(), make_person()
    enrol(elsewhere, busy, dt.date(2025, 1, 1))
    enrol(employer, mine, dt.date(2026, 10, 1))
    sub = submission_for(employer, [increase(busy), increase(mine)])
    processing.process(sub, at=AT)
    rows = rows_of(sub)
    assert (rows[1].status, rows[1].error_code) == (RowStatus.QUEUED, "employed_elsewhere")
    assert (rows[2].status, rows[2].error_code) == (RowStatus.REJECTED, "already_employed")
    assert not EmploymentSpell.objects.filter(person=busy, employer=employer).exists()

    staff = officer()
    with pytest.raises(Conflict) as exc:  # still employed elsewhere: the registry refuses
        processing.decide_queued_row(rows[1], actor=staff, accept=True)
    assert exc.value.code == "spell_overlap"
    assert SubmissionRow.objects.get(pk=rows[1].pk).status == RowStatus.QUEUED

    contributions.report_decrease(employer=elsewhere, person=busy, end=dt.date(2026, 10, 31))
    decided = processing.decide_queued_row(rows[1], actor=staff, accept=True, note="Đã báo giảm")
    assert decided.status == RowStatus.ACCEPTED and decided.decided_by == staff
    assert EmploymentSpell.objects.filter(person=busy, employer=employer, end=None).exists()


def test_identity_disagreements_are_queued(employer: Employer) -> None:
    """Circular 07/2016/TT-BCA Art. 7: a personal ID whose century/sex digit disagrees with the
    declared sex is flagged for verification, not accepted silently nor dropped."""
    known = make_person(full_name="Hoàng Văn Em", date_of_birth=dt.date(1985, 2, 3))
    flagged_id = personal_id_for(dt.date(1995, 6, 7), "M")  # declared below as female
    sub = submission_for(
        employer,
        [
            new_participant(personal_id=flagged_id, date_of_birth="1995-06-07", sex="F"),
            increase(known, full_name="Hoàng Văn Út"),
            increase(known, date_of_birth="1985-02-04"),
            increase(known, full_name="HOANG VAN EM", start="2026-11-04"),
        ],
    )
    processing.process(sub, at=AT)
    rows = rows_of(sub)
    assert (rows[1].status, rows[1].error_code) == (RowStatus.QUEUED, "identity_flagged")
    assert (rows[2].status, rows[2].error_code) == (RowStatus.QUEUED, "name_mismatch")
    assert (rows[3].status, rows[3].error_field) == (RowStatus.QUEUED, "date_of_birth")
    # Capitals without diacritics are the same name as on record.
    assert rows[4].status == RowStatus.ACCEPTED, rows[4].message_en
    assert rows[1].processed_at is None and not Person.objects.filter(personal_id=flagged_id)


# --- the officer's decision ----------------------------------------------------------------------


def test_officer_decides_queued_rows(employer: Employer) -> None:
    known = make_person(full_name="Đỗ Thị Giang")
    flagged_id = personal_id_for(dt.date(1995, 6, 7), "M")
    sub = submission_for(
        employer,
        [
            increase(known, full_name="Đỗ Thị Hương"),
            new_participant(personal_id=flagged_id, date_of_birth="1995-06-07", sex="F"),
            increase(make_person(), start="2026-01-05"),
        ],
    )
    processing.process(sub, at=AT)
    rows = rows_of(sub)
    assert sub.rows.filter(status=RowStatus.QUEUED).count() == 3
    staff = officer()

    with pytest.raises(Forbidden):
        processing.decide_queued_row(rows[1], actor=make_user("employer"), accept=True)
    with pytest.raises(DomainError) as exc:
        processing.decide_queued_row(rows[1], actor=staff, accept=False)
    assert exc.value.code == "note_required"

    accepted = processing.decide_queued_row(rows[1], actor=staff, accept=True, at=AT)
    assert (
        accepted.status == RowStatus.ACCEPTED and accepted.result["queue_reason"] == "name_mismatch"
    )
    report = ChangeReport.objects.get(idempotency_key=f"gw:{sub.pk}:1")
    assert report.reported_by == staff
    known.refresh_from_db()
    assert known.full_name == "Đỗ Thị Giang"  # the registry's name is kept

    flagged = processing.decide_queued_row(rows[2], actor=staff, accept=True, at=AT)
    assert flagged.status == RowStatus.ACCEPTED
    assert Person.objects.get(personal_id=flagged_id).identity_check == IdentityCheck.FLAGGED

    rejected = processing.decide_queued_row(
        rows[3], actor=staff, accept=False, note="Thiếu hợp đồng lao động", at=AT
    )
    assert (rejected.status, rejected.error_code) == (RowStatus.REJECTED, "rejected_by_officer")
    assert "Thiếu hợp đồng lao động" in rejected.message_vi
    assert rejected.result == {
        "queue_reason": "retroactive_start",
        "officer_note": "Thiếu hợp đồng lao động",
    }
    assert not ChangeReport.objects.filter(idempotency_key=f"gw:{sub.pk}:3").exists()

    with pytest.raises(Conflict) as again:
        processing.decide_queued_row(rows[3], actor=staff, accept=True)
    assert again.value.code == "row_not_queued"
    sub.refresh_from_db()
    assert (sub.rows_accepted, sub.rows_rejected, sub.rows_queued) == (2, 1, 0)
    details = list(
        SubmissionEvent.objects.filter(submission=sub, step=Step.ROWS_DONE).values_list(
            "detail", flat=True
        )
    )
    assert details[-1] == "row 3 rejected by an officer; 0 still queued"


# --- employer rows (TK3-TS) ---------------------------------------------------------------------


def test_employer_registers_and_changes_its_details(units: None) -> None:
    commune = make_employer().address_unit.code
    org = make_org(kind="employer", scope_codes=(), code="0109876543")
    register = {
        "change": "register",
        "unit_code": "0109876543",
        "unit_type": "DN",
        "participant_group": "DN",
        "name": "Công ty TNHH Mới",
        "tax_code": "0109876543",
        "address_unit_code": commune,
        "wage_region": 1,
        "sector": "Bán lẻ",
    }
    sub = submission_for(None, [(RowKind.EMPLOYER, register)], org=org)
    processing.process(sub, at=AT)
    row = rows_of(sub)[1]
    assert row.status == RowStatus.ACCEPTED, row.message_en
    employer = Employer.objects.get(unit_code="0109876543")
    sub.refresh_from_db()
    assert sub.employer == employer

    changes = [
        (
            RowKind.EMPLOYER,
            {**register, "change": "change", "name": "Công ty Cổ phần Mới", "sector": "Kho vận"},
        ),
        (RowKind.EMPLOYER, {**register, "change": "change", "wage_region": 2}),
        (RowKind.EMPLOYER, {**register, "change": "change", "tax_code": "12AB"}),
        (
            RowKind.EMPLOYER,
            {**register, "change": "change", "unit_code": make_employer().unit_code},
        ),
    ]
    sub2 = submission_for(employer, changes, org=org)
    processing.process(sub2, at=AT)
    rows = rows_of(sub2)
    employer.refresh_from_db()
    assert rows[1].status == RowStatus.ACCEPTED and rows[1].result["changed"] == "name,sector"
    assert (employer.name, employer.sector, employer.name_normalised) == (
        "Công ty Cổ phần Mới",
        "Kho vận",
        "cong ty co phan moi",
    )
    assert (rows[2].status, rows[2].error_code) == (RowStatus.QUEUED, "wage_region_change")
    assert (rows[3].status, rows[3].error_code) == (RowStatus.REJECTED, "tax_code_format")
    assert (rows[4].status, rows[4].error_code) == (RowStatus.REJECTED, "employer_mismatch")
    assert employer.wage_region == 1

    processing.decide_queued_row(rows[2], actor=officer(), accept=True)
    employer.refresh_from_db()
    assert employer.wage_region == 2


def test_card_reissue_needs_a_worker_with_a_card(employer: Employer) -> None:
    worker, outsider = make_person(), make_person()
    enrol(employer, worker, dt.date(2026, 9, 1))
    sub = submission_for(
        employer,
        [
            (RowKind.CARD_REISSUE, {"personal_id": worker.personal_id, "reason": "damaged"}),
            (RowKind.CARD_REISSUE, {"personal_id": outsider.personal_id, "reason": "lost"}),
            (RowKind.CARD_REISSUE, {"personal_id": worker.personal_id, "reason": "stolen"}),
        ],
    )
    processing.process(sub, at=AT)
    rows = rows_of(sub)
    assert [(r.status, r.error_code) for r in rows.values()] == [
        (RowStatus.REJECTED, "card_not_found"),
        (RowStatus.REJECTED, "not_employee"),
        (RowStatus.REJECTED, "reason_invalid"),
    ]


def test_changes_dated_far_back_are_queued(employer: Employer) -> None:
    """A decrease or salary change dated more than GATEWAY_RETROACTIVE_REVIEW_MONTHS (3)
    before the month of reception means a refund or back-payment: an officer checks it."""
    worker = make_person()
    enrol(employer, worker, dt.date(2026, 1, 5))
    sub = submission_for(
        employer,
        [
            (
                RowKind.DECREASE,
                {"personal_id": worker.personal_id, "end": "2026-06-30", "reason": "retired"},
            ),
            (
                RowKind.ADJUSTMENT,
                {
                    "personal_id": worker.personal_id,
                    "valid_from": "2026-05-01",
                    "salary": 9_500_000,
                },
            ),
        ],
    )
    processing.process(sub, at=AT)
    rows = rows_of(sub)
    assert [(r.status, r.error_code) for r in rows.values()] == [
        (RowStatus.QUEUED, "retroactive_end"),
        (RowStatus.QUEUED, "retroactive_change"),
    ]
    assert EmploymentSpell.objects.get(person=worker).end is None
