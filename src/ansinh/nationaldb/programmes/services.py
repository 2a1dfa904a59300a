"""Programme writes and the allowance computation (tính mức trợ cấp hằng tháng).

A category's monthly allowance is ``coefficient × standard level`` or a fixed amount, both
dated legal parameters (``nationaldb/rules.toml``) in force on the day asked. The result cites
its rules through a ``law.RuleSnapshot`` (keys, values, articles), kept with the beneficiary."""

from __future__ import annotations

import datetime as dt
import hashlib
import json
from dataclasses import dataclass
from decimal import ROUND_HALF_UP, Decimal
from typing import Any

from ansinh.core.errors import DomainError
from ansinh.nationaldb.models import AllowanceMethod, BeneficiaryCategory


@dataclass(frozen=True)
class Allowance:
    amount: int | None
    citation: str
    content: dict[str, Any]


def compute_allowance(category: BeneficiaryCategory, on: dt.date) -> Allowance:
    """The monthly allowance of ``category`` on ``on`` with the articles it rests on. Raises
    ``DomainError`` ``no_rule`` when a parameter has no value that day."""
    from ansinh.law.selectors import parameter_row

    if category.method == AllowanceMethod.NONE:
        return Allowance(None, category.legal_basis, {"category": category.code, "method": "none"})
    keys = (
        [category.base_key, category.coefficient_key]
        if category.method == AllowanceMethod.COEFFICIENT
        else [category.amount_key]
    )
    rows = [parameter_row(key, on) for key in keys]
    value = Decimal(1)
    for row in rows:
        value *= Decimal(row.value)
    amount = int(value.quantize(Decimal(1), rounding=ROUND_HALF_UP))
    content = {
        "category": category.code,
        "method": category.method,
        "on": on.isoformat(),
        "parameters": [
            {
                "key": row.key,
                "value": str(Decimal(row.value).normalize()),
                "legal_source": row.legal_source,
                "confidence": row.confidence,
                "valid_from": row.valid_from.isoformat(),
            }
            for row in rows
        ],
        "amount": amount,
    }
    citation = "; ".join(dict.fromkeys(row.legal_source for row in rows))
    return Allowance(amount, citation, content)


def allowance_snapshot(allowance: Allowance) -> Any:
    """The ``RuleSnapshot`` of a computed allowance (created on first use)."""
    from ansinh.law.models import RuleSnapshot

    if allowance.amount is None:
        return None
    digest = hashlib.sha256(
        json.dumps(allowance.content, sort_keys=True, ensure_ascii=False).encode()
    ).hexdigest()
    snap = RuleSnapshot.objects.filter(digest=digest).first()
    if snap is None:
        snap = RuleSnapshot.objects.create(
            digest=digest,
            effective_on=dt.date.fromisoformat(allowance.content["on"]),
            content=allowance.content,
            citation=allowance.citation,
        )
    return snap


def check_category(programme_code: str, code: str) -> BeneficiaryCategory:
    found = BeneficiaryCategory.objects.filter(programme__code=programme_code, code=code).first()
    if found is None:
        raise DomainError(
            "category_unknown",
            "category",
            "Mã diện đối tượng không thuộc chương trình.",
            "The category code is not one of the programme's.",
        )
    return found
