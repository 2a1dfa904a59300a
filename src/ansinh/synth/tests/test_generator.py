"""The synthetic data generator: determinism, valid identifiers, consistent spells and ledger."""

from __future__ import annotations

import datetime as dt
import hashlib
import itertools
from collections import defaultdict

import pytest
from django.db.models import Count, Sum

from ansinh.contributions.models import (
    MONEY_COLUMNS,
    BillStatus,
    EmployerBill,
    LedgerRow,
    Payment,
    PaymentAllocation,
)
from ansinh.core.errors import DomainError
from ansinh.core.text import normalise
from ansinh.law.selectors import contribution_rules
from ansinh.registry.identifiers import check_personal_id
from ansinh.registry.models import (
    Employer,
    EmploymentSpell,
    LegacyNumber,
    NumberCounter,
    Person,
    PersonNameWord,
    SalaryPeriod,
)
from ansinh.synth import generator
from ansinh.synth.generator import Params, generate, parse_period

END = parse_period("2026-06")
SMALL = Params(persons=300, employers=20, months=6, seed=11, province="01", end=END)

pytestmark = pytest.mark.usefixtures("small_province", "rules")


def _wipe() -> None:
    PaymentAllocation.objects.all().delete()
    Payment.objects.all().delete()
    LedgerRow.objects.all().delete()
    EmployerBill.objects.all().delete()
    SalaryPeriod.objects.all().delete()
    EmploymentSpell.objects.all().delete()
    PersonNameWord.objects.all().delete()
    LegacyNumber.objects.all().delete()
    Person.objects.all().delete()
    Employer.objects.all().delete()
    NumberCounter.objects.filter(name="ss_number").delete()


def _fingerprint() -> str:
    """Digest of every generated row except creation timestamps."""
    h = hashlib.sha256()
    tables = [
        (
            Person,
            [f.attname for f in Person._meta.fields if f.name not in {"created_at", "updated_at"}],
        ),
        (PersonNameWord, ["id", "person_id", "word"]),
        (LegacyNumber, ["id", "number", "person_id"]),
        (Employer, [f.attname for f in Employer._meta.fields if f.name != "created_at"]),
        (EmploymentSpell, [f.attname for f in EmploymentSpell._meta.fields]),
        (SalaryPeriod, [f.attname for f in SalaryPeriod._meta.fields]),
        (LedgerRow, [f.attname for f in LedgerRow._meta.fields]),
        (EmployerBill, [f.attname for f in EmployerBill._meta.fields]),
        (Payment, [f.attname for f in Payment._meta.fields if f.name != "created_at"]),
        (PaymentAllocation, [f.attname for f in PaymentAllocation._meta.fields]),
    ]
    for model, cols in tables:
        for row in model.objects.order_by("pk").values_list(*cols):
            h.update(repr(row).encode())
    return h.hexdigest()


def test_same_seed_gives_identical_data_and_another_seed_differs() -> None:
    first = generate(SMALL)
    assert first.counts["persons"] == 300
    assert first.counts["ledger_rows"] > 0
    one = _fingerprint()
    _wipe()
    generate(SMALL)
    assert _fingerprint() == one
    _wipe()
    generate(Params(**{**SMALL.__dict__, "seed": 12}))
    assert _fingerprint() != one


def test_personal_ids_are_valid_and_agree_with_birth_date_and_sex_unless_flagged(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Circular 07/2016/TT-BCA Art. 7: province of birth, century/sex digit, year digits.
    The shares of foreign workers and inconsistent IDs are raised so a small set has both."""
    monkeypatch.setattr(generator, "FOREIGN_SHARE", 0.03)
    monkeypatch.setattr(generator, "INCONSISTENT_SHARE", 0.03)
    generate(SMALL)
    flagged = foreign = 0
    for p in Person.objects.all():
        if p.personal_id is None:
            foreign += 1
            assert p.ss_number.startswith("NN") and len(p.ss_number) == 12
            assert p.identity_check == "n/a" and p.nationality != "VN"
            continue
        assert p.ss_number == p.personal_id
        check = check_personal_id(p.personal_id, date_of_birth=p.date_of_birth, sex=p.sex)
        assert check.errors == []
        assert p.identity_flags == ",".join(check.flags)
        assert (p.identity_check == "flagged") == bool(check.flags)
        flagged += p.identity_check == "flagged"
        assert p.full_name == f"{p.family_name} {p.middle_name} {p.given_name}"
        assert p.name_normalised == normalise(p.full_name)
        words = set(p.name_words.values_list("word", flat=True))
        assert words == set(p.name_normalised.split())
    assert flagged > 0 and foreign > 0
    counter = NumberCounter.objects.get(name="ss_number")
    assert counter.last_value >= foreign  # the registry's next system number will not collide
    assert all(
        len(n) == 10 and n.isdigit() for n in LegacyNumber.objects.values_list("number", flat=True)
    )


def test_spells_do_not_overlap_and_salaries_respect_the_minimum_wage() -> None:
    """Decree 293/2025/NĐ-CP and earlier decrees: no salary below the regional minimum wage."""
    generate(SMALL)
    by_person: dict[int, list[EmploymentSpell]] = defaultdict(list)
    for spell in EmploymentSpell.objects.order_by("person_id", "start"):
        by_person[spell.person_id].append(spell)
    assert len(by_person) > 100
    for spells in by_person.values():
        for before, after in itertools.pairwise(spells):
            assert before.end is not None and before.end < after.start
        for spell in spells:
            assert spell.start.day == 1
            assert spell.end is None or (spell.end + dt.timedelta(days=1)).day == 1
    employer_scale = SalaryPeriod.objects.filter(spell__employer__pay_scale="employer")
    for sp in employer_scale.select_related("spell__employer")[:400]:
        if sp.valid_from < dt.date(2024, 1, 1):
            continue
        rules = contribution_rules(sp.valid_from, wage_region=sp.spell.employer.wage_region)
        assert sp.salary >= rules.regional_min_wage


def test_bills_are_the_sum_of_their_rows_and_payments_match() -> None:
    generate(SMALL)
    sums = {
        r["bill_id"]: r
        for r in LedgerRow.objects.values("bill_id").annotate(
            n=Count("id"), **{c: Sum(c) for c in MONEY_COLUMNS}
        )
    }
    assert None not in sums
    bills = list(EmployerBill.objects.all())
    assert len(bills) == len(sums)
    for bill in bills:
        agg = sums[bill.pk]
        assert bill.row_count == agg["n"]
        assert bill.amount == sum(agg[c] for c in MONEY_COLUMNS)
        paid = PaymentAllocation.objects.filter(bill=bill).aggregate(s=Sum("principal"))["s"] or 0
        assert bill.paid_amount == paid
        rows_paid_on = set(LedgerRow.objects.filter(bill=bill).values_list("paid_on", flat=True))
        if bill.status == BillStatus.PAID:
            assert bill.paid_amount == bill.amount
            assert rows_paid_on == {bill.paid_in_full_on}
        else:
            assert bill.paid_amount < bill.amount
            assert rows_paid_on == {None}
    # One regular row per person and month: nobody works for two employers at once.
    dup = LedgerRow.objects.values("person_id", "period").annotate(n=Count("id")).filter(n__gt=1)
    assert not dup.exists()


def test_refuses_a_non_empty_registry_unless_appending() -> None:
    generate(SMALL)
    with pytest.raises(DomainError) as exc:
        generate(SMALL)
    assert exc.value.first.code == "registry_not_empty"
    before = Person.objects.count()
    summary = generate(Params(**{**SMALL.__dict__, "persons": 50, "employers": 5}), append=True)
    assert summary.counts["persons"] == 50
    assert Person.objects.count() == before + 50
    assert Employer.objects.count() == 25


def test_generated_month_equals_what_the_services_compute() -> None:
    """Law 41/2024/QH15 Arts. 33–34 as implemented by contributions.services: rebuilding an
    employer-month with build_month + issue_bill gives the same rows (same caps, same
    half-up rounding, same rule snapshot) and the same bill."""
    from ansinh.contributions.services import build_month, issue_bill

    generate(SMALL)
    period = 202606
    top = (
        LedgerRow.objects.filter(period=period)
        .values("employer_id")
        .annotate(n=Count("id"))
        .order_by("-n", "employer_id")
        .first()
    )
    assert top is not None and top["n"] >= 5
    employer = Employer.objects.get(pk=top["employer_id"])
    cols = ["person_id", "kind", "insured_salary", "bhtn_salary", *MONEY_COLUMNS, "basis_id"]
    rows = LedgerRow.objects.filter(employer=employer, period=period)
    generated = sorted(rows.values_list(*cols))
    bill = EmployerBill.objects.get(employer=employer, period=period)
    generated_bill = (bill.amount, bill.row_count, bill.issued_on, bill.due_on)

    PaymentAllocation.objects.filter(bill=bill).delete()
    rows.delete()
    bill.delete()
    build_month(employer, period)
    assert sorted(rows.values_list(*cols)) == generated
    rebuilt = issue_bill(employer, period)
    assert (rebuilt.amount, rebuilt.row_count, rebuilt.issued_on, rebuilt.due_on) == (
        generated_bill
    )
