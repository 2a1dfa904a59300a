"""The unemployment benefit calculation (tính hưởng trợ cấp thất nghiệp): pure functions over a
parsed contribution history, no database, so a hand-computed table of cases can check them.

Inputs: the insurance side's ``bhtnHistory`` answer (:func:`parse_history`), its
``benefitHistory`` answer (:func:`parse_awards`), the facts of the claim (:class:`ClaimFacts`)
and the rules in force on the termination date (:class:`LawRules`, built from the dated rows of
``rules.toml``). Output: an :class:`Entitlement` with the verdict, every failed condition as a
reason code, each figure and the article it comes from.

Choices stated once (also in docs/unemployment.md):

* a month counts once whatever the number of employers paying for it (overlaps netted); its
  salary is the highest insured salary paid for it;
* months up to the ``last_period_used`` of an earlier award were consumed by it and count
  neither for the 12-month condition nor for the duration; the earlier award's
  ``reserved_months`` (bảo lưu) are added to the duration count only;
* the window is the W calendar months ending with the termination month;
* average = sum of the last N contribution months ÷ N (exact); monthly amount = rate × average
  rounded half up to the đồng, then capped; the average shown is rounded the same way;
* months contributed beyond those the duration uses are reserved, up to the duration maximum
  (beyond 144 months only if ``bhtn_reserve_beyond_max``).
"""

from __future__ import annotations

import calendar
import datetime as dt
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from decimal import ROUND_HALF_UP, Decimal
from typing import Any

SHORT_CONTRACTS = frozenset({"seasonal"})
ACTIVE_AWARD = frozenset({"active", "suspended"})
#: Registry codes that are not ours: the demo generator's free text, older spellings.
REASON_ALIASES = {
    "contract_expired": "contract_end",
    "resignation": "resigned",
    "quit": "resigned",
    "retired": "retirement",
    "pension": "retirement",
    "laid_off": "employer_terminated",
    "redundancy": "employer_terminated",
    "agreement": "mutual_agreement",
}


# --- inputs ------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Month:
    period: str  # "YYYY-MM"
    salary: int
    employer_code: str = ""
    wage_region: int = 1
    pay_scale: str = "employer"


@dataclass(frozen=True)
class Spell:
    employer_code: str
    contract_type: str
    start: dt.date
    end: dt.date | None
    termination_reason: str = ""
    employer_name: str = ""


@dataclass(frozen=True)
class History:
    personal_id: str
    months: tuple[Month, ...]
    spells: tuple[Spell, ...] = ()
    deceased_on: dt.date | None = None
    as_of: dt.date | None = None
    gaps: tuple[tuple[str, str], ...] = ()
    overlaps: tuple[str, ...] = ()


@dataclass(frozen=True)
class PriorAward:
    decision_no: str
    status: str
    start: dt.date
    end: dt.date
    months: int = 0
    reserved_months: int = 0
    last_period_used: str = ""
    province_code: str = ""
    centre: str = ""


@dataclass(frozen=True)
class ClaimFacts:
    termination_date: dt.date
    termination_reason: str
    filed_on: dt.date
    #: Reference amounts in force on the termination date for the last employer's region.
    regional_min_wage: int
    base_salary: int
    contract_type: str = ""  # taken from the terminated spell when empty


@dataclass(frozen=True)
class TerminationRule:
    code: str
    effect: str  # eligible | disqualifies | verify
    label_vi: str
    label_en: str
    legal_source: str


@dataclass(frozen=True)
class LawRules:
    law: str  # "38/2013" | "74/2025"
    min_months: int
    window_months: int
    window_months_short: int
    rate: Decimal
    average_months: int
    cap_multiplier: int
    cap_state_base_salary: bool
    duration_base: int
    duration_base_contribution: int
    duration_step: int
    duration_max: int
    filing_limit_months: int
    start_day: int | None
    start_working_day: int | None
    decision_working_days: int
    report_missed_terminate: int
    reserve_beyond_max: bool
    sources: Mapping[str, str] = field(default_factory=dict)
    terminations: Mapping[str, TerminationRule] = field(default_factory=dict)

    def cite(self, key: str) -> str:
        return self.sources.get(key, "")


# --- outputs -----------------------------------------------------------------------------------


@dataclass(frozen=True)
class Reason:
    """One failed condition: a code, the field it concerns, both languages and the article."""

    code: str
    field: str
    message_vi: str
    message_en: str
    source: str

    def as_dict(self) -> dict[str, str]:
        return {
            "code": self.code,
            "field": self.field,
            "message_vi": self.message_vi,
            "message_en": self.message_en,
            "source": self.source,
        }


@dataclass(frozen=True)
class Entitlement:
    eligible: bool
    reasons: tuple[Reason, ...]
    law: str
    termination_reason: str
    contract_type: str
    window_months: int
    months_in_window: int
    months_fresh: int
    reserved_in: int
    months_counted: int
    average_periods: tuple[tuple[str, int], ...]
    average_salary: int
    pay_scale: str
    cap: int
    cap_basis: str
    capped: bool
    monthly_amount: int
    duration_months: int
    contribution_months_used: int
    reserved_out: int
    last_period_used: str
    filing_deadline: dt.date
    start: dt.date | None
    end: dt.date | None
    decision_due: dt.date
    sources: dict[str, str]

    @property
    def reason_codes(self) -> list[str]:
        return [r.code for r in self.reasons]

    def as_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {}
        for name in self.__dataclass_fields__:
            value = getattr(self, name)
            if isinstance(value, dt.date):
                value = value.isoformat()
            elif name == "reasons":
                value = [r.as_dict() for r in value]
            elif name == "average_periods":
                value = [{"period": p, "salary": s} for p, s in value]
            out[name] = value
        return out


# --- parsing -----------------------------------------------------------------------------------


class HistoryError(ValueError):
    """The peer's answer is not the shape the contract promises (the field is named)."""


def _date(value: Any, name: str) -> dt.date | None:
    if value in (None, ""):
        return None
    try:
        return dt.date.fromisoformat(str(value))
    except ValueError as exc:
        raise HistoryError(f"{name}: not a date: {value!r}") from exc


def _period(value: Any, name: str) -> str:
    text = str(value)
    try:
        dt.date.fromisoformat(text + "-01")
    except ValueError as exc:
        raise HistoryError(f"{name}: not a month YYYY-MM: {value!r}") from exc
    if len(text) != 7:
        raise HistoryError(f"{name}: not a month YYYY-MM: {value!r}")
    return text


def parse_history(data: Mapping[str, Any]) -> History:
    """The ``bhtnHistory`` answer as a :class:`History` (raises :class:`HistoryError`)."""
    if not isinstance(data, Mapping) or "months" not in data:
        raise HistoryError("months: missing")
    months = []
    for i, m in enumerate(data.get("months") or []):
        salary = m.get("bhtn_salary")
        if not isinstance(salary, int) or isinstance(salary, bool) or salary < 0:
            raise HistoryError(f"months[{i}].bhtn_salary: not a whole amount: {salary!r}")
        months.append(
            Month(
                period=_period(m.get("period"), f"months[{i}].period"),
                salary=salary,
                employer_code=str(m.get("employer_code", "")),
                wage_region=int(m.get("wage_region") or 1),
                pay_scale=str(m.get("pay_scale") or "employer"),
            )
        )
    spells = []
    for i, s in enumerate(data.get("spells") or []):
        start = _date(s.get("start"), f"spells[{i}].start")
        if start is None:
            raise HistoryError(f"spells[{i}].start: missing")
        spells.append(
            Spell(
                employer_code=str(s.get("employer_code", "")),
                contract_type=str(s.get("contract_type", "")),
                start=start,
                end=_date(s.get("end"), f"spells[{i}].end"),
                termination_reason=str(s.get("termination_reason") or ""),
                employer_name=str(s.get("employer_name", "")),
            )
        )
    return History(
        personal_id=str(data.get("personal_id", "")),
        months=tuple(sorted(months, key=lambda m: (m.period, m.employer_code))),
        spells=tuple(sorted(spells, key=lambda s: s.start)),
        deceased_on=_date(data.get("deceased_on"), "deceased_on"),
        as_of=_date(data.get("as_of"), "as_of"),
        gaps=tuple(tuple(g) for g in data.get("gaps") or ()),  # type: ignore[misc]
        overlaps=tuple(str(p) for p in data.get("overlaps") or ()),
    )


def parse_awards(data: Mapping[str, Any] | None) -> tuple[PriorAward, ...]:
    """The ``benefitHistory`` answer as earlier awards, oldest first."""
    out = []
    for i, a in enumerate((data or {}).get("awards") or []):
        start = _date(a.get("start"), f"awards[{i}].start")
        end = _date(a.get("end"), f"awards[{i}].end")
        if start is None or end is None:
            raise HistoryError(f"awards[{i}]: start and end are required")
        used = a.get("last_period_used") or ""
        out.append(
            PriorAward(
                decision_no=str(a.get("decision_no", "")),
                status=str(a.get("status", "")),
                start=start,
                end=end,
                months=int(a.get("months") or 0),
                reserved_months=int(a.get("reserved_months") or 0),
                last_period_used=_period(used, f"awards[{i}].last_period_used") if used else "",
                province_code=str(a.get("province_code", "")),
                centre=str(a.get("centre", "")),
            )
        )
    return tuple(sorted(out, key=lambda a: a.start))


# --- helpers -----------------------------------------------------------------------------------


def period_of(day: dt.date) -> str:
    return f"{day.year:04d}-{day.month:02d}"


def shift_period(period: str, months: int) -> str:
    y, m = int(period[:4]), int(period[5:7])
    n = y * 12 + (m - 1) + months
    return f"{n // 12:04d}-{n % 12 + 1:02d}"


def add_months(day: dt.date, months: int) -> dt.date:
    """Same day number ``months`` later, clamped to the month's end (31/1 + 1 → 28/2)."""
    n = day.year * 12 + (day.month - 1) + months
    y, m = n // 12, n % 12 + 1
    return dt.date(y, m, min(day.day, calendar.monthrange(y, m)[1]))


def normalise_reason(code: str, known: Iterable[str]) -> str:
    """A registry termination code as one of ours (unknown → ``other``)."""
    c = (code or "").strip().lower()
    c = REASON_ALIASES.get(c, c)
    return c if c in set(known) else "other"


def round_vnd(value: Decimal) -> int:
    return int(value.quantize(Decimal(1), rounding=ROUND_HALF_UP))


def duration_for(months: int, rules: LawRules) -> int:
    """3 months for 12–36 months contributed, +1 per further full 12 months, at most 12."""
    if months < rules.min_months:
        return 0
    extra = max(0, months - rules.duration_base_contribution) // rules.duration_step
    return min(rules.duration_max, rules.duration_base + extra)


def months_used_by(duration: int, rules: LawRules) -> int:
    """Contribution months a duration consumes (36 for 3 months, +12 per further month)."""
    if duration <= 0:
        return 0
    return rules.duration_base_contribution + (duration - rules.duration_base) * rules.duration_step


def _reason(code: str, field_name: str, vi: str, en: str, source: str) -> Reason:
    return Reason(code, field_name, vi, en, source)


def _default_add_working_days(day: dt.date, n: int) -> dt.date:
    from ansinh.law.calendar import add_working_days

    return add_working_days(day, n)


def _default_is_working_day(day: dt.date) -> bool:
    from ansinh.law.calendar import is_working_day

    return is_working_day(day)


def start_date(
    filed_on: dt.date,
    rules: LawRules,
    *,
    add_working_days: Callable[[dt.date, int], dt.date],
    is_working_day: Callable[[dt.date], bool],
) -> dt.date:
    """Law 38: the 16th day counted from the filing day (day 1). Law 74: the 11th working day
    counted from the filing day (day 1 when it is a working day)."""
    if rules.start_working_day:
        n = rules.start_working_day - (1 if is_working_day(filed_on) else 0)
        return add_working_days(filed_on, n)
    return filed_on + dt.timedelta(days=(rules.start_day or 16) - 1)


# --- the calculation ---------------------------------------------------------------------------


def compute(
    history: History,
    facts: ClaimFacts,
    rules: LawRules,
    *,
    awards: Iterable[PriorAward] = (),
    add_working_days: Callable[[dt.date, int], dt.date] = _default_add_working_days,
    is_working_day: Callable[[dt.date], bool] = _default_is_working_day,
) -> Entitlement:
    """Eligibility and amount of one claim, under the law in force on the termination date."""
    reasons: list[Reason] = []
    sources: dict[str, str] = {}
    term = facts.termination_date
    term_period = period_of(term)

    # Termination reason (Law 38 Art. 49 cl. 1; Law 74 Art. 38 cl. 1 a).
    code = normalise_reason(facts.termination_reason, rules.terminations)
    rule = rules.terminations.get(code)
    if rule is not None:
        sources["termination_reason"] = rule.legal_source
        if rule.effect == "disqualifies":
            reasons.append(
                _reason(
                    "termination_disqualifies",
                    "termination_reason",
                    f"Lý do chấm dứt hợp đồng không được hưởng: {rule.label_vi}.",
                    f"This termination does not give a right to benefit: {rule.label_en}.",
                    rule.legal_source,
                )
            )
        elif rule.effect == "verify":
            reasons.append(
                _reason(
                    "termination_reason_unverified",
                    "termination_reason",
                    "Lý do chấm dứt hợp đồng chưa được xác minh.",
                    "The termination reason must be verified by the officer.",
                    rule.legal_source,
                )
            )

    # Contract type of the terminated spell decides the window.
    contract = facts.contract_type
    ended = [s for s in history.spells if s.end is not None and s.end <= term]
    if not contract and ended:
        contract = max(ended, key=lambda s: s.end or term).contract_type
    short = contract in SHORT_CONTRACTS
    window = rules.window_months_short if short else rules.window_months
    window_key = "bhtn_window_months_short" if short else "bhtn_window_months"
    sources["window"] = rules.cite(window_key)

    # Months consumed by earlier awards; reserved months carried from the latest one.
    prior = [a for a in awards if a.status != "cancelled"]
    used_until = max((a.last_period_used for a in prior if a.last_period_used), default="")
    reserved_in = prior[-1].reserved_months if prior else 0
    if prior:
        sources["reserved"] = rules.cite("bhtn_reserve_beyond_max")
    for a in prior:
        if a.status in ACTIVE_AWARD and a.end >= facts.filed_on:
            reasons.append(
                _reason(
                    "overlapping_award",
                    "personal_id",
                    f"Người lao động đang hưởng trợ cấp theo quyết định {a.decision_no}.",
                    f"The worker is already on benefit under decision {a.decision_no}.",
                    rules.cite("bhtn_min_contribution_months"),
                )
            )

    # One entry per month (overlaps netted: the highest salary of the month).
    by_period: dict[str, Month] = {}
    for m in history.months:
        if m.period > term_period or m.salary <= 0:
            continue
        held = by_period.get(m.period)
        if held is None or m.salary > held.salary:
            by_period[m.period] = m
    fresh = sorted(p for p in by_period if not used_until or p > used_until)
    first_in_window = shift_period(term_period, -(window - 1))
    in_window = [p for p in fresh if p >= first_in_window]
    sources["min_months"] = rules.cite("bhtn_min_contribution_months")
    if not by_period:
        reasons.append(
            _reason(
                "no_contributions",
                "personal_id",
                "Không có tháng đóng bảo hiểm thất nghiệp nào trước khi nghỉ việc.",
                "No unemployment insurance contribution before the termination.",
                rules.cite("bhtn_min_contribution_months"),
            )
        )
    elif len(in_window) < rules.min_months:
        reasons.append(
            _reason(
                "insufficient_contributions",
                "months",
                f"Chỉ có {len(in_window)} tháng đóng BHTN trong {window} tháng trước khi chấm "
                f"dứt hợp đồng (cần {rules.min_months}).",
                f"Only {len(in_window)} months of contributions in the {window} months before "
                f"termination ({rules.min_months} needed).",
                rules.cite(window_key),
            )
        )
    months_counted = len(fresh) + reserved_in

    # Filing within 3 months (Law 38 Art. 46 cl. 1).
    deadline = add_months(term, rules.filing_limit_months)
    sources["filing"] = rules.cite("bhtn_filing_limit_months")
    if facts.filed_on > deadline:
        reasons.append(
            _reason(
                "filed_too_late",
                "filed_on",
                f"Hồ sơ nộp sau thời hạn {rules.filing_limit_months} tháng kể từ ngày chấm dứt "
                f"hợp đồng (hạn {deadline:%d/%m/%Y}).",
                f"Filed after the {rules.filing_limit_months}-month limit (deadline "
                f"{deadline.isoformat()}).",
                rules.cite("bhtn_filing_limit_months"),
            )
        )
    if facts.filed_on < term:
        reasons.append(
            _reason(
                "filed_before_termination",
                "filed_on",
                "Ngày nộp hồ sơ trước ngày chấm dứt hợp đồng.",
                "The claim is dated before the termination.",
                rules.cite("bhtn_filing_limit_months"),
            )
        )
    if history.deceased_on is not None:
        reasons.append(
            _reason(
                "person_deceased",
                "personal_id",
                "Người lao động đã chết.",
                "The worker has died.",
                rules.terminations["death"].legal_source if "death" in rules.terminations else "",
            )
        )
    still = [s for s in history.spells if s.end is None or term < s.start <= facts.filed_on]
    if still:
        reasons.append(
            _reason(
                "still_employed",
                "personal_id",
                "Người lao động đang có quan hệ lao động đóng bảo hiểm.",
                "The worker has an insured job at the time of the claim.",
                sources["termination_reason"] if "termination_reason" in sources else "",
            )
        )

    # Average of the last N contribution months (Law 38 Art. 50 cl. 1).
    last = [(p, by_period[p].salary) for p in sorted(by_period)[-rules.average_months :]]
    n = rules.average_months
    total = sum(s for _, s in last)
    exact_avg = Decimal(total) / Decimal(n) if last else Decimal(0)
    average = round_vnd(exact_avg)
    raw_amount = round_vnd(exact_avg * rules.rate)
    sources["rate"] = rules.cite("bhtn_benefit_rate")
    sources["average"] = rules.cite("bhtn_average_months")

    # Cap on the pay scale of the last contribution month.
    pay_scale = by_period[sorted(by_period)[-1]].pay_scale if by_period else "employer"
    if pay_scale == "state" and rules.cap_state_base_salary:
        cap, basis = rules.cap_multiplier * facts.base_salary, "base_salary"
    else:
        cap, basis = rules.cap_multiplier * facts.regional_min_wage, "regional_min_wage"
    sources["cap"] = rules.cite("bhtn_cap_multiplier")
    capped = raw_amount > cap
    amount = min(raw_amount, cap)

    # Duration and reserved months (Art. 50 cl. 2; Art. 45).
    duration = duration_for(months_counted, rules)
    used = months_used_by(duration, rules)
    reserved_out = max(0, months_counted - used)
    if duration >= rules.duration_max and not rules.reserve_beyond_max:
        reserved_out = 0
    sources["duration"] = rules.cite("bhtn_duration_max_months")

    decision_due = add_working_days(facts.filed_on, rules.decision_working_days)
    sources["decision_due"] = rules.cite("bhtn_decision_working_days")
    eligible = not reasons
    start = end = None
    if eligible:
        start = start_date(
            facts.filed_on, rules, add_working_days=add_working_days, is_working_day=is_working_day
        )
        end = add_months(start, duration) - dt.timedelta(days=1)
        sources["start"] = rules.cite(
            "bhtn_start_working_day" if rules.start_working_day else "bhtn_start_day"
        )
    return Entitlement(
        eligible=eligible,
        reasons=tuple(reasons),
        law=rules.law,
        termination_reason=code,
        contract_type=contract,
        window_months=window,
        months_in_window=len(in_window),
        months_fresh=len(fresh),
        reserved_in=reserved_in,
        months_counted=months_counted,
        average_periods=tuple(last),
        average_salary=average,
        pay_scale=pay_scale,
        cap=cap,
        cap_basis=basis,
        capped=capped,
        monthly_amount=amount if eligible else 0,
        duration_months=duration if eligible else 0,
        contribution_months_used=used if eligible else 0,
        reserved_out=reserved_out if eligible else months_counted,
        last_period_used=(fresh[-1] if fresh else used_until) if eligible else used_until,
        filing_deadline=deadline,
        start=start,
        end=end,
        decision_due=decision_due,
        sources={k: v for k, v in sources.items() if v},
    )
