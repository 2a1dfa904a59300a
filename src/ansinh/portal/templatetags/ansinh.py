"""Small display filters shared by the staff pages."""

from __future__ import annotations

from decimal import Decimal

from django import template
from django.utils.translation import get_language

register = template.Library()


@register.filter
def period(value: int | str | None) -> str:
    """A ledger month YYYYMM as printed on Vietnamese forms: 202604 → '04/2026'."""
    if value in (None, ""):
        return ""
    number = int(value)
    return f"{number % 100:02d}/{number // 100}"


@register.filter
def percent(value: object) -> str:
    """A rate stored as a fraction, shown as a percentage: Decimal('0.175') → '17.5%'."""
    if value in (None, ""):
        return ""
    number = Decimal(str(value)) * 100
    text = f"{number:f}"
    if "." in text:
        text = text.rstrip("0").rstrip(".")
    return f"{text}%"


@register.filter
def money(value: object) -> str:
    """Whole đồng grouped by thousands the local way: 2.340.000 in Vietnamese, 2,340,000 in
    English. (Django's Vietnamese format does not group digits.)"""
    if value in (None, ""):
        return ""
    number = int(value)  # type: ignore[call-overload]
    sep = "," if (get_language() or "vi").startswith("en") else "."
    return f"{number:,}".replace(",", sep)
