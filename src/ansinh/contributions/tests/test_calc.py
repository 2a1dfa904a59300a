"""Contribution arithmetic: hand-computed cases against the real rule tables (each citing its
article) and property tests of the integer fast path."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from fractions import Fraction

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from ansinh.contributions.calc import (
    MAX_SALARY,
    MonthAmounts,
    add_months,
    compute_month,
    compute_month_decimal,
    iter_periods,
    months_between,
    parse_period,
    period_end,
    period_of,
    period_start,
    round_half_up,
)
from ansinh.contributions.models import MONEY_COLUMNS
from ansinh.core.errors import DomainError
from ansinh.law.selectors import LEDGER_PARTS, ContributionRules, contribution_rules

D = Decimal


def rules_of(rates: list[Decimal], caps: tuple[int, int, int]) -> ContributionRules:
    """Rules built by hand, for the pure property tests."""
    table = {(str(p), str(q)): r for (p, q), r in zip(LEDGER_PARTS, rates, strict=True)}
    return ContributionRules(
        day=dt.date(2026, 1, 1),
        wage_region=1,
        pay_scale="employer",
        rates=table,
        base_salary=caps[0] // 20,
        regional_min_wage=caps[2] // 20,
        bhxh_cap=caps[0],
        bhyt_cap=caps[1],
        bhtn_cap=caps[2],
        citation="test",
        digest="test",
        sources=(),
        overrides={},
        fractions=tuple(r.as_integer_ratio() for r in rates),
    )


LAW_RATES = [D(x) for x in ("0.03", "0.005", "0.14", "0.08", "0.03", "0.015", "0.01", "0.01")]
rates_st = st.lists(
    st.decimals(min_value=0, max_value=1, places=5, allow_nan=False, allow_infinity=False),
    min_size=8,
    max_size=8,
)
caps_st = st.tuples(*(st.integers(min_value=1, max_value=200_000_000),) * 3)
salary_st = st.integers(min_value=0, max_value=MAX_SALARY)


def amounts(m: MonthAmounts) -> tuple[int, ...]:
    return tuple(getattr(m, c) for c in MONEY_COLUMNS)


# --- hand-computed cases ---------------------------------------------------------------------

# (day, region, pay scale, override, salary, expected 8 columns, cited source)
CASES = [
    pytest.param(
        dt.date(2025, 3, 1),
        1,
        "employer",
        None,
        10_000_000,
        (300_000, 50_000, 1_400_000, 800_000, 300_000, 150_000, 100_000, 100_000),
        id="under-cap-2025-law-58-2014-art-85-86",
    ),
    pytest.param(
        dt.date(2025, 8, 1),
        1,
        "employer",
        None,
        46_800_000,
        (1_404_000, 234_000, 6_552_000, 3_744_000, 1_404_000, 702_000, 468_000, 468_000),
        id="at-cap-2025-46.8M-decree-73-2024-law-41-2024-art-31",
    ),
    pytest.param(
        dt.date(2025, 8, 1),
        1,
        "employer",
        None,
        60_000_000,
        (1_404_000, 234_000, 6_552_000, 3_744_000, 1_404_000, 702_000, 600_000, 600_000),
        id="over-bhxh-cap-2025-bhtn-under-99.2M-decree-74-2024",
    ),
    pytest.param(
        dt.date(2026, 7, 1),
        1,
        "employer",
        None,
        60_000_000,
        (1_518_000, 253_000, 7_084_000, 4_048_000, 1_518_000, 759_000, 600_000, 600_000),
        id="cap-50.6M-from-2026-07-01-decree-161-2026",
    ),
    pytest.param(
        dt.date(2026, 2, 1),
        1,
        "employer",
        None,
        120_000_000,
        (1_404_000, 234_000, 6_552_000, 3_744_000, 1_404_000, 702_000, 1_062_000, 1_062_000),
        id="bhtn-cap-region-i-2026-106.2M-decree-293-2025-law-38-2013-art-58-cl-2",
    ),
    pytest.param(
        dt.date(2026, 2, 1),
        1,
        "state",
        None,
        120_000_000,
        (1_404_000, 234_000, 6_552_000, 3_744_000, 1_404_000, 702_000, 468_000, 468_000),
        id="bhtn-cap-state-scale-20x-base-law-38-2013-art-58-cl-1",
    ),
    pytest.param(
        dt.date(2026, 2, 1),
        1,
        "employer",
        None,
        5_000_100,
        (150_003, 25_001, 700_014, 400_008, 150_003, 75_002, 50_001, 50_001),
        id="half-up-rounding-of-.5-dong-per-part",
    ),
    pytest.param(
        dt.date(2026, 2, 1),
        1,
        "employer",
        {"bhxh_tnld": D("0.003")},
        10_000_000,
        (300_000, 30_000, 1_400_000, 800_000, 300_000, 150_000, 100_000, 100_000),
        id="reduced-tnld-0.3pct-decree-58-2020-art-4-cl-1-b",
    ),
]


@pytest.mark.django_db
@pytest.mark.parametrize(("day", "region", "scale", "override", "salary", "expected"), CASES)
def test_hand_computed(
    day: dt.date,
    region: int,
    scale: str,
    override: dict | None,
    salary: int,
    expected: tuple[int, ...],
) -> None:
    rules = contribution_rules(day, wage_region=region, pay_scale=scale, overrides=override)
    m = compute_month(salary, rules)
    assert amounts(m) == expected
    assert m.total == sum(expected)
    assert m == compute_month_decimal(salary, rules)


@pytest.mark.django_db
def test_exempt_month_owes_nothing_law_41_2024_art_33() -> None:
    rules = contribution_rules(dt.date(2026, 2, 1), wage_region=1)
    m = compute_month(10_000_000, rules, exempt=True)
    assert m.total == 0 and amounts(m) == (0,) * 8


@pytest.mark.django_db
@pytest.mark.parametrize("bad", [-1, MAX_SALARY + 1, 1.5, "100", True])
def test_bad_salary_names_the_field(bad: object) -> None:
    rules = contribution_rules(dt.date(2026, 2, 1), wage_region=1)
    with pytest.raises(DomainError) as exc:
        compute_month(bad, rules)  # type: ignore[arg-type]
    assert exc.value.first.field == "insured_salary"


# --- properties ------------------------------------------------------------------------------


@settings(max_examples=400, deadline=None)
@given(salary=salary_st, rates=rates_st, caps=caps_st)
def test_integer_path_equals_decimal_half_up(
    salary: int, rates: list[Decimal], caps: tuple[int, int, int]
) -> None:
    rules = rules_of(rates, caps)
    assert compute_month(salary, rules) == compute_month_decimal(salary, rules)


@settings(max_examples=300, deadline=None)
@given(salary=salary_st, rates=rates_st, caps=caps_st)
def test_each_part_within_half_a_dong_of_exact(
    salary: int, rates: list[Decimal], caps: tuple[int, int, int]
) -> None:
    rules = rules_of(rates, caps)
    m = compute_month(salary, rules)
    bases = [min(salary, caps[0])] * 4 + [min(salary, caps[1])] * 2 + [min(salary, caps[2])] * 2
    for got, base, rate in zip(amounts(m), bases, rates, strict=True):
        exact = Fraction(base) * Fraction(rate)
        assert abs(Fraction(got) - exact) <= Fraction(1, 2)
        if exact - int(exact) == Fraction(1, 2):
            assert got == int(exact) + 1  # half rounds up
    assert m.total == sum(amounts(m))


@settings(max_examples=300, deadline=None)
@given(a=salary_st, b=salary_st, rates=rates_st, caps=caps_st)
def test_monotone_in_salary(
    a: int, b: int, rates: list[Decimal], caps: tuple[int, int, int]
) -> None:
    lo, hi = sorted((a, b))
    rules = rules_of(rates, caps)
    small, big = compute_month(lo, rules), compute_month(hi, rules)
    assert all(x <= y for x, y in zip(amounts(small), amounts(big), strict=True))
    assert small.insured_salary <= big.insured_salary <= caps[0]
    assert small.bhtn_salary <= big.bhtn_salary <= caps[2]


@settings(max_examples=200, deadline=None)
@given(salaries=st.lists(salary_st, min_size=1, max_size=30))
def test_bill_is_sum_of_rounded_rows(salaries: list[int]) -> None:
    """A bill is the sum of the rows rounded per person — not the rounded sum of exact
    amounts: each column differs from the exact total by at most half a đồng per row."""
    rules = rules_of(LAW_RATES, (46_800_000, 46_800_000, 99_200_000))
    rows = [compute_month(s, rules) for s in salaries]
    bill = sum(r.total for r in rows)
    assert bill == sum(sum(amounts(r)) for r in rows)
    exact = sum(
        Fraction(getattr(r, base)) * Fraction(rate)
        for r in rows
        for base, rate in zip(["insured_salary"] * 6 + ["bhtn_salary"] * 2, LAW_RATES, strict=True)
    )
    assert abs(Fraction(bill) - exact) <= Fraction(len(rows) * 8, 2)


@given(n=st.integers(min_value=-(10**12), max_value=10**12), d=st.integers(1, 10**9))
def test_round_half_up_matches_decimal(n: int, d: int) -> None:
    from decimal import ROUND_HALF_UP, localcontext

    with localcontext() as ctx:
        ctx.prec = 60
        expected = int((Decimal(n) / Decimal(d)).quantize(Decimal(1), ROUND_HALF_UP))
    assert round_half_up(n, d) == expected


# --- periods ---------------------------------------------------------------------------------


def test_period_helpers() -> None:
    assert parse_period("2026-03") == parse_period("202603") == parse_period(202603) == 202603
    assert period_of(dt.date(2026, 3, 31)) == 202603
    assert period_start(202602) == dt.date(2026, 2, 1)
    assert period_end(202602) == dt.date(2026, 2, 28)
    assert period_end(202412) == dt.date(2024, 12, 31)
    assert add_months(202612, 1) == 202701
    assert add_months(202601, -1) == 202512
    assert add_months(202601, -25) == 202312
    assert months_between(202511, 202602) == 4
    assert months_between(202602, 202511) == 0
    assert list(iter_periods(202511, 202602)) == [202511, 202512, 202601, 202602]


@pytest.mark.parametrize("bad", ["2026-13", "202600", "26-01", "abcdef", 2026, None, True, ""])
def test_bad_period_names_the_field(bad: object) -> None:
    with pytest.raises(DomainError) as exc:
        parse_period(bad)
    assert exc.value.first.code == "period_invalid"
    assert exc.value.first.field == "period"


@given(p=st.integers(190001, 219912).filter(lambda p: 1 <= p % 100 <= 12), n=st.integers(-600, 600))
def test_add_months_round_trip(p: int, n: int) -> None:
    q = add_months(p, n)
    assert 1 <= q % 100 <= 12
    assert add_months(q, -n) == p
    if n >= 0:
        assert months_between(p, q) == n + 1
