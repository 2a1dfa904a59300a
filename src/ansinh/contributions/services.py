"""Writes of the contribution ledger: reports of increase / decrease / adjustment (báo tăng,
báo giảm, điều chỉnh), unpaid leave, the monthly rows, bills, payments and late interest.

Rules of the ledger (each figure comes from the dated rule tables in ``law``):

- One REGULAR row per person, employer and month, computed by ``calc.compute_month`` with the
  rules in force on the first day of the month for the employer's wage region and pay scale.
- **Partial months and unpaid leave** (Law 41/2024/QH15 Art. 33; Law 58/2014/QH13 Art. 85
  cl. 3; Decision 595/QĐ-BHXH practice): a worker who does not work and is not paid for 14
  working days or more in a month owes nothing that month. We count as "not worked" both the
  working days of the month outside the employment spell (a spell starting or ending mid-month)
  and the reported unpaid-leave days; when they reach the threshold (parameter
  ``unpaid_leave_exempt_days``) the month's row is kept with zero amounts and an
  ``exempt_reason`` (``unpaid_leave`` when leave was reported, else ``partial_month``). The
  salary of a month is the one in force on the last day worked in it. Working days are Monday
  to Friday minus public holidays (``law.calendar``).
- **Changes after billing**: a month is "billed" once a row of the person for it sits on a bill,
  or the employer's bill for that month exists. A change to a billed month never edits billed
  rows: the difference between what is now owed and what was billed becomes a new row —
  RETROACTIVE when the person had no row for that month, ADJUSTMENT otherwise (possibly
  negative) — which the next bill picks up. Unbilled REGULAR rows are simply recomputed.
- **Bills** sum their rounded rows; a bill collects every unbilled row of the employer for its
  month or earlier. Due date: last day of the month ``payment_due_months_after`` months after
  the contribution month (Law 41/2024 Art. 34: the following month; before 2025-07-01 the same
  month, Decision 595/QĐ-BHXH).
- **Payments** go to unpaid interest first, then to the oldest bill's principal. A bill whose
  principal is paid in full gets ``paid_in_full_on`` and its rows ``paid_on``: only then do its
  months count as contributed. Money beyond all debts stays on the payment as credit and is
  applied when the next bill is issued.
- **Interest** on late principal (Law 41/2024 Art. 40): outstanding × daily rate × days late,
  rounded half-up, one InterestCharge per accrual; days run from the day after the due date
  through the day the money is received.
"""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from django.db import transaction
from django.db.models import F, Max, Q, Sum
from django.db.models.functions import Coalesce
from django.utils import timezone

from ansinh.contributions.calc import (
    MAX_SALARY,
    ZERO,
    MonthAmounts,
    add_months,
    compute_month,
    iter_periods,
    parse_period,
    period_end,
    period_of,
    period_start,
    round_half_up,
)
from ansinh.contributions.models import (
    MONEY_COLUMNS,
    BillStatus,
    ChangeKind,
    ChangeReport,
    EmployerBill,
    EmployerRateOverride,
    InterestCharge,
    LedgerRow,
    Payment,
    PaymentAllocation,
    RowKind,
    UnpaidLeave,
)
from ansinh.core.errors import Conflict, DomainError, ErrorCollector, NotFound
from ansinh.law.calendar import working_days_between, working_days_in_month
from ansinh.law.selectors import ContributionRules, contribution_rules, parameter
from ansinh.law.services import parameter_snapshot, snapshot_for
from ansinh.registry import services as registry
from ansinh.registry.models import Employer, EmploymentSpell, Person, SalaryPeriod

EXEMPT_UNPAID_LEAVE = "unpaid_leave"
EXEMPT_PARTIAL_MONTH = "partial_month"
#: Largest single payment accepted (đồng): catches typing errors, far above any real bill.
MAX_PAYMENT = 10**14
_SALARY_FIELDS = ("insured_salary", "bhtn_salary")
_ROW_FIELDS = (*_SALARY_FIELDS, *MONEY_COLUMNS)


# --- validation helpers ------------------------------------------------------------------------


def _check_date(errs: ErrorCollector, value: Any, name: str) -> None:
    if not isinstance(value, dt.date) or isinstance(value, dt.datetime):
        errs.add("date_invalid", name, "Ngày không hợp lệ.", "Not a valid date.")


def _check_salary(errs: ErrorCollector, value: Any, name: str) -> None:
    if not isinstance(value, int) or isinstance(value, bool):
        errs.add(f"{name}_invalid", name, "Số tiền phải là số nguyên đồng.", "Must be whole đồng.")
    elif value < 0:
        errs.add(f"{name}_negative", name, "Số tiền không được âm.", "Cannot be negative.")
    elif value > MAX_SALARY:
        errs.add(
            f"{name}_too_large",
            name,
            "Số tiền quá lớn, có thể nhập sai.",
            "Implausibly large amount: probably mistyped.",
        )


def _check_key(errs: ErrorCollector, key: str | None) -> None:
    if key is not None and (not isinstance(key, str) or not 1 <= len(key) <= 80):
        errs.add(
            "idempotency_key_invalid",
            "idempotency_key",
            "Khoá chống gửi trùng phải dài 1–80 ký tự.",
            "The idempotency key must be 1–80 characters.",
        )


def _replayed(
    key: str | None, kind: str, employer: Employer, person: Person, data: dict[str, Any]
) -> ChangeReport | None:
    """The earlier report with this idempotency key, when it is the same request."""
    if key is None:
        return None
    report = ChangeReport.objects.filter(idempotency_key=key).first()
    if report is None:
        return None
    return _same_request(report, kind, employer, person, data)


# --- rules of an employer ------------------------------------------------------------------------


def employer_overrides(employer: Employer, day: dt.date) -> dict[str, Decimal]:
    """The employer's own rates in force on ``day`` (EmployerRateOverride), by scheme part."""
    rows = (
        EmployerRateOverride.objects.filter(employer=employer, valid_from__lte=day)
        .filter(Q(valid_to__isnull=True) | Q(valid_to__gte=day))
        .order_by("valid_from")
    )
    return {r.part: Decimal(r.rate) for r in rows}


def rules_for(employer: Employer, period: int) -> ContributionRules:
    day = period_start(period)
    return contribution_rules(
        day,
        wage_region=employer.wage_region,
        pay_scale=employer.pay_scale,
        overrides=employer_overrides(employer, day) or None,
    )


def bill_dates(period: int) -> tuple[dt.date, dt.date]:
    """(issued_on, due_on) of the bill of a month by default: issued on the first day of the
    month, due on the last day of the month ``payment_due_months_after`` months later."""
    start = period_start(period)
    months_after = int(parameter("payment_due_months_after", start))
    return start, period_end(add_months(period, months_after))


# --- computing what a month owes ---------------------------------------------------------------


@dataclass(frozen=True)
class _Owed:
    amounts: MonthAmounts
    exempt_reason: str


def _salary_on(salaries: list[SalaryPeriod], day: dt.date) -> SalaryPeriod | None:
    found = None
    for s in salaries:  # ordered by valid_from
        if s.valid_from <= day:
            found = s
    return found


def owed_for_month(
    spells: list[EmploymentSpell], period: int, leave_days: int, rules: ContributionRules
) -> _Owed | None:
    """What one person owes one employer for a month, from the spells with that employer
    (salaries prefetched) and the reported unpaid-leave days; None when not employed."""
    first, last = period_start(period), period_end(period)
    covered = 0
    last_day: dt.date | None = None
    last_spell: EmploymentSpell | None = None
    for spell in spells:
        lo = max(first, spell.start)
        hi = min(last, spell.end) if spell.end else last
        if lo > hi:
            continue
        if lo == first and hi == last:
            covered += working_days_in_month(period // 100, period % 100)
        else:
            covered += working_days_between(lo, hi)
        if last_day is None or hi > last_day:
            last_day, last_spell = hi, spell
    if last_spell is None or last_day is None:
        return None
    absent = working_days_in_month(period // 100, period % 100) - covered + leave_days
    threshold = int(parameter("unpaid_leave_exempt_days", first))
    if absent >= threshold:
        reason = EXEMPT_UNPAID_LEAVE if leave_days else EXEMPT_PARTIAL_MONTH
        return _Owed(ZERO, reason)
    salary = _salary_on(list(last_spell.salaries.all()), last_day)
    insured = salary.insured_salary if salary else 0
    return _Owed(compute_month(insured, rules), "")


def _reconcile(
    employer: Employer,
    periods: Iterable[int],
    person_ids: set[int] | None,
    per_person: dict[int, int] | None = None,
) -> int:
    """Bring the ledger rows of ``employer`` for ``periods`` in line with the registry (spells,
    salaries) and reported unpaid leave, for the given persons (None: everybody). Returns the
    number of rows created, changed or deleted (also counted by person into ``per_person``).
    Caller holds a transaction."""
    written = 0
    counts = per_person if per_person is not None else {}
    billed_periods = set(
        EmployerBill.objects.filter(employer=employer).values_list("period", flat=True)
    )
    for period in periods:
        first, last = period_start(period), period_end(period)
        spell_qs = EmploymentSpell.objects.filter(employer=employer, start__lte=last).filter(
            Q(end__isnull=True) | Q(end__gte=first)
        )
        row_qs = LedgerRow.objects.filter(employer=employer, period=period)
        leave_qs = UnpaidLeave.objects.filter(employer=employer, period=period)
        if person_ids is not None:
            spell_qs = spell_qs.filter(person_id__in=person_ids)
            row_qs = row_qs.filter(person_id__in=person_ids)
            leave_qs = leave_qs.filter(person_id__in=person_ids)
        spells: dict[int, list[EmploymentSpell]] = defaultdict(list)
        for spell in spell_qs.prefetch_related("salaries").order_by("start"):
            spells[spell.person_id].append(spell)
        rows: dict[int, list[LedgerRow]] = defaultdict(list)
        for row in row_qs.order_by("id"):
            rows[row.person_id].append(row)
        leave = dict(leave_qs.values_list("person_id", "working_days"))
        everyone = set(spells) | set(rows)
        if not everyone:
            continue
        rules = rules_for(employer, period)
        basis = snapshot_for(rules)
        creates: list[LedgerRow] = []
        updates: list[LedgerRow] = []
        for person_id in sorted(everyone):
            owed = (
                owed_for_month(spells[person_id], period, leave.get(person_id, 0), rules)
                if person_id in spells
                else None
            )
            existing = rows.get(person_id, [])
            billed = period in billed_periods or any(r.bill_id for r in existing)
            if not billed:
                regular = next((r for r in existing if r.kind == RowKind.REGULAR), None)
                if owed is None:
                    if regular is not None:
                        regular.delete()
                        written += 1
                        counts[person_id] = counts.get(person_id, 0) + 1
                    continue
                values = _row_values(owed)
                if regular is None:
                    creates.append(
                        LedgerRow(
                            person_id=person_id,
                            employer=employer,
                            period=period,
                            kind=RowKind.REGULAR,
                            basis=basis,
                            **values,
                        )
                    )
                elif any(getattr(regular, k) != v for k, v in values.items()) or (
                    regular.basis_id != basis.pk
                ):
                    for k, v in values.items():
                        setattr(regular, k, v)
                    regular.basis = basis
                    updates.append(regular)
                continue
            # Billed month: add the difference as a new row for the next bill.
            target = _row_values(owed) if owed else _row_values(_Owed(ZERO, ""))
            delta = {k: target[k] - sum(getattr(r, k) for r in existing) for k in _ROW_FIELDS}
            if not any(delta.values()) and (existing or owed is None):
                continue
            creates.append(
                LedgerRow(
                    person_id=person_id,
                    employer=employer,
                    period=period,
                    kind=RowKind.ADJUSTMENT if existing else RowKind.RETROACTIVE,
                    basis=basis,
                    exempt_reason=target["exempt_reason"],
                    **delta,
                )
            )
        if creates:
            LedgerRow.objects.bulk_create(creates)
        if updates:
            LedgerRow.objects.bulk_update(updates, [*_ROW_FIELDS, "exempt_reason", "basis"])
        written += len(creates) + len(updates)
        for row in (*creates, *updates):
            counts[row.person_id] = counts.get(row.person_id, 0) + 1
        if creates or updates:
            _announce({r.person_id for r in (*creates, *updates)}, period)
    return written


def _announce_enrolments(reports: list[tuple[int, Any, Any]], items: list[Any]) -> None:
    """After commit, tell listeners who was reported as starting work, and from which month."""
    from ansinh.contributions.signals import enrolled

    ids = sorted({items[i].person.pk for i, _report, _spell in reports})
    periods = sorted({report.effective_period for _i, report, _spell in reports})
    transaction.on_commit(
        lambda: enrolled.send(sender=ChangeReport, person_ids=ids, periods=periods)
    )


def _announce(person_ids: set[int], period: int) -> None:
    """After commit, tell listeners (the benefits detector) whose rows were written."""
    from ansinh.contributions.signals import ledger_written

    ids = sorted(person_ids)
    transaction.on_commit(
        lambda: ledger_written.send(sender=LedgerRow, person_ids=ids, periods=[period])
    )


def _row_values(owed: _Owed) -> dict[str, Any]:
    values: dict[str, Any] = {k: getattr(owed.amounts, k) for k in _ROW_FIELDS}
    values["exempt_reason"] = owed.exempt_reason
    return values


def _last_ledger_period(employer: Employer) -> int | None:
    a = LedgerRow.objects.filter(employer=employer).aggregate(p=Max("period"))["p"]
    b = EmployerBill.objects.filter(employer=employer).aggregate(p=Max("period"))["p"]
    found = [p for p in (a, b) if p]
    return max(found) if found else None


def _reconcile_from(employer: Employer, person: Person, first: int) -> int:
    """Reconcile one person's months from ``first`` to the latest month the employer's ledger
    has reached (later months are built by ``build_month`` when their turn comes)."""
    last = _last_ledger_period(employer)
    if last is None or last < first:
        return 0
    return _reconcile(employer, iter_periods(first, last), {person.pk})


def _lock_employer(employer: Employer) -> None:
    Employer.objects.select_for_update().filter(pk=employer.pk).first()


# --- reports -----------------------------------------------------------------------------------


@dataclass(frozen=True)
class ReportResult:
    report: ChangeReport
    spell: EmploymentSpell | None
    rows_written: int
    replayed: bool = False


def _spell_of(report: ChangeReport) -> EmploymentSpell | None:
    spell_id = report.data.get("spell_id")
    return EmploymentSpell.objects.filter(pk=spell_id).first() if spell_id else None


@dataclass(frozen=True)
class Increase:
    """One báo tăng of a D02-LT list, for :func:`report_increases`."""

    person: Person
    start: dt.date
    contract_type: str
    salary: int
    allowances: int = 0
    occupation: str = ""
    idempotency_key: str | None = None


def _increase_data(item: Increase, reported_on: dt.date | None) -> dict[str, Any]:
    """The checks of one increase before anything is read; its report data."""
    errs = ErrorCollector()
    _check_date(errs, item.start, "start")
    _check_salary(errs, item.salary, "salary")
    _check_salary(errs, item.allowances, "allowances")
    _check_key(errs, item.idempotency_key)
    if reported_on is not None:
        _check_date(errs, reported_on, "reported_on")
    errs.raise_if_any()
    if item.salary + item.allowances > MAX_SALARY:
        raise DomainError(
            "salary_too_large", "salary", "Tiền lương quá lớn.", "Implausibly large salary."
        )
    return {
        "start": item.start.isoformat(),
        "contract_type": item.contract_type,
        "salary": item.salary,
        "allowances": item.allowances,
    }


def _same_request(
    report: ChangeReport, kind: str, employer: Employer, person: Person, data: dict[str, Any]
) -> ChangeReport:
    """``report`` (found by the idempotency key) when it is the same request, else Conflict."""
    same = (
        report.kind == kind
        and report.employer_id == employer.pk
        and report.person_id == person.pk
        and all(report.data.get(k) == v for k, v in data.items())
    )
    if not same:
        raise Conflict(
            "idempotency_key_reused",
            "idempotency_key",
            "Khoá chống gửi trùng đã dùng cho một báo cáo khác.",
            "This idempotency key was used for a different report.",
        )
    return report


def report_increases(
    employer: Employer,
    items: list[Increase],
    *,
    actor: Any = None,
    reported_on: dt.date | None = None,
) -> list[ReportResult | DomainError]:
    """Báo tăng of many workers of one employer (a D02-LT list): each item is answered with
    its :class:`ReportResult` or its ``DomainError``, the same as :func:`report_increase` one
    by one in order — same checks, same replays of idempotency keys, same spells
    (``registry.services.open_spells``), reports and ledger rows. One failing item does not
    stop the others. The work is done in bulk: one replay query, one employer lock, one person
    lock and one overlap query, bulk inserts, one ledger reconciliation per start month; all in
    one transaction, so a database error leaves none of it written."""
    results: list[ReportResult | DomainError | None] = [None] * len(items)
    data: dict[int, dict[str, Any]] = {}
    for i, item in enumerate(items):
        try:
            data[i] = _increase_data(item, reported_on)
        except DomainError as exc:
            results[i] = exc
    if not data:
        return results  # type: ignore[return-value]
    with transaction.atomic():
        keys = [items[i].idempotency_key for i in data if items[i].idempotency_key]
        earlier: dict[str, ChangeReport] = {}
        for at in range(0, len(keys), 500):
            for report in ChangeReport.objects.filter(idempotency_key__in=keys[at : at + 500]):
                earlier[report.idempotency_key] = report  # type: ignore[index]
        fresh: list[int] = []
        replays: list[int] = []
        later: list[int] = []  # a key repeated in this list: answered after the first
        seen: set[str] = set()
        for i in data:
            item = items[i]
            key = item.idempotency_key
            if key is not None and key in earlier:
                try:
                    _same_request(earlier[key], ChangeKind.INCREASE, employer, item.person, data[i])
                except Conflict as exc:
                    results[i] = exc
                    continue
                replays.append(i)
            elif key is not None and key in seen:
                later.append(i)
            else:
                if key is not None:
                    seen.add(key)
                fresh.append(i)
        if replays:
            found = [earlier[str(items[i].idempotency_key)] for i in replays]
            spells = EmploymentSpell.objects.in_bulk(
                [r.data["spell_id"] for r in found if r.data.get("spell_id")]
            )
            for i, report in zip(replays, found, strict=True):
                spell = spells.get(report.data.get("spell_id"))
                results[i] = ReportResult(report, spell, 0, replayed=True)
        if fresh:
            _write_increases(employer, items, data, fresh, results, actor, reported_on)
        if later:
            # Same key twice in one list: one by one, the second meets the first's report.
            rest = report_increases(
                employer, [items[i] for i in later], actor=actor, reported_on=reported_on
            )
            for i, result in zip(later, rest, strict=True):
                results[i] = result
    return results  # type: ignore[return-value]


def _write_increases(
    employer: Employer,
    items: list[Increase],
    data: dict[int, dict[str, Any]],
    fresh: list[int],
    results: list[Any],
    actor: Any,
    reported_on: dt.date | None,
) -> None:
    """The writes of :func:`report_increases` for the items not replayed (inside its
    transaction): spells, reports, the ledger."""
    _lock_employer(employer)
    day = reported_on or timezone.localdate()
    # The deadline of each start month (a rule table read, cached): an item whose start has no
    # rule in force fails here, after the spell checks as one by one.
    deadlines: dict[int, int] = {}
    open_now: list[int] = []
    for i in fresh:
        request = registry.SpellRequest(
            items[i].person,
            employer,
            items[i].start,
            items[i].contract_type,
            items[i].salary,
            items[i].allowances,
            items[i].occupation,
            day,
        )
        try:
            registry.check_spell(request)
            deadlines[i] = int(parameter("enrolment_deadline_days", items[i].start))
        except DomainError as exc:
            results[i] = exc
            continue
        open_now.append(i)
    spells = registry.open_spells(
        [
            registry.SpellRequest(
                items[i].person,
                employer,
                items[i].start,
                items[i].contract_type,
                items[i].salary,
                items[i].allowances,
                items[i].occupation,
                day,
            )
            for i in open_now
        ],
        actor=actor,
    )
    reports: list[tuple[int, ChangeReport, EmploymentSpell]] = []
    for i, spell in zip(open_now, spells, strict=True):
        if isinstance(spell, DomainError):
            results[i] = spell
            continue
        item = items[i]
        report = ChangeReport(
            kind=ChangeKind.INCREASE,
            employer=employer,
            person=item.person,
            effective_period=period_of(item.start),
            data={
                **data[i],
                "occupation": item.occupation,
                "spell_id": spell.pk,
                "late_enrolment": (day - item.start).days > deadlines[i],
            },
            idempotency_key=item.idempotency_key,
            reported_by=actor,
        )
        reports.append((i, report, spell))
    if not reports:
        return
    ChangeReport.objects.bulk_create([report for _, report, _ in reports])
    _announce_enrolments(reports, items)
    # One reconciliation per start month, from it to the month the ledger has reached, for the
    # persons starting in that month (as ``_reconcile_from`` does person by person).
    written: dict[int, int] = {}
    last = _last_ledger_period(employer)
    if last is not None:
        by_month: dict[int, set[int]] = defaultdict(set)
        for i, report, _ in reports:
            by_month[report.effective_period].add(items[i].person.pk)
        for first, persons in sorted(by_month.items()):
            if first <= last:
                _reconcile(employer, iter_periods(first, last), persons, written)
    for i, report, spell in reports:
        results[i] = ReportResult(report, spell, written.get(items[i].person.pk, 0))


def report_increase(
    *,
    employer: Employer,
    person: Person,
    start: dt.date,
    contract_type: str,
    salary: int,
    allowances: int = 0,
    occupation: str = "",
    idempotency_key: str | None = None,
    actor: Any = None,
    reported_on: dt.date | None = None,
) -> ReportResult:
    """Báo tăng: a worker joins ``employer`` on ``start``. Opens the employment spell
    (``registry.services.open_spell``); months already billed get RETROACTIVE rows (truy thu)
    for the next bill. A report made more than ``enrolment_deadline_days`` after the start
    (Law 41/2024 Art. 28) is marked ``late_enrolment``. :func:`report_increases` for one item."""
    item = Increase(person, start, contract_type, salary, allowances, occupation, idempotency_key)
    result = report_increases(employer, [item], actor=actor, reported_on=reported_on)[0]
    if isinstance(result, DomainError):
        raise result
    return result


def _spell_covering(employer: Employer, person: Person, day: dt.date, field: str) -> Any:
    spell = (
        EmploymentSpell.objects.filter(employer=employer, person=person, start__lte=day)
        .filter(Q(end__isnull=True) | Q(end__gte=day))
        .first()
    )
    if spell is None:
        raise NotFound(
            "spell_not_found",
            field,
            "Người này không làm việc cho đơn vị vào ngày đó.",
            "This person does not work for this employer on that day.",
        )
    return spell


def report_decrease(
    *,
    employer: Employer,
    person: Person,
    end: dt.date,
    reason: str = "",
    idempotency_key: str | None = None,
    actor: Any = None,
) -> ReportResult:
    """Báo giảm: the worker's last day with ``employer`` is ``end``. Closes the open spell
    (``registry.services.close_spell``); billed months after ``end`` get negative ADJUSTMENT
    rows, unbilled ones are removed."""
    errs = ErrorCollector()
    _check_date(errs, end, "end")
    _check_key(errs, idempotency_key)
    errs.raise_if_any()
    data = {"end": end.isoformat(), "reason": reason}
    with transaction.atomic():
        if report := _replayed(idempotency_key, ChangeKind.DECREASE, employer, person, data):
            return ReportResult(report, _spell_of(report), 0, replayed=True)
        _lock_employer(employer)
        spell = (
            EmploymentSpell.objects.filter(employer=employer, person=person, end__isnull=True)
            .order_by("-start")
            .first()
        )
        if spell is None:
            raise NotFound(
                "spell_not_found",
                "person",
                "Người này không có quá trình đang làm việc tại đơn vị.",
                "This person has no open employment spell with this employer.",
            )
        if end < spell.start:
            raise DomainError(
                "end_before_start",
                "end",
                "Ngày nghỉ việc trước ngày bắt đầu làm việc.",
                "The end is before the start of the employment.",
            )
        registry.close_spell(spell, end=end, reason=reason, actor=actor)
        report = ChangeReport.objects.create(
            kind=ChangeKind.DECREASE,
            employer=employer,
            person=person,
            effective_period=period_of(end),
            data={**data, "spell_id": spell.pk},
            idempotency_key=idempotency_key,
            reported_by=actor,
        )
        written = _reconcile_from(employer, person, period_of(end))
    return ReportResult(report, spell, written)


def report_adjustment(
    *,
    employer: Employer,
    person: Person,
    valid_from: dt.date,
    salary: int,
    allowances: int = 0,
    idempotency_key: str | None = None,
    actor: Any = None,
) -> ReportResult:
    """Điều chỉnh: a new insured salary from ``valid_from`` on (``registry.services.set_salary``);
    months already billed get ADJUSTMENT rows for the difference."""
    errs = ErrorCollector()
    _check_date(errs, valid_from, "valid_from")
    _check_salary(errs, salary, "salary")
    _check_salary(errs, allowances, "allowances")
    _check_key(errs, idempotency_key)
    errs.raise_if_any()
    data = {"valid_from": valid_from.isoformat(), "salary": salary, "allowances": allowances}
    with transaction.atomic():
        if report := _replayed(idempotency_key, ChangeKind.ADJUSTMENT, employer, person, data):
            return ReportResult(report, _spell_of(report), 0, replayed=True)
        _lock_employer(employer)
        spell = _spell_covering(employer, person, valid_from, "valid_from")
        registry.set_salary(
            spell, valid_from=valid_from, salary=salary, allowances=allowances, actor=actor
        )
        report = ChangeReport.objects.create(
            kind=ChangeKind.ADJUSTMENT,
            employer=employer,
            person=person,
            effective_period=period_of(valid_from),
            data={**data, "spell_id": spell.pk},
            idempotency_key=idempotency_key,
            reported_by=actor,
        )
        written = _reconcile_from(employer, person, period_of(valid_from))
    return ReportResult(report, spell, written)


def report_unpaid_leave(
    *,
    employer: Employer,
    person: Person,
    period: int | str,
    working_days: int,
    idempotency_key: str | None = None,
    actor: Any = None,
) -> ReportResult:
    """Working days of unpaid leave of a worker in a month (0 withdraws an earlier report).
    From ``unpaid_leave_exempt_days`` (14, Law 41/2024 Art. 33) on, nothing is owed."""
    errs = ErrorCollector()
    try:
        month = parse_period(period)
    except DomainError as exc:
        errs.extend(exc)
        month = 0
    if not isinstance(working_days, int) or isinstance(working_days, bool) or working_days < 0:
        errs.add(
            "working_days_invalid",
            "working_days",
            "Số ngày nghỉ phải là số nguyên không âm.",
            "Working days must be a whole number, not negative.",
        )
    elif month and working_days > working_days_in_month(month // 100, month % 100):
        errs.add(
            "working_days_too_many",
            "working_days",
            "Số ngày nghỉ nhiều hơn số ngày làm việc của tháng.",
            "More days than the month has working days.",
        )
    _check_key(errs, idempotency_key)
    errs.raise_if_any()
    data = {"period": month, "working_days": working_days}
    with transaction.atomic():
        if report := _replayed(idempotency_key, ChangeKind.UNPAID_LEAVE, employer, person, data):
            return ReportResult(report, None, 0, replayed=True)
        _lock_employer(employer)
        if not EmploymentSpell.objects.filter(
            Q(end__isnull=True) | Q(end__gte=period_start(month)),
            employer=employer,
            person=person,
            start__lte=period_end(month),
        ).exists():
            raise NotFound(
                "spell_not_found",
                "period",
                "Người này không làm việc cho đơn vị trong tháng đó.",
                "This person does not work for this employer in that month.",
            )
        UnpaidLeave.objects.update_or_create(
            person=person, employer=employer, period=month, defaults={"working_days": working_days}
        )
        report = ChangeReport.objects.create(
            kind=ChangeKind.UNPAID_LEAVE,
            employer=employer,
            person=person,
            effective_period=month,
            data=data,
            idempotency_key=idempotency_key,
            reported_by=actor,
        )
        written = _reconcile(employer, [month], {person.pk})
    return ReportResult(report, None, written)


# --- monthly rows and bills --------------------------------------------------------------------


def build_month(employer: Employer, period: int | str) -> int:
    """Create or refresh the REGULAR rows of every worker of ``employer`` in the month (see the
    module docstring for partial months); in a month already billed, differences become
    RETROACTIVE/ADJUSTMENT rows. Returns the number of rows written."""
    month = parse_period(period)
    with transaction.atomic():
        _lock_employer(employer)
        return _reconcile(employer, [month], None)


def _bill_status(bill: EmployerBill) -> str:
    if bill.outstanding <= 0:
        return BillStatus.PAID
    return BillStatus.PARTIAL if bill.paid_amount > 0 else BillStatus.OPEN


def _settle_if_paid(bill: EmployerBill, on: dt.date) -> None:
    """Mark a bill whose principal is paid and its rows paid on ``on``."""
    bill.status = _bill_status(bill)
    if bill.outstanding <= 0:
        if bill.paid_in_full_on is None:
            bill.paid_in_full_on = on
        LedgerRow.objects.filter(bill=bill, paid_on__isnull=True).update(
            paid_on=bill.paid_in_full_on
        )
    else:
        bill.paid_in_full_on = None


def issue_bill(
    employer: Employer, period: int | str, *, issued_on: dt.date | None = None
) -> EmployerBill:
    """The employer's bill for a month (thông báo kết quả đóng): every unbilled row of the
    employer for this month or earlier, summed. Issuing again returns the same bill; rows that
    appeared since (late reports) are added to it."""
    month = parse_period(period)
    default_issued, due_on = bill_dates(month)
    if issued_on is not None and not isinstance(issued_on, dt.date):
        raise DomainError("date_invalid", "issued_on", "Ngày không hợp lệ.", "Not a valid date.")
    with transaction.atomic():
        _lock_employer(employer)
        pending = LedgerRow.objects.filter(employer=employer, bill__isnull=True, period__lte=month)
        rows = list(pending.values_list("id", *MONEY_COLUMNS))
        bill = EmployerBill.objects.select_for_update().filter(employer=employer, period=month)
        found = bill.first()
        if found is not None and not rows:
            return found
        amount = sum(sum(r[1:]) for r in rows)
        if found is None:
            found = EmployerBill(
                employer=employer,
                period=month,
                issued_on=issued_on or default_issued,
                due_on=due_on,
                amount=0,
            )
        found.amount += amount
        found.row_count += len(rows)
        found.status = _bill_status(found)
        found.save()
        LedgerRow.objects.filter(pk__in=[r[0] for r in rows]).update(bill=found)
        _settle_if_paid(found, found.issued_on)
        found.save()
        _apply_credit(employer, found.issued_on)
        found.refresh_from_db()
    return found


# --- interest and payments ---------------------------------------------------------------------


def accrue_interest(bill: EmployerBill, *, until: dt.date) -> InterestCharge | None:
    """Charge late-payment interest (lãi chậm đóng) on the bill's outstanding principal for the
    days after the due date (or after the last charge) through ``until``: outstanding × daily
    rate (``late_payment_interest_daily``, Law 41/2024 Art. 40) × days, rounded half-up. None
    when nothing is late."""
    if not isinstance(until, dt.date):
        raise DomainError("date_invalid", "until", "Ngày không hợp lệ.", "Not a valid date.")
    with transaction.atomic():
        bill = EmployerBill.objects.select_for_update().get(pk=bill.pk)
        if bill.outstanding <= 0:
            return None
        last = bill.interest.aggregate(d=Max("to_day"))["d"]
        from_day = max(bill.due_on, last or bill.due_on) + dt.timedelta(days=1)
        if until < from_day:
            return None
        days = (until - from_day).days + 1
        rate = parameter("late_payment_interest_daily", from_day)
        num, den = rate.as_integer_ratio()
        amount = round_half_up(bill.outstanding * days * num, den)
        charge = InterestCharge.objects.create(
            bill=bill,
            from_day=from_day,
            to_day=until,
            days=days,
            principal=bill.outstanding,
            amount=amount,
            basis=parameter_snapshot("late_payment_interest_daily", from_day),
        )
        EmployerBill.objects.filter(pk=bill.pk).update(
            interest_amount=bill.interest_amount + amount
        )
    return charge


def _unpaid_interest(bills: list[EmployerBill]) -> dict[int, int]:
    paid = dict(
        PaymentAllocation.objects.filter(bill__in=bills)
        .values("bill")
        .annotate(s=Sum("interest"))
        .values_list("bill", "s")
    )
    return {b.pk: b.interest_amount - (paid.get(b.pk) or 0) for b in bills}


def _open_bills(employer: Employer) -> list[EmployerBill]:
    return list(
        EmployerBill.objects.select_for_update()
        .filter(employer=employer)
        .filter(~Q(status=BillStatus.PAID) | Q(interest_amount__gt=0))
        .order_by("period", "id")
    )


def _allocate(payment: Payment, available: int, on: dt.date) -> int:
    """Apply up to ``available`` of a payment: interest first, then the oldest principal.
    Returns what was applied."""
    bills = _open_bills(payment.employer)
    interest_due = _unpaid_interest(bills)
    split: dict[int, list[int]] = {b.pk: [0, 0] for b in bills}  # principal, interest
    left = available
    for bill in bills:
        take = min(left, max(interest_due[bill.pk], 0))
        split[bill.pk][1] += take
        left -= take
    for bill in bills:
        take = min(left, max(bill.outstanding, 0))
        split[bill.pk][0] += take
        left -= take
    for bill in bills:
        principal, interest = split[bill.pk]
        if not principal and not interest:
            continue
        PaymentAllocation.objects.create(
            payment=payment, bill=bill, principal=principal, interest=interest
        )
        if principal:
            bill.paid_amount += principal
            _settle_if_paid(bill, on)
            bill.save(update_fields=["paid_amount", "status", "paid_in_full_on"])
    return available - left


def payments_with_credit(employer: Employer) -> list[Payment]:
    """Payments of the employer with money not yet applied (``credit`` attribute)."""
    qs = (
        Payment.objects.filter(employer=employer)
        .annotate(
            used=Coalesce(Sum("allocations__principal"), 0)
            + Coalesce(Sum("allocations__interest"), 0)
        )
        .filter(amount__gt=F("used"))
        .order_by("received_on", "id")
    )
    out = list(qs)
    for p in out:
        p.credit = p.amount - p.used  # type: ignore[attr-defined]
    return out


def _apply_credit(employer: Employer, on: dt.date) -> None:
    """Apply money left over on earlier payments to newly issued bills."""
    for payment in payments_with_credit(employer):
        if _allocate(payment, payment.credit, on) == 0:  # type: ignore[attr-defined]
            break


def record_payment(
    *,
    employer: Employer,
    amount: int,
    received_on: dt.date,
    reference: str,
    actor: Any = None,
) -> Payment:
    """Record money received from an employer. Idempotent on ``reference`` (the bank
    transaction id): the same reference again returns the first payment; with a different
    amount or day it is refused. Interest is accrued on late bills up to ``received_on``, then
    the money goes to interest, then to the oldest bills."""
    errs = ErrorCollector()
    if not isinstance(amount, int) or isinstance(amount, bool) or amount <= 0:
        errs.add(
            "amount_invalid",
            "amount",
            "Số tiền phải là số nguyên đồng dương.",
            "The amount must be a positive whole number of đồng.",
        )
    elif amount > MAX_PAYMENT:
        errs.add("amount_too_large", "amount", "Số tiền quá lớn.", "Implausibly large amount.")
    _check_date(errs, received_on, "received_on")
    reference = (reference or "").strip() if isinstance(reference, str) else ""
    if not 1 <= len(reference) <= 60:
        errs.add(
            "reference_invalid",
            "reference",
            "Cần mã giao dịch ngân hàng (1–60 ký tự).",
            "A bank reference of 1–60 characters is required.",
        )
    errs.raise_if_any()
    with transaction.atomic():
        _lock_employer(employer)
        existing = Payment.objects.filter(employer=employer, reference=reference).first()
        if existing is not None:
            if existing.amount != amount or existing.received_on != received_on:
                raise Conflict(
                    "payment_reference_reused",
                    "reference",
                    "Mã giao dịch này đã được ghi với số tiền hoặc ngày khác.",
                    "This reference was already recorded with another amount or day.",
                )
            return existing
        payment = Payment.objects.create(
            employer=employer,
            amount=amount,
            received_on=received_on,
            reference=reference,
            recorded_by=actor,
        )
        for bill in _open_bills(employer):
            if bill.due_on < received_on and bill.outstanding > 0:
                accrue_interest(bill, until=received_on)
        _allocate(payment, amount, received_on)
    return payment


def accrue_all(employer: Employer, *, until: dt.date) -> list[InterestCharge]:
    """Accrue interest on every late bill of the employer through ``until`` (month-end runs)."""
    charges = []
    with transaction.atomic():
        _lock_employer(employer)
        for bill in _open_bills(employer):
            if bill.due_on < until and bill.outstanding > 0:
                charge = accrue_interest(bill, until=until)
                if charge is not None:
                    charges.append(charge)
    return charges
