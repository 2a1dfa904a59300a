"""Pure contribution arithmetic and month ("period") helpers. No database access.

``compute_month`` turns an insured salary and the rules of a month into the eight ledger
amounts. Each part is the exact product salary × rate rounded half-up to the đồng (per person,
month and part); a bill is the sum of the rounded rows. Caps: the BHXH and BHYT salary is at
most their cap (20 × base salary), the BHTN salary at most 20 × the regional minimum wage
(employer pay scale) or 20 × base salary (State pay scale) — see ``law/rules/caps.toml``.

It runs millions of times in the synthetic data generator, so it works on integers: a rate is
an exact fraction n/d (``ContributionRules.fractions``, computed once per rule set), and for a
salary s ≥ 0 the half-up rounding of s·n/d is ``(2·s·n + d) // (2·d)`` — identical to Decimal
arithmetic with ROUND_HALF_UP (proved by the property tests).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from decimal import ROUND_HALF_UP, Decimal
from typing import NamedTuple

from ansinh.core.errors import DomainError
from ansinh.law.selectors import LEDGER_PARTS, ContributionRules

#: Largest insured salary accepted anywhere (đồng per month): far above any cap, it only
#: catches typing errors (an extra digit group) before they reach the ledger.
MAX_SALARY = 10_000_000_000


class MonthAmounts(NamedTuple):
    """One person-month: salaries after the caps, the 8 ledger columns (names as
    ``contributions.models.MONEY_COLUMNS``) and their total, all in đồng."""

    insured_salary: int
    bhtn_salary: int
    er_sickness: int
    er_accident: int
    er_retirement: int
    ee_retirement: int
    er_health: int
    ee_health: int
    er_unemployment: int
    ee_unemployment: int
    total: int


#: Which salary each column is computed on: 0 = BHXH, 1 = BHYT, 2 = BHTN.
_BASE_OF_COLUMN = (0, 0, 0, 0, 1, 1, 2, 2)
assert len(_BASE_OF_COLUMN) == len(LEDGER_PARTS)

ZERO = MonthAmounts(0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0)


def round_half_up(numerator: int, denominator: int) -> int:
    """numerator / denominator rounded half-up (away from zero at .5) to an integer."""
    if numerator < 0:
        return -round_half_up(-numerator, denominator)
    return (2 * numerator + denominator) // (2 * denominator)


def compute_month(
    insured_salary: int, rules: ContributionRules, *, exempt: bool = False
) -> MonthAmounts:
    """The contributions of one person for one month. ``insured_salary`` is the salary plus
    allowances that count (đồng, ≥ 0); ``exempt`` (14 working days or more without pay, Law
    41/2024 Art. 33) gives all zeros."""
    if exempt:
        return ZERO
    if type(insured_salary) is not int:
        if isinstance(insured_salary, int) and not isinstance(insured_salary, bool):
            insured_salary = int(insured_salary)
        else:
            raise DomainError(
                "salary_invalid",
                "insured_salary",
                "Tiền lương phải là số nguyên đồng.",
                "The insured salary must be whole đồng.",
            )
    if insured_salary < 0 or insured_salary > MAX_SALARY:
        raise DomainError(
            "salary_out_of_range",
            "insured_salary",
            "Tiền lương đóng bảo hiểm âm hoặc quá lớn.",
            "The insured salary is negative or implausibly large.",
        )
    bhxh = insured_salary if insured_salary < rules.bhxh_cap else rules.bhxh_cap
    bhyt = insured_salary if insured_salary < rules.bhyt_cap else rules.bhyt_cap
    bhtn = insured_salary if insured_salary < rules.bhtn_cap else rules.bhtn_cap
    # Unrolled over the 8 columns (LEDGER_PARTS order): this line runs millions of times.
    (n0, d0), (n1, d1), (n2, d2), (n3, d3), (n4, d4), (n5, d5), (n6, d6), (n7, d7) = rules.fractions
    x2, y2, t2 = 2 * bhxh, 2 * bhyt, 2 * bhtn
    a0 = (x2 * n0 + d0) // (2 * d0)
    a1 = (x2 * n1 + d1) // (2 * d1)
    a2 = (x2 * n2 + d2) // (2 * d2)
    a3 = (x2 * n3 + d3) // (2 * d3)
    a4 = (y2 * n4 + d4) // (2 * d4)
    a5 = (y2 * n5 + d5) // (2 * d5)
    a6 = (t2 * n6 + d6) // (2 * d6)
    a7 = (t2 * n7 + d7) // (2 * d7)
    return MonthAmounts(
        bhxh, bhtn, a0, a1, a2, a3, a4, a5, a6, a7, a0 + a1 + a2 + a3 + a4 + a5 + a6 + a7
    )


def compute_month_decimal(
    insured_salary: int, rules: ContributionRules, *, exempt: bool = False
) -> MonthAmounts:
    """Reference implementation in Decimal arithmetic (ROUND_HALF_UP per part), the plain
    reading of the law; ``compute_month`` must give the same result."""
    if exempt:
        return ZERO
    salary = Decimal(insured_salary)
    caps = (rules.bhxh_cap, rules.bhyt_cap, rules.bhtn_cap)
    bases = [min(salary, Decimal(c)) for c in caps]
    parts = [
        int((bases[b] * rules.rates[(str(p), str(q))]).quantize(Decimal(1), ROUND_HALF_UP))
        for b, (p, q) in zip(_BASE_OF_COLUMN, LEDGER_PARTS, strict=True)
    ]
    return MonthAmounts(int(bases[0]), int(bases[2]), *parts, sum(parts))


# --- periods (months as YYYYMM integers) -------------------------------------------------------


def _bad_period(value: object, field: str) -> DomainError:
    return DomainError(
        "period_invalid",
        field,
        f"Tháng không hợp lệ: {value!r} (định dạng YYYYMM hoặc YYYY-MM).",
        f"Invalid month: {value!r} (format YYYYMM or YYYY-MM).",
    )


def parse_period(value: object, *, field: str = "period") -> int:
    """A month given as 202601, "202601" or "2026-01" → 202601; DomainError otherwise."""
    if isinstance(value, bool):
        raise _bad_period(value, field)
    if isinstance(value, int):
        text = str(value)
    elif isinstance(value, str):
        text = value.strip().replace("-", "", 1) if len(value.strip()) == 7 else value.strip()
    else:
        raise _bad_period(value, field)
    if len(text) != 6 or not text.isdigit():
        raise _bad_period(value, field)
    year, month = int(text[:4]), int(text[4:])
    if not (1900 <= year <= 2200 and 1 <= month <= 12):
        raise _bad_period(value, field)
    return year * 100 + month


def period_of(day: dt.date) -> int:
    return day.year * 100 + day.month


def period_start(period: int) -> dt.date:
    return dt.date(period // 100, period % 100, 1)


def period_end(period: int) -> dt.date:
    nxt = add_months(period, 1)
    return period_start(nxt) - dt.timedelta(days=1)


def add_months(period: int, n: int) -> int:
    index = (period // 100) * 12 + (period % 100 - 1) + n
    return (index // 12) * 100 + index % 12 + 1


def months_between(start: int, end: int) -> int:
    """Number of months from ``start`` to ``end`` inclusive (0 when end < start)."""
    n = (end // 100 - start // 100) * 12 + (end % 100 - start % 100) + 1
    return max(n, 0)


def iter_periods(start: int, end: int) -> Iterator[int]:
    """start, start+1 month, …, end (inclusive)."""
    p = start
    while p <= end:
        yield p
        p = add_months(p, 1)


def format_period(period: int) -> str:
    return f"{period % 100:02d}/{period // 100}"
