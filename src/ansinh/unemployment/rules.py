"""The rule tables of unemployment benefit (trợ cấp thất nghiệp) and how they become a
:class:`~ansinh.unemployment.entitlement.LawRules` for one termination date.

``rules.toml`` holds two tables: ``[[parameter]]`` rows go to ``law.LegalParameter`` under
``bhtn_*`` keys; ``[[termination]]`` rows to this app's ``TerminationReasonRule``. Both are dated,
so the row in force on the termination date picks the law (38/2013 or 74/2025) with no code
branch. ``rules_from_file`` reads the same file without a database (engine tests, tooling).
"""

from __future__ import annotations

import datetime as dt
import tomllib
from decimal import Decimal
from pathlib import Path
from typing import Any

from ansinh.law.services import RuleFile
from ansinh.unemployment.entitlement import LawRules, TerminationRule

RULES_PATH = Path(__file__).resolve().parent / "rules.toml"

PARAMETERS = RuleFile(
    path=RULES_PATH,
    array="parameter",
    model="law.LegalParameter",
    natural=("key",),
    values={"value": Decimal, "unit": str, "description": str},
)
TERMINATIONS = RuleFile(
    path=RULES_PATH,
    array="termination",
    model="unemployment.TerminationReasonRule",
    natural=("code",),
    values={"effect": str, "label_vi": str, "label_en": str},
    choices={"effect": ["eligible", "disqualifies", "verify"]},
)

#: Every parameter key the engine needs (``bhtn_start_day`` or ``bhtn_start_working_day``,
#: whichever the law in force has).
REQUIRED_KEYS = (
    "bhtn_law_number",
    "bhtn_min_contribution_months",
    "bhtn_window_months",
    "bhtn_window_months_short",
    "bhtn_benefit_rate",
    "bhtn_average_months",
    "bhtn_cap_multiplier",
    "bhtn_cap_state_base_salary",
    "bhtn_duration_base_months",
    "bhtn_duration_base_contribution",
    "bhtn_duration_step_contribution",
    "bhtn_duration_max_months",
    "bhtn_filing_limit_months",
    "bhtn_decision_working_days",
    "bhtn_report_missed_terminate",
    "bhtn_reserve_beyond_max",
)
OPTIONAL_KEYS = ("bhtn_start_day", "bhtn_start_working_day")


def _in_force(row: dict[str, Any], day: dt.date) -> bool:
    start = row["valid_from"]
    end = row.get("valid_to")
    return start <= day and (end is None or day <= end)


def build_rules(
    params: dict[str, tuple[Decimal, str]], terminations: dict[str, TerminationRule]
) -> LawRules:
    """``params``: key → (value, legal source) in force on the day; missing keys raise
    ``KeyError`` naming the key (the caller turns it into ``no_rule_in_force``)."""
    for key in REQUIRED_KEYS:
        if key not in params:
            raise KeyError(key)

    def num(key: str) -> int:
        return int(params[key][0])

    law = {38: "38/2013", 74: "74/2025"}[num("bhtn_law_number")]
    return LawRules(
        law=law,
        min_months=num("bhtn_min_contribution_months"),
        window_months=num("bhtn_window_months"),
        window_months_short=num("bhtn_window_months_short"),
        rate=Decimal(params["bhtn_benefit_rate"][0]),
        average_months=num("bhtn_average_months"),
        cap_multiplier=num("bhtn_cap_multiplier"),
        cap_state_base_salary=bool(num("bhtn_cap_state_base_salary")),
        duration_base=num("bhtn_duration_base_months"),
        duration_base_contribution=num("bhtn_duration_base_contribution"),
        duration_step=num("bhtn_duration_step_contribution"),
        duration_max=num("bhtn_duration_max_months"),
        filing_limit_months=num("bhtn_filing_limit_months"),
        start_day=int(params["bhtn_start_day"][0]) if "bhtn_start_day" in params else None,
        start_working_day=(
            int(params["bhtn_start_working_day"][0]) if "bhtn_start_working_day" in params else None
        ),
        decision_working_days=num("bhtn_decision_working_days"),
        report_missed_terminate=num("bhtn_report_missed_terminate"),
        reserve_beyond_max=bool(num("bhtn_reserve_beyond_max")),
        sources={k: v[1] for k, v in params.items()},
        terminations=terminations,
    )


def rules_from_file(day: dt.date, path: Path = RULES_PATH) -> LawRules:
    """The rules in force on ``day`` straight from ``rules.toml`` (no database)."""
    with path.open("rb") as fh:
        data = tomllib.load(fh)
    params = {
        row["key"]: (Decimal(str(row["value"])), row["legal_source"])
        for row in data.get("parameter", [])
        if row["key"].startswith("bhtn_") and _in_force(row, day)
    }
    terms = {
        row["code"]: TerminationRule(
            row["code"], row["effect"], row["label_vi"], row["label_en"], row["legal_source"]
        )
        for row in data.get("termination", [])
        if _in_force(row, day)
    }
    return build_rules(params, terms)
