"""Benefit cases computed by hand from the law, one row each, with the article checked.

Reference amounts are given in each case (the regional minimum wage of region I: 4,960,000 đ
from 2024-07-01, Decree 74/2024/NĐ-CP; 5,310,000 đ from 2026-01-01; base salary 2,340,000 đ,
Decree 73/2024/NĐ-CP). Rules come from ``rules.toml`` itself (no database for the rules; the
working-day calendar reads the announcements table, hence the db mark).
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field

import pytest

from ansinh.unemployment.entitlement import (
    ClaimFacts,
    History,
    Month,
    PriorAward,
    Spell,
    compute,
    parse_awards,
    parse_history,
    shift_period,
)
from ansinh.unemployment.rules import rules_from_file

pytestmark = pytest.mark.django_db

D = dt.date
MIN_2025 = 4_960_000
MIN_2026 = 5_310_000
BASE = 2_340_000


def months(last: str, n: int, salary: int = 10_000_000, scale: str = "employer") -> list[Month]:
    return [Month(shift_period(last, -i), salary, "E1", 1, scale) for i in range(n)][::-1]


@dataclass
class Case:
    name: str
    article: str
    term: dt.date
    filed: dt.date
    history: list[Month]
    reason: str = "contract_end"
    contract: str = "fixed"
    scale_min: int = MIN_2025
    awards: list[PriorAward] = field(default_factory=list)
    # expected
    eligible: bool = True
    codes: tuple[str, ...] = ()
    law: str = "38/2013"
    amount: int | None = None
    duration: int | None = None
    counted: int | None = None
    reserved_out: int | None = None
    start: dt.date | None = None
    end: dt.date | None = None
    capped: bool | None = None


CASES = [
    Case(
        "12 months in 24: eligible at the edge",
        "Law 38/2013 Art. 49 cl. 2 a; Art. 50",
        D(2025, 6, 30),
        D(2025, 7, 10),
        months("2025-06", 12),
        amount=6_000_000,
        duration=3,
        counted=12,
        reserved_out=0,
        start=D(2025, 7, 25),
        end=D(2025, 10, 24),
        capped=False,
    ),
    Case(
        "11 months in 24: ineligible",
        "Law 38/2013 Art. 49 cl. 2 a",
        D(2025, 6, 30),
        D(2025, 7, 10),
        months("2025-06", 11),
        eligible=False,
        codes=("insufficient_contributions",),
    ),
    Case(
        "12 months in 2023 only: outside the 24-month window",
        "Law 38/2013 Art. 49 cl. 2 a",
        D(2025, 6, 30),
        D(2025, 7, 1),
        months("2023-12", 12),
        eligible=False,
        codes=("insufficient_contributions",),
    ),
    Case(
        "same months, seasonal contract: inside the 36-month window",
        "Law 38/2013 Art. 49 cl. 2 b",
        D(2025, 6, 30),
        D(2025, 7, 1),
        months("2023-12", 12),
        contract="seasonal",
        duration=3,
        amount=6_000_000,
        start=D(2025, 7, 16),
    ),
    Case(
        "overlapping employers count a month once",
        "Law 38/2013 Art. 49 cl. 2; Art. 45",
        D(2025, 6, 30),
        D(2025, 7, 10),
        [*months("2025-06", 11), Month("2025-06", 3000000, "E2", 1, "employer")],
        eligible=False,
        codes=("insufficient_contributions",),
    ),
    Case(
        "cap hit, employer pay scale: 5 x regional minimum",
        "Law 38/2013 Art. 50 cl. 1",
        D(2025, 6, 30),
        D(2025, 7, 10),
        months("2025-06", 24, 50_000_000),
        amount=5 * MIN_2025,
        capped=True,
        duration=3,
    ),
    Case(
        "cap hit, State pay scale: 5 x base salary",
        "Law 38/2013 Art. 50 cl. 1",
        D(2025, 6, 30),
        D(2025, 7, 10),
        months("2025-06", 24, 30_000_000, "state"),
        contract="civil_servant",
        amount=5 * BASE,
        capped=True,
    ),
    Case(
        "State pay scale under Law 74: 5 x regional minimum, not hit",
        "Law 74/2025/QH15 Art. 39 cl. 1",
        D(2026, 3, 31),
        D(2026, 4, 6),
        months("2026-03", 24, 30_000_000, "state"),
        contract="civil_servant",
        scale_min=MIN_2026,
        law="74/2025",
        amount=18_000_000,
        capped=False,
    ),
    Case(
        "cap hit under Law 74",
        "Law 74/2025/QH15 Art. 39 cl. 1",
        D(2026, 3, 31),
        D(2026, 4, 6),
        months("2026-03", 24, 60_000_000),
        scale_min=MIN_2026,
        law="74/2025",
        amount=5 * MIN_2026,
        capped=True,
    ),
    Case(
        "36 months: 3 months",
        "Law 38/2013 Art. 50 cl. 2",
        D(2025, 6, 30),
        D(2025, 7, 10),
        months("2025-06", 36),
        duration=3,
        reserved_out=0,
    ),
    Case(
        "47 months: 3 months, 11 reserved",
        "Law 38/2013 Art. 50 cl. 2; Art. 45",
        D(2025, 6, 30),
        D(2025, 7, 10),
        months("2025-06", 47),
        duration=3,
        reserved_out=11,
    ),
    Case(
        "48 months: 4 months",
        "Law 38/2013 Art. 50 cl. 2",
        D(2025, 6, 30),
        D(2025, 7, 10),
        months("2025-06", 48),
        duration=4,
        reserved_out=0,
        start=D(2025, 7, 25),
        end=D(2025, 11, 24),
    ),
    Case(
        "144 months: 12 months (the maximum)",
        "Law 38/2013 Art. 50 cl. 2",
        D(2025, 6, 30),
        D(2025, 7, 10),
        months("2025-06", 144),
        duration=12,
        reserved_out=0,
    ),
    Case(
        "170 months: still 12, the excess lapses",
        "Law 38/2013 Art. 50 cl. 2; Art. 45 cl. 2",
        D(2025, 6, 30),
        D(2025, 7, 10),
        months("2025-06", 170),
        duration=12,
        reserved_out=0,
    ),
    Case(
        "reserved months of an earlier award add to the duration",
        "Law 38/2013 Art. 45; Art. 53 cl. 3",
        D(2025, 6, 30),
        D(2025, 7, 10),
        months("2025-06", 66),
        awards=[
            PriorAward(
                "QD-1",
                "completed",
                D(2021, 2, 1),
                D(2021, 4, 30),
                3,
                reserved_months=20,
                last_period_used="2023-12",
            )
        ],
        counted=38,
        duration=3,
        reserved_out=2,
    ),
    Case(
        "months used by an earlier award do not qualify again",
        "Law 38/2013 Art. 45 cl. 2",
        D(2025, 6, 30),
        D(2025, 7, 10),
        months("2025-06", 30),
        awards=[
            PriorAward(
                "QD-2", "completed", D(2024, 9, 1), D(2024, 11, 30), 3, last_period_used="2024-07"
            )
        ],
        eligible=False,
        codes=("insufficient_contributions",),
    ),
    Case(
        "an award still running refuses a second one",
        "Law 38/2013 Art. 49; Art. 53",
        D(2025, 6, 30),
        D(2025, 7, 10),
        months("2025-06", 24),
        awards=[PriorAward("QD-3", "active", D(2025, 5, 1), D(2025, 8, 31), 4)],
        eligible=False,
        codes=("overlapping_award",),
    ),
    Case(
        "filed on the last day of the 3 months",
        "Law 38/2013 Art. 46 cl. 1",
        D(2025, 6, 30),
        D(2025, 9, 30),
        months("2025-06", 12),
        start=D(2025, 10, 15),
    ),
    Case(
        "filed the day after the 3 months",
        "Law 38/2013 Art. 46 cl. 1",
        D(2025, 6, 30),
        D(2025, 10, 1),
        months("2025-06", 12),
        eligible=False,
        codes=("filed_too_late",),
    ),
    Case(
        "retirement on a pension disqualifies",
        "Law 38/2013 Art. 49 cl. 1 b",
        D(2025, 6, 30),
        D(2025, 7, 10),
        months("2025-06", 24),
        reason="retirement",
        eligible=False,
        codes=("termination_disqualifies",),
    ),
    Case(
        "unlawful unilateral termination by the worker disqualifies",
        "Law 74/2025/QH15 Art. 38 cl. 1 a",
        D(2026, 3, 31),
        D(2026, 4, 6),
        months("2026-03", 24),
        reason="resigned_unlawful",
        scale_min=MIN_2026,
        law="74/2025",
        eligible=False,
        codes=("termination_disqualifies",),
    ),
    Case(
        "Law 74: 12 months at the edge, start on the 11th working day",
        "Law 74/2025/QH15 Art. 38 cl. 1 b; Art. 40 cl. 3",
        D(2026, 2, 28),
        D(2026, 4, 6),
        months("2026-02", 12),
        scale_min=MIN_2026,
        law="74/2025",
        amount=6_000_000,
        duration=3,
        start=D(2026, 4, 20),
        end=D(2026, 7, 19),
    ),
    Case(
        "Law 74: filed on a Saturday, 11 working days after it",
        "Law 74/2025/QH15 Art. 40 cl. 3",
        D(2026, 3, 31),
        D(2026, 4, 4),
        months("2026-03", 12),
        scale_min=MIN_2026,
        law="74/2025",
        start=D(2026, 4, 20),
    ),
    Case(
        "Law 38 for a termination on 2025-12-31, filed in 2026",
        "Law 74/2025/QH15 Art. 64",
        D(2025, 12, 31),
        D(2026, 1, 5),
        months("2025-12", 12),
        law="38/2013",
        start=D(2026, 1, 20),
    ),
    Case(
        "rounding: 60% of the exact average, half up to the đồng",
        "Law 38/2013 Art. 50 cl. 1",
        D(2025, 6, 30),
        D(2025, 7, 10),
        months("2024-12", 6)
        + [Month(shift_period("2025-01", i), 5_000_000, "E1") for i in range(5)]
        + [Month("2025-06", 5_000_005, "E1")],
        amount=3_000_001,
    ),
]


@pytest.mark.parametrize("case", CASES, ids=[c.name for c in CASES])
def test_benefit_case(case: Case) -> None:
    """Each case cites its article in ``case.article``."""
    rules = rules_from_file(case.term)
    history = History(
        "001090012345",
        tuple(case.history),
        spells=(Spell("E1", case.contract, D(2010, 1, 1), case.term, case.reason),),
    )
    facts = ClaimFacts(case.term, case.reason, case.filed, case.scale_min, BASE)
    ent = compute(history, facts, rules, awards=case.awards)
    assert case.article
    assert ent.law == case.law
    assert ent.eligible is case.eligible, ent.reason_codes
    assert tuple(ent.reason_codes) == case.codes
    for name, attr in (
        ("amount", "monthly_amount"),
        ("duration", "duration_months"),
        ("counted", "months_counted"),
        ("reserved_out", "reserved_out"),
        ("start", "start"),
        ("end", "end"),
        ("capped", "capped"),
    ):
        expected = getattr(case, name)
        if expected is not None:
            assert getattr(ent, attr) == expected, name
    if ent.eligible:
        assert ent.sources["rate"].startswith("Law on Employment")


def test_parse_history_and_awards_from_the_contract_shape() -> None:
    """The ``bhtnHistory`` / ``benefitHistory`` answers (docs/unemployment.md) parse."""
    h = parse_history(
        {
            "personal_id": "001090012345",
            "as_of": "2026-10-31",
            "deceased_on": None,
            "months": [
                {
                    "period": "2026-01",
                    "bhtn_salary": 9_000_000,
                    "employer_code": "X",
                    "wage_region": 1,
                    "pay_scale": "employer",
                },
            ],
            "spells": [
                {
                    "employer_code": "X",
                    "employer_name": "",
                    "contract_type": "fixed",
                    "start": "2020-01-01",
                    "end": "2026-01-31",
                    "termination_reason": "resigned",
                }
            ],
            "gaps": [["2025-03", "2025-05"]],
            "overlaps": [],
        }
    )
    assert h.months[0].salary == 9_000_000 and h.spells[0].end == D(2026, 1, 31)
    a = parse_awards(
        {
            "awards": [
                {
                    "decision_no": "1",
                    "start": "2024-01-01",
                    "end": "2024-03-31",
                    "status": "completed",
                    "reserved_months": 4,
                    "last_period_used": "2023-11",
                }
            ]
        }
    )
    assert a[0].reserved_months == 4
    with pytest.raises(ValueError):
        parse_history({"months": [{"period": "2026-13", "bhtn_salary": 1}]})
    with pytest.raises(ValueError):
        parse_history({"months": [{"period": "2026-01", "bhtn_salary": "9000000"}]})


def test_deceased_and_still_employed() -> None:
    """Law 38/2013 Art. 49 cl. 4 (still unemployed) and death."""
    rules = rules_from_file(D(2025, 6, 30))
    history = History(
        "x",
        tuple(months("2025-06", 24)),
        spells=(Spell("E2", "fixed", D(2025, 7, 5), None, ""),),
        deceased_on=D(2025, 7, 20),
    )
    ent = compute(
        history, ClaimFacts(D(2025, 6, 30), "contract_end", D(2025, 7, 10), MIN_2025, BASE), rules
    )
    assert ent.reason_codes == ["person_deceased", "still_employed"]


@pytest.mark.parametrize("day", [D(2025, 12, 31), D(2026, 1, 1)])
def test_database_rules_match_the_file(day: dt.date) -> None:
    """The data migration loaded rules.toml: the law switches on 2026-01-01 (Law 74/2025
    Art. 64, by termination date)."""
    from ansinh.unemployment.selectors import law_rules

    assert law_rules(day) == rules_from_file(day)
    assert law_rules(day).law == ("38/2013" if day.year == 2025 else "74/2025")
