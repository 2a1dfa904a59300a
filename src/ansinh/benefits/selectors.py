"""Reads of the insurance side: a person's BHTN contribution history as the centre needs it,
benefit history across provinces, payment status, the re-employment feed, and the officers'
lists. Every read of a person's history is audited by the caller."""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from typing import Any

from django.db.models import Count, Exists, OuterRef, Q, QuerySet, Sum
from django.utils import timezone

from ansinh.benefits.models import (
    Award,
    BenefitPayment,
    CaseStatus,
    FraudCase,
    PaymentStatus,
    ReemploymentEvent,
)
from ansinh.benefits.services import period_of, period_text

FEED_PAGE = 500


def _next_period(period: int) -> int:
    year, month = divmod(period, 100)
    return (year + 1) * 100 + 1 if month == 12 else period + 1


def bhtn_history(person: Any, *, until: dt.date | None = None) -> dict[str, Any]:
    """Months with a BHTN contribution (one entry per employer-month, adjustments netted),
    spells, the gaps between the first and last month and the months with two employers."""
    from ansinh.contributions.models import LedgerRow
    from ansinh.registry.models import EmploymentSpell

    rows = LedgerRow.objects.filter(person=person)
    spells = EmploymentSpell.objects.filter(person=person).select_related("employer")
    if until is not None:
        rows = rows.filter(period__lte=period_of(until))
        spells = spells.filter(start__lte=until)
    grouped = (
        rows.values("period", "employer__unit_code", "employer__wage_region", "employer__pay_scale")
        .annotate(salary=Sum("bhtn_salary"), paid=Sum("er_unemployment") + Sum("ee_unemployment"))
        .filter(paid__gt=0)
        .order_by("period", "employer__unit_code")
    )
    months = [
        {
            "period": period_text(g["period"]),
            "bhtn_salary": int(g["salary"]),
            "employer_code": g["employer__unit_code"],
            "wage_region": g["employer__wage_region"],
            "pay_scale": g["employer__pay_scale"],
        }
        for g in grouped
    ]
    per_month: dict[int, int] = defaultdict(int)
    for g in grouped:
        per_month[g["period"]] += 1
    gaps: list[list[str]] = []
    overlaps = [period_text(p) for p, n in sorted(per_month.items()) if n > 1]
    if per_month:
        ordered = sorted(per_month)
        p, prev, gap_start = ordered[0], ordered[0], None
        while p <= ordered[-1]:
            if p in per_month:
                if gap_start is not None:
                    gaps.append([str(period_text(gap_start)), str(period_text(prev))])
                    gap_start = None
            elif gap_start is None:
                gap_start = p
            prev, p = p, _next_period(p)
    return {
        "personal_id": person.personal_id or person.ss_number,
        "as_of": (until or timezone.localdate()).isoformat(),
        "deceased_on": person.date_of_death.isoformat() if person.date_of_death else None,
        "months": months,
        "spells": [
            {
                "employer_code": s.employer.unit_code,
                "employer_name": s.employer.name,
                "contract_type": s.contract_type,
                "start": s.start.isoformat(),
                "end": s.end.isoformat() if s.end else None,
                "termination_reason": s.termination_reason,
            }
            for s in spells.order_by("start", "id")
        ],
        "gaps": gaps,
        "overlaps": overlaps,
    }


def awards_of(personal_id: str) -> QuerySet[Award]:
    return Award.objects.filter(personal_id=personal_id).order_by("start", "id")


def award_row(award: Award, months_paid: int | None = None) -> dict[str, Any]:
    if months_paid is None:
        months_paid = award.payments.filter(status=PaymentStatus.PAID).count()
    return {
        "decision_no": award.decision_no,
        "centre": award.centre,
        "province_code": award.province_code,
        "law": award.law,
        "start": award.start.isoformat(),
        "end": award.end.isoformat(),
        "months": award.months,
        "monthly_amount": award.monthly_amount,
        "status": award.status,
        "months_paid": months_paid,
        "contribution_months": award.contribution_months,
        "reserved_months": award.reserved_months,
        "last_period_used": award.last_period_used,
    }


def benefit_history(personal_id: str) -> dict[str, Any]:
    awards = awards_of(personal_id).annotate(
        paid=Count("payments", filter=Q(payments__status=PaymentStatus.PAID))
    )
    return {"awards": [award_row(a, a.paid) for a in awards]}


def payment_row(p: BenefitPayment) -> dict[str, Any]:
    return {
        "month_no": p.month_no,
        "period_start": p.period_start.isoformat(),
        "period_end": p.period_end.isoformat(),
        "amount": p.amount,
        "due_on": p.due_on.isoformat(),
        "status": p.status,
        "paid_on": p.paid_on.isoformat() if p.paid_on else None,
    }


def payment_status(award: Award) -> dict[str, Any]:
    card = award.health_card
    return {
        "decision_no": award.decision_no,
        "status": award.status,
        "held": award.held,
        "payments": [payment_row(p) for p in award.payments.order_by("month_no")],
        "health_card": (
            {
                "number": card.number,
                "valid_from": card.valid_from.isoformat(),
                "valid_to": card.valid_to.isoformat() if card.valid_to else None,
            }
            if card
            else None
        ),
        "open_cases": list(
            award.cases.filter(status=CaseStatus.OPEN)
            .order_by("id")
            .values_list("case_no", flat=True)
        ),
    }


def reemployment_feed(centre: str, after: int) -> dict[str, Any]:
    events = list(
        ReemploymentEvent.objects.filter(centre=centre, id__gt=after)
        .select_related("award")
        .order_by("id")[:FEED_PAGE]
    )
    return {
        "events": [
            {
                "seq": e.pk,
                "personal_id": e.award.personal_id,
                "decision_no": e.award.decision_no,
                "kind": e.kind,
                "employer_code": e.employer_code,
                "period": period_text(e.period),
                "start": e.start.isoformat() if e.start else None,
                "detected_at": e.detected_at.isoformat(),
            }
            for e in events
        ],
        "last": events[-1].pk if events else after,
    }


def award_list(
    *, status: str = "", province: str = "", held: str = "", q: str = ""
) -> QuerySet[Award]:
    qs = Award.objects.all().annotate(
        open_cases=Count("cases", filter=Q(cases__status=CaseStatus.OPEN))
    )
    if status:
        qs = qs.filter(status=status)
    if province:
        qs = qs.filter(province_code=province)
    if held in ("1", "yes", "true"):
        qs = qs.filter(held=True)
    elif held in ("0", "no", "false"):
        qs = qs.filter(held=False)
    if q:
        qs = qs.filter(Q(decision_no=q) | Q(personal_id=q))
    return qs.order_by("-received_at", "-id")


def case_list(*, status: str = "", kind: str = "") -> QuerySet[FraudCase]:
    qs = FraudCase.objects.select_related("award")
    if status:
        qs = qs.filter(status=status)
    if kind:
        qs = qs.filter(kind=kind)
    return qs.order_by("-opened_at", "-id")


def get_award(decision_no: str) -> Award | None:
    return Award.objects.filter(decision_no=decision_no).select_related("health_card").first()


def get_case(case_no: str) -> FraudCase | None:
    return FraudCase.objects.filter(case_no=case_no).select_related("award", "resolved_by").first()


def held_awards() -> QuerySet[Award]:
    open_case = FraudCase.objects.filter(award=OuterRef("pk"), status=CaseStatus.OPEN)
    return Award.objects.filter(Exists(open_case))
