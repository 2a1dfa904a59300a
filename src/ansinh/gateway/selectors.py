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
    Submission,
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
