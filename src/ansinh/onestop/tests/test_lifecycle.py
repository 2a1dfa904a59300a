"""Dossier lifecycle: reception, codes, every transition and who may make it, optimistic
locking, the append-only path, apology slips (Decree 61/2018/NĐ-CP as amended by Decree
107/2021 and Decree 118/2025: Art. 26 dossier code, Art. 19–20 reception and processing,
the apology-and-new-date slip)."""

from __future__ import annotations

import datetime as dt
from zoneinfo import ZoneInfo

import pytest
from django.db import DatabaseError, transaction

from ansinh.core.errors import Conflict, DomainError, Forbidden, NotFound
from ansinh.onestop import services
from ansinh.onestop.models import (
    Action,
    DailySequence,
    Dossier,
    DossierState,
    DossierTransition,
    Outcome,
    Warning,
)
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
    return make_officer(office, departments=("MOTCUA",))


@pytest.fixture
def clerk(office):
    return make_officer(office, departments=("THU",))


@pytest.fixture
def manager(office):
    return make_officer(office, "manager")


# --- reception ---------------------------------------------------------------------------------


def test_code_is_agency_code_date_and_sequence(office, desk) -> None:
    """Art. 26: agency identity code + reception date + that day's sequence number."""
    first = make_dossier(office, actor=desk, at=at(16))
    second = make_dossier(office, actor=desk, at=at(16, 11))
    next_day = make_dossier(office, actor=desk, at=at(17))
    assert first.code == "000.00.01.H26-261116-0001"
    assert second.code == "000.00.01.H26-261116-0002"
    assert next_day.code == "000.00.01.H26-261117-0001"
    assert len(first.code) == 25


def test_reception_sets_the_due_time_and_opens_the_path(office, desk) -> None:
    dossier = make_dossier(office, actor=desk, at=at(16, 10), procedure_code="600")
    assert dossier.state == DossierState.RECEIVED
    assert dossier.due_at == at(23, 17)  # 5 working days, reception day not counted
    assert dossier.counted_from == at(16, 10)
    step = dossier.path.get()
    assert step.action == Action.RECEIVE and step.to_office == office and step.actor == desk


def test_reception_after_hours_counts_from_the_next_working_day(office, desk) -> None:
    dossier = make_dossier(office, actor=desk, at=at(20, 18), procedure_code="600-DC")
    assert dossier.counted_from == at(23, 8)
    assert dossier.due_at == at(27, 17)  # 3 days; Tue 24 is Culture Day: 25, 26, 27


def test_same_day_procedure_has_an_hour_deadline(office, desk) -> None:
    dossier = make_dossier(office, actor=desk, at=at(16, 9), procedure_code="THE-CAPLAI")
    assert dossier.due_at == at(16, 17)


def test_procedure_version_in_force_on_the_reception_day(office, desk) -> None:
    old = make_dossier(office, actor=desk, at=at(30, month=12).replace(year=2025), **_tctn())
    new = make_dossier(office, actor=desk, at=at(16), **_tctn())
    assert "38/2013" in old.procedure_version.legal_source
    assert "74/2025" in new.procedure_version.legal_source


def _tctn() -> dict:
    return {"procedure_code": "TCTN"}


def test_resubmission_with_the_same_reference_returns_the_same_dossier(office) -> None:
    """Submissions are idempotent on the submitter's reference."""
    a = make_dossier(office, at=at(16), external_ref="IVAN-42", channel="gateway")
    b = make_dossier(office, at=at(16, 11), external_ref="IVAN-42", channel="gateway")
    assert a.pk == b.pk
    assert Dossier.objects.count() == 1
    assert DailySequence.objects.get().last == 1
    with pytest.raises(Conflict) as exc:
        make_dossier(office, external_ref="IVAN-42", procedure_code="604", channel="gateway")
    assert exc.value.code == "external_ref_reused"


def test_bad_reception_input_is_refused_and_nothing_is_written(office, desk) -> None:
    with pytest.raises(NotFound) as exc:
        make_dossier(office, actor=desk, procedure_code="999")
    assert exc.value.code == "unknown_procedure"
    with pytest.raises(DomainError) as exc:
        make_dossier(office, actor=desk, channel="fax")
    assert exc.value.code == "unknown_channel"
    with pytest.raises(DomainError) as exc:
        make_dossier(
            office,
            actor=desk,
            applicant=services.Applicant(name=" ", email="not-an-address"),
            documents=[services.DocumentReceived("", copies=0)],
        )
    fields = {e.field for e in exc.value.errors}
    assert fields == {
        "applicant.name",
        "applicant.email",
        "documents[0].name",
        "documents[0].copies",
    }
    with pytest.raises(DomainError) as exc:
        make_dossier(office, actor=desk, at=dt.datetime.now(VN) + dt.timedelta(days=1))
    assert exc.value.code == "time_in_future"
    assert not Dossier.objects.exists()
    assert not DossierTransition.objects.exists()
    assert not DailySequence.objects.exists()


def test_only_officers_of_the_office_receive(office) -> None:
    other = make_office()
    stranger = make_officer(other)
    auditor = make_officer(office, "auditor")
    for user, code in ((stranger, "not_your_office"), (auditor, "permission_denied")):
        with pytest.raises(Forbidden) as exc:
            make_dossier(office, actor=user)
        assert exc.value.code == code


# --- the happy path and every transition --------------------------------------------------------


def test_full_path_with_a_supplement(office, desk, clerk) -> None:
    def oct_(d: int, hh: int = 10) -> dt.datetime:
        return at(d, hh, month=10)

    d = make_dossier(office, actor=desk, at=oct_(9, 9))  # Friday; due Friday 16 at 17:00
    assert d.due_at == oct_(16, 17)
    d = services.transfer(
        d, actor=desk, expected_version=d.version, to_department="THU", at=oct_(9, 10)
    )
    assert d.state == DossierState.TRANSFERRED and d.department.code == "THU"
    d = services.start_processing(d, actor=clerk, expected_version=d.version, at=oct_(12, 9))
    assert d.state == DossierState.PROCESSING and d.assignee == clerk
    d = services.request_supplement(
        d, actor=clerk, expected_version=d.version, note="Thiếu tờ khai TK1-TS", at=oct_(14, 11)
    )
    assert d.state == DossierState.SUPPLEMENT and d.paused_left == 2  # Thursday, Friday
    assert d.warning == Warning.PAUSED
    d = services.receive_supplement(d, actor=desk, expected_version=d.version, at=oct_(19, 9))
    assert d.due_at == oct_(21, 17)  # 2 days left from Monday 19: Tuesday, Wednesday
    assert d.paused_minutes == 6 * 60 + 9 * 60 + 9 * 60 + 60  # Wed 11–17, Thu, Fri, Mon 8–9
    d = services.record_result(d, actor=clerk, expected_version=d.version, at=oct_(20, 15))
    assert d.state == DossierState.RESULT_READY and d.outcome == Outcome.EARLY
    d = services.return_result(d, actor=desk, expected_version=d.version, at=oct_(21, 9))
    assert d.state == DossierState.RETURNED and d.closed_at == oct_(21, 9)
    actions = list(d.path.values_list("action", flat=True))
    assert actions == [
        "receive",
        "transfer",
        "start",
        "request_supplement",
        "supplement_received",
        "result_ready",
        "return",
    ]
    transfer = d.path.get(action="transfer")
    assert transfer.from_department is None and transfer.to_department.code == "THU"
    assert d.version == 7


def test_on_time_and_late_outcomes(office, desk, clerk) -> None:
    """Decision 766/QĐ-TTg: early (before the due day), on time (by the due time), late."""
    on_time = make_dossier(office, actor=desk, at=at(16, 9), procedure_code="600-DC")
    late = make_dossier(office, actor=desk, at=at(16, 9), procedure_code="600-DC")
    for d, when in ((on_time, at(19, 17)), (late, at(20, 8))):
        d = services.start_processing(d, actor=clerk, expected_version=d.version, at=at(17))
        d = services.record_result(d, actor=clerk, expected_version=d.version, at=when)
    assert Dossier.objects.get(pk=on_time.pk).outcome == Outcome.ON_TIME
    assert Dossier.objects.get(pk=late.pk).outcome == Outcome.LATE


def test_reject_needs_a_reason_and_counts_as_resolved(office, desk, clerk) -> None:
    d = make_dossier(office, actor=desk, at=at(16))
    with pytest.raises(DomainError) as exc:
        services.reject(d, actor=clerk, expected_version=d.version, reason="  ")
    assert exc.value.code == "reason_required"
    d = services.reject(d, actor=clerk, expected_version=d.version, reason="Sai mẫu", at=at(17))
    assert d.state == DossierState.REJECTED and d.outcome == Outcome.EARLY
    assert d.path.last().note == "Sai mẫu"


def test_withdraw_closes_without_an_outcome(office, desk) -> None:
    d = make_dossier(office, actor=desk, at=at(16))
    d = services.withdraw(d, actor=desk, expected_version=d.version, note="Đơn rút hồ sơ")
    assert d.state == DossierState.WITHDRAWN and d.outcome == "" and d.closed_at


@pytest.mark.parametrize(
    ("service", "kwargs"),
    [
        (services.record_result, {}),  # a result needs processing first
        (services.return_result, {}),
        (services.receive_supplement, {}),
    ],
)
def test_illegal_transitions_are_refused(office, desk, service, kwargs) -> None:
    d = make_dossier(office, actor=desk, at=at(16))
    with pytest.raises(DomainError) as exc:
        service(d, actor=desk, expected_version=d.version, **kwargs)
    assert exc.value.code == "illegal_transition" and exc.value.status == 409
    assert d.path.count() == 1
    assert Dossier.objects.get(pk=d.pk).version == 1


def test_closed_dossiers_do_not_move(office, desk) -> None:
    d = make_dossier(office, actor=desk, at=at(16))
    d = services.withdraw(d, actor=desk, expected_version=d.version, note="Rút")
    for service, kwargs in (
        (services.withdraw, {"note": "again"}),
        (services.transfer, {"to_department": "THU"}),
        (services.reject, {"reason": "x"}),
        (services.start_processing, {}),
    ):
        with pytest.raises(DomainError) as exc:
            service(d, actor=desk, expected_version=d.version, **kwargs)
        assert exc.value.code == "illegal_transition"


# --- who may act ------------------------------------------------------------------------------


def test_processing_belongs_to_the_assignee(office, desk, clerk) -> None:
    colleague = make_officer(office, departments=("THU",))
    d = make_dossier(office, actor=desk, at=at(16))
    d = services.transfer(d, actor=desk, expected_version=d.version, to_department="THU")
    with pytest.raises(Forbidden) as exc:
        services.start_processing(d, actor=desk, expected_version=d.version)
    assert exc.value.code == "not_in_department"
    d = services.start_processing(d, actor=clerk, expected_version=d.version)
    with pytest.raises(Forbidden) as exc:
        services.record_result(d, actor=colleague, expected_version=d.version)
    assert exc.value.code == "not_assignee"


def test_officers_of_another_office_and_other_roles_cannot_act(office, desk) -> None:
    d = make_dossier(office, actor=desk, at=at(16))
    stranger = make_officer(make_office())
    auditor = make_officer(office, "auditor")
    for user in (stranger, auditor):
        with pytest.raises(Forbidden):
            services.transfer(d, actor=user, expected_version=d.version, to_department="THU")
    assert d.path.count() == 1


def test_manager_reassigns_and_officers_cannot(office, desk, clerk, manager) -> None:
    other = make_officer(office, departments=("THU",))
    d = make_dossier(office, actor=desk, at=at(16))
    d = services.start_processing(d, actor=clerk, expected_version=d.version)
    with pytest.raises(Forbidden):
        services.reassign(d, actor=desk, expected_version=d.version, to_assignee=other)
    d = services.reassign(
        d, actor=manager, expected_version=d.version, to_assignee=other, note="Cân đối"
    )
    assert d.assignee == other
    step = d.path.last()
    assert step.action == Action.REASSIGN and step.from_assignee == clerk
    with pytest.raises(DomainError) as exc:
        services.reassign(d, actor=manager, expected_version=d.version, to_assignee=other)
    assert exc.value.code == "same_assignee"
    with pytest.raises(DomainError) as exc:
        services.reassign(
            d, actor=manager, expected_version=d.version, to_assignee=make_officer(make_office())
        )
    assert exc.value.code == "assignee_not_in_office"


def test_manager_of_the_province_reassigns_in_a_commune_office() -> None:
    province = make_office()
    commune = make_office(parent=province.organisation, kind="commune_office")
    boss = make_officer(province, "manager")
    desk = make_officer(commune)
    helper = make_officer(commune)
    d = make_dossier(commune, actor=desk, at=at(16))
    d = services.reassign(d, actor=boss, expected_version=d.version, to_assignee=helper)
    assert d.assignee == helper


def test_transfer_from_commune_to_province_office() -> None:
    province = make_office(province_code="01")
    commune = make_office(province_code="01", parent=province.organisation, kind="commune_office")
    desk = make_officer(commune)
    d = make_dossier(commune, actor=desk, at=at(16))
    d = services.transfer(
        d, actor=desk, expected_version=d.version, to_office=province, to_department="SOTHE"
    )
    assert d.office == province and d.receiving_office == commune
    step = d.path.last()
    assert step.from_office == commune and step.to_office == province
    # The commune officer no longer holds it.
    with pytest.raises(Forbidden):
        services.start_processing(d, actor=desk, expected_version=d.version)


def test_transfer_needs_a_destination(office, desk) -> None:
    d = make_dossier(office, actor=desk, at=at(16))
    with pytest.raises(DomainError) as exc:
        services.transfer(d, actor=desk, expected_version=d.version)
    assert exc.value.code == "destination_required"
    with pytest.raises(DomainError) as exc:
        services.transfer(d, actor=desk, expected_version=d.version, to_department="NOPE")
    assert exc.value.code == "unknown_department"


# --- concurrency and order -----------------------------------------------------------------------


def test_two_officers_acting_on_the_same_version_one_wins(office, desk, clerk) -> None:
    """Optimistic locking: the second move made from a stale page gets a conflict and writes
    nothing."""
    d = make_dossier(office, actor=desk, at=at(16))
    seen = d.version
    services.transfer(d, actor=desk, expected_version=seen, to_department="THU")
    with pytest.raises(Conflict) as exc:
        services.withdraw(d, actor=desk, expected_version=seen, note="Rút")
    assert exc.value.code == "stale_version"
    d.refresh_from_db()
    assert d.state == DossierState.TRANSFERRED and d.path.count() == 2


def test_steps_cannot_be_dated_before_the_previous_step(office, desk) -> None:
    d = make_dossier(office, actor=desk, at=at(16, 10))
    with pytest.raises(DomainError) as exc:
        services.transfer(
            d, actor=desk, expected_version=d.version, to_department="THU", at=at(16, 9)
        )
    assert exc.value.code == "before_previous_step"


def test_unknown_dossier(office, desk) -> None:
    with pytest.raises(NotFound):
        services.withdraw("000.00.01.H26-261116-9999", actor=desk, expected_version=1, note="x")


def test_path_is_append_only_in_the_database(office, desk) -> None:
    d = make_dossier(office, actor=desk, at=at(16))
    step = d.path.get()
    with pytest.raises(RuntimeError):
        step.save()
    with pytest.raises(DatabaseError), transaction.atomic():
        DossierTransition.objects.filter(pk=step.pk).update(note="rewritten")
    with pytest.raises(DatabaseError), transaction.atomic():
        DossierTransition.objects.filter(pk=step.pk).delete()
    assert d.path.get().note == ""


# --- apology slips ------------------------------------------------------------------------------


def test_apology_sets_a_new_date_but_the_dossier_still_counts_late(office, desk, clerk) -> None:
    d = make_dossier(office, actor=desk, at=at(16, 9), procedure_code="600-DC")  # due Thu 19
    d = services.start_processing(d, actor=clerk, expected_version=d.version, at=at(17))
    slip = services.issue_apology(
        d,
        actor=clerk,
        expected_version=d.version,
        reason="Chờ xác minh quá trình đóng tại tỉnh khác",
        new_due_at=at(23, 17),
        delivered_via="email",
        at=at(19, 9),
    )
    d.refresh_from_db()
    assert slip.number == 1 and slip.old_due_at == at(19, 17)
    assert d.promised_at == at(23, 17) and d.due_at == at(19, 17)
    assert d.path.last().action == Action.APOLOGY
    d = services.record_result(d, actor=clerk, expected_version=d.version, at=at(23, 10))
    assert d.outcome == Outcome.LATE
    with pytest.raises(DomainError) as exc:
        services.issue_apology(
            d, actor=clerk, expected_version=d.version, reason="x", new_due_at=at(30, 17)
        )
    assert exc.value.code == "illegal_transition"


def test_apology_date_must_be_later(office, desk) -> None:
    d = make_dossier(office, actor=desk, at=at(16, 9))
    with pytest.raises(DomainError) as exc:
        services.issue_apology(
            d, actor=desk, expected_version=d.version, reason="Chậm", new_due_at=at(17, 9)
        )
    assert exc.value.code == "new_date_too_early"
    assert not d.apologies.exists() and d.path.count() == 1


# --- catalogue ----------------------------------------------------------------------------------


def test_catalogue_sync_is_idempotent_and_keeps_admin_edits(office) -> None:
    from ansinh.onestop.models import Procedure, ProcedureVersion

    assert services.sync_catalogue() == 0
    version = ProcedureVersion.objects.get(procedure__code="600")
    version.deadline_days = 4
    version.save()
    Procedure.objects.filter(code="601").update(name_vi="Đã sửa")
    assert services.sync_catalogue() == 0
    assert ProcedureVersion.objects.get(procedure__code="600").deadline_days == 4
    assert Procedure.objects.get(code="601").name_vi == "Đã sửa"


def test_every_seeded_procedure_cites_its_source_and_has_documents(office) -> None:
    from ansinh.onestop.models import ProcedureVersion

    for version in ProcedureVersion.objects.all():
        assert version.legal_source and version.documents, version
        assert version.deadline_days is not None or version.deadline_hours is not None


@pytest.mark.django_db(transaction=True)
def test_truly_concurrent_moves_one_wins_the_other_conflicts() -> None:
    """Two officers press a button on the same page at the same moment, in two threads with
    their own database connections: exactly one move lands, the other gets stale_version."""
    import threading

    from django.db import connection

    if connection.vendor == "sqlite" and connection.is_in_memory_db():
        pytest.skip("in-memory SQLite (shared cache) locks tables without waiting; runs on PG")
    office = make_office()
    desk = make_officer(office)
    d = make_dossier(office, actor=desk, at=at(16))
    barrier = threading.Barrier(2)
    outcomes: list[str] = []

    def move(department: str) -> None:
        try:
            barrier.wait()
            services.transfer(d.pk, actor=desk, expected_version=1, to_department=department)
            outcomes.append("ok")
        except Conflict as exc:
            outcomes.append(exc.code)
        finally:
            connection.close()

    threads = [threading.Thread(target=move, args=(code,)) for code in ("THU", "SOTHE")]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert sorted(outcomes) == ["ok", "stale_version"]
    d.refresh_from_db()
    assert d.version == 2 and d.path.count() == 2
