"""Fraud and error detector (phát hiện hưởng sai): four findings, each a set-based SQL query
over awards, payments, the contribution ledger and the registry — no per-person Python loop —
so a full run over a million beneficiaries stays within a minute; Python only sees the
findings. Each finding opens (once) a :class:`FraudCase` that holds the award's payments.

1. ``reemployed``: a ledger row for a month after termination inside the benefit period, or an
   employment spell starting after termination and before the benefit ends (Law 38/2013
   Art. 53 cl. 1(b); Decree 28/2015 Art. 21).
2. ``overlapping_claim``: two awards of one person whose periods overlap (Law 38/2013 Art. 49:
   one benefit at a time).
3. ``paid_after_death``: a month starting after the registry's date of death paid or due
   (Law 38/2013 Art. 53 cl. 1).
4. ``above_entitlement``: the monthly amount above min(rate × average of the last BHTN salaries
   before termination, cap × reference) recomputed from the ledger and the rule tables
   (Law 38/2013 Art. 50 cl. 1; Law 74/2025).

Runs in full as a periodic task and for the awards of the persons whose ledger rows changed
(``contributions.signals.ledger_written``)."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

from django.db import connection, transaction
from django.utils import timezone

from ansinh.benefits import rules
from ansinh.benefits.models import (
    Award,
    AwardStatus,
    BenefitPayment,
    CaseKind,
    FeedKind,
    FraudCase,
    PaymentStatus,
    ReemploymentEvent,
)
from ansinh.benefits.services import case_number, notify_centre, period_of, period_text

#: Awards whose payments a finding can still stop.
OPEN = (AwardStatus.ACTIVE, AwardStatus.SUSPENDED)
#: Awards that paid or will pay months: overpayments are findings there too.
PAYING = (AwardStatus.ACTIVE, AwardStatus.SUSPENDED, AwardStatus.COMPLETED)
#: Payment months that count as paid or about to be.
DUE_OR_PAID = (PaymentStatus.PAID, PaymentStatus.SCHEDULED, PaymentStatus.HELD)
EVIDENCE_ROWS = 24
CHUNK = 500


@dataclass
class DetectorRun:
    findings: int = 0
    opened: int = 0
    feed_events: int = 0
    by_kind: dict[str, int] = field(default_factory=dict)
    seconds: dict[str, float] = field(default_factory=dict)


def _in(values: Iterable[str]) -> str:
    return "(" + ", ".join(f"'{v}'" for v in values) + ")"


def _chunks(ids: Sequence[int] | None) -> Iterator[tuple[str, list[int]]]:
    """SQL fragments restricting ``a.id``: one pass with none for a full run."""
    if ids is None:
        yield "", []
        return
    for at in range(0, len(ids), CHUNK):
        part = list(ids[at : at + CHUNK])
        yield f" AND a.id IN ({', '.join(['%s'] * len(part))})", part


def _rows(sql: str, params: Sequence[Any]) -> list[tuple[Any, ...]]:
    with connection.cursor() as cur:
        cur.execute(sql, params)
        return cur.fetchall()


def _day(value: Any) -> str:
    return value.isoformat() if isinstance(value, dt.date) else str(value)


# --- the four queries -----------------------------------------------------------------------------


def _reemployed(
    ids: Sequence[int] | None,
    found: dict[tuple[int, str, str], dict[str, Any]],
    feed: list[ReemploymentEvent],
    centres: dict[int, str],
    now: dt.datetime,
) -> None:
    ledger = f"""
        SELECT a.id, a.centre, l.id, e.unit_code, l.period, l.bhtn_salary, l.kind,
               a.start, a."end"
        FROM benefits_award a
        JOIN contributions_ledgerrow l ON l.person_id = a.person_id
             AND l.period > a.termination_period
             AND l.period >= a.start_period AND l.period <= a.end_period
        JOIN registry_employer e ON e.id = l.employer_id
        WHERE a.status IN {_in(PAYING)}"""  # noqa: S608 - our own table names and rule values
    spells = f"""
        SELECT a.id, a.centre, s.id, e.unit_code, s.start, s.contract_type, a.start, a."end"
        FROM benefits_award a
        JOIN registry_employmentspell s ON s.person_id = a.person_id
             AND s.start > a.termination_date AND s.start <= a."end"
        JOIN registry_employer e ON e.id = s.employer_id
        WHERE a.status IN {_in(PAYING)}"""  # noqa: S608 - our own table names and rule values
    for where, params in _chunks(ids):
        for award_id, centre, row_id, unit, period, salary, kind, start, end in _rows(
            ledger + where + " ORDER BY a.id, l.period, l.id", params
        ):
            ev = found.setdefault(
                (award_id, CaseKind.REEMPLOYED, unit),
                {"employer_code": unit, "benefit_period": [_day(start), _day(end)]},
            )
            rows = ev.setdefault("ledger_rows", [])
            if len(rows) < EVIDENCE_ROWS:
                rows.append(
                    {
                        "id": row_id,
                        "period": period_text(period),
                        "bhtn_salary": salary,
                        "kind": kind,
                    }
                )
            if len(rows) == 1:
                centres[award_id] = centre
                feed.append(
                    ReemploymentEvent(
                        award_id=award_id,
                        centre=centre,
                        kind=FeedKind.CONTRIBUTION,
                        employer_code=unit,
                        period=period,
                        detected_at=now,
                    )
                )
        for award_id, centre, spell_id, unit, s_start, contract, start, end in _rows(
            spells + where + " ORDER BY a.id, s.start", params
        ):
            ev = found.setdefault(
                (award_id, CaseKind.REEMPLOYED, unit),
                {"employer_code": unit, "benefit_period": [_day(start), _day(end)]},
            )
            ev["spell"] = {"id": spell_id, "start": _day(s_start), "contract_type": contract}
            feed.append(
                ReemploymentEvent(
                    award_id=award_id,
                    centre=centre,
                    kind=FeedKind.ENROLMENT,
                    employer_code=unit,
                    start=_date(s_start),
                    detected_at=now,
                )
            )


def _date(value: Any) -> dt.date:
    return value if isinstance(value, dt.date) else dt.date.fromisoformat(str(value))


def _overlapping(
    ids: Sequence[int] | None, found: dict[tuple[int, str, str], dict[str, Any]]
) -> None:
    sql = f"""
        SELECT a.id, b.decision_no, b.centre, b.province_code, b.start, b."end", b.status,
               b.monthly_amount
        FROM benefits_award a
        JOIN benefits_award b ON b.personal_id = a.personal_id AND b.id <> a.id
             AND b.start <= a."end" AND b."end" >= a.start AND b.status IN {_in(PAYING)}
        WHERE a.status IN {_in(OPEN)}"""  # noqa: S608 - our own table names and rule values
    for where, params in _chunks(ids):
        for award_id, other, centre, province, start, end, status, amount in _rows(
            sql + where, params
        ):
            found[(award_id, CaseKind.OVERLAPPING, other)] = {
                "other": {
                    "decision_no": other,
                    "centre": centre,
                    "province_code": province,
                    "start": _day(start),
                    "end": _day(end),
                    "status": status,
                    "monthly_amount": amount,
                }
            }


def _after_death(
    ids: Sequence[int] | None, found: dict[tuple[int, str, str], dict[str, Any]]
) -> None:
    sql = f"""
        SELECT a.id, p.date_of_death, bp.month_no, bp.period_start, bp.status, bp.paid_on,
               bp.amount
        FROM registry_person p
        JOIN benefits_award a ON a.person_id = p.id
        JOIN benefits_benefitpayment bp ON bp.award_id = a.id
             AND bp.status || '' IN {_in(DUE_OR_PAID)}
             AND (p.date_of_death IS NULL OR bp.period_start > p.date_of_death)
        WHERE (p.status = 'deceased' OR p.date_of_death IS NOT NULL)
              AND a.status IN {_in(PAYING)}"""  # noqa: S608 - our own table names and rule values
    for where, params in _chunks(ids):
        for award_id, died, month_no, start, status, paid_on, amount in _rows(
            sql + where + " ORDER BY a.id, bp.month_no", params
        ):
            ev = found.setdefault(
                (award_id, CaseKind.AFTER_DEATH, ""),
                {"date_of_death": _day(died) if died else None, "payments": []},
            )
            ev["payments"].append(
                {
                    "month_no": month_no,
                    "period_start": _day(start),
                    "status": status,
                    "paid_on": _day(paid_on) if paid_on else None,
                    "amount": amount,
                }
            )


def _values(rows: list[tuple[Any, ...]]) -> str:
    """Inline VALUES of numbers from our own rule tables (ints, Decimals and fixed words)."""
    out = []
    for row in rows:
        parts = []
        for v in row:
            if isinstance(v, str):
                assert v.isalnum() or v.replace("_", "").isalnum()
                parts.append(f"'{v}'")
            else:
                parts.append(str(Decimal(v)))
        out.append("(" + ", ".join(parts) + ")")
    return ", ".join(out)


def _param_intervals() -> list[tuple[int, int, Decimal, int, Decimal]]:
    """(from period, to period, rate, months averaged, tolerance) from the rule tables."""
    from ansinh.law.models import LegalParameter

    keys = ("benefits_rate", "benefits_average_months", "benefits_entitlement_tolerance")
    days = {dt.date(2015, 1, 1)}
    for start, end in LegalParameter.objects.filter(key__in=keys).values_list(
        "valid_from", "valid_to"
    ):
        days.add(start)
        if end is not None:
            days.add(end + dt.timedelta(days=1))
    bounds = sorted(days)
    out = []
    for i, start in enumerate(bounds):
        end = bounds[i + 1] - dt.timedelta(days=1) if i + 1 < len(bounds) else dt.date(9999, 12, 31)
        out.append(
            (
                period_of(start),
                period_of(end),
                rules.number("benefits_rate", start),
                rules.whole("benefits_average_months", start),
                rules.number("benefits_entitlement_tolerance", start),
            )
        )
    return out


def entitlement_sql(where: str) -> str:
    """Per open award: the average BHTN salary of the last N months with a BHTN contribution
    up to the termination month (N from the rules), and the awards paid above
    min(rate × average, cap) + tolerance. The N-th latest month comes from a correlated LIMIT
    over the (person, period) index, so each award reads about N ledger rows and nothing is
    sorted globally. The cap depends on the latest employer's pay scale and wage region, looked
    up only for the awards above the lowest cap of the period or above rate × average."""
    intervals = _param_intervals()
    months = max(n for _f, _t, _r, n, _tol in intervals)
    cap_rows = [
        (period_of(a), period_of(b), scale, region, cap)
        for a, b, scale, region, cap in rules.cap_intervals()
    ]
    params = _values(
        [
            (f, t, rate, tol, min([c[4] for c in cap_rows if c[0] <= t and c[1] >= f] or [0]))
            for f, t, rate, _n, tol in intervals
        ]
    )
    bhtn = "l.er_unemployment + l.ee_unemployment > 0"
    return f"""
        WITH params(p_from, p_to, rate, tol, min_cap) AS (VALUES {params}),
        caps(c_from, c_to, scale, region, cap) AS (VALUES {_values(cap_rows)}),
        s AS (
            SELECT a.id AS award_id, a.person_id, a.termination_period, a.monthly_amount,
                   SUM(l.bhtn_salary) * 1.0 / COUNT(DISTINCT l.period) AS average,
                   COUNT(DISTINCT l.period) AS n_months
            FROM benefits_award a
            JOIN contributions_ledgerrow l ON l.person_id = a.person_id
                 AND l.period <= a.termination_period AND {bhtn}
                 AND l.period >= (SELECT MIN(s.period) FROM (
                    SELECT DISTINCT l.period FROM contributions_ledgerrow l
                    WHERE l.person_id = a.person_id AND l.period <= a.termination_period
                      AND l.period >= a.termination_period - 300 AND {bhtn}
                    ORDER BY l.period DESC LIMIT {int(months)}) s)
            WHERE a.status IN {_in(OPEN)}{where}
            GROUP BY a.id, a.person_id, a.termination_period, a.monthly_amount
        ),
        t AS (
            SELECT s.award_id, s.monthly_amount, s.average, s.n_months, p.rate, p.tol,
                (SELECT l.employer_id FROM contributions_ledgerrow l
                    WHERE l.person_id = s.person_id AND l.period <= s.termination_period
                      AND {bhtn}
                    ORDER BY l.period DESC LIMIT 1) AS employer_id,
                s.termination_period
            FROM s
            JOIN params p ON s.termination_period BETWEEN p.p_from AND p.p_to
            WHERE s.monthly_amount > p.tol + p.rate * s.average
               OR s.monthly_amount > p.tol + p.min_cap
        )
        SELECT t.award_id, t.monthly_amount, t.average, t.n_months, e.pay_scale, e.wage_region,
               c.cap, t.rate
        FROM t
        JOIN registry_employer e ON e.id = t.employer_id
        JOIN caps c ON c.scale = e.pay_scale AND c.region = e.wage_region
             AND t.termination_period BETWEEN c.c_from AND c.c_to
        WHERE t.monthly_amount > t.tol
              + CASE WHEN t.rate * t.average < c.cap THEN t.rate * t.average ELSE c.cap END"""  # noqa: S608 - our own table names and rule values


def _above_entitlement(
    ids: Sequence[int] | None, found: dict[tuple[int, str, str], dict[str, Any]]
) -> None:
    for where, params in _chunks(ids):
        for award_id, amount, average, n, scale, region, cap, rate in _rows(
            entitlement_sql(where), params
        ):
            average = Decimal(str(average))
            computed = min(int((Decimal(str(rate)) * average).quantize(Decimal(1))), int(cap))
            found[(award_id, CaseKind.ABOVE_ENTITLEMENT, "")] = {
                "monthly_amount": amount,
                "entitlement": computed,
                "average_salary": int(average.quantize(Decimal(1))),
                "months_averaged": n,
                "rate": str(rate),
                "cap": int(cap),
                "pay_scale": scale,
                "wage_region": region,
            }


# --- cases from findings ------------------------------------------------------------------------


def run(
    *,
    award_ids: Sequence[int] | None = None,
    person_ids: Iterable[int] | None = None,
    at: dt.datetime | None = None,
) -> DetectorRun:
    """Full run (no ids), or only the given awards / the open awards of the given persons.
    Idempotent: a finding already made (same award, kind and subject) opens nothing."""
    import time

    now = at or timezone.now()
    if person_ids is not None:
        persons = sorted(set(person_ids))
        award_ids = []
        for at_ in range(0, len(persons), CHUNK):
            award_ids += list(
                Award.objects.filter(
                    person_id__in=persons[at_ : at_ + CHUNK], status__in=PAYING
                ).values_list("id", flat=True)
            )
    if award_ids is not None:
        award_ids = sorted(set(award_ids))
        if not award_ids:
            return DetectorRun()
    found: dict[tuple[int, str, str], dict[str, Any]] = {}
    feed: list[ReemploymentEvent] = []
    centres: dict[int, str] = {}
    result = DetectorRun()
    steps = (
        ("reemployed", lambda: _reemployed(award_ids, found, feed, centres, now)),
        ("overlapping_claim", lambda: _overlapping(award_ids, found)),
        ("paid_after_death", lambda: _after_death(award_ids, found)),
        ("above_entitlement", lambda: _above_entitlement(award_ids, found)),
    )
    for name, step in steps:
        t0 = time.perf_counter()
        step()
        result.seconds[name] = round(time.perf_counter() - t0, 3)
    result.findings = len(found)
    for _a, kind, _s in found:
        result.by_kind[kind] = result.by_kind.get(kind, 0) + 1
    t0 = time.perf_counter()
    with transaction.atomic():
        result.opened = _open_cases(found, now)
        before = ReemploymentEvent.objects.count() if feed else 0
        if feed:
            ReemploymentEvent.objects.bulk_create(feed, ignore_conflicts=True, batch_size=CHUNK)
            result.feed_events = ReemploymentEvent.objects.count() - before
    result.seconds["cases"] = round(time.perf_counter() - t0, 3)
    return result


def _open_cases(found: dict[tuple[int, str, str], dict[str, Any]], now: dt.datetime) -> int:
    if not found:
        return 0
    award_ids = sorted({k[0] for k in found})
    existing: set[tuple[int, str, str]] = set()
    for at in range(0, len(award_ids), CHUNK):
        existing.update(
            FraudCase.objects.filter(award_id__in=award_ids[at : at + CHUNK]).values_list(
                "award_id", "kind", "subject"
            )
        )
    new = [
        FraudCase(
            case_no=case_number(award_id, kind, subject),
            award_id=award_id,
            kind=kind,
            subject=subject,
            evidence=evidence,
            opened_at=now,
        )
        for (award_id, kind, subject), evidence in found.items()
        if (award_id, kind, subject) not in existing
    ]
    if not new:
        return 0
    FraudCase.objects.bulk_create(new, ignore_conflicts=True, batch_size=CHUNK)
    held = sorted({c.award_id for c in new})
    for at in range(0, len(held), CHUNK):
        part = held[at : at + CHUNK]
        Award.objects.filter(id__in=part).update(held=True)
        # By award (NOT IN keeps the planner on the award index, not the status index).
        BenefitPayment.objects.filter(award_id__in=part).exclude(
            status__in=(PaymentStatus.PAID, PaymentStatus.CANCELLED, PaymentStatus.HELD)
        ).update(status=PaymentStatus.HELD)
    numbers = [c.case_no for c in new]
    cases = []
    for at in range(0, len(numbers), CHUNK):
        cases += list(
            FraudCase.objects.filter(case_no__in=numbers[at : at + CHUNK]).select_related("award")
        )
    notify_centre(cases)
    return len(new)
