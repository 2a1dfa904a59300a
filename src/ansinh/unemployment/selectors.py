"""Reads of the centre side: the rules in force for a termination date, reference amounts,
claim lists and the authorised, audit-logged read of one claim."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from typing import Any

from django.db.models import Q, QuerySet
from django.http import HttpRequest

from ansinh.access.models import AuditAction
from ansinh.access.services import audit
from ansinh.core.errors import Forbidden, NotFound
from ansinh.law.models import LegalParameter, ReferenceAmount, ReferenceKind
from ansinh.law.selectors import no_rule
from ansinh.unemployment.entitlement import LawRules, TerminationRule
from ansinh.unemployment.models import Claim, ClaimState, TerminationReasonRule
from ansinh.unemployment.rules import OPTIONAL_KEYS, REQUIRED_KEYS, build_rules


def law_rules(day: dt.date) -> LawRules:
    """The rules in force on ``day`` (the termination date) from the database."""
    keys = (*REQUIRED_KEYS, *OPTIONAL_KEYS)
    rows = LegalParameter.objects.on(day).filter(key__in=keys).order_by("valid_from")
    params: dict[str, tuple[Decimal, str]] = {
        r.key: (Decimal(r.value), r.legal_source) for r in rows
    }
    terms = {
        r.code: TerminationRule(r.code, r.effect, r.label_vi, r.label_en, r.legal_source)
        for r in TerminationReasonRule.objects.on(day).order_by("valid_from")
    }
    try:
        return build_rules(params, terms)
    except KeyError as exc:
        raise no_rule(str(exc.args[0]), f"tham số {exc.args[0]}", str(exc.args[0]), day) from exc


def reference_amounts(day: dt.date, region: int) -> tuple[int, int]:
    """(regional minimum wage of ``region``, base salary) in force on ``day``."""
    rows = ReferenceAmount.objects.on(day).filter(region__in=(0, region)).order_by("valid_from")
    found: dict[tuple[str, int], int] = {}
    for r in rows:
        found[(r.kind, r.region)] = r.amount
    minimum = found.get((ReferenceKind.REGIONAL_MINIMUM_WAGE, region))
    base = found.get((ReferenceKind.BASE_SALARY, 0))
    if minimum is None:
        raise no_rule("regional_min_wage", "lương tối thiểu vùng", "regional minimum wage", day)
    if base is None:
        raise no_rule("base_salary", "lương cơ sở", "the base salary", day)
    return minimum, base


def termination_reasons(day: dt.date) -> list[TerminationReasonRule]:
    return list(TerminationReasonRule.objects.on(day).order_by("code"))


# --- claims ------------------------------------------------------------------------------------


def org_ids(user: Any) -> list[int]:
    """The user's organisation and those below it (a department sees its centres)."""
    from ansinh.access.models import Organisation

    ids = [user.organisation_id] if user.organisation_id else []
    frontier = list(ids)
    while frontier:
        frontier = list(
            Organisation.objects.filter(parent_id__in=frontier).values_list("pk", flat=True)
        )
        ids.extend(frontier)
    return ids


def claims_for(
    user: Any,
    *,
    state: str = "",
    due: str = "",
    today: dt.date | None = None,
    q: str = "",
) -> QuerySet[Claim]:
    """Claims of the user's centre(s). ``due``: ``overdue`` (decision past due) or ``soon``
    (due within 3 days)."""
    qs = Claim.objects.select_related("office__organisation")
    if not user.is_superuser:
        qs = qs.filter(office__organisation_id__in=org_ids(user))
    if state:
        qs = qs.filter(state=state)
    today = today or dt.date.today()
    undecided = [
        ClaimState.RECEIVED,
        ClaimState.HISTORY_PENDING,
        ClaimState.HISTORY_FETCHED,
        ClaimState.ASSESSED,
        ClaimState.PROPOSED,
    ]
    if due == "overdue":
        qs = qs.filter(state__in=undecided, decision_due__lt=today)
    elif due == "soon":
        qs = qs.filter(
            state__in=undecided,
            decision_due__gte=today,
            decision_due__lte=today + dt.timedelta(days=3),
        )
    if q:
        qs = qs.filter(Q(code__icontains=q) | Q(personal_id=q))
    return qs


def can_see(user: Any, claim: Claim) -> bool:
    if not user.has_perm("unemployment.view_claim"):
        return False
    return user.is_superuser or claim.office.organisation_id in org_ids(user)


def claim_for_read(
    user: Any, key: str | int, *, purpose: str = "bhtn claim", request: HttpRequest | None = None
) -> Claim:
    """One claim for a staff read: role and scope checked, the read audit-logged."""
    qs = Claim.objects.select_related("office__organisation", "dossier")
    claim = (qs.filter(pk=key) if isinstance(key, int) else qs.filter(code=key)).first()
    if claim is None:
        raise NotFound("unknown_claim", "code", "Không tìm thấy hồ sơ.", "Claim not found.")
    if not can_see(user, claim):
        audit(
            actor=user,
            action=AuditAction.DENIED,
            object_type="bhtn_claim",
            object_id=str(claim.pk),
            purpose=purpose,
            request=request,
        )
        raise Forbidden(
            "permission_denied",
            None,
            "Bạn không được phép xem hồ sơ này.",
            "You may not view this claim.",
        )
    audit(
        actor=user,
        action=AuditAction.READ,
        object_type="bhtn_claim",
        object_id=str(claim.pk),
        purpose=purpose,
        request=request,
    )
    return claim


def latest_assessment(claim: Claim) -> Any:
    return claim.assessments.order_by("-at", "-id").first()


def month_grid(history: dict[str, Any] | None) -> list[dict[str, Any]]:
    """The history as years × 12 months for the claim page: salary, employer, overlap."""
    if not history:
        return []
    by: dict[str, list[dict[str, Any]]] = {}
    for m in history.get("months") or []:
        by.setdefault(m["period"], []).append(m)
    if not by:
        return []
    years = sorted({int(p[:4]) for p in by})
    overlaps = set(history.get("overlaps") or [])
    grid = []
    for y in range(years[0], years[-1] + 1):
        cells = []
        for mo in range(1, 13):
            p = f"{y:04d}-{mo:02d}"
            rows = by.get(p, [])
            cells.append(
                {
                    "period": p,
                    "paid": bool(rows),
                    "salary": max((r["bhtn_salary"] for r in rows), default=0),
                    "employers": [r.get("employer_code", "") for r in rows],
                    "overlap": p in overlaps,
                }
            )
        grid.append({"year": y, "cells": cells})
    return grid
