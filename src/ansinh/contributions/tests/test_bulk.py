"""``report_increases``: the bulk báo tăng of a D02-LT list gives the same answers and writes the
same spells, reports and ledger rows as ``report_increase`` one item at a time, in a handful of
statements."""

from __future__ import annotations

import datetime as dt
import random
from typing import Any

import pytest
from django.db import transaction

from ansinh.contributions import services
from ansinh.contributions.models import ChangeReport, LedgerRow
from ansinh.core.errors import DomainError
from ansinh.registry import services as registry
from ansinh.registry.models import EmploymentSpell, SalaryPeriod
from ansinh.registry.testing import make_person

pytestmark = pytest.mark.django_db

REPORTED = dt.date(2026, 11, 10)


def _people(n: int) -> list[Any]:
    return [
        make_person(date_of_birth=dt.date(1980 + i % 20, 1 + i % 12, 1 + i % 27)) for i in range(n)
    ]


def _generated(rng: random.Random, people: list[Any]) -> list[services.Increase]:
    """A D02-LT list with the usual mistakes mixed in: invalid amounts and contract types, a
    start before birth, the same worker twice, a key used twice (same and different report)."""
    items = []
    for n, person in enumerate(people):
        start = dt.date(2026, rng.choice((8, 9, 10, 11)), rng.choice((1, 2, 15)))
        salary: Any = rng.randrange(5_000_000, 60_000_000, 1000)
        contract = "indefinite"
        roll = rng.random()
        if roll < 0.06:
            salary = -1
        elif roll < 0.10:
            salary = "mười triệu"
        elif roll < 0.13:
            salary = 10**10 + 1
        elif roll < 0.17:
            contract = "freelance"
        elif roll < 0.20:
            start = dt.date(1950, 1, 1)
        items.append(
            services.Increase(
                person=person,
                start=start,
                contract_type=contract,
                salary=salary,
                allowances=rng.choice((0, 0, 500_000)),
                occupation="Công nhân",
                idempotency_key=f"k{n}",
            )
        )
    # The same worker reported twice (the second overlaps the first), a replay of an item
    # within the list, and a key reused for a different report.
    items.append(services.Increase(**{**items[1].__dict__, "idempotency_key": "again"}))
    items.append(items[2])
    items.append(services.Increase(**{**items[3].__dict__, "salary": 7_000_000}))
    return items


def _shape(result: services.ReportResult | DomainError) -> Any:
    """What the caller sees, without database ids."""
    if isinstance(result, DomainError):
        return ("error", result.status, [e.as_dict() for e in result.errors])
    report, spell = result.report, result.spell
    data = {k: v for k, v in report.data.items() if k != "spell_id"}
    salaries = list(spell.salaries.values_list("valid_from", "salary", "allowances"))
    return (
        report.kind,
        report.person_id,
        report.effective_period,
        report.idempotency_key,
        data,
        result.replayed,
        result.rows_written,
        (spell.start, spell.end, spell.contract_type, spell.occupation, spell.reported_on),
        salaries,
    )


def _state(employer: Any) -> Any:
    return (
        sorted(
            LedgerRow.objects.filter(employer=employer).values_list(
                "person_id", "period", "kind", "insured_salary", "ee_retirement", "exempt_reason"
            )
        ),
        sorted(
            EmploymentSpell.objects.filter(employer=employer).values_list(
                "person_id", "start", "end", "contract_type"
            )
        ),
        ChangeReport.objects.filter(employer=employer).count(),
    )


def _one_by_one(employer: Any, items: list[services.Increase]) -> list[Any]:
    out: list[Any] = []
    for item in items:
        try:
            out.append(
                services.report_increase(employer=employer, reported_on=REPORTED, **item.__dict__)
            )
        except DomainError as exc:
            out.append(exc)
    return out


@pytest.mark.parametrize("seed", [1, 2, 3])
def test_bulk_gives_the_one_by_one_answers(employer: Any, seed: int) -> None:
    """Property on generated lists: every answer (report or error, with its messages), every
    spell and salary, every ledger row (truy thu for billed months, Law 41/2024 Art. 28 late
    enrolment flag) equals what one-by-one reports give on the same registry and ledger."""
    rng = random.Random(seed)
    people = _people(24)
    # A ledger already built and billed for September: late starts get RETROACTIVE rows.
    earlier = make_person(full_name="Lê Văn Cũ")
    services.report_increase(
        employer=employer,
        person=earlier,
        start=dt.date(2026, 1, 5),
        contract_type="indefinite",
        salary=9_000_000,
        reported_on=dt.date(2026, 1, 5),
    )
    for period in (202608, 202609, 202610):
        services.build_month(employer, period)
    services.issue_bill(employer, 202609)
    items = _generated(rng, people)

    with transaction.atomic():
        expected = [_shape(r) for r in _one_by_one(employer, items)]
        expected_state = _state(employer)
        transaction.set_rollback(True)

    got = [_shape(r) for r in services.report_increases(employer, items, reported_on=REPORTED)]
    assert got == expected
    assert _state(employer) == expected_state
    assert any(s[0] == "error" for s in got) and any(s[0] != "error" for s in got)


def test_rerun_replays_every_report_and_writes_nothing(employer: Any) -> None:
    people = _people(5)
    items = [
        services.Increase(
            p, dt.date(2026, 11, 2), "indefinite", 10_000_000, idempotency_key=f"r{i}"
        )
        for i, p in enumerate(people)
    ]
    first = services.report_increases(employer, items, reported_on=REPORTED)
    counts = (EmploymentSpell.objects.count(), SalaryPeriod.objects.count(), _state(employer))
    again = services.report_increases(employer, items, reported_on=REPORTED)
    assert all(isinstance(r, services.ReportResult) and r.replayed for r in again)
    assert [r.report.pk for r in again] == [r.report.pk for r in first]  # type: ignore[union-attr]
    assert [r.spell.pk for r in again] == [r.spell.pk for r in first]  # type: ignore[union-attr]
    assert (EmploymentSpell.objects.count(), SalaryPeriod.objects.count(), _state(employer)) == (
        counts
    )


def test_invalid_items_fail_alone(employer: Any) -> None:
    good, bad_salary, inactive_start = _people(3)
    results = services.report_increases(
        employer,
        [
            services.Increase(good, dt.date(2026, 11, 2), "indefinite", 10_000_000),
            services.Increase(bad_salary, dt.date(2026, 11, 2), "indefinite", -5),
            services.Increase(inactive_start, dt.date(1900, 1, 1), "indefinite", 10_000_000),
        ],
        reported_on=REPORTED,
    )
    assert isinstance(results[0], services.ReportResult)
    assert isinstance(results[1], DomainError) and results[1].code == "salary_negative"
    assert isinstance(results[2], DomainError) and results[2].code == "start_invalid"
    assert list(EmploymentSpell.objects.values_list("person_id", flat=True)) == [good.pk]


def test_statements_do_not_grow_with_the_list(
    employer: Any, django_assert_max_num_queries: Any
) -> None:
    """One replay query, one employer lock, one person lock, one overlap query, bulk inserts
    and the ledger's reach (plus savepoints and a rule look-up): the same handful of statements
    for 3 or 60 workers."""
    people = _people(60)
    items = [
        services.Increase(
            p, dt.date(2026, 11, 2), "indefinite", 10_000_000, idempotency_key=f"q{i}"
        )
        for i, p in enumerate(people)
    ]
    with django_assert_max_num_queries(15):
        results = services.report_increases(employer, items, reported_on=REPORTED)
    assert all(isinstance(r, services.ReportResult) for r in results)


def test_a_database_error_leaves_no_item_written(
    employer: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Bulk inserts run in one transaction: when the report insert fails, the spells of the
    list opened just before are rolled back too."""
    people = _people(3)

    def broken(*args: Any, **kwargs: Any) -> None:
        raise RuntimeError("disk full")

    monkeypatch.setattr(ChangeReport.objects, "bulk_create", broken)
    with pytest.raises(RuntimeError):
        services.report_increases(
            employer,
            [services.Increase(p, dt.date(2026, 11, 2), "indefinite", 10_000_000) for p in people],
            reported_on=REPORTED,
        )
    assert not EmploymentSpell.objects.exists() and not SalaryPeriod.objects.exists()


def test_registry_open_spells_is_open_spell_in_order(employer: Any) -> None:
    """``registry.open_spells``: a second spell of a person in the same list overlaps the
    first (one employer per person-month), as ``open_spell`` one by one."""
    a, b = _people(2)
    start = dt.date(2026, 11, 2)
    results = registry.open_spells(
        [
            registry.SpellRequest(a, employer, start, "indefinite", 8_000_000),
            registry.SpellRequest(a, employer, start + dt.timedelta(days=40), "fixed", 8_000_000),
            registry.SpellRequest(b, employer, start, "seasonal", 6_000_000, occupation="Thợ"),
            registry.SpellRequest(b, employer, start, "hourly", 6_000_000),
        ]
    )
    assert isinstance(results[0], EmploymentSpell)
    assert isinstance(results[1], DomainError) and results[1].code == "spell_overlap"
    assert isinstance(results[2], EmploymentSpell) and results[2].occupation == "Thợ"
    assert isinstance(results[3], DomainError) and results[3].code == "contract_type_invalid"
    assert SalaryPeriod.objects.get(spell=results[2]).salary == 6_000_000
