"""Reads of the gateway: per-I-VAN statistics, employers' e-transaction registrations and the
provincial adoption of e-transactions.

**I-VAN figures** over a period of local days (Asia/Ho_Chi_Minh), counted on
``Submission.received_at``:

- submissions, accepted and refused (tiếp nhận / không tiếp nhận), per day;
- row rejection rate = rows rejected ÷ rows decided (accepted + rejected) of the accepted
  submissions — rows still pending or queued for an officer are not decided yet;
- forwarding time (Decree 166/2016 Art. 11: the I-VAN forwards within 2 hours of receiving the
  employer's dossier): for each accepted submission, ``received_at`` minus ``ivan_received_at``
  (or ``signed_at`` when the I-VAN did not declare it); more than 2 hours is a breach, exactly
  2 hours is not. Only accepted submissions count: declared times are trusted once the
  signature over them has been verified;
- the distribution of the time from the employer's signing (``signed_at``) to our receipt, in
  buckets, with its median and 90th percentile; a signing time after our receipt (clock skew)
  is counted apart;
- availability = probes answered ÷ probes made (``IvanProbe``, the 24/7 duty).

**Adoption** (seed 004, Official Dispatch 45/BHXH-CNTT: at least 90 % of employers transacting
electronically): per current province and month, employers with at least one accepted
electronic submission received in the month ÷ active employers located in the province (their
address commune's province; a pre-2025 commune counts in the province of its default
successor). The target is the dated legal parameter ``etrans_adoption_target``. The employer
table keeps no dated history of ``active``: an employer deactivated since is left out of
earlier months too.
"""

from __future__ import annotations

import datetime as dt
from collections import Counter, defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from decimal import Decimal
from fractions import Fraction
from typing import Any

from django.db.models import Count, Exists, OuterRef, Q, QuerySet, Sum
from django.db.models.functions import TruncDate
from django.utils import timezone

from ansinh.core.errors import DomainError
from ansinh.gateway.models import (
    EtransRegistration,
    IvanProbe,
    IvanProvider,
    RowStatus,
    Submission,
    SubmissionRow,
    Verdict,
)
from ansinh.law.selectors import parameter, parameter_row
from ansinh.places.models import AdminUnit, UnitLevel, UnitSuccession, UnitSystem
from ansinh.registry.models import Employer

#: Decree 166/2016 Art. 11: an I-VAN forwards a dossier within 2 hours of receiving it.
FORWARD_LIMIT = dt.timedelta(hours=2)
#: Upper bounds (inclusive, minutes) of the signing→receipt buckets; the last bucket is open.
DELAY_BUCKETS: tuple[int, ...] = (5, 15, 30, 60, 120, 240, 1440)
ADOPTION_PARAMETER = "etrans_adoption_target"
#: Longest period the statistics pages accept (days).
MAX_PERIOD_DAYS = 366


# --- periods -------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Period:
    """Whole local days from ``start`` to ``end`` inclusive."""

    start: dt.date
    end: dt.date

    def __post_init__(self) -> None:
        if self.end < self.start:
            raise DomainError(
                "period_reversed",
                "to",
                "Ngày kết thúc trước ngày bắt đầu.",
                "The end of the period is before its start.",
            )
        if (self.end - self.start).days >= MAX_PERIOD_DAYS:
            raise DomainError(
                "period_too_long",
                "to",
                f"Kỳ thống kê tối đa {MAX_PERIOD_DAYS} ngày.",
                f"A statistics period has at most {MAX_PERIOD_DAYS} days.",
            )

    @classmethod
    def month(cls, year: int, month: int) -> Period:
        first = dt.date(year, month, 1)
        following = dt.date(year + month // 12, month % 12 + 1, 1)
        return cls(first, following - dt.timedelta(days=1))

    @property
    def bounds(self) -> tuple[dt.datetime, dt.datetime]:
        """[first moment, first moment after) as aware datetimes of the local time zone."""
        tz = timezone.get_current_timezone()
        return (
            dt.datetime.combine(self.start, dt.time.min, tzinfo=tz),
            dt.datetime.combine(self.end + dt.timedelta(days=1), dt.time.min, tzinfo=tz),
        )

    def days(self) -> list[dt.date]:
        return [self.start + dt.timedelta(days=i) for i in range((self.end - self.start).days + 1)]

    @property
    def length(self) -> int:
        return (self.end - self.start).days + 1


def ratio(numerator: int, denominator: int) -> Fraction | None:
    return Fraction(numerator, denominator) if denominator else None


def percent(value: Fraction | None, places: int = 1) -> float | None:
    return None if value is None else round(float(value) * 100, places)


# --- I-VAN statistics ----------------------------------------------------------------------------


@dataclass
class IvanFigures:
    """Key figures of one I-VAN over a period."""

    submissions: int = 0
    accepted: int = 0
    refused: int = 0
    rows_total: int = 0
    rows_accepted: int = 0
    rows_rejected: int = 0
    rows_queued: int = 0
    timed: int = 0  # accepted submissions with a declared receipt or signing time
    breaches: int = 0  # of which forwarded after more than 2 hours
    probes: int = 0
    probes_ok: int = 0
    employers: int = 0  # employers registered through the I-VAN on the period's last day

    @property
    def refusal_rate(self) -> Fraction | None:
        return ratio(self.refused, self.submissions)

    @property
    def rows_decided(self) -> int:
        return self.rows_accepted + self.rows_rejected

    @property
    def row_rejection_rate(self) -> Fraction | None:
        return ratio(self.rows_rejected, self.rows_decided)

    @property
    def breach_rate(self) -> Fraction | None:
        return ratio(self.breaches, self.timed)

    @property
    def availability(self) -> Fraction | None:
        return ratio(self.probes_ok, self.probes)


@dataclass(frozen=True)
class IvanRow:
    ivan: IvanProvider
    figures: IvanFigures


@dataclass(frozen=True)
class DayVolume:
    day: dt.date
    accepted: int
    refused: int
    probes: int
    probes_ok: int

    @property
    def submissions(self) -> int:
        return self.accepted + self.refused

    @property
    def availability(self) -> Fraction | None:
        return ratio(self.probes_ok, self.probes)


@dataclass(frozen=True)
class Bucket:
    """Submissions whose signing→receipt time is in (``low``, ``high``] minutes; ``high`` None
    for the open last bucket."""

    low: int
    high: int | None
    count: int
    within_limit: bool  # the whole bucket is within the 2-hour rule


@dataclass(frozen=True)
class DelayDistribution:
    buckets: list[Bucket]
    measured: int  # accepted submissions with a signing time
    skewed: int  # of which signed after our receipt (clock skew), not in the buckets
    median_minutes: float | None
    p90_minutes: float | None
    max_minutes: float | None


@dataclass(frozen=True)
class IvanStats:
    ivan: IvanProvider
    period: Period
    figures: IvanFigures
    days: list[DayVolume]
    delays: DelayDistribution
    last_probe: IvanProbe | None


def _submissions(period: Period) -> QuerySet[Submission]:
    start, end = period.bounds
    return Submission.objects.filter(received_at__gte=start, received_at__lt=end)


def _counts_by_ivan(qs: QuerySet[Submission]) -> dict[int, dict[str, int]]:
    accepted = Q(verdict=Verdict.ACCEPTED)
    rows = (
        qs.filter(ivan__isnull=False)
        .values("ivan_id")
        .annotate(
            submissions=Count("pk"),
            accepted=Count("pk", filter=accepted),
            rows_total=Sum("rows_total", filter=accepted, default=0),
            rows_accepted=Sum("rows_accepted", filter=accepted, default=0),
            rows_rejected=Sum("rows_rejected", filter=accepted, default=0),
            rows_queued=Sum("rows_queued", filter=accepted, default=0),
        )
        .order_by()
    )
    return {r.pop("ivan_id"): r for r in rows}


def forwarding_delay(
    received_at: dt.datetime, ivan_received_at: dt.datetime | None, signed_at: dt.datetime | None
) -> dt.timedelta | None:
    """Time the I-VAN took to forward: from its receipt (or, undeclared, the signing) to ours."""
    origin = ivan_received_at or signed_at
    return None if origin is None else received_at - origin


def breaches_rule(delay: dt.timedelta | None) -> bool:
    """More than 2 hours (Decree 166/2016 Art. 11); exactly 2 hours is within the rule."""
    return delay is not None and delay > FORWARD_LIMIT


def _timing_by_ivan(qs: QuerySet[Submission]) -> dict[int, tuple[int, int]]:
    """(timed, breaches) per I-VAN over the accepted submissions of ``qs``."""
    out: dict[int, list[int]] = defaultdict(lambda: [0, 0])
    timed = (
        qs.filter(verdict=Verdict.ACCEPTED, ivan__isnull=False)
        .filter(Q(ivan_received_at__isnull=False) | Q(signed_at__isnull=False))
        .values_list("ivan_id", "received_at", "ivan_received_at", "signed_at")
    )
    for ivan_id, received, ivan_received, signed in timed.iterator(chunk_size=5000):
        entry = out[ivan_id]
        entry[0] += 1
        if breaches_rule(forwarding_delay(received, ivan_received, signed)):
            entry[1] += 1
    return {k: (v[0], v[1]) for k, v in out.items()}


def _probes_by_ivan(period: Period, ivan_ids: Iterable[int] | None = None) -> dict[int, tuple]:
    start, end = period.bounds
    qs = IvanProbe.objects.filter(at__gte=start, at__lt=end)
    if ivan_ids is not None:
        qs = qs.filter(ivan_id__in=list(ivan_ids))
    rows = (
        qs.values("ivan_id").annotate(n=Count("pk"), ok=Count("pk", filter=Q(ok=True))).order_by()
    )
    return {r["ivan_id"]: (r["n"], r["ok"]) for r in rows}


def _registered_by_ivan(day: dt.date) -> dict[int, int]:
    rows = (
        EtransRegistration.objects.filter(ivan__isnull=False, registered_on__lte=day)
        .filter(Q(ended_on__isnull=True) | Q(ended_on__gte=day))
        .values("ivan_id")
        .annotate(n=Count("employer_id", distinct=True))
        .order_by()
    )
    return {r["ivan_id"]: r["n"] for r in rows}


def _figures(
    ivan_id: int,
    counts: dict[int, dict[str, int]],
    timing: dict[int, tuple[int, int]],
    probes: dict[int, tuple],
    employers: dict[int, int],
) -> IvanFigures:
    c = counts.get(ivan_id, {})
    timed, breaches = timing.get(ivan_id, (0, 0))
    n_probes, ok = probes.get(ivan_id, (0, 0))
    submissions = c.get("submissions", 0)
    accepted = c.get("accepted", 0)
    return IvanFigures(
        submissions=submissions,
        accepted=accepted,
        refused=submissions - accepted,
        rows_total=c.get("rows_total", 0),
        rows_accepted=c.get("rows_accepted", 0),
        rows_rejected=c.get("rows_rejected", 0),
        rows_queued=c.get("rows_queued", 0),
        timed=timed,
        breaches=breaches,
        probes=n_probes,
        probes_ok=ok,
        employers=employers.get(ivan_id, 0),
    )


def ivan_overview(period: Period) -> list[IvanRow]:
    """Every I-VAN (by code) with its key figures over the period: a fixed number of grouped
    queries whatever the number of I-VANs."""
    ivans = list(IvanProvider.objects.order_by("code"))
    qs = _submissions(period)
    counts = _counts_by_ivan(qs)
    timing = _timing_by_ivan(qs)
    probes = _probes_by_ivan(period)
    employers = _registered_by_ivan(period.end)
    return [
        IvanRow(ivan=i, figures=_figures(i.pk, counts, timing, probes, employers)) for i in ivans
    ]


def overview_totals(rows: Sequence[IvanRow]) -> IvanFigures:
    total = IvanFigures()
    for row in rows:
        for name in IvanFigures.__dataclass_fields__:
            setattr(total, name, getattr(total, name) + getattr(row.figures, name))
    return total


def _nearest_rank(sorted_values: Sequence[float], q: float) -> float | None:
    """The q-quantile by the nearest-rank method (an observed value, no interpolation)."""
    if not sorted_values:
        return None
    rank = max(1, -(-int(q * 100) * len(sorted_values) // 100))
    return sorted_values[min(rank, len(sorted_values)) - 1]


def delay_distribution(delays: Iterable[dt.timedelta]) -> DelayDistribution:
    """Buckets (upper bounds inclusive) of signing→receipt times, with median and p90."""
    minutes: list[float] = []
    skewed = 0
    measured = 0
    for delay in delays:
        measured += 1
        if delay < dt.timedelta(0):
            skewed += 1
        else:
            minutes.append(delay.total_seconds() / 60)
    minutes.sort()
    counts = [0] * (len(DELAY_BUCKETS) + 1)
    for value in minutes:
        for i, high in enumerate(DELAY_BUCKETS):
            if value <= high:
                counts[i] += 1
                break
        else:
            counts[-1] += 1
    limit = FORWARD_LIMIT.total_seconds() / 60
    buckets = []
    low = 0
    for i, count in enumerate(counts):
        high = DELAY_BUCKETS[i] if i < len(DELAY_BUCKETS) else None
        buckets.append(
            Bucket(low=low, high=high, count=count, within_limit=high is not None and high <= limit)
        )
        low = high or low
    return DelayDistribution(
        buckets=buckets,
        measured=measured,
        skewed=skewed,
        median_minutes=_round(_nearest_rank(minutes, 0.5)),
        p90_minutes=_round(_nearest_rank(minutes, 0.9)),
        max_minutes=_round(minutes[-1] if minutes else None),
    )


def _round(value: float | None) -> float | None:
    return None if value is None else round(value, 1)


def ivan_statistics(ivan: IvanProvider, period: Period) -> IvanStats:
    """The detail page's figures for one I-VAN: key figures, the daily volume and availability,
    and the signing→receipt distribution."""
    tz = timezone.get_current_timezone()
    qs = _submissions(period).filter(ivan=ivan)
    counts = _counts_by_ivan(qs)
    timing = _timing_by_ivan(qs)
    probes = _probes_by_ivan(period, [ivan.pk])
    employers = _registered_by_ivan(period.end)
    figures = _figures(ivan.pk, counts, timing, probes, employers)

    per_day: dict[dt.date, list[int]] = defaultdict(lambda: [0, 0, 0, 0])
    daily = (
        qs.annotate(day=TruncDate("received_at", tzinfo=tz))
        .values("day")
        .annotate(n=Count("pk"), ok=Count("pk", filter=Q(verdict=Verdict.ACCEPTED)))
        .order_by()
    )
    for r in daily:
        per_day[r["day"]][0] += r["ok"]
        per_day[r["day"]][1] += r["n"] - r["ok"]
    start, end = period.bounds
    probe_days = (
        IvanProbe.objects.filter(ivan=ivan, at__gte=start, at__lt=end)
        .annotate(day=TruncDate("at", tzinfo=tz))
        .values("day")
        .annotate(n=Count("pk"), ok=Count("pk", filter=Q(ok=True)))
        .order_by()
    )
    for r in probe_days:
        per_day[r["day"]][2] += r["n"]
        per_day[r["day"]][3] += r["ok"]
    days = [DayVolume(d, *per_day.get(d, (0, 0, 0, 0))) for d in period.days()]

    signed = qs.filter(verdict=Verdict.ACCEPTED, signed_at__isnull=False).values_list(
        "received_at", "signed_at"
    )
    delays = delay_distribution(received - s for received, s in signed.iterator(chunk_size=5000))
    last_probe = IvanProbe.objects.filter(ivan=ivan).order_by("-at", "-pk").first()
    return IvanStats(
        ivan=ivan,
        period=period,
        figures=figures,
        days=days,
        delays=delays,
        last_probe=last_probe,
    )


def get_ivan(code: str) -> IvanProvider | None:
    return IvanProvider.objects.select_related("organisation").filter(code=code).first()


# --- registrations -------------------------------------------------------------------------------

REGISTRATION_STATES = ("open", "ended", "all")


def search_registrations(
    *, q: str = "", channel: str = "", ivan_code: str = "", state: str = "open"
) -> QuerySet[EtransRegistration]:
    """Registrations by employer (unit code, tax code or name words), channel, I-VAN and state
    (``open``: not ended; ``ended``; ``all``), newest first."""
    from ansinh.registry.selectors import search_employers

    qs = EtransRegistration.objects.select_related("employer", "employer__address_unit", "ivan")
    q = " ".join((q or "").split())
    if q:
        qs = qs.filter(employer__in=search_employers(q=q).values("pk"))
    if channel:
        qs = qs.filter(channel=channel)
    if ivan_code:
        qs = qs.filter(ivan__code=ivan_code)
    if state == "open":
        qs = qs.filter(ended_on__isnull=True)
    elif state == "ended":
        qs = qs.filter(ended_on__isnull=False)
    return qs.order_by("-registered_on", "-pk")


def registrations_in_scope(
    qs: QuerySet[EtransRegistration], user: Any
) -> QuerySet[EtransRegistration]:
    """Registrations of employers in the user's administrative scope."""
    from ansinh.access.selectors import scope_commune_ids

    ids = scope_commune_ids(user)
    if ids is None:
        return qs
    if not ids:
        return qs.none()
    return qs.filter(employer__address_unit_id__in=ids)


def current_registration(employer: Employer, day: dt.date) -> EtransRegistration | None:
    """The employer's registration in force on ``day``, if any."""
    return (
        EtransRegistration.objects.filter(employer=employer, registered_on__lte=day)
        .filter(Q(ended_on__isnull=True) | Q(ended_on__gte=day))
        .order_by("-registered_on", "-pk")
        .first()
    )


# --- adoption ------------------------------------------------------------------------------------


@dataclass(frozen=True)
class ProvinceAdoption:
    code: str
    name: str
    employers: int  # active employers located in the province
    transacting: int  # of which with an accepted electronic submission in the month
    below_target: bool

    @property
    def share(self) -> Fraction | None:
        return ratio(self.transacting, self.employers)


@dataclass(frozen=True)
class AdoptionReport:
    period: Period
    target: Decimal
    target_source: str
    rows: list[ProvinceAdoption]
    total: ProvinceAdoption
    generated_at: dt.datetime
    is_to_date: bool  # the month is not over yet
    below: list[ProvinceAdoption] = field(default_factory=list)

    @property
    def year(self) -> int:
        return self.period.start.year

    @property
    def month(self) -> int:
        return self.period.start.month


def adoption_target(day: dt.date) -> tuple[Decimal, str]:
    """The adoption target in force on ``day`` and its legal source."""
    value = parameter(ADOPTION_PARAMETER, day)
    return value, parameter_row(ADOPTION_PARAMETER, day).legal_source


def _province_counts(qs: QuerySet[Employer]) -> Counter[str]:
    """Employers of ``qs`` per current province code ('' when it cannot be placed)."""
    counts: Counter[str] = Counter()
    rows = (
        qs.filter(address_unit__system=UnitSystem.CURRENT)
        .values("address_unit__province_code")
        .annotate(n=Count("pk"))
        .order_by()
    )
    for r in rows:
        counts[r["address_unit__province_code"]] += r["n"]
    legacy = dict(
        qs.exclude(address_unit__system=UnitSystem.CURRENT)
        .values("address_unit_id")
        .annotate(n=Count("pk"))
        .order_by()
        .values_list("address_unit_id", "n")
    )
    if legacy:
        successor = dict(
            UnitSuccession.objects.filter(old_id__in=list(legacy), is_default=True).values_list(
                "old_id", "new__province_code"
            )
        )
        for unit_id, n in legacy.items():
            counts[successor.get(unit_id, "")] += n
    return counts


def _province_names() -> dict[str, str]:
    return dict(
        AdminUnit.objects.filter(system=UnitSystem.CURRENT, level=UnitLevel.PROVINCE).values_list(
            "code", "name"
        )
    )


def adoption_report(
    year: int,
    month: int,
    *,
    provinces: Iterable[str] | None = None,
    now: dt.datetime | None = None,
) -> AdoptionReport:
    """Provincial adoption of e-transactions for one month. ``provinces`` limits the rows (and
    the total) to those province codes (the user's scope); None: the whole country, every
    current province listed even without employers."""
    period = Period.month(year, month)
    now = now or timezone.now()
    today = timezone.localtime(now).date()
    if period.start > today:
        raise DomainError(
            "period_in_future",
            "month",
            "Tháng này chưa bắt đầu.",
            "This month has not started yet.",
        )
    target, source = adoption_target(period.end)
    start, end = period.bounds
    active = Employer.objects.filter(active=True)
    transacted = Submission.objects.filter(
        employer_id=OuterRef("pk"),
        verdict=Verdict.ACCEPTED,
        received_at__gte=start,
        received_at__lt=end,
    )
    employers = _province_counts(active)
    transacting = _province_counts(active.filter(Exists(transacted)))
    names = _province_names()
    wanted = None if provinces is None else set(provinces)
    codes = set(employers) | (set(names) if wanted is None else set())
    if wanted is not None:
        codes &= wanted
        codes |= {c for c in wanted if c in names}
    goal = Fraction(target)
    rows: list[ProvinceAdoption] = []
    for code in sorted(codes, key=lambda c: (c == "", c)):
        n, t = employers.get(code, 0), transacting.get(code, 0)
        rows.append(
            ProvinceAdoption(
                code=code,
                name=names.get(code, ""),
                employers=n,
                transacting=t,
                below_target=n > 0 and Fraction(t, n) < goal,
            )
        )
    n_all = sum(r.employers for r in rows)
    t_all = sum(r.transacting for r in rows)
    total = ProvinceAdoption(
        code="",
        name="",
        employers=n_all,
        transacting=t_all,
        below_target=n_all > 0 and Fraction(t_all, n_all) < goal,
    )
    below = sorted((r for r in rows if r.below_target and r.code), key=lambda r: (r.share, r.code))
    return AdoptionReport(
        period=period,
        target=target,
        target_source=source,
        rows=rows,
        total=total,
        generated_at=now,
        is_to_date=period.end >= today,
        below=below,
    )


def report_provinces(user: Any) -> frozenset[str] | None:
    """Current province codes whose adoption the user may see; None for the whole country
    (superusers and nationwide organisations). A commune in the scope gives its province."""
    if getattr(user, "is_superuser", False):
        return None
    org = getattr(user, "organisation", None)
    if org is None or not org.active:
        return frozenset()
    if org.nationwide:
        return None
    codes = set()
    for level, code, province_code in org.scope_units.values_list("level", "code", "province_code"):
        codes.add(code if level == UnitLevel.PROVINCE else province_code)
    return frozenset(codes)


# --- rows waiting for an officer (dòng chờ cán bộ quyết định) ----------------------------------
#
# Scope follows the one-stop desk (``onestop.selectors.can_view_dossier``) and the service that
# decides (``processing._authorise_officer``): the ``onestop.change_dossier`` permission, and an
# organisation that holds or received the row's one-stop dossier, or sits above one of those;
# nationwide organisations and superusers see every row. A submission without a dossier falls
# back to the employer's administrative scope.

#: Every reason processing queues a row with (docs/gateway-processing.md, "Row error codes").
QUEUE_REASONS: tuple[str, ...] = (
    "identity_flagged",
    "identity_mismatch",
    "name_mismatch",
    "ss_number_mismatch",
    "person_status",
    "employed_elsewhere",
    "retroactive_start",
    "retroactive_end",
    "retroactive_change",
    "employer_code_change",
    "wage_region_change",
    "processing_failed",
)


@dataclass(frozen=True)
class QueueFilters:
    """Filters of the officer's queue; empty values filter nothing."""

    reason: str = ""
    employer: str = ""
    procedure: str = ""
    received_from: dt.date | None = None
    received_to: dt.date | None = None
    dossier: str = ""

    def used(self) -> list[str]:
        """Names of the filters in use (for the audit log: never their values)."""
        return sorted(k for k, v in self.__dict__.items() if v not in ("", None))


def may_decide_rows(user: Any) -> bool:
    """Role test of the queue: view and change one-stop dossiers (officers and managers)."""
    return bool(
        getattr(user, "is_authenticated", False)
        and user.is_active
        and user.has_perm("onestop.view_dossier")
        and user.has_perm("onestop.change_dossier")
    )


def _sees_every_dossier(user: Any) -> bool:
    org = getattr(user, "organisation", None)
    return bool(user.is_superuser or (org is not None and org.nationwide and org.active))


def queued_rows_in_scope(user: Any) -> QuerySet[SubmissionRow]:
    """Queued rows of accepted submissions the user may decide (see the section comment)."""
    from ansinh.access.selectors import filter_employers_in_scope
    from ansinh.onestop.selectors import descendant_ids

    qs = SubmissionRow.objects.filter(status=RowStatus.QUEUED, submission__verdict=Verdict.ACCEPTED)
    if not may_decide_rows(user):
        return qs.none()
    if _sees_every_dossier(user):
        return qs
    if not user.organisation_id:
        return qs.none()
    orgs = descendant_ids(user.organisation_id)
    employers = filter_employers_in_scope(Employer.objects.all(), user).values("pk")
    return qs.filter(
        Q(submission__dossier__office__organisation_id__in=orgs)
        | Q(submission__dossier__receiving_office__organisation_id__in=orgs)
        | Q(submission__dossier__isnull=True, submission__employer__in=employers)
    )


def _day_start(day: dt.date) -> dt.datetime:
    return timezone.make_aware(dt.datetime.combine(day, dt.time.min))


def filter_queue(
    qs: QuerySet[SubmissionRow], filters: QueueFilters, *, with_reason: bool = True
) -> QuerySet[SubmissionRow]:
    """Apply the filters (the reason only with ``with_reason``, so the counts per reason can be
    taken over the other filters)."""
    from ansinh.registry.selectors import search_employers

    if with_reason and filters.reason:
        qs = qs.filter(error_code=filters.reason)
    if filters.procedure:
        qs = qs.filter(submission__procedure_code=filters.procedure)
    if filters.dossier:
        qs = qs.filter(submission__dossier__code=filters.dossier)
    if filters.employer:
        q = " ".join(filters.employer.split())
        qs = qs.filter(
            Q(submission__employer__unit_code=q.upper())
            | Q(submission__employer__in=search_employers(q=q).values("pk"))
        )
    if filters.received_from:
        qs = qs.filter(submission__received_at__gte=_day_start(filters.received_from))
    if filters.received_to:
        end = _day_start(filters.received_to + dt.timedelta(days=1))
        qs = qs.filter(submission__received_at__lt=end)
    return qs


def officer_queue(user: Any, filters: QueueFilters | None = None) -> QuerySet[SubmissionRow]:
    """The user's queue, oldest submission first (a row waits as long as its dossier's clock
    runs), then by dossier and row number."""
    qs = filter_queue(queued_rows_in_scope(user), filters or QueueFilters())
    return qs.select_related(
        "submission",
        "submission__dossier",
        "submission__dossier__procedure",
        "submission__dossier__procedure_version",
        "submission__dossier__office",
        "submission__employer",
        "submission__ivan",
    ).order_by("submission__received_at", "submission_id", "number")


def queue_reason_counts(user: Any, filters: QueueFilters | None = None) -> list[tuple[str, int]]:
    """Rows per reason under the other filters, the most frequent first."""
    qs = filter_queue(queued_rows_in_scope(user), filters or QueueFilters(), with_reason=False)
    counts = qs.values_list("error_code").annotate(n=Count("id")).order_by("-n", "error_code")
    return [(code, n) for code, n in counts]


def queued_count(user: Any) -> int:
    """Rows waiting for the user (the navigation badge)."""
    return queued_rows_in_scope(user).count()


def queued_row_counts(dossier_ids: Iterable[int]) -> dict[int, int]:
    """Queued rows per one-stop dossier id (a link from the dossier page)."""
    rows = (
        SubmissionRow.objects.filter(
            status=RowStatus.QUEUED, submission__dossier_id__in=list(dossier_ids)
        )
        .values_list("submission__dossier_id")
        .annotate(n=Count("id"))
        .order_by()
    )
    return dict(rows)


def get_row(row_id: int) -> SubmissionRow | None:
    """A row with what the decision page shows about its submission and dossier."""
    return (
        SubmissionRow.objects.select_related(
            "submission",
            "submission__dossier",
            "submission__dossier__procedure",
            "submission__dossier__office__organisation",
            "submission__dossier__receiving_office__organisation",
            "submission__employer",
            "submission__employer__address_unit",
            "submission__ivan",
            "decided_by",
        )
        .filter(pk=row_id)
        .first()
    )


def authorize_row(
    user: Any,
    row: SubmissionRow,
    *,
    request: Any = None,
    audit_read: bool = True,
) -> None:
    """Allow a staff read or decision of ``row`` or raise ``Forbidden`` after a DENIED audit
    event: ``permission_denied`` without the officer's role, ``out_of_scope`` outside their
    remit (the same tests as ``processing._authorise_officer``). With ``audit_read`` a READ of
    the dossier is recorded: the row carries a person's declared data."""
    from ansinh.access.models import AuditAction
    from ansinh.access.selectors import employer_in_scope
    from ansinh.access.services import audit
    from ansinh.core.errors import Forbidden
    from ansinh.onestop.selectors import can_view_dossier

    submission = row.submission
    dossier = submission.dossier
    reason = ""
    if not may_decide_rows(user):
        reason = "permission_denied"
    elif dossier is not None:
        reason = "" if can_view_dossier(user, dossier) else "out_of_scope"
    elif submission.employer is not None and not employer_in_scope(user, submission.employer):
        reason = "out_of_scope"
    if reason:
        audit(
            actor=user,
            action=AuditAction.DENIED,
            object_type="gateway_row",
            object_id=str(row.pk),
            request=request,
            detail={"reason": reason},
        )
        if reason == "permission_denied":
            raise Forbidden(
                "permission_denied",
                None,
                "Vai trò của bạn không được phép xử lý hồ sơ này.",
                "Your role is not allowed to process this dossier.",
            )
        raise Forbidden(
            "out_of_scope",
            None,
            "Hồ sơ này nằm ngoài phạm vi xử lý của đơn vị bạn.",
            "This dossier is outside your organisation's remit.",
        )
    if audit_read:
        audit(
            actor=user,
            action=AuditAction.READ,
            object_type="dossier" if dossier is not None else "gateway_row",
            object_id=str(dossier.pk if dossier is not None else row.pk),
            request=request,
            detail={"gateway_row": row.pk, "number": row.number},
        )


# --- one row beside the registry ----------------------------------------------------------------


@dataclass(frozen=True)
class Comparison:
    """One field of a row: what the submitter declared and what the registry holds."""

    key: str
    label_vi: str
    label_en: str
    xsd_type: str
    declared: str
    registered: str | None  # None: the registry has no such field
    differs: bool
    at_fault: bool  # the field the queue reason names


@dataclass
class RowReview:
    """What an officer needs to decide a row: the declared fields beside the registry's, the
    person (or employer) on record, and the spells and cards the reason is about."""

    row: SubmissionRow
    fields: list[Comparison]
    person: Any = None  # registry.Person by the declared personal ID
    alias_owner: Any = None  # registry.Person holding the declared legacy number, if another
    employer: Employer | None = None  # the registry's employer (TK3-TS rows)
    spells: list[Any] = field(default_factory=list)
    conflicting: set[int] = field(default_factory=set)  # ids of overlapping spells elsewhere
    cards: list[Any] = field(default_factory=list)

    @property
    def persons_read(self) -> list[Any]:
        return [p for p in (self.person, self.alias_owner) if p is not None]


def _shown(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, dt.date):
        return value.isoformat()
    return str(value).strip()


def _person_values(person: Any) -> dict[str, str]:
    legacy = ", ".join(person.legacy_numbers.order_by("number").values_list("number", flat=True))
    return {
        "personal_id": person.personal_id or "",
        "full_name": person.full_name,
        "date_of_birth": person.date_of_birth.isoformat(),
        "sex": person.sex,
        "nationality": person.nationality,
        "address_unit_code": person.address_unit.code if person.address_unit_id else "",
        "ss_number": legacy,
    }


def _employer_values(employer: Employer) -> dict[str, str]:
    return {
        "unit_code": employer.unit_code,
        "unit_type": employer.unit_type,
        "participant_group": employer.participant_group,
        "name": employer.name,
        "tax_code": employer.tax_code,
        "address_unit_code": employer.address_unit.code,
        "wage_region": str(employer.wage_region),
        "sector": employer.sector,
    }


def _declared_differs(key: str, declared: str, registered: str) -> bool:
    if not declared:
        return False  # an empty optional field changes nothing
    if key == "full_name":
        # As processing compares names: case does not matter, and a name typed without any
        # diacritics matches the accented spelling of the same letters.
        from ansinh.core.text import clean_name, normalise

        name = clean_name(declared)
        same = name.casefold() == registered.casefold() or (
            name.isascii() and normalise(name) == normalise(registered)
        )
        return not same
    if key == "ss_number":
        return declared not in [n.strip() for n in registered.split(",")]
    return declared != registered


def row_review(row: SubmissionRow, *, registry: bool = True) -> RowReview:
    """The row's declared fields beside the registry's (a read: nothing is written; the caller
    authorises and audits it — see :func:`authorize_row`). ``registry=False``: the declared
    fields only, for a user who may not read registry records."""
    from ansinh.gateway import formats
    from ansinh.registry.models import EmploymentSpell, HealthInsuranceCard, LegacyNumber, Person

    submission = row.submission
    code = submission.procedure_code
    version = submission.schema_version or formats.SUPPORTED.get(code, [""])[-1]
    spec_ = formats.SPECS.get((code, version))
    field_table = spec_.fields.get(row.kind, ()) if spec_ is not None else ()
    data = row.data or {}
    review = RowReview(row=row, fields=[])
    registered: dict[str, str] = {}

    if registry and row.kind == "employer":
        unit_code = _shown(data.get("unit_code"))
        review.employer = (
            Employer.objects.select_related("address_unit").filter(unit_code=unit_code).first()
        )
        if review.employer is not None:
            registered = _employer_values(review.employer)
    elif registry:
        key = (row.personal_id or _shown(data.get("personal_id"))).strip()
        persons = Person.objects.select_related("address_unit")
        review.person = persons.filter(ss_number=key).first() if key else None
        ss_number = _shown(data.get("ss_number"))
        if ss_number:
            alias = LegacyNumber.objects.select_related("person").filter(number=ss_number).first()
            if alias is not None and (review.person is None or alias.person_id != review.person.pk):
                review.alias_owner = alias.person
        if review.person is not None:
            registered = _person_values(review.person)
            review.spells = list(
                EmploymentSpell.objects.filter(person=review.person)
                .select_related("employer")
                .order_by("-start")[:20]
            )
            review.cards = list(
                HealthInsuranceCard.objects.filter(person=review.person, revoked=False).order_by(
                    "-valid_from", "-id"
                )[:5]
            )
            start = _parse_day(data.get("start"))
            if start is not None:
                review.conflicting = {
                    s.pk
                    for s in review.spells
                    if s.employer_id != submission.employer_id and (s.end is None or s.end >= start)
                }
            if review.cards and row.kind == "card":
                registered["card_number"] = review.cards[0].number
                registered["hospital_code"] = review.cards[0].initial_facility_code

    entries: list[tuple[str, Any, Any]] = []
    for f in field_table:
        if f.value == "participant":  # the TK1-TS declaration: its own fields, when given
            part = data.get(f.key)
            if isinstance(part, dict):
                entries += [
                    (f"participant.{p.key}", p, part.get(p.key)) for p in formats.PARTICIPANT_FIELDS
                ]
            continue
        entries.append((f.key, f, data.get(f.key)))
    for key, f, value in entries:
        declared = _shown(value)
        reg = registered.get(key) if registered else None
        review.fields.append(
            Comparison(
                key=key,
                label_vi=f.label_vi,
                label_en=f.label_en,
                xsd_type=f.xsd_type,
                declared=declared,
                registered=reg,
                differs=reg is not None and _declared_differs(key, declared, reg),
                at_fault=key == row.error_field,
            )
        )
    return review


def _parse_day(value: Any) -> dt.date | None:
    try:
        return dt.date.fromisoformat(str(value))
    except (TypeError, ValueError):
        return None


# --- an employer's own workers (card reissue requests) ----------------------------------------


@dataclass(frozen=True)
class Worker:
    """A current worker of an employer, as the card reissue page lists them."""

    spell_id: int
    person_id: int
    personal_id: str
    full_name: str
    start: dt.date
    card_number: str  # the latest valid card, "" when none


def current_workers(
    employer: Employer, *, day: dt.date | None = None, q: str = "", limit: int = 200
) -> list[Worker]:
    """Workers with a spell at ``employer`` open on ``day`` (default today), by name; ``q``
    narrows by name words or personal ID. An employer reads only its own workers: the caller
    passes the employer of the signed-in user."""
    from ansinh.core.text import normalise
    from ansinh.registry.models import EmploymentSpell, HealthInsuranceCard

    day = day or timezone.localdate()
    spells = (
        EmploymentSpell.objects.filter(employer=employer, start__lte=day)
        .filter(Q(end__isnull=True) | Q(end__gte=day))
        .select_related("person")
    )
    q = " ".join((q or "").split())
    if q.isdigit():
        spells = spells.filter(person__ss_number__startswith=q)
    elif q:
        for word in normalise(q).split(" "):
            spells = spells.filter(
                Q(person__name_normalised__startswith=word)
                | Q(person__name_normalised__contains=" " + word)
            )
    chosen = list(spells.order_by("person__sort_key", "person_id")[:limit])
    cards: dict[int, str] = {}
    for person_id, number in (
        HealthInsuranceCard.objects.filter(
            person_id__in=[s.person_id for s in chosen], revoked=False, valid_from__lte=day
        )
        .filter(Q(valid_to__isnull=True) | Q(valid_to__gte=day))
        .order_by("valid_from", "id")
        .values_list("person_id", "number")
    ):
        cards[person_id] = number  # the latest wins
    return [
        Worker(
            spell_id=s.pk,
            person_id=s.person_id,
            personal_id=s.person.personal_id or s.person.ss_number,
            full_name=s.person.full_name,
            start=s.start,
            card_number=cards.get(s.person_id, ""),
        )
        for s in chosen
    ]
