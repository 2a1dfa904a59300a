"""Demo one-stop (một cửa) data: the demo province's offices, their staff, and a year and a half
of dossiers moved through the real services.

Every dossier is received and moved with ``ansinh.onestop.services`` at back-dated ``at=``
times, so the demo exercises the same code as the counter: codes, due times on the working-day
calendar, pauses for supplements, outcomes, apology slips and the append-only path. Each
dossier's timeline is built step by step from what the services returned (the due time after a
supplement, say) and is cut at ``now``: what has not happened yet stays open. A block of
*targeted* dossiers is received at times chosen so that, at ``now``, open dossiers exist in
every state and every warning class; the rest follow the usual flow (reception at the desk,
transfer to a department, processing, sometimes a supplement or a second department, result,
return, sometimes a rating).

The generator is seeded (``random.Random``), so two runs with the same ``now`` give the same
data; applicants are fictitious (registry demo persons and employers when they exist, made-up
names otherwise).
"""

from __future__ import annotations

import datetime as dt
import random
import sys
import time
from collections import Counter
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

from django.db import transaction
from django.utils import timezone
from tqdm import tqdm

from ansinh.access.models import Organisation, User
from ansinh.law.calendar import is_working_day
from ansinh.law.deadlines import add_office_minutes, due_at, office_minutes_between
from ansinh.onestop import services
from ansinh.onestop.clock import classify
from ansinh.onestop.models import (
    OPEN_STATES,
    Department,
    Dossier,
    DossierState,
    Office,
    Procedure,
    ProcedureVersion,
    Satisfaction,
    Warning,
)
from ansinh.synth import names

S = DossierState
W = Warning

#: dispatch_uid of the status-notice receiver (``onestop.apps``).
_NOTICE_UID = "onestop.notify.status_notices"

#: Dossiers of the demo: about 50 a month over 18 months at the provincial office and two commune
#: desks. Every step goes through the services (about 8 ms a step on the 2-core reference
#: machine, 5–6 steps a dossier), so 900 dossiers keep ``ansinh demo`` within ~40 s more.
DEMO_DOSSIERS = 900
DEMO_MONTHS = 18
DEMO_SEED = 2026

PROVINCE_AGENCY_CODE = "000.00.01.H26"
#: Agency codes of the commune desks, in the order of the demo's commune organisations.
COMMUNE_AGENCY_CODES = ("000.01.01.H26", "000.02.01.H26")

#: The departments of a provincial office (as ``onestop.testing.DEPARTMENTS``).
PROVINCE_DEPARTMENTS = (
    ("MOTCUA", "Bộ phận tiếp nhận và trả kết quả"),
    ("THU", "Phòng Quản lý thu"),
    ("SOTHE", "Phòng Cấp sổ, thẻ"),
    ("CHEDO", "Phòng Chế độ BHXH"),
)
#: A commune desk receives everything but processes only card and book work itself.
COMMUNE_DEPARTMENTS = (
    ("MOTCUA", "Bộ phận tiếp nhận và trả kết quả"),
    ("SOTHE", "Bộ phận Cấp sổ, thẻ"),
)

#: Extra officers (no printed login: their password is unusable): username, full name,
#: organisation key of ``demo.ensure_demo_organisations``, departments, departments they head.
EXTRA_STAFF: tuple[tuple[str, str, str, tuple[str, ...], tuple[str, ...]], ...] = (
    ("tiepnhan.tinh", "Nguyễn Thị Hồng Nhung", "province", ("MOTCUA",), ("MOTCUA",)),
    ("thu.tinh1", "Trần Văn Hùng", "province", ("THU",), ()),
    ("thu.tinh2", "Lê Thị Thu Hà", "province", ("THU",), ()),
    ("sothe.tinh1", "Phạm Minh Tuấn", "province", ("SOTHE",), ("SOTHE",)),
    ("sothe.tinh2", "Đỗ Thị Lan Anh", "province", ("SOTHE",), ()),
    ("chedo.tinh1", "Vũ Đức Thắng", "province", ("CHEDO",), ("CHEDO",)),
    ("sothe.xa1", "Hoàng Thị Mai", "commune1", ("MOTCUA", "SOTHE"), ("SOTHE",)),
    ("canbo.xa2", "Bùi Văn Nam", "commune2", ("MOTCUA", "SOTHE"), ("MOTCUA", "SOTHE")),
)
#: The demo logins' departments: the officer works the provincial desk and the THU queue (so
#: signing in as ``canbo.tinh`` shows work); the manager heads THU and directs the office.
DEMO_STAFF_DEPARTMENTS = (
    ("canbo.tinh", ("MOTCUA", "THU")),
    ("canbo.xa", ("MOTCUA", "SOTHE")),
)
DEMO_MANAGER = "lanhdao.tinh"

#: Share of each procedure among the demo's dossiers (600 is most of a BHXH desk's work).
PROCEDURE_WEIGHTS = {
    "600": 40,
    "600-DC": 9,
    "601": 6,
    "604": 8,
    "SO-CAPLAI": 9,
    "SO-CAPLAI-XM": 3,
    "THE-CAPLAI": 11,
    "THE-DOI": 14,
}
#: Procedures an employer applies for (the others: a person).
EMPLOYER_PROCEDURES = frozenset({"600", "600-DC", "601", "604"})
#: Procedures a commune desk may settle itself (card work); the rest go to the province.
COMMUNE_PROCEDURES = frozenset({"THE-CAPLAI", "THE-DOI"})
#: Reception channel weights for employers and for persons.
EMPLOYER_CHANNELS = {"gateway": 45, "online": 20, "counter": 25, "post": 10}
PERSON_CHANNELS = {"counter": 55, "online": 35, "post": 10}

SUPPLEMENT_NOTES = (
    "Bổ sung bản sao giấy tờ chứng minh thông tin thay đổi.",
    "Bổ sung danh sách lao động theo Mẫu D02-LT có chữ ký của thủ trưởng đơn vị.",
    "Tờ khai TK1-TS thiếu chữ ký, đề nghị bổ sung.",
    "Bổ sung quyết định điều chỉnh tiền lương.",
)
REJECT_REASONS = (
    "Hồ sơ không thuộc thẩm quyền giải quyết của cơ quan BHXH.",
    "Thông tin trên tờ khai không khớp với Cơ sở dữ liệu quốc gia về dân cư.",
    "Đối tượng không thuộc diện được cấp lại theo quy định.",
)
ABANDON_REASON = "Quá thời hạn bổ sung hồ sơ mà người nộp không bổ sung."
WITHDRAW_NOTES = (
    "Người nộp có đơn đề nghị rút hồ sơ.",
    "Đơn vị đề nghị rút hồ sơ để nộp lại qua cổng dịch vụ công.",
)
APOLOGY_REASONS = (
    "Cần xác minh quá trình đóng BHXH tại đơn vị cũ.",
    "Hệ thống cấp thẻ gián đoạn, chưa in được thẻ BHYT.",
    "Số lượng hồ sơ tiếp nhận tăng đột biến trong tháng.",
)
RATING_COMMENTS = ("", "", "", "Cán bộ hướng dẫn nhiệt tình.", "Trả kết quả đúng hẹn.")

#: Open dossiers received on purpose so that, at ``now``, every state and warning class shows:
#: (state reached, warning class wanted, how many per 1,000 dossiers — at least one each).
TARGETS: tuple[tuple[str, str, int], ...] = (
    (S.RECEIVED, W.ON_TRACK, 2),
    (S.RECEIVED, W.DUE_SOON, 1),
    (S.RECEIVED, W.DUE_TODAY, 1),
    (S.RECEIVED, W.OVERDUE, 1),
    (S.TRANSFERRED, W.ON_TRACK, 2),
    (S.TRANSFERRED, W.DUE_SOON, 1),
    (S.TRANSFERRED, W.DUE_TODAY, 1),
    (S.TRANSFERRED, W.OVERDUE, 2),
    (S.PROCESSING, W.ON_TRACK, 3),
    (S.PROCESSING, W.DUE_SOON, 2),
    (S.PROCESSING, W.DUE_TODAY, 2),
    (S.PROCESSING, W.OVERDUE, 5),
    (S.SUPPLEMENT, W.PAUSED, 3),
    (S.RESULT_READY, W.NONE, 3),
    (S.RETURNED, W.NONE, 1),
    (S.REJECTED, W.NONE, 1),
    (S.WITHDRAWN, W.NONE, 1),
)
#: The steps after reception that bring a targeted dossier to its state.
TARGET_PATHS: dict[str, tuple[str, ...]] = {
    S.RECEIVED: (),
    S.TRANSFERRED: ("transfer",),
    S.PROCESSING: ("transfer", "start"),
    S.SUPPLEMENT: ("transfer", "start", "supplement"),
    S.RESULT_READY: ("transfer", "start", "result"),
    S.RETURNED: ("transfer", "start", "result", "return"),
    S.REJECTED: ("transfer", "start", "reject"),
    S.WITHDRAWN: ("transfer", "withdraw"),
}


@dataclass
class Staff:
    """Who works where at one office: desk officers and each department's members."""

    office: Office
    desk: list[User]
    members: dict[str, list[User]]


@dataclass
class DemoOffices:
    province: Staff
    communes: list[Staff]
    manager: User | None
    demo_officer: User | None

    @property
    def all(self) -> list[Staff]:
        return [self.province, *self.communes]


@dataclass
class DossierSummary:
    """What the generator wrote: counts that add up (dossiers by state = dossiers; steps = path
    rows written) and the warning classes of the open ones at ``now``."""

    now: dt.datetime
    dossiers: int = 0
    steps: int = 0
    ratings: int = 0
    apologies: int = 0
    by_state: Counter[str] = field(default_factory=Counter)
    by_warning: Counter[str] = field(default_factory=Counter)
    by_channel: Counter[str] = field(default_factory=Counter)
    by_procedure: Counter[str] = field(default_factory=Counter)
    by_outcome: Counter[str] = field(default_factory=Counter)
    missing_targets: list[str] = field(default_factory=list)
    seconds: float = 0.0
    swept: bool = False

    def lines(self) -> list[str]:
        def fmt(counter: Counter[str]) -> str:
            return ", ".join(f"{k or '-'} {v:,}" for k, v in sorted(counter.items()))

        out = [
            f"one-stop dossiers: {self.dossiers:,} ({self.steps:,} path steps, "
            f"{self.apologies:,} apology slips, {self.ratings:,} ratings) in {self.seconds:.1f} s",
            f"  by state: {fmt(self.by_state)}",
            f"  open by warning at {timezone.localtime(self.now):%Y-%m-%d %H:%M}: "
            f"{fmt(self.by_warning)}",
            f"  resolved by outcome: {fmt(self.by_outcome)}",
            f"  by channel: {fmt(self.by_channel)}",
        ]
        if self.missing_targets:
            out.append(
                "  not possible at this hour (no legal due time falls in it): "
                + ", ".join(self.missing_targets)
            )
        if not self.swept:
            out.append("  warning sweep not run (ansinh.onestop.warnings.sweep not available)")
        return out


# --- offices and staff -----------------------------------------------------------------------


def _split_name(full: str) -> tuple[str, str]:
    family_middle, _, given = full.rpartition(" ")
    return family_middle, given


@transaction.atomic
def ensure_demo_offices(orgs: dict[str, Organisation]) -> DemoOffices:
    """The one-stop desks of the demo province (provincial office and the commune offices under
    it), their departments and officers; what exists is left alone."""
    from ansinh.access.services import create_user

    services.sync_catalogue()
    users = {u.username: u for u in User.objects.filter(organisation__isnull=False)}
    manager = users.get(DEMO_MANAGER)
    province_org = orgs["province"]
    commune_keys = sorted(k for k in orgs if k.startswith("commune"))

    def office_for(org: Organisation, code: str, place: str, departments: Any) -> Office:
        office = Office.objects.filter(organisation=org).first()
        if office is None:
            office = services.create_office(
                organisation=org,
                agency_code=code,
                province_code="01",
                place=place,
                departments=departments,
                director=manager if org == province_org else None,
                superior_name="Bảo hiểm xã hội Việt Nam",
            )
        return office

    offices = {
        "province": office_for(province_org, PROVINCE_AGENCY_CODE, "Hà Nội", PROVINCE_DEPARTMENTS)
    }
    for key, code in zip(commune_keys, COMMUNE_AGENCY_CODES, strict=False):
        org = orgs[key]
        unit = org.scope_units.first()
        place = unit.short_name if unit is not None else "Hà Nội"
        offices[key] = office_for(org, code, place, COMMUNE_DEPARTMENTS)

    departments = {
        (d.office_id, d.code): d
        for d in Department.objects.filter(office__in=offices.values()).select_related("office")
    }

    def join(user: User, office: Office, codes: tuple[str, ...]) -> None:
        for code in codes:
            department = departments.get((office.pk, code))
            if department is not None:
                department.members.add(user)

    for username, codes in DEMO_STAFF_DEPARTMENTS:
        user = users.get(username)
        office = (
            Office.objects.filter(organisation_id=user.organisation_id).first() if user else None
        )
        if user is not None and office is not None:
            join(user, office, codes)
    for username, full_name, org_key, codes, heads in EXTRA_STAFF:
        office = offices.get(org_key)
        if office is None:
            continue
        user = users.get(username)
        if user is None:
            family, given = _split_name(full_name)
            user = create_user(
                username=username,
                organisation=office.organisation,
                roles=("officer",),
                first_name=family,
                last_name=given,
            )
        join(user, office, codes)
        for code in heads:
            department = departments.get((office.pk, code))
            if department is not None and department.head_id is None:
                department.head = user
                department.save(update_fields=["head"])
    if manager is not None:
        thu = departments.get((offices["province"].pk, "THU"))
        if thu is not None and thu.head_id is None:
            thu.head = manager
            thu.save(update_fields=["head"])
    return DemoOffices(
        province=_staff(offices["province"]),
        communes=[_staff(offices[k]) for k in commune_keys if k in offices],
        manager=manager,
        demo_officer=users.get(DEMO_STAFF_DEPARTMENTS[0][0]),
    )


def _staff(office: Office) -> Staff:
    members: dict[str, list[User]] = {}
    for department in office.departments.prefetch_related("members"):
        members[department.code] = sorted(department.members.all(), key=lambda u: u.username)
    return Staff(office=office, desk=members.get("MOTCUA", []), members=members)


# --- applicants --------------------------------------------------------------------------------


class Applicants:
    """Fictitious applicants: demo employers and persons from the registry when it has them,
    made-up ones otherwise."""

    def __init__(self, rng: random.Random, want: int) -> None:
        from ansinh.registry.models import Employer, Person

        self.rng = rng
        self.employers = list(
            Employer.objects.filter(address_unit__province_code="01")
            .order_by("id")
            .values_list("name", "tax_code")[: max(want, 50)]
        )
        top = Person.objects.order_by("-id").values_list("id", flat=True).first() or 0
        self.persons: list[tuple[str, str]] = []
        if top:
            ids = sorted({rng.randint(1, top) for _ in range(want)})
            self.persons = list(
                Person.objects.filter(id__in=ids, personal_id__isnull=False)
                .order_by("id")
                .values_list("full_name", "personal_id")
            )

    def employer(self) -> services.Applicant:
        rng = self.rng
        if self.employers:
            name, tax = rng.choice(self.employers)
            return services.Applicant(name=name, id_number=tax or "")
        _, lines, _ = rng.choice(list(names.SECTORS.values()))
        name = f"Công ty TNHH {rng.choice(lines)} {rng.choice(names.FIRM_BRANDS)}"
        return services.Applicant(name=name, id_number=f"01{rng.randint(0, 10**8 - 1):08d}")

    def person(self) -> services.Applicant:
        rng = self.rng
        if self.persons:
            name, pid = rng.choice(self.persons)
            return services.Applicant(name=name, id_number=pid)
        sex = rng.choice("MF")
        pid = (
            f"001{'0' if sex == 'M' else '1'}{rng.randint(60, 99):02d}{rng.randint(0, 999999):06d}"
        )
        return services.Applicant(name=names.vietnamese_name(rng, sex), id_number=pid)


# --- the generator -------------------------------------------------------------------------------


class _Stop(Exception):
    """The next step would fall after ``now``: the dossier stays where it is."""


@dataclass
class _Plan:
    """One dossier to make: where, what, when it arrives and (for a targeted one) where it stops."""

    received: dt.datetime
    staff: Staff
    procedure: str
    channel: str
    target_state: str | None = None
    target_warning: str | None = None


def _weighted(rng: random.Random, table: dict[str, int]) -> str:
    keys = list(table)
    return rng.choices(keys, weights=[table[k] for k in keys], k=1)[0]


class Generator:
    """Makes ``count`` dossiers at ``offices``: the targeted ones (see :data:`TARGETS`) and the
    rest spread over ``months`` months before ``now``, all received in time order, each moved
    by :class:`_Flow` until its story ends or ``now`` comes."""

    def __init__(
        self,
        offices: DemoOffices,
        *,
        count: int,
        now: dt.datetime,
        seed: int = DEMO_SEED,
        months: int = DEMO_MONTHS,
        progress: bool = False,
    ) -> None:
        self.offices = offices
        self.count = count
        self.now = now
        #: Steps are dated up to a minute before ``now`` (services refuse the future).
        self.limit = now - dt.timedelta(minutes=1)
        self.rng = random.Random(seed)
        self.months = months
        self.progress = progress
        self.summary = DossierSummary(now=now)
        self.staff_of = {s.office.pk: s for s in offices.all}
        self.versions: dict[str, list[ProcedureVersion]] = {}
        for version in ProcedureVersion.objects.select_related("procedure").order_by("valid_from"):
            self.versions.setdefault(version.procedure.code, []).append(version)
        active = set(Procedure.objects.filter(active=True).values_list("code", flat=True))
        self.weights = {k: v for k, v in PROCEDURE_WEIGHTS.items() if k in active}
        self.applicants = Applicants(self.rng, min(count, 5_000))
        self.today = timezone.localtime(now).date()
        self.start_day = self.today - dt.timedelta(days=round(months * 30.44))

    # -- time helpers --

    def version(self, code: str, day: dt.date) -> ProcedureVersion:
        found = None
        for version in self.versions[code]:
            if version.valid_from <= day and (version.valid_to is None or day <= version.valid_to):
                found = version
        if found is None:
            raise ValueError(f"procedure {code} not in force on {day}")
        return found

    def later(self, office: Office, t: dt.datetime, lo: int, hi: int) -> dt.datetime:
        """``lo``–``hi`` office minutes after ``t`` (at least one real minute later)."""
        moment = add_office_minutes(t, self.rng.randint(lo, hi), office.hours)
        return max(moment, t + dt.timedelta(minutes=1))

    def office_time(self, day: dt.date, office: Office) -> dt.datetime:
        """A reception time at the counter on ``day``: busier in the morning."""
        opens = office.opens.hour * 60 + office.opens.minute
        closes = office.closes.hour * 60 + office.closes.minute
        minute = opens + int(self.rng.triangular(0, closes - opens - 10, (closes - opens) * 0.3))
        naive = dt.datetime.combine(day, dt.time(minute // 60, minute % 60))
        return timezone.make_aware(naive)

    def any_time(self, day: dt.date) -> dt.datetime:
        """An online submission: any hour, mostly in the day."""
        minute = int(self.rng.triangular(6 * 60, 23 * 60, 10 * 60))
        return timezone.make_aware(dt.datetime.combine(day, dt.time(minute // 60, minute % 60)))

    def reception_time(self, day: dt.date, channel: str, office: Office) -> dt.datetime:
        if channel in ("online", "gateway") and self.rng.random() < 0.4:
            return self.any_time(day)
        while not is_working_day(day):
            day -= dt.timedelta(days=1)
        return self.office_time(day, office)

    # -- plans --

    def pick(self) -> tuple[Staff, str, str]:
        rng = self.rng
        communes = self.offices.communes
        staff = self.offices.province
        if communes and rng.random() < 0.3:
            staff = communes[0] if len(communes) == 1 or rng.random() < 0.6 else communes[1]
        procedure = _weighted(rng, self.weights)
        table = EMPLOYER_CHANNELS if procedure in EMPLOYER_PROCEDURES else PERSON_CHANNELS
        channel = _weighted(rng, table)
        if staff is not self.offices.province and channel == "gateway":
            channel = "online"
        return staff, procedure, channel

    def natural_plans(self, n: int) -> list[_Plan]:
        """Receptions spread over the period, growing slowly (online services spread), with
        fewer around Tết."""
        rng = self.rng
        days = (self.today - self.start_day).days + 1
        weights = []
        for i in range(days):
            day = self.start_day + dt.timedelta(days=i)
            w = 1.0 + 0.4 * i / days
            if not is_working_day(day):
                w *= 0.15
            weights.append(w)
        plans = []
        for offset in rng.choices(range(days), weights=weights, k=n):
            staff, procedure, channel = self.pick()
            day = self.start_day + dt.timedelta(days=offset)
            received = self.reception_time(day, channel, staff.office)
            if received > self.limit:
                received = self.limit - dt.timedelta(minutes=rng.randint(5, 600))
            plans.append(_Plan(received, staff, procedure, channel))
        return plans

    def targeted_plans(self) -> list[_Plan]:
        per_thousand = max(1, self.count // 1000)
        plans = []
        for state, warning, share in TARGETS:
            for i in range(share * per_thousand):
                plan = self.targeted(state, warning, i)
                if plan is None:
                    label = f"{state}/{warning}"
                    if label not in self.summary.missing_targets:
                        self.summary.missing_targets.append(label)
                    break
                plans.append(plan)
        return plans

    def targeted(self, state: str, warning: str, i: int) -> _Plan | None:
        """A reception whose due time falls in ``warning``'s class at ``now`` (found by trying
        receptions on recent working days; None when the class is impossible at this hour)."""
        rng = self.rng
        province = self.offices.province
        for _ in range(400):
            staff, procedure, channel = self.pick()
            if i % 3 == 0 or state not in (S.RECEIVED, S.TRANSFERRED, S.PROCESSING):
                staff = province
            if staff is not province and procedure not in COMMUNE_PROCEDURES:
                procedure = rng.choice(sorted(COMMUNE_PROCEDURES))
            back = rng.randint(0, 25 if warning == W.OVERDUE else 12)
            day = self.today - dt.timedelta(days=back)
            if not is_working_day(day):
                continue
            received = self.office_time(day, staff.office)
            if received >= self.limit - dt.timedelta(minutes=30):
                continue
            version = self.version(procedure, day)
            due = due_at(received, version.deadline, staff.office.hours)
            if warning in (W.PAUSED, W.NONE):
                if state not in OPEN_STATES or due > self.now:
                    return _Plan(received, staff, procedure, channel, state, warning)
                continue
            if classify(due, self.now) == warning:
                return _Plan(received, staff, procedure, channel, state, warning)
        return None

    # -- running --

    def at(self, when: dt.datetime) -> dt.datetime:
        if when > self.limit:
            raise _Stop
        return when

    def run(self) -> DossierSummary:
        started = time.perf_counter()
        targeted = self.targeted_plans()
        plans = sorted(
            self.natural_plans(max(self.count - len(targeted), 0)) + targeted,
            key=lambda p: p.received,
        )
        bar = tqdm(
            total=len(plans),
            desc="one-stop dossiers",
            unit="dossier",
            disable=not self.progress,
            file=sys.stderr,
        )
        batch = 50
        with _no_status_notices():
            for start in range(0, len(plans), batch):
                # One transaction per batch: the services' own transactions become savepoints,
                # which keeps SQLite from committing a few thousand times.
                with transaction.atomic():
                    for plan in plans[start : start + batch]:
                        self.make(plan)
                        bar.update(1)
        bar.close()
        self.summary.swept = _sweep(self.now)
        self._count()
        self.summary.seconds = time.perf_counter() - started
        return self.summary

    def make(self, plan: _Plan) -> None:
        staff = plan.staff
        rng = self.rng
        procedure = plan.procedure
        applicant = (
            self.applicants.employer()
            if procedure in EMPLOYER_PROCEDURES
            else self.applicants.person()
        )
        version = self.version(procedure, timezone.localtime(plan.received).date())
        documents = [
            services.DocumentReceived(doc["name_vi"], int(doc.get("copies", 1)))
            for doc in version.documents
            if doc.get("required", True) or rng.random() < 0.5
        ]
        desk = rng.choice(staff.desk) if staff.desk else None
        actor = desk if plan.channel in ("counter", "post") else None
        dossier = services.receive_dossier(
            office=staff.office,
            procedure_code=procedure,
            channel=plan.channel,
            applicant=applicant,
            documents=documents,
            actor=actor,
            at=plan.received,
        )
        self.summary.steps += 1
        flow = _Flow(self, dossier, staff, desk, version)
        try:
            if plan.target_state is not None:
                flow.targeted(plan.target_state)
            else:
                flow.natural()
        except _Stop:
            pass
        self.summary.steps += flow.steps
        self.summary.apologies += flow.apologies
        self.summary.ratings += flow.ratings

    def _count(self) -> None:
        offices = [s.office for s in self.offices.all]
        qs = Dossier.objects.filter(receiving_office__in=offices)
        s = self.summary
        s.dossiers = qs.count()
        s.by_state = Counter(dict(_group(qs, "state")))
        s.by_channel = Counter(dict(_group(qs, "channel")))
        s.by_procedure = Counter(dict(_group(qs, "procedure__code")))
        s.by_outcome = Counter(dict(_group(qs.exclude(outcome=""), "outcome")))
        s.by_warning = Counter(
            W.PAUSED if state == S.SUPPLEMENT else classify(due, self.now)
            for state, due in qs.filter(state__in=OPEN_STATES).values_list("state", "due_at")
        )


def _group(qs: Any, key: str) -> list[tuple[str, int]]:
    from django.db.models import Count

    return [(row[key], row["n"]) for row in qs.values(key).annotate(n=Count("id")).order_by(key)]


@contextmanager
def _no_status_notices() -> Iterator[None]:
    """Back-dated history is not news: applicants are not notified of steps generated for the
    demo (which would also queue one worker task per step). Only the receiver the one-stop app
    connects for status notices is detached, and only while generating."""
    from ansinh.onestop import signals

    receivers = [r for r in signals.dossier_changed.receivers if r[0][0] == _NOTICE_UID]
    signals.dossier_changed.disconnect(dispatch_uid=_NOTICE_UID)
    try:
        yield
    finally:
        if receivers:
            from ansinh.onestop import notify

            signals.dossier_changed.connect(notify.on_dossier_changed, dispatch_uid=_NOTICE_UID)


def _sweep(now: dt.datetime) -> bool:
    """Run the warning sweep when the app has one (it classifies, notifies and escalates)."""
    try:
        from ansinh.onestop import warnings as onestop_warnings
    except ImportError:
        return False
    sweep: Callable[..., Any] | None = getattr(onestop_warnings, "sweep", None)
    if sweep is None:
        return False
    sweep(now=now)
    return True


class _Flow:
    """The steps of one dossier, each dated after the previous one and cut at ``now``."""

    def __init__(
        self,
        gen: Generator,
        dossier: Dossier,
        staff: Staff,
        desk: User | None,
        version: ProcedureVersion,
    ) -> None:
        self.gen = gen
        self.rng = gen.rng
        self.d = dossier
        self.staff = staff
        self.desk = desk
        self.t = dossier.received_at
        #: The procedure's processing departments, in order (card and book work: SOTHE).
        self.departments = list(version.departments) or ["SOTHE"]
        self.steps = 0
        self.apologies = 0
        self.ratings = 0

    # -- helpers --

    @property
    def office(self) -> Office:
        return self.d.office

    @property
    def here(self) -> Staff:
        """The staff of the office holding the dossier now."""
        return self.gen.staff_of[self.d.office_id]

    @property
    def at_province(self) -> bool:
        return self.here is self.gen.offices.province

    def members(self, code: str) -> list[User]:
        return self.here.members.get(code, []) or self.here.desk

    def desk_officer(self) -> User:
        if self.desk is not None and self.desk in self.here.desk:
            return self.desk
        return self.rng.choice(self.here.desk)

    def step(self, lo: int, hi: int) -> dt.datetime:
        self.t = self.gen.at(self.gen.later(self.office, self.t, lo, hi))
        return self.t

    def transfer(self, code: str, *, to_office: Office | None = None, assign: bool = False) -> None:
        staff = self.gen.staff_of[(to_office or self.office).pk]
        assignee = None
        if assign and staff.members.get(code):
            assignee = self.rng.choice(staff.members[code])
        actor = self.d.assignee if self.d.assignee is not None else self.desk_officer()
        when = self.step(5, 240)
        note = "Chuyển hồ sơ lên BHXH tỉnh giải quyết." if to_office is not None else ""
        self.d = services.transfer(
            self.d,
            actor=actor,
            expected_version=self.d.version,
            to_department=code,
            to_office=to_office,
            to_assignee=assignee,
            note=note,
            at=when,
        )
        self.steps += 1

    def start(self) -> None:
        department = self.d.department.code if self.d.department else self.departments[0]
        actor = self.d.assignee or self.rng.choice(self.members(department))
        when = self.step(15, 480)
        self.d = services.start_processing(
            self.d, actor=actor, expected_version=self.d.version, at=when
        )
        self.steps += 1

    def supplement(self, *, arrives: bool) -> bool:
        when = self.step(30, 600)
        self.d = services.request_supplement(
            self.d,
            actor=self.d.assignee,
            expected_version=self.d.version,
            note=self.rng.choice(SUPPLEMENT_NOTES),
            at=when,
        )
        self.steps += 1
        if not arrives:
            return False
        when = self.step(300, 5 * 540)
        self.d = services.receive_supplement(
            self.d, actor=self.desk_officer(), expected_version=self.d.version, at=when
        )
        self.steps += 1
        return True

    # -- flows --

    def lead_in(self, *, assign: bool) -> None:
        """From the desk to the processing department (via the province for a commune dossier
        it does not settle itself)."""
        province = self.gen.offices.province.office
        first = self.departments[0]
        if not self.at_province and (
            self.d.procedure.code not in COMMUNE_PROCEDURES or self.rng.random() < 0.5
        ):
            self.transfer(first, to_office=province, assign=assign)
        else:
            self.transfer(first if first in self.here.members else "SOTHE", assign=assign)

    def natural(self) -> None:
        rng = self.rng
        fate = rng.random()
        self.lead_in(assign=rng.random() < 0.35)
        if fate < 0.02:
            self.withdraw()
            return
        self.start()
        if rng.random() < 0.03 and self.gen.offices.manager is not None:
            self.reassign()
        if rng.random() < 0.12:
            if not self.supplement(arrives=rng.random() < 0.85):
                when = self.step(10 * 540, 15 * 540)
                self.d = services.reject(
                    self.d,
                    actor=self.d.assignee,
                    expected_version=self.d.version,
                    reason=ABANDON_REASON,
                    at=when,
                )
                self.steps += 1
                return
        if len(self.departments) > 1 and self.at_province:
            if rng.random() < 0.5:
                self.transfer(self.departments[1])
                self.start()
        if fate < 0.06:
            when = self.step(60, 1200)
            self.d = services.reject(
                self.d,
                actor=self.d.assignee,
                expected_version=self.d.version,
                reason=rng.choice(REJECT_REASONS),
                at=when,
            )
            self.steps += 1
            return
        self.result(rng.choices(("early", "on_time", "late"), weights=(75, 21, 4))[0])
        if rng.random() < 0.97:
            when = self.step(0, 3 * 540)
            self.d = services.return_result(
                self.d, actor=self.desk_officer(), expected_version=self.d.version, at=when
            )
            self.steps += 1
            if rng.random() < 0.35:
                self.rate()

    def result(self, timing: str) -> None:
        hours = self.office.hours
        due = self.d.due_at
        due_day_opens = timezone.make_aware(
            dt.datetime.combine(timezone.localtime(due).date(), hours.opens)
        )
        if timing == "early" and office_minutes_between(self.t, due_day_opens, hours) < 60:
            timing = "on_time"
        if timing == "on_time" and self.t >= due - dt.timedelta(minutes=20):
            timing = "late"
        if timing == "early":
            span = office_minutes_between(self.t, due_day_opens, hours)
            when = add_office_minutes(self.t, self.rng.randint(30, span - 5), hours)
        elif timing == "on_time":
            start = max(self.t, due_day_opens)
            span = office_minutes_between(start, due, hours)
            when = add_office_minutes(start, self.rng.randint(1, max(span - 10, 1)), hours)
        else:
            base = max(self.t, due)
            when = add_office_minutes(base, self.rng.randint(30, 3 * 540), hours)
            if self.rng.random() < 0.6:
                self.apology(when)
        self.t = self.gen.at(max(when, self.t + dt.timedelta(minutes=1)))
        self.d = services.record_result(
            self.d, actor=self.d.assignee, expected_version=self.d.version, at=self.t
        )
        self.steps += 1

    def apology(self, result_at: dt.datetime) -> None:
        """Phiếu xin lỗi: issued before the result once the officer sees it will be late."""
        hours = self.office.hours
        span = office_minutes_between(self.t, min(result_at, self.d.due_at), hours)
        offset = self.rng.randint(max(span // 2, 1), max(span - 10, 1)) if span > 30 else 1
        when = self.gen.at(max(add_office_minutes(self.t, offset, hours), self.t))
        new_due = timezone.make_aware(
            dt.datetime.combine(
                timezone.localtime(add_office_minutes(result_at, 540, hours)).date(), hours.closes
            )
        )
        services.issue_apology(
            self.d,
            actor=self.d.assignee,
            expected_version=self.d.version,
            reason=self.rng.choice(APOLOGY_REASONS),
            new_due_at=new_due,
            delivered_via=self.rng.choice(("counter", "email", "sms")),
            at=when,
        )
        self.d.refresh_from_db()
        self.t = when
        self.steps += 1
        self.apologies += 1

    def reassign(self) -> None:
        department = self.d.department.code if self.d.department else self.departments[0]
        others = [u for u in self.members(department) if u.pk != self.d.assignee_id]
        if not others:
            return
        when = self.step(30, 540)
        self.d = services.reassign(
            self.d,
            actor=self.gen.offices.manager,
            expected_version=self.d.version,
            to_assignee=self.rng.choice(others),
            note="Điều chỉnh phân công do cán bộ đi công tác.",
            at=when,
        )
        self.steps += 1

    def withdraw(self) -> None:
        when = self.step(60, 1500)
        self.d = services.withdraw(
            self.d,
            actor=self.desk_officer(),
            expected_version=self.d.version,
            note=self.rng.choice(WITHDRAW_NOTES),
            at=when,
        )
        self.steps += 1

    def rate(self) -> None:
        from ansinh.onestop.feedback import rate_dossier

        when = self.gen.at(self.gen.later(self.office, self.t, 5, 2 * 540))
        late = self.d.outcome == "late"
        level = self.rng.choices(
            (Satisfaction.VERY_SATISFIED, Satisfaction.SATISFIED, Satisfaction.NOT_SATISFIED),
            weights=(25, 55, 20) if late else (55, 40, 5),
        )[0]
        rate_dossier(self.d.code, level, self.rng.choice(RATING_COMMENTS), at=when)
        self.ratings += 1

    def targeted(self, state: str) -> None:
        """Received, then moved just far enough to stand in ``state`` at ``now``, with the
        steps spread between the reception and ``now``."""
        path = TARGET_PATHS[state]
        if not path:
            return
        hours = self.office.hours
        limit = self.gen.limit
        span = office_minutes_between(self.t, limit, hours)
        if span > len(path) * 2:
            marks = sorted(self.rng.sample(range(1, span), len(path)))
            times = [add_office_minutes(self.t, m, hours) for m in marks]
        else:
            gap = (limit - self.t) / (len(path) + 1)
            times = [self.t + gap * (k + 1) for k in range(len(path))]
        first = self.departments[0] if self.departments[0] in self.here.members else "SOTHE"
        for action, when in zip(path, times, strict=True):
            self.t = min(max(when, self.t + dt.timedelta(seconds=1)), limit)
            version = self.d.version
            if action == "transfer":
                # The demo officer (provincial desk and THU) gets a good share of THU's work.
                demo = self.gen.offices.demo_officer
                assignee = None
                if state != S.TRANSFERRED and self.at_province and first == "THU":
                    if demo is not None and self.rng.random() < 0.6:
                        assignee = demo
                self.d = services.transfer(
                    self.d,
                    actor=self.desk_officer(),
                    expected_version=version,
                    to_department=first,
                    to_assignee=assignee,
                    at=self.t,
                )
            elif action == "start":
                actor = self.d.assignee or self.rng.choice(self.members(first))
                self.d = services.start_processing(
                    self.d, actor=actor, expected_version=version, at=self.t
                )
            elif action == "supplement":
                self.d = services.request_supplement(
                    self.d,
                    actor=self.d.assignee,
                    expected_version=version,
                    note=self.rng.choice(SUPPLEMENT_NOTES),
                    at=self.t,
                )
            elif action == "result":
                self.d = services.record_result(
                    self.d, actor=self.d.assignee, expected_version=version, at=self.t
                )
            elif action == "return":
                self.d = services.return_result(
                    self.d, actor=self.desk_officer(), expected_version=version, at=self.t
                )
            elif action == "reject":
                self.d = services.reject(
                    self.d,
                    actor=self.d.assignee,
                    expected_version=version,
                    reason=self.rng.choice(REJECT_REASONS),
                    at=self.t,
                )
            else:
                self.d = services.withdraw(
                    self.d,
                    actor=self.desk_officer(),
                    expected_version=version,
                    note=self.rng.choice(WITHDRAW_NOTES),
                    at=self.t,
                )
            self.steps += 1


# --- entry point -------------------------------------------------------------------------------


def demo_offices_have_dossiers(orgs: dict[str, Organisation]) -> bool:
    return Dossier.objects.filter(
        receiving_office__organisation__in=[
            o for k, o in orgs.items() if k == "province" or k.startswith("commune")
        ]
    ).exists()


def ensure_demo_dossiers(
    orgs: dict[str, Organisation],
    *,
    count: int = DEMO_DOSSIERS,
    seed: int = DEMO_SEED,
    now: dt.datetime | None = None,
    progress: bool = False,
) -> DossierSummary | None:
    """Create the demo offices and staff, then ``count`` dossiers unless the demo offices
    already hold dossiers (so a second run adds nothing). Returns None when nothing was made."""
    offices = ensure_demo_offices(orgs)
    if demo_offices_have_dossiers(orgs) or count <= 0:
        return None
    now = now or timezone.now()
    return Generator(offices, count=count, now=now, seed=seed, progress=progress).run()
