"""Bulk processing of D02-LT lists (gateway.processing writes increase rows in waves through
``contributions.report_increases`` and the registry's bulk services): the same row decisions and
the same registry and ledger as row-by-row processing, a handful of statements per chunk, and
safe when run twice — also at the same time on PostgreSQL."""

from __future__ import annotations

import datetime as dt
import random
import threading
from collections.abc import Iterator
from typing import Any

import pytest
from django.db import connection, connections, transaction

from ansinh.contributions import services as contributions
from ansinh.contributions.models import ChangeReport, LedgerRow
from ansinh.gateway import processing
from ansinh.gateway.models import RowKind, RowStatus, Step, Submission, SubmissionEvent
from ansinh.gateway.tests.test_processing import (
    AT,
    enrol,
    increase,
    new_participant,
    rows_of,
    submission_for,
)
from ansinh.places.testing import admin_units, admin_units_package  # noqa: F401
from ansinh.registry import services as registry
from ansinh.registry.models import (
    Employer,
    EmploymentSpell,
    HealthInsuranceCard,
    LegacyNumber,
    Person,
)
from ansinh.registry.testing import make_employer, make_person, personal_id_for

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def _fresh_rule_caches() -> Iterator[None]:
    """A test elsewhere that wrote rule rows and rolled them back leaves the rule caches on hold
    (nothing cached): start from warm-able caches, as a running server has."""
    from ansinh.law import selectors

    selectors._hold = False
    selectors.clear_cache()
    yield
    selectors.clear_cache()


@pytest.fixture
def units(admin_units: None) -> None:  # noqa: F811 - the fixture imported above
    """The real administrative units (the registry factories need current communes)."""


@pytest.fixture
def employer(units: None) -> Employer:
    return make_employer(wage_region=1)


def _row_by_row(batch: Any, rows: list[Any]) -> list[Any]:
    """The processing before the bulk path: every row in its own savepoint, one by one."""
    return [processing._run(batch, row) for row in rows]


def _decisions(sub: Submission) -> list[Any]:
    out = []
    for row in sub.rows.order_by("number"):
        result = {k: v for k, v in row.result.items() if k != "report_id"}
        out.append(
            (
                row.number,
                row.status,
                row.error_code,
                row.error_field,
                row.message_vi,
                row.message_en,
                result,
            )
        )
    return out


def _registry_state(employer: Employer) -> Any:
    return (
        sorted(
            EmploymentSpell.objects.values_list(
                "person__ss_number", "employer_id", "start", "end", "contract_type"
            )
        ),
        sorted(
            HealthInsuranceCard.objects.values_list(
                "person__ss_number", "number", "initial_facility_code", "valid_from", "revoked"
            )
        ),
        sorted(Person.objects.values_list("ss_number", "full_name", "identity_check")),
        sorted(LegacyNumber.objects.values_list("number", "person__ss_number")),
        sorted(ChangeReport.objects.values_list("person__ss_number", "kind", "idempotency_key")),
        sorted(
            LedgerRow.objects.filter(employer=employer).values_list(
                "person__ss_number", "period", "kind", "insured_salary"
            )
        ),
    )


def _generated_dossier(rng: random.Random, employer: Employer) -> list[tuple[str, dict]]:
    """A D02-LT list with every kind of row the rules know, shuffled by ``rng``: known workers
    with and without a card, first-time participants (one declaring a legacy number another
    row also declares), the same worker twice, invalid fields, workers employed elsewhere,
    identity disagreements, a start far back, decreases, an adjustment and a card reissue."""
    other = make_employer(wage_region=2)
    rows: list[tuple[str, dict]] = []
    for n in range(8):
        person = make_person(date_of_birth=dt.date(1985 + n, 2, 3))
        if n % 2:
            registry.issue_card(
                person,
                participant_group="DN",
                benefit_level=4,
                province_code="01",
                valid_from=dt.date(2025, 1, 1),
                facility_code="01009",
            )
        rows.append(increase(person, salary=rng.randrange(5_000_000, 90_000_000, 1000)))
    twice = make_person(full_name="Đỗ Văn Hai")
    rows += [increase(twice), increase(twice, start="2026-11-20")]
    elsewhere = make_person(full_name="Ngô Thị Nơi")
    enrol(other, elsewhere, dt.date(2026, 1, 1))
    rows.append(increase(elsewhere))
    renamed = make_person(full_name="Bùi Văn Tên")
    rows.append(increase(renamed, full_name="Bùi Văn Khác"))
    rows.append(increase(make_person(), start="2026-03-02"))
    rows.append(increase(make_person(), salary=-1))
    rows.append(increase(make_person(), contract_type="forever"))
    for n in range(5):
        dob = dt.date(1995 + n, 6, 7)
        rows.append(
            new_participant(
                personal_id=personal_id_for(dob, "M"),
                date_of_birth=dob.isoformat(),
                sex="M",
                full_name="Hoàng Văn Mới",
            )
        )
    rows.append(
        new_participant(
            ss_number="0100000001",
            personal_id=personal_id_for(dt.date(1999, 1, 1), "F"),
            date_of_birth="1999-01-01",
        )
    )
    rows.append(
        new_participant(
            ss_number="0100000001",
            personal_id=personal_id_for(dt.date(1998, 1, 1), "F"),
            date_of_birth="1998-01-01",
        )
    )
    rows.append(
        new_participant(
            participant=None,
            personal_id=personal_id_for(dt.date(1997, 1, 1), "F"),
            date_of_birth="1997-01-01",
        )
    )
    rows.append(new_participant(personal_id="0019", full_name="X"))
    leaving, staying = make_person(), make_person()
    for person in (leaving, staying):
        enrol(employer, person, dt.date(2026, 9, 1))
    registry.issue_card(
        staying,
        participant_group="DN",
        benefit_level=4,
        province_code="01",
        valid_from=dt.date(2026, 9, 1),
    )
    rows.append(
        (
            RowKind.DECREASE,
            {"personal_id": leaving.personal_id, "end": "2026-10-31", "reason": "resigned"},
        )
    )
    rows.append(
        (
            RowKind.ADJUSTMENT,
            {"personal_id": staying.personal_id, "valid_from": "2026-11-01", "salary": 12_000_000},
        )
    )
    rows.append((RowKind.CARD_REISSUE, {"personal_id": staying.personal_id, "reason": "damaged"}))
    rng.shuffle(rows)
    return rows


@pytest.mark.parametrize("seed", [11, 12, 13])
def test_bulk_decides_every_row_as_row_by_row(
    employer: Employer, seed: int, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Property on generated dossiers: each row's status, code, field, messages and result, and
    every spell, card, person, legacy number, report and ledger row, equal what row-by-row
    processing gives on the same registry (Decree 166/2016 Art. 12: one result, row by row)."""
    rng = random.Random(seed)
    # A built ledger, so that reports reconcile months already there.
    enrol(employer, make_person(full_name="Lê Văn Cũ"), dt.date(2026, 1, 5))
    contributions.build_month(employer, 202610)
    sub = submission_for(employer, _generated_dossier(rng, employer))

    with transaction.atomic():
        with monkeypatch.context() as patch:
            patch.setattr(processing, "_decide", _row_by_row)
            processing.process(sub, at=AT)
        expected = (_decisions(sub), _registry_state(employer))
        transaction.set_rollback(True)

    processing.process(sub, at=AT)
    got = (_decisions(sub), _registry_state(employer))
    assert got[0] == expected[0]
    assert got[1] == expected[1]
    statuses = {d[1] for d in got[0]}
    assert statuses == {RowStatus.ACCEPTED, RowStatus.REJECTED, RowStatus.QUEUED}


def test_a_refused_row_in_a_wave_leaves_nothing_and_the_others_stand(employer: Employer) -> None:
    """Two first-time participants declare the same legacy BHXH number: the first is
    registered with it, the second refused (``duplicate_legacy_number``) when the wave is
    written; the wave is redone without it and nothing of it remains."""
    first, second = (
        new_participant(
            ss_number="0100000002",
            personal_id=personal_id_for(dt.date(1990 + n, 1, 1), "F"),
            date_of_birth=f"{1990 + n}-01-01",
        )
        for n in range(2)
    )
    known = make_person()
    sub = submission_for(employer, [first, increase(known), second])
    result = processing.process(sub, at=AT)
    rows = rows_of(sub)
    assert [rows[n].status for n in (1, 2, 3)] == [
        RowStatus.ACCEPTED,
        RowStatus.ACCEPTED,
        RowStatus.REJECTED,
    ]
    assert (rows[3].error_code, rows[3].error_field) == ("duplicate_legacy_number", "ss_number")
    assert not Person.objects.filter(personal_id=rows[3].personal_id).exists()
    assert not ChangeReport.objects.filter(idempotency_key=f"gw:{sub.pk}:3").exists()
    assert LegacyNumber.objects.get(number="0100000002").person.personal_id == rows[1].personal_id
    assert (result.rows_accepted, result.rows_rejected) == (2, 1)


def test_statements_per_chunk_do_not_grow_with_the_rows(
    employer: Employer, django_assert_max_num_queries: Any
) -> None:
    """120 known workers with cards and 30 first-time participants: one chunk, a few dozen
    statements in all, savepoints and cold rule caches included (the row-by-row path needed ~15
    per known worker, ~33 per new one)."""
    people = [make_person(date_of_birth=dt.date(1980 + n % 20, 1, 1 + n % 27)) for n in range(120)]
    HealthInsuranceCard.objects.bulk_create(
        HealthInsuranceCard(
            person=p,
            number=f"DN401{9_800_000_000 + p.pk}",
            short_number=str(9_800_000_000 + p.pk),
            participant_group="DN",
            benefit_level=4,
            province_code="01",
            valid_from=dt.date(2025, 1, 1),
        )
        for p in people
    )
    new = [
        new_participant(
            personal_id=personal_id_for(dt.date(2000, 1, 1 + n % 27), "F", n=500_000 + n),
            date_of_birth=f"2000-01-{1 + n % 27:02d}",
        )
        for n in range(30)
    ]
    sub = submission_for(employer, [increase(p) for p in people] + new)
    with django_assert_max_num_queries(75):
        result = processing.process(sub, at=AT)
    assert result.rows_accepted == 150, [r.message_en for r in sub.rows.exclude(status="accepted")]
    assert HealthInsuranceCard.objects.filter(short_number__startswith="99").count() == 30


def test_rerun_after_bulk_writes_nothing(
    employer: Employer, django_assert_max_num_queries: Any
) -> None:
    sub = submission_for(employer, [increase(make_person()) for _ in range(20)])
    processing.process(sub, at=AT)
    counts = (EmploymentSpell.objects.count(), ChangeReport.objects.count())
    events = SubmissionEvent.objects.filter(submission=sub).count()
    with django_assert_max_num_queries(2):
        again = processing.process(sub, at=AT + dt.timedelta(hours=1))
    assert again.rows_accepted == 20 and again.processed_at == AT
    assert (EmploymentSpell.objects.count(), ChangeReport.objects.count()) == counts
    assert SubmissionEvent.objects.filter(submission=sub).count() == events


@pytest.mark.django_db(transaction=True)
def test_two_workers_at_once_decide_each_row_once(units: None) -> None:
    """PostgreSQL: two workers process the same dossier at the same moment (a task retried
    while the first run is still going). The submission lock serialises the chunks: every row
    is decided once, one spell and one report per row, one trace of processing."""
    if connection.vendor != "postgresql":
        pytest.skip("row locks (SELECT … FOR UPDATE) are PostgreSQL's; SQLite has one writer")
    from ansinh.law.services import sync_rules

    # An earlier transactional test flushes the rule rows the migrations loaded.
    sync_rules()
    employer = make_employer(wage_region=1)
    people = [make_person(date_of_birth=dt.date(1980 + n % 20, 3, 1 + n)) for n in range(20)]
    rows = [increase(p) for p in people] + [new_participant()]
    sub = submission_for(employer, rows)
    barrier = threading.Barrier(2)
    errors: list[BaseException] = []

    def work() -> None:
        try:
            barrier.wait()
            processing.process(Submission.objects.get(pk=sub.pk), at=AT)
        except BaseException as exc:  # reported below
            errors.append(exc)
        finally:
            connections.close_all()

    threads = [threading.Thread(target=work) for _ in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)
    assert not errors, errors
    sub.refresh_from_db()
    assert (sub.rows_accepted, sub.rows_rejected, sub.rows_queued) == (21, 0, 0)
    assert EmploymentSpell.objects.filter(employer=employer).count() == 21
    assert ChangeReport.objects.filter(idempotency_key__startswith=f"gw:{sub.pk}:").count() == 21
    steps = list(SubmissionEvent.objects.filter(submission=sub).values_list("step", flat=True))
    assert steps.count(Step.PROCESSING) == 1 and steps.count(Step.ROWS_DONE) == 1
