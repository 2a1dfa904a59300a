"""One-stop statistics (thống kê, báo cáo tình hình giải quyết hồ sơ): the numbers behind the
dashboards of the nation, a province, an office and an officer, and the progress and
satisfaction indicators of the national service-quality index (Bộ chỉ số phục vụ người dân,
doanh nghiệp, Decision 766/QĐ-TTg of 2022).

Every figure is counted in the database with a few GROUP BY queries per level; no dossier is
loaded into Python to be counted. The exact definitions, with examples, are in
``docs/onestop-indicators.md``; in short, for a period ``[start, end]`` of local dates:

* a dossier is attributed to where it is **now** (its current province, office and assignee),
  for every column, so each dossier sits in exactly one row of each level and the levels add up;
* the period runs from local midnight of ``start`` to local midnight after ``end`` — or to the
  moment of the report when that comes first (the *cut*): a period not yet over is counted to
  date, and "at the end of the period" then means "now";
* received / resolved / withdrawn / due / rated / apologies are events dated inside the period;
  in progress and overdue are a picture taken at the cut.

Public entry points: :func:`dashboard`, :func:`indicators`, :func:`user_scope` and
:func:`authorize_target` (who may see which level).
"""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field, fields
from decimal import ROUND_HALF_UP, Decimal
from enum import StrEnum
from fractions import Fraction
from typing import Any

from django.db.models import (
    BigIntegerField,
    Case,
    CharField,
    Count,
    F,
    IntegerField,
    Min,
    OuterRef,
    Q,
    QuerySet,
    Subquery,
    Sum,
    Value,
    When,
)
from django.db.models.functions import Coalesce
from django.db.models.lookups import Exact
from django.utils import timezone
from django.utils.translation import gettext as _

from ansinh.access.models import Organisation, OrganisationKind, User
from ansinh.core.errors import DomainError, Forbidden, NotFound
from ansinh.law.deadlines import OfficeHours
from ansinh.onestop.models import (
    ONLINE_CHANNELS,
    OPEN_STATES,
    Action,
    ApologySlip,
    Dossier,
    DossierState,
    DossierTransition,
    Office,
    Outcome,
    Procedure,
    ProcedureVersion,
    Satisfaction,
    SatisfactionRating,
)
from ansinh.places.models import AdminUnit, UnitLevel, UnitSystem

#: ``assignee_id`` value that selects the dossiers nobody holds (the "unassigned" row).
UNASSIGNED = 0
#: How many slowest steps a dashboard lists.
SLOWEST_STEPS = 10
_ONE_DAY = dt.timedelta(days=1)
_SECONDS_PER_DAY = 86_400


class Level(StrEnum):
    """The drill-down levels: each shows its totals and one row per child of the next level."""

    NATION = "nation"
    PROVINCE = "province"
    OFFICE = "office"
    OFFICER = "officer"


# --- the period --------------------------------------------------------------------------------


def _midnight(day: dt.date) -> dt.datetime:
    return timezone.make_aware(dt.datetime.combine(day, dt.time(0, 0)))


@dataclass(frozen=True)
class Period:
    """Kỳ báo cáo: whole local days from ``start`` to ``end`` inclusive."""

    start: dt.date
    end: dt.date

    def __post_init__(self) -> None:
        if self.end < self.start:
            raise DomainError(
                "period_order",
                "end",
                "Ngày kết thúc kỳ báo cáo phải sau hoặc trùng ngày bắt đầu.",
                "The end of the period must not be before its start.",
            )

    @classmethod
    def month(cls, year: int, month: int) -> Period:
        first = dt.date(year, month, 1)
        return cls(first, _add_months(first, 1) - _ONE_DAY)

    @classmethod
    def year(cls, year: int) -> Period:
        return cls(dt.date(year, 1, 1), dt.date(year, 12, 31))

    @property
    def start_at(self) -> dt.datetime:
        return _midnight(self.start)

    @property
    def end_at(self) -> dt.datetime:
        """Local midnight after the last day (the period is ``[start_at, end_at)``)."""
        return _midnight(self.end + _ONE_DAY)

    @property
    def is_month(self) -> bool:
        return self.start.day == 1 and self.end == _add_months(self.start, 1) - _ONE_DAY

    @property
    def is_year(self) -> bool:
        return (self.start.month, self.start.day, self.end.month, self.end.day) == (1, 1, 12, 31)


def _add_months(day: dt.date, n: int) -> dt.date:
    """The first day of the month ``n`` months after ``day``'s month."""
    index = day.year * 12 + day.month - 1 + n
    return dt.date(index // 12, index % 12 + 1, 1)


def _cut(period: Period, now: dt.datetime) -> dt.datetime:
    if period.start_at > now:
        raise DomainError(
            "period_in_future",
            "start",
            "Kỳ báo cáo chưa bắt đầu.",
            "The period has not started yet.",
        )
    return min(period.end_at, now)


# --- the numbers of one row --------------------------------------------------------------------


@dataclass
class Counts:
    """The count columns of one row. Every field adds up across levels, including
    ``processing_days`` (the sum, as an exact fraction, of the working days each resolved
    dossier took), so a parent row is exactly the sum of its children."""

    received: int = 0
    received_online: int = 0
    resolved: int = 0
    early: int = 0
    on_time: int = 0
    late: int = 0
    withdrawn: int = 0
    in_progress: int = 0
    overdue: int = 0
    due: int = 0
    rated: int = 0
    satisfied: int = 0
    apologies: int = 0
    processing_days: Fraction = field(default_factory=Fraction)

    def __add__(self, other: Counts) -> Counts:
        return Counts(
            **{f.name: getattr(self, f.name) + getattr(other, f.name) for f in fields(self)}
        )

    def add(self, **values: Any) -> None:
        for name, value in values.items():
            setattr(self, name, getattr(self, name) + (value or 0))

    # The rates, as exact fractions (None when the denominator is 0).
    @property
    def on_time_rate(self) -> Fraction | None:
        """Tỷ lệ giải quyết trước hạn và đúng hạn = (early + on time) ÷ resolved."""
        return _ratio(self.early + self.on_time, self.resolved)

    @property
    def late_rate(self) -> Fraction | None:
        """Tỷ lệ trễ hạn = (late resolved + overdue still open) ÷ due in the period."""
        return _ratio(self.late + self.overdue, self.due)

    @property
    def online_share(self) -> Fraction | None:
        """Tỷ lệ hồ sơ trực tuyến = received online or through the gateway ÷ received."""
        return _ratio(self.received_online, self.received)

    @property
    def satisfaction_rate(self) -> Fraction | None:
        """Tỷ lệ hài lòng = (very satisfied + satisfied) ÷ ratings given in the period."""
        return _ratio(self.satisfied, self.rated)

    @property
    def average_days(self) -> Fraction | None:
        """Average working days from the counting start to the result, pauses excluded."""
        return self.processing_days / self.resolved if self.resolved else None


#: The integer columns, in display order (exports and the add-up test use this list).
COUNT_COLUMNS = tuple(f.name for f in fields(Counts) if f.name != "processing_days")


def _ratio(numerator: int | Fraction, denominator: int) -> Fraction | None:
    return Fraction(numerator) / denominator if denominator else None


def percent(value: Fraction | None, places: int = 1) -> Decimal | None:
    """A rate for display: Fraction(2, 3) → Decimal('66.7') (per cent, half-up)."""
    if value is None:
        return None
    return _round(value * 100, places)


def days(value: Fraction | None, places: int = 1) -> Decimal | None:
    """Working days for display, half-up."""
    if value is None:
        return None
    return _round(value, places)


def _round(value: Fraction, places: int) -> Decimal:
    exact = Decimal(value.numerator) / Decimal(value.denominator)
    return exact.quantize(Decimal(1).scaleb(-places), rounding=ROUND_HALF_UP)


# --- result types ------------------------------------------------------------------------------


@dataclass(frozen=True)
class DossierLine:
    """What the officer level lists about a dossier: codes, dates and states, no applicant."""

    code: str
    procedure_code: str
    channel: str
    state: str
    received_at: dt.datetime
    due_at: dt.datetime
    resolved_at: dt.datetime | None
    outcome: str
    closed_at: dt.datetime | None


@dataclass
class Row:
    """One child of the level: a province, an office, an officer (or "unassigned"), or a
    dossier. ``params`` are the query parameters of its drill-down link (empty for a dossier)."""

    key: str
    label: str
    params: dict[str, str]
    counts: Counts
    code: str = ""  # province code or agency code, shown next to the label
    dossier: DossierLine | None = None


@dataclass(frozen=True)
class Indicator:
    """One indicator of Decision 766/QĐ-TTg: its value is ``numerator ÷ denominator`` (a count
    when ``denominator`` is None)."""

    key: str
    numerator: int | Fraction
    denominator: int | None
    value: Fraction | None


@dataclass
class ProcedureRow:
    procedure_id: int
    code: str
    name_vi: str
    name_en: str
    deadline: str
    counts: Counts


@dataclass(frozen=True)
class StepRow:
    """Time dossiers spent in one step (a state, in a department) before moving on."""

    state: str
    department_code: str
    department_name: str
    dossiers: int
    seconds: float

    @property
    def average_days(self) -> Fraction:
        """Average elapsed (calendar) days per dossier that went through the step."""
        return Fraction(self.seconds).limit_denominator(10**6) / _SECONDS_PER_DAY / self.dossiers


@dataclass(frozen=True)
class TrendPoint:
    """One month of the trend and the same month a year before."""

    month: dt.date
    resolved: int
    on_time: int
    previous_resolved: int
    previous_on_time: int

    @property
    def rate(self) -> Fraction | None:
        return _ratio(self.on_time, self.resolved)

    @property
    def previous_rate(self) -> Fraction | None:
        return _ratio(self.previous_on_time, self.previous_resolved)


@dataclass(frozen=True)
class Crumb:
    level: Level
    label: str
    params: dict[str, str]


@dataclass
class Dashboard:
    level: Level
    period: Period
    cut: dt.datetime
    generated_at: dt.datetime
    province_code: str | None
    office_id: int | None
    assignee_id: int | None
    trail: list[Crumb]
    totals: Counts
    rows: list[Row]
    indicators: list[Indicator]
    procedures: list[ProcedureRow]
    slowest_steps: list[StepRow]
    trend: list[TrendPoint]

    @property
    def child_level(self) -> str:
        return {
            Level.NATION: "province",
            Level.PROVINCE: "office",
            Level.OFFICE: "officer",
            Level.OFFICER: "dossier",
        }[self.level]

    @property
    def scope_label(self) -> str:
        return " › ".join(c.label for c in self.trail)

    @property
    def is_to_date(self) -> bool:
        """The period is not over: figures are counted up to the moment of the report."""
        return self.cut < self.period.end_at


# --- the target of a report --------------------------------------------------------------------


@dataclass(frozen=True)
class Target:
    """What is reported on: the filter on dossiers (current holder) and the grouping of rows."""

    level: Level
    province_code: str | None = None
    office_id: int | None = None
    assignee_id: int | None = None

    def lookups(self, prefix: str = "") -> dict[str, Any]:
        found: dict[str, Any] = {}
        if self.province_code is not None:
            found["province_code"] = self.province_code
        if self.office_id is not None:
            found["office_id"] = self.office_id
        if self.assignee_id == UNASSIGNED:
            found["assignee__isnull"] = True
        elif self.assignee_id is not None:
            found["assignee_id"] = self.assignee_id
        return {prefix + k: v for k, v in found.items()}

    @property
    def group(self) -> str:
        """The dossier field that splits this level into its rows."""
        return {
            Level.NATION: "province_code",
            Level.PROVINCE: "office_id",
            Level.OFFICE: "assignee_id",
            Level.OFFICER: "id",
        }[self.level]


def _target(province_code: str | None, office_id: int | None, assignee_id: int | None) -> Target:
    if assignee_id is not None:
        if assignee_id == UNASSIGNED and office_id is None:
            raise DomainError(
                "office_required",
                "office",
                "Chọn đơn vị để xem các hồ sơ chưa giao cho cán bộ.",
                "Choose an office to see its unassigned dossiers.",
            )
        return Target(Level.OFFICER, province_code, office_id, assignee_id)
    if office_id is not None:
        return Target(Level.OFFICE, province_code, office_id)
    if province_code is not None:
        return Target(Level.PROVINCE, province_code)
    return Target(Level.NATION)


# --- the flows: one GROUP BY query per measure -------------------------------------------------


def _grouped(qs: QuerySet, group: str | None, *extra: str, **aggregates: Any) -> list[dict]:
    """``qs`` aggregated per value of ``group`` (and ``extra`` fields); one row when None.

    The group key is wrapped in COALESCE on purpose: grouping on a bare indexed column tempts
    SQLite to walk that whole index to avoid a sort (e.g. all of ``(province_code,
    resolved_at)`` to count a few thousand withdrawn dossiers), instead of using the index that
    matches the WHERE clause. Sorting the few matching rows is far cheaper."""
    if group is None:
        if not extra:
            return [{"_key": None, **qs.order_by().aggregate(**aggregates)}]
        rows = qs.order_by().values(*extra).annotate(**aggregates)
        return [{"_key": None, **r} for r in rows]
    text = group.endswith("province_code")
    key = Coalesce(
        F(group),
        Value("" if text else 0),
        output_field=CharField() if text else BigIntegerField(),
    )
    rows = qs.order_by().values(*extra, _key=key).annotate(**aggregates)
    return [{**r, "_key": r["_key"] or None} for r in rows]


def _paused_at(cut: dt.datetime) -> Exact:
    """True when the dossier was waiting for a supplement at ``cut``, read from its path (the
    only record of past pauses): requests and receipts of supplements strictly alternate, so
    the dossier was paused when the requests before the cut outnumber the receipts. With an
    index on (dossier, action, at) each probe is a short index-only range."""
    balance = (
        DossierTransition.objects.filter(
            dossier=OuterRef("pk"),
            at__lt=cut,
            action__in=[Action.REQUEST_SUPPLEMENT, Action.SUPPLEMENT_RECEIVED],
        )
        .order_by()
        .values("dossier")
        .annotate(
            balance=Sum(
                Case(When(action=Action.REQUEST_SUPPLEMENT, then=Value(1)), default=Value(-1))
            )
        )
        .values("balance")
    )
    return Exact(Coalesce(Subquery(balance), Value(0)), Value(1))


#: Dossiers that may have been paused at some time: paused now, or with paused office time.
#: Only these are looked up in the path (a pause without any office time in it is not seen;
#: see docs/onestop-indicators.md).
_EVER_PAUSED = Q(paused_at__isnull=False) | Q(paused_minutes__gt=0)


@dataclass
class _Flows:
    by_key: dict[Any, Counts]
    by_procedure: dict[int, Counts]


def _flows(
    target: Target,
    start: dt.datetime,
    cut: dt.datetime,
    now: dt.datetime,
    group: str | None,
    *,
    procedures: bool = True,
) -> _Flows:
    """All count columns of ``target``'s dossiers per ``group`` value (current holder)."""
    scope = Dossier.objects.filter(**target.lookups())
    by_key: dict[Any, Counts] = defaultdict(Counts)
    by_proc: dict[int, Counts] = defaultdict(Counts)
    proc_extra = ("procedure_id",) if procedures else ()

    # Received in the period (tiếp nhận mới), of which online (trực tuyến + cổng giao dịch).
    received = scope.filter(received_at__gte=start, received_at__lt=cut)
    for r in _grouped(
        received,
        group,
        *proc_extra,
        n=Count("*"),
        online=Count("pk", filter=Q(channel__in=ONLINE_CHANNELS)),
    ):
        by_key[r["_key"]].add(received=r["n"], received_online=r["online"])
        if procedures:
            by_proc[r["procedure_id"]].add(received=r["n"], received_online=r["online"])

    # Resolved in the period (đã giải quyết), by timeliness, with the working time spent. The
    # office hours of the resolving office (the current one: a resolved dossier cannot move)
    # turn office minutes into working days.
    resolved = scope.filter(resolved_at__gte=start, resolved_at__lt=cut)
    for r in _grouped(
        resolved,
        group,
        *proc_extra,
        "office__opens",
        "office__closes",
        n=Count("*"),
        early=Count("pk", filter=Q(outcome=Outcome.EARLY)),
        on_time=Count("pk", filter=Q(outcome=Outcome.ON_TIME)),
        late=Count("pk", filter=Q(outcome=Outcome.LATE)),
        minutes=Sum("processing_minutes", default=0),
    ):
        per_day = OfficeHours(r["office__opens"], r["office__closes"]).minutes_per_day
        values = {
            "resolved": r["n"],
            "early": r["early"],
            "on_time": r["on_time"],
            "late": r["late"],
            "processing_days": Fraction(r["minutes"] or 0, per_day),
        }
        by_key[r["_key"]].add(**values)
        if procedures:
            by_proc[r["procedure_id"]].add(**values)

    # Withdrawn in the period (rút hồ sơ): closed without a result.
    withdrawn = scope.filter(state=DossierState.WITHDRAWN, closed_at__gte=start, closed_at__lt=cut)
    for r in _grouped(withdrawn, group, n=Count("*")):
        by_key[r["_key"]].add(withdrawn=r["n"])

    # Due in the period (đến hạn): the due time (as extended by supplement pauses) falls in it;
    # a dossier withdrawn before its due time owed nothing. ``state IN (all)`` lets the
    # (state, due_at) index serve the range.
    due = scope.filter(state__in=DossierState.values, due_at__gte=start, due_at__lt=cut).exclude(
        state=DossierState.WITHDRAWN, closed_at__lt=F("due_at")
    )
    for r in _grouped(due, group, n=Count("*")):
        by_key[r["_key"]].add(due=r["n"])

    # In progress at the cut (đang giải quyết), of which overdue (quá hạn). Three disjoint
    # sets, each read through its own index: open now; resolved after the cut; withdrawn after
    # the cut. "Received before the cut" is tested in the counts, not in WHERE, so that the
    # planner cannot prefer the received_at index (it would walk every older dossier).
    received_before = Q(received_at__lt=cut)
    if cut >= now:
        parts = [
            (
                scope.filter(state__in=OPEN_STATES),
                received_before & Q(due_at__lt=cut) & ~Q(state=DossierState.SUPPLEMENT),
            )
        ]
    else:
        due_before = received_before & Q(due_at__lt=cut)
        overdue = due_before & ~(_EVER_PAUSED & Q(_paused_at(cut)))
        parts = [
            (scope.filter(state__in=OPEN_STATES), overdue),
            # Both bounds in WHERE: an index on (resolved_at, received_at) answers it alone.
            (scope.filter(resolved_at__gte=cut, received_at__lt=cut), overdue),
            # A withdrawal keeps no trace of a pause in progress: always read the path.
            (
                scope.filter(state=DossierState.WITHDRAWN, closed_at__gte=cut),
                due_before & ~Q(_paused_at(cut)),
            ),
        ]
    for qs, late in parts:
        for r in _grouped(
            qs, group, n=Count("pk", filter=received_before), overdue=Count("pk", filter=late)
        ):
            by_key[r["_key"]].add(in_progress=r["n"], overdue=r["overdue"])

    # Satisfaction ratings given in the period (đánh giá mức độ hài lòng).
    rel_group = f"dossier__{group}" if group else None
    ratings = SatisfactionRating.objects.filter(
        **target.lookups("dossier__"), rated_at__gte=start, rated_at__lt=cut
    )
    for r in _grouped(
        ratings,
        rel_group,
        n=Count("*"),
        satisfied=Count(
            "id", filter=Q(level__in=[Satisfaction.VERY_SATISFIED, Satisfaction.SATISFIED])
        ),
    ):
        by_key[r["_key"]].add(rated=r["n"], satisfied=r["satisfied"])

    # Apology slips issued in the period (phiếu xin lỗi và hẹn lại).
    slips = ApologySlip.objects.filter(
        **target.lookups("dossier__"), issued_at__gte=start, issued_at__lt=cut
    )
    for r in _grouped(slips, rel_group, n=Count("*")):
        by_key[r["_key"]].add(apologies=r["n"])

    # A dossier read only to find it was not in progress at the cut leaves an empty row.
    empty = Counts()
    return _Flows(
        {k: c for k, c in by_key.items() if c != empty},
        {k: c for k, c in by_proc.items() if c != empty},
    )


# --- slowest steps -----------------------------------------------------------------------------


def _slowest_steps(target: Target, start: dt.datetime, cut: dt.datetime) -> list[StepRow]:
    """For the dossiers resolved in the period: the time between each step of the path and the
    next, summed per (state the dossier was in, department code) and averaged over the
    dossiers that went through it. Elapsed calendar time, nights and rest days included: a
    ranking of where dossiers wait, not a deadline measure.

    Each path row carries the time since the previous step (``since_previous``, written with
    the row) and the state and department it left (``from_state``, ``from_department``), so
    this is one GROUP BY over the path rows of those dossiers, read from the path index
    ``dossier_path_steps`` alone; no window function over the paths."""
    resolved = (
        Dossier.objects.filter(**target.lookups(), resolved_at__gte=start, resolved_at__lt=cut)
        .order_by()
        .values("pk")
    )
    rows = (
        DossierTransition.objects.filter(
            dossier_id__in=Subquery(resolved),
            since_previous__isnull=False,
            from_state__in=OPEN_STATES,
        )
        .order_by()
        .values("from_state", code=Coalesce(F("from_department__code"), Value("")))
        .annotate(
            name=Min("from_department__name"),
            dossiers=Count("dossier_id", distinct=True),
            elapsed=Sum("since_previous"),
        )
    )
    steps = [
        StepRow(
            r["from_state"],
            r["code"],
            r["name"] or "",
            r["dossiers"],
            r["elapsed"].total_seconds() if r["elapsed"] is not None else 0.0,
        )
        for r in rows
        if r["dossiers"]
    ]
    steps.sort(key=lambda s: (-s.average_days, s.state, s.department_code))
    return steps[:SLOWEST_STEPS]


# --- trend -------------------------------------------------------------------------------------


def _trend(target: Target, cut: dt.datetime, now: dt.datetime) -> list[TrendPoint]:
    """The twelve months ending with the month of the cut, each with the same month of the year
    before: resolved and resolved early or on time. One range count per month keeps each on
    the resolved_at index (grouping the 24 months by a CASE on resolved_at was measured 4×
    slower on SQLite, which sorts every row of the two years to group them); the counts go to
    the database as one UNION ALL, a single round trip."""
    last = timezone.localtime(cut - dt.timedelta(microseconds=1)).date().replace(day=1)
    first = _add_months(last, -23)
    scope = Dossier.objects.filter(**target.lookups()).order_by()
    good = Q(outcome__in=[Outcome.EARLY, Outcome.ON_TIME])
    months = []
    for i in range(24):
        lo = _midnight(_add_months(first, i))
        hi = min(_midnight(_add_months(first, i + 1)), now)
        if hi > lo:
            months.append(
                scope.filter(resolved_at__gte=lo, resolved_at__lt=hi)
                .annotate(month=Value(i, output_field=IntegerField()))
                .values("month")  # a constant: no GROUP BY, one row per month
                .annotate(n=Count("*"), good=Count("outcome", filter=good))
            )
    counts: dict[int, tuple[int, int]] = {}
    if months:
        union = months[0].union(*months[1:], all=True) if len(months) > 1 else months[0]
        counts = {r["month"]: (r["n"], r["good"]) for r in union}
    points = []
    for i in range(12, 24):
        n, good_n = counts.get(i, (0, 0))
        prev_n, prev_good = counts.get(i - 12, (0, 0))
        points.append(TrendPoint(_add_months(first, i), n, good_n, prev_n, prev_good))
    return points


# --- labels ------------------------------------------------------------------------------------


def province_names(codes: Iterable[str]) -> dict[str, str]:
    """Names of current-system provinces (34 since 1 July 2025) by code."""
    return dict(
        AdminUnit.objects.filter(
            system=UnitSystem.CURRENT, level=UnitLevel.PROVINCE, code__in=list(codes)
        ).values_list("code", "name")
    )


def _office_label(office: Office) -> str:
    return office.organisation.name


def _user_label(user: User) -> str:
    return user.get_full_name() or user.get_username()


def _get_office(office_id: int) -> Office:
    office = Office.objects.select_related("organisation").filter(pk=office_id).first()
    if office is None:
        raise NotFound("unknown_office", "office", "Không có đơn vị này.", "No such office.")
    return office


def _trail(target: Target) -> list[Crumb]:
    """Breadcrumbs from the nation down to the target, with their link parameters."""
    crumbs = [Crumb(Level.NATION, _("Nationwide"), {})]
    province = target.province_code
    office = _get_office(target.office_id) if target.office_id is not None else None
    if office is not None:
        province = office.province_code
    if province is not None:
        name = province_names([province]).get(province, province)
        crumbs.append(Crumb(Level.PROVINCE, name, {"province": province}))
    if office is not None:
        crumbs.append(Crumb(Level.OFFICE, _office_label(office), {"office": str(office.pk)}))
    if target.assignee_id is not None:
        params = {"assignee": str(target.assignee_id)}
        if office is not None:
            params["office"] = str(office.pk)
        if target.assignee_id == UNASSIGNED:
            label = _("Not assigned to an officer")
        else:
            user = User.objects.filter(pk=target.assignee_id).first()
            if user is None:
                raise NotFound(
                    "unknown_officer", "assignee", "Không có cán bộ này.", "No such officer."
                )
            label = _user_label(user)
        crumbs.append(Crumb(Level.OFFICER, label, params))
    return crumbs


def _rows(target: Target, flows: Mapping[Any, Counts]) -> list[Row]:
    """The child rows, labelled; known children without any figure get a row of zeros."""
    if target.level == Level.NATION:
        codes = {k for k in flows if k} | set(
            Office.objects.values_list("province_code", flat=True).distinct()
        )
        names = province_names(codes)
        rows = [
            Row(code, names.get(code, code), {"province": code}, flows.get(code, Counts()), code)
            for code in codes
        ]
        rows.sort(key=lambda r: r.key)
        return rows
    if target.level == Level.PROVINCE:
        offices = {
            o.pk: o
            for o in Office.objects.select_related("organisation").filter(
                Q(province_code=target.province_code) | Q(pk__in=[k for k in flows if k])
            )
        }
        rows = [
            Row(
                str(pk),
                _office_label(o),
                {"office": str(pk)},
                flows.get(pk, Counts()),
                o.agency_code,
            )
            for pk, o in offices.items()
        ]
        rows.sort(key=lambda r: r.code)
        return rows
    if target.level == Level.OFFICE:
        users = {u.pk: u for u in User.objects.filter(pk__in=[k for k in flows if k])}
        office = str(target.office_id)
        rows = [
            Row(str(pk), _user_label(u), {"office": office, "assignee": str(pk)}, flows[pk])
            for pk, u in users.items()
        ]
        rows.sort(key=lambda r: (r.label.casefold(), r.key))
        rows.append(
            Row(
                "unassigned",
                _("Not assigned to an officer"),
                {"office": office, "assignee": str(UNASSIGNED)},
                flows.get(None, Counts()),
            )
        )
        return rows
    lines = (
        Dossier.objects.filter(pk__in=[k for k in flows if k])
        .order_by("received_at", "id")
        .values_list(
            "id",
            "code",
            "procedure__code",
            "channel",
            "state",
            "received_at",
            "due_at",
            "resolved_at",
            "outcome",
            "closed_at",
        )
    )
    return [
        Row(code, code, {}, flows[pk], code, DossierLine(code, *rest)) for pk, code, *rest in lines
    ]


def _procedure_rows(by_procedure: Mapping[int, Counts], day: dt.date) -> list[ProcedureRow]:
    procedures = Procedure.objects.in_bulk(list(by_procedure))
    deadlines = {
        v.procedure_id: str(v.deadline)
        for v in ProcedureVersion.objects.on(day).filter(procedure_id__in=list(by_procedure))
    }
    rows = [
        ProcedureRow(pk, p.code, p.name_vi, p.name_en, deadlines.get(pk, ""), by_procedure[pk])
        for pk, p in procedures.items()
    ]
    rows.sort(key=lambda r: r.code)
    return rows


# --- the public API ----------------------------------------------------------------------------


def indicators_of(counts: Counts) -> list[Indicator]:
    """The progress and satisfaction indicators of Decision 766/QĐ-TTg from a row's counts."""
    return [
        Indicator(
            "on_time_share", counts.early + counts.on_time, counts.resolved, counts.on_time_rate
        ),
        Indicator("average_days", counts.processing_days, counts.resolved, counts.average_days),
        Indicator("late_rate", counts.late + counts.overdue, counts.due, counts.late_rate),
        Indicator("online_share", counts.received_online, counts.received, counts.online_share),
        Indicator("satisfaction", counts.satisfied, counts.rated, counts.satisfaction_rate),
        Indicator("apologies", counts.apologies, None, Fraction(counts.apologies)),
    ]


def _now(now: dt.datetime | None) -> dt.datetime:
    return now if now is not None else timezone.now()


def totals(
    *,
    start: dt.date,
    end: dt.date,
    province_code: str | None = None,
    office_id: int | None = None,
    assignee_id: int | None = None,
    now: dt.datetime | None = None,
) -> Counts:
    """The counts of one scope, without rows (one ungrouped query per measure)."""
    moment = _now(now)
    period = Period(start, end)
    cut = _cut(period, moment)
    target = _target(province_code, office_id, assignee_id)
    flows = _flows(target, period.start_at, cut, moment, None, procedures=False)
    return flows.by_key.get(None, Counts())


def indicators(
    *,
    start: dt.date,
    end: dt.date,
    province_code: str | None = None,
    office_id: int | None = None,
    assignee_id: int | None = None,
    now: dt.datetime | None = None,
) -> list[Indicator]:
    """The Decision 766 indicators of one scope and period."""
    return indicators_of(
        totals(
            start=start,
            end=end,
            province_code=province_code,
            office_id=office_id,
            assignee_id=assignee_id,
            now=now,
        )
    )


def dashboard(
    *,
    start: dt.date,
    end: dt.date,
    province_code: str | None = None,
    office_id: int | None = None,
    assignee_id: int | None = None,
    now: dt.datetime | None = None,
) -> Dashboard:
    """The dashboard of one level: the nation (no argument), a province (``province_code``),
    an office (``office_id``) or an officer (``office_id`` and ``assignee_id``;
    ``assignee_id=UNASSIGNED`` for the dossiers nobody holds). ``totals`` is the sum of
    ``rows``; ``now`` (default: the current time) is where a period not yet over is cut."""
    moment = _now(now)
    period = Period(start, end)
    cut = _cut(period, moment)
    target = _target(province_code, office_id, assignee_id)
    trail = _trail(target)
    flows = _flows(target, period.start_at, cut, moment, target.group)
    rows = _rows(target, flows.by_key)
    total = sum((r.counts for r in rows), Counts())
    return Dashboard(
        level=target.level,
        period=period,
        cut=cut,
        generated_at=moment,
        province_code=province_code,
        office_id=office_id,
        assignee_id=assignee_id,
        trail=trail,
        totals=total,
        rows=rows,
        indicators=indicators_of(total),
        procedures=_procedure_rows(flows.by_procedure, min(period.end, moment.date())),
        slowest_steps=_slowest_steps(target, period.start_at, cut),
        trend=_trend(target, cut, moment),
    )


# --- who may see what --------------------------------------------------------------------------


@dataclass(frozen=True)
class ReportScope:
    """The widest level a user may see: the nation, one province, or one office."""

    nationwide: bool = False
    province_code: str | None = None
    office_id: int | None = None


def _office_of(org: Organisation) -> Office | None:
    """The one-stop desk of the organisation, or of the nearest organisation above it (a
    department modelled as a child organisation reports within its parent's desk)."""
    current: Organisation | None = org
    while current is not None:
        office = Office.objects.filter(organisation=current).first()
        if office is not None:
            return office
        if current.kind == OrganisationKind.COMMUNE_OFFICE:
            return None  # a commune office without a desk must not inherit its province
        current = current.parent
    return None


def user_scope(user: Any) -> ReportScope | None:
    """Phạm vi báo cáo: a nationwide organisation (or a superuser) sees the nation; the staff
    of a provincial office (or of an organisation under it) their province; the staff of a
    commune office their office. None: no scope (the page answers 403)."""
    if getattr(user, "is_superuser", False):
        return ReportScope(nationwide=True)
    org = getattr(user, "organisation", None)
    if org is None:
        return None
    if org.nationwide:
        return ReportScope(nationwide=True)
    office = _office_of(org)
    if office is None:
        return None
    if office.organisation.kind == OrganisationKind.COMMUNE_OFFICE:
        return ReportScope(province_code=office.province_code, office_id=office.pk)
    return ReportScope(province_code=office.province_code)


def _out_of_scope() -> Forbidden:
    return Forbidden(
        "out_of_scope",
        None,
        "Số liệu này nằm ngoài phạm vi quản lý của đơn vị bạn.",
        "These figures are outside your organisation's scope.",
    )


@dataclass(frozen=True)
class AllowedTarget:
    """A dashboard request checked against the user's scope (the arguments of dashboard())."""

    province_code: str | None = None
    office_id: int | None = None
    assignee_id: int | None = None

    def as_kwargs(self) -> dict[str, Any]:
        return {
            "province_code": self.province_code,
            "office_id": self.office_id,
            "assignee_id": self.assignee_id,
        }


def authorize_target(
    scope: ReportScope,
    *,
    province_code: str | None = None,
    office_id: int | None = None,
    assignee_id: int | None = None,
) -> AllowedTarget:
    """The request to run for ``scope``: nothing asked means the top of the scope; asking for
    a level outside it raises :class:`Forbidden` (``out_of_scope``)."""
    office = _get_office(office_id) if office_id is not None else None
    if office is not None and province_code is not None and office.province_code != province_code:
        raise NotFound(
            "office_not_in_province",
            "office",
            "Đơn vị không thuộc tỉnh đã chọn.",
            "The office is not in the chosen province.",
        )
    if office is not None:
        province_code = None  # the office decides its province
    if scope.nationwide:
        return AllowedTarget(province_code, office_id, assignee_id)
    if scope.office_id is not None:
        if province_code is not None or (office_id is not None and office_id != scope.office_id):
            raise _out_of_scope()
        return AllowedTarget(None, scope.office_id, assignee_id)
    if province_code is not None and province_code != scope.province_code:
        raise _out_of_scope()
    if office is not None:
        if office.province_code != scope.province_code:
            raise _out_of_scope()
        return AllowedTarget(None, office.pk, assignee_id)
    if assignee_id is not None:
        raise DomainError(
            "office_required",
            "office",
            "Chọn đơn vị để xem số liệu của cán bộ.",
            "Choose an office to see an officer's figures.",
        )
    return AllowedTarget(scope.province_code, None, None)
