"""The app's rule file (``rules.toml``) and typed reads of it. Numbers are ``law``'s
``LegalParameter`` rows under ``benefits_`` keys; codes are :class:`BenefitCode` rows."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from pathlib import Path

from ansinh.core.errors import DomainError
from ansinh.law.models import ReferenceAmount
from ansinh.law.selectors import parameter
from ansinh.law.services import RuleFile

_PATH = Path(__file__).resolve().parent / "rules.toml"
_COMMON = {"description": str}

PARAMETERS = RuleFile(
    path=_PATH,
    array="parameter",
    model="law.LegalParameter",
    natural=("key",),
    values={"value": Decimal, "unit": str, **_COMMON},
)
CODES = RuleFile(
    path=_PATH,
    array="code",
    model="benefits.BenefitCode",
    natural=("key",),
    values={"value": str, **_COMMON},
)


def number(key: str, day: dt.date) -> Decimal:
    return parameter(key, day)


def whole(key: str, day: dt.date) -> int:
    return int(parameter(key, day))


def code(key: str, day: dt.date) -> str:
    from ansinh.benefits.models import BenefitCode

    row = BenefitCode.objects.on(day).filter(key=key).order_by("-valid_from").first()
    if row is None:
        raise DomainError(
            "no_rule",
            key,
            f"Không có quy định {key} áp dụng ngày {day}.",
            f"No rule {key} in force on {day}.",
        )
    return row.value


def cap_intervals() -> list[tuple[dt.date, dt.date, str, int, int]]:
    """Every (from, to, pay_scale, region, cap) interval of the benefit cap, from the rule
    tables: the multiplier × the reference amount (base salary or regional minimum wage) in
    force, per pay scale and wage region. A short list the detector joins against in SQL."""
    from ansinh.benefits.models import BenefitCode

    far = dt.date(9999, 12, 31)
    days: set[dt.date] = set()
    for model in (ReferenceAmount, BenefitCode):
        for start, end in model.objects.values_list("valid_from", "valid_to"):
            days.add(start)
            if end is not None and end < far:
                days.add(end + dt.timedelta(days=1))
    from ansinh.law.models import LegalParameter

    for start, end in LegalParameter.objects.filter(key="benefits_cap_multiplier").values_list(
        "valid_from", "valid_to"
    ):
        days.add(start)
        if end is not None:
            days.add(end + dt.timedelta(days=1))
    bounds = sorted(days)
    out: list[tuple[dt.date, dt.date, str, int, int]] = []
    for i, start in enumerate(bounds):
        end = bounds[i + 1] - dt.timedelta(days=1) if i + 1 < len(bounds) else far
        for scale in ("state", "employer"):
            for region in (1, 2, 3, 4):
                try:
                    out.append((start, end, scale, region, benefit_cap(start, scale, region)))
                except DomainError:
                    continue
    return out


def benefit_cap(day: dt.date, pay_scale: str, region: int) -> int:
    """Mức trần trợ cấp: multiplier × reference in force on ``day`` (termination date)."""
    reference = code(f"benefits_cap_reference_{pay_scale}", day)
    amounts = ReferenceAmount.objects.on(day).filter(kind=reference)
    amounts = amounts.filter(region=region if reference == "regional_min_wage" else 0)
    row = amounts.order_by("-valid_from").first()
    if row is None:
        raise DomainError(
            "no_rule", "reference", "Không có mức tham chiếu.", f"No {reference} on {day}."
        )
    return int(number("benefits_cap_multiplier", day) * row.amount)
