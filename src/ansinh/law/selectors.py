"""Reads of the rule tables: the contribution rules in force on a day and single legal
parameters. Both are cached in-process, keyed by their arguments, because the ledger asks the
same question millions of times; any write to a rule table clears the caches (see
``law.apps``).

The rules on a day are the rows in force that day (``valid_from ≤ day ≤ valid_to``). When two
rows of the same key overlap, the one that starts later wins, so a new decree can be added
without editing the end date of the old row first.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import threading
from collections.abc import Mapping
from dataclasses import dataclass, field
from decimal import Decimal
from types import MappingProxyType
from typing import Any

from django.db import connection, transaction

from ansinh.core.errors import DomainError
from ansinh.law.models import (
    ContributionRate,
    LegalParameter,
    Payer,
    PayScale,
    ReferenceAmount,
    ReferenceKind,
    SalaryCap,
    Scheme,
    SchemePart,
)

#: The (part, payer) pairs the ledger has a column for, in ``contributions.models.MONEY_COLUMNS``
#: order. A rule set must give a rate for each of them.
LEDGER_PARTS: tuple[tuple[str, str], ...] = (
    (SchemePart.SICKNESS_MATERNITY, Payer.EMPLOYER),
    (SchemePart.OCCUPATIONAL, Payer.EMPLOYER),
    (SchemePart.RETIREMENT, Payer.EMPLOYER),
    (SchemePart.RETIREMENT, Payer.EMPLOYEE),
    (SchemePart.HEALTH, Payer.EMPLOYER),
    (SchemePart.HEALTH, Payer.EMPLOYEE),
    (SchemePart.UNEMPLOYMENT, Payer.EMPLOYER),
    (SchemePart.UNEMPLOYMENT, Payer.EMPLOYEE),
)


@dataclass(frozen=True)
class RuleSource:
    """One row a rule set was built from, as shown to users next to a figure."""

    table: str
    key: str
    value: str
    legal_source: str
    confidence: str
    valid_from: dt.date
    valid_to: dt.date | None


@dataclass(frozen=True, eq=False)
class ContributionRules:
    """Everything ``contributions.calc.compute_month`` needs for one month, one wage region and
    one pay scale. Amounts in đồng. ``digest`` identifies the content (not the day), so the many
    days with the same rules share one ``RuleSnapshot``."""

    day: dt.date
    wage_region: int
    pay_scale: str
    rates: Mapping[tuple[str, str], Decimal]
    base_salary: int
    regional_min_wage: int
    bhxh_cap: int
    bhyt_cap: int
    bhtn_cap: int
    citation: str
    digest: str
    sources: tuple[RuleSource, ...]
    overrides: Mapping[str, Decimal]
    #: Exact rates as integer fractions (numerator, denominator) in LEDGER_PARTS order: the
    #: per-rules constants that let compute_month round half-up with integer arithmetic.
    fractions: tuple[tuple[int, int], ...] = field(repr=False)

    def content(self) -> dict[str, Any]:
        """The JSON content stored in a ``RuleSnapshot`` (and hashed into ``digest``)."""
        return _content(
            wage_region=self.wage_region,
            pay_scale=self.pay_scale,
            rates=self.rates,
            base_salary=self.base_salary,
            regional_min_wage=self.regional_min_wage,
            caps=(self.bhxh_cap, self.bhyt_cap, self.bhtn_cap),
            overrides=self.overrides,
            sources=self.sources,
        )


def _content(
    *,
    wage_region: int,
    pay_scale: str,
    rates: Mapping[tuple[str, str], Decimal],
    base_salary: int,
    regional_min_wage: int,
    caps: tuple[int, int, int],
    overrides: Mapping[str, Decimal],
    sources: tuple[RuleSource, ...],
) -> dict[str, Any]:
    return {
        "wage_region": wage_region,
        "pay_scale": pay_scale,
        "rates": {f"{p}/{q}": str(r) for (p, q), r in sorted(rates.items())},
        "base_salary": base_salary,
        "regional_min_wage": regional_min_wage,
        "caps": {"bhxh": caps[0], "bhyt": caps[1], "bhtn": caps[2]},
        "overrides": {k: str(v) for k, v in sorted(overrides.items())},
        "sources": [
            {
                "table": s.table,
                "key": s.key,
                "value": s.value,
                "legal_source": s.legal_source,
                "confidence": s.confidence,
            }
            for s in sources
        ],
    }


# --- cache -------------------------------------------------------------------------------------

_lock = threading.Lock()
_rules_cache: dict[tuple[Any, ...], ContributionRules] = {}
_param_cache: dict[tuple[str, dt.date], Decimal] = {}
# Set while a rule-table write is not yet committed: a rollback would leave cached values built
# from rows that no longer exist, so nothing is cached until the write commits.
_hold = False


def clear_cache() -> None:
    with _lock:
        _rules_cache.clear()
        _param_cache.clear()


def rules_changed(**_kwargs: Any) -> None:
    """Signal receiver for writes to any rule table."""
    global _hold
    clear_cache()
    if connection.in_atomic_block:
        _hold = True

        def _release() -> None:
            global _hold
            _hold = False
            clear_cache()

        transaction.on_commit(_release)


def _store(cache: dict[Any, Any], key: Any, value: Any) -> None:
    if not _hold:
        with _lock:
            cache[key] = value


def no_rule(field_name: str, what_vi: str, what_en: str, day: dt.date) -> DomainError:
    return DomainError(
        "no_rule_in_force",
        field_name,
        f"Không có quy định nào về {what_vi} có hiệu lực ngày {day:%d/%m/%Y}.",
        f"No rule for {what_en} is in force on {day.isoformat()}.",
    )


# --- contribution rules ------------------------------------------------------------------------


def _latest(rows: list[Any], key: Any) -> dict[Any, Any]:
    """The row that starts latest for each key (rows come ordered by valid_from)."""
    out: dict[Any, Any] = {}
    for row in rows:
        out[key(row)] = row
    return out


def _source(table: str, key: str, value: Any, row: Any) -> RuleSource:
    return RuleSource(
        table, key, str(value), row.legal_source, row.confidence, row.valid_from, row.valid_to
    )


def contribution_rules(
    day: dt.date,
    *,
    wage_region: int,
    pay_scale: str = PayScale.EMPLOYER,
    overrides: Mapping[str, Decimal] | None = None,
) -> ContributionRules:
    """The contribution rules in force on ``day`` for an employer of ``wage_region`` (1–4) and
    ``pay_scale``. ``overrides`` maps a scheme part to the employer's own rate for it (e.g.
    ``{"bhxh_tnld": Decimal("0.003")}`` under Decree 58/2020 Art. 4 cl. 1 b). Raises DomainError
    ``no_rule_in_force`` when a table has no row for the day."""
    if wage_region not in (1, 2, 3, 4):
        raise DomainError(
            "wage_region_invalid",
            "wage_region",
            "Vùng lương phải từ 1 đến 4.",
            "The wage region must be 1 to 4.",
        )
    if pay_scale not in PayScale.values:
        raise DomainError(
            "pay_scale_invalid", "pay_scale", "Thang lương không hợp lệ.", "Unknown pay scale."
        )
    frozen = tuple(sorted((str(k), Decimal(v)) for k, v in (overrides or {}).items()))
    key = (day, wage_region, str(pay_scale), frozen)
    found = _rules_cache.get(key)
    if found is None:
        found = _build_rules(day, wage_region, str(pay_scale), dict(frozen))
        _store(_rules_cache, key, found)
    return found


def _build_rules(
    day: dt.date, wage_region: int, pay_scale: str, overrides: dict[str, Decimal]
) -> ContributionRules:
    for part, rate in overrides.items():
        if part not in SchemePart.values or not (Decimal(0) <= rate <= Decimal(1)):
            raise DomainError(
                "override_invalid",
                "overrides",
                f"Tỷ lệ riêng không hợp lệ cho {part}.",
                f"Invalid rate override for {part}.",
            )
    sources: list[RuleSource] = []

    rate_rows = _latest(list(ContributionRate.objects.on(day)), lambda r: (r.part, r.payer))
    rates: dict[tuple[str, str], Decimal] = {}
    for part, payer in LEDGER_PARTS:
        row = rate_rows.get((part, payer))
        if row is None:
            raise no_rule(f"rate.{part}.{payer}", f"tỷ lệ đóng {part}", f"the {part} rate", day)
        rates[(str(part), str(payer))] = Decimal(row.rate).normalize()
        sources.append(_source("rate", f"{part}/{payer}", rates[(part, payer)], row))
    for part, rate in overrides.items():
        rates[(part, str(Payer.EMPLOYER))] = rate.normalize()

    amounts = list(
        ReferenceAmount.objects.on(day).filter(region__in=(0, wage_region)).order_by("valid_from")
    )
    ref = _latest(amounts, lambda r: (r.kind, r.region))
    base = ref.get((ReferenceKind.BASE_SALARY, 0))
    if base is None:
        raise no_rule("base_salary", "lương cơ sở", "the base salary", day)
    sources.append(_source("reference", "base_salary", base.amount, base))
    min_wage = ref.get((ReferenceKind.REGIONAL_MINIMUM_WAGE, wage_region))

    cap_rows = list(SalaryCap.objects.on(day).filter(pay_scale__in=("", pay_scale)))
    caps: dict[str, int] = {}
    for scheme in Scheme.values:
        # A cap for this pay scale beats one for both; among equals the later start wins.
        candidates = sorted(
            (c for c in cap_rows if c.scheme == scheme),
            key=lambda c: (c.pay_scale != "", c.valid_from),
        )
        if not candidates:
            raise no_rule(f"cap.{scheme}", f"mức trần {scheme}", f"the {scheme} cap", day)
        cap = candidates[-1]
        if cap.reference == ReferenceKind.BASE_SALARY:
            reference = base.amount
        else:
            if min_wage is None:
                raise no_rule(
                    "regional_min_wage",
                    f"lương tối thiểu vùng {wage_region}",
                    f"the regional minimum wage of region {wage_region}",
                    day,
                )
            reference = min_wage.amount
        caps[scheme] = cap.multiplier * reference
        sources.append(_source("cap", scheme, f"{cap.multiplier}×{cap.reference}", cap))
    if min_wage is not None:
        sources.append(
            _source("reference", f"regional_min_wage/{wage_region}", min_wage.amount, min_wage)
        )

    frozen_rates = MappingProxyType(rates)
    frozen_overrides = MappingProxyType(dict(overrides))
    cap_tuple = (caps[Scheme.BHXH], caps[Scheme.BHYT], caps[Scheme.BHTN])
    source_tuple = tuple(sources)
    content = _content(
        wage_region=wage_region,
        pay_scale=pay_scale,
        rates=frozen_rates,
        base_salary=base.amount,
        regional_min_wage=min_wage.amount if min_wage else 0,
        caps=cap_tuple,
        overrides=frozen_overrides,
        sources=source_tuple,
    )
    digest = hashlib.sha256(
        json.dumps(content, sort_keys=True, ensure_ascii=False).encode()
    ).hexdigest()
    citation = "; ".join(dict.fromkeys(s.legal_source for s in sources))
    if overrides:
        citation += "; employer rate override: " + ", ".join(
            f"{k} {v}" for k, v in sorted(overrides.items())
        )
    return ContributionRules(
        day=day,
        wage_region=wage_region,
        pay_scale=pay_scale,
        rates=frozen_rates,
        base_salary=base.amount,
        regional_min_wage=min_wage.amount if min_wage else 0,
        bhxh_cap=cap_tuple[0],
        bhyt_cap=cap_tuple[1],
        bhtn_cap=cap_tuple[2],
        citation=citation,
        digest=digest,
        sources=source_tuple,
        overrides=frozen_overrides,
        fractions=tuple(frozen_rates[(str(p), str(q))].as_integer_ratio() for p, q in LEDGER_PARTS),
    )


# --- parameters --------------------------------------------------------------------------------


def parameter(key: str, day: dt.date) -> Decimal:
    """The value of legal parameter ``key`` in force on ``day`` (e.g.
    ``late_payment_interest_daily``, ``unpaid_leave_exempt_days``, ``enrolment_deadline_days``,
    ``payment_due_months_after``)."""
    cache_key = (key, day)
    found = _param_cache.get(cache_key)
    if found is None:
        row = LegalParameter.objects.on(day).filter(key=key).order_by("-valid_from").first()
        if row is None:
            raise no_rule(key, f"tham số {key}", f"parameter {key}", day)
        found = Decimal(row.value).normalize()
        _store(_param_cache, cache_key, found)
    return found


def parameter_row(key: str, day: dt.date) -> LegalParameter:
    """The row of ``parameter(key, day)``, to cite its legal source."""
    row = LegalParameter.objects.on(day).filter(key=key).order_by("-valid_from").first()
    if row is None:
        raise no_rule(key, f"tham số {key}", f"parameter {key}", day)
    return row


def rules_in_force(day: dt.date) -> dict[str, list[Any]]:
    """All rule rows in force on ``day``, table by table, for display and the API."""
    return {
        "rates": list(ContributionRate.objects.on(day).order_by("part", "payer", "valid_from")),
        "caps": list(SalaryCap.objects.on(day).order_by("scheme", "pay_scale", "valid_from")),
        "reference_amounts": list(
            ReferenceAmount.objects.on(day).order_by("kind", "region", "valid_from")
        ),
        "parameters": list(LegalParameter.objects.on(day).order_by("key", "valid_from")),
    }
