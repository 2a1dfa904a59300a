"""A national one-stop data set for benchmarks: up to millions of dossiers over several years
and all 34 provinces, with their paths, apology slips and ratings, written in bulk.

Unlike the demo (``synth.dossiers``), which moves each dossier through the services, this
writes rows directly (``synth.bulk.TableWriter``: ``executemany`` on SQLite, ``COPY`` on
PostgreSQL, batches in their own transactions): a million dossiers through the services would
take hours. The rows follow the services' rules — codes, due times from
``law.deadlines.due_at`` (cached per reception day and procedure), outcomes decided as
``services.record_result`` decides them, paths in time order ending in the dossier's state —
but the time between steps is drawn in plain minutes, not office minutes.

The state at ``now`` is what the benchmarks need: about ``open`` dossiers still open (most of
the last month's receptions and a backlog of older, overdue ones), their ``warning`` and
``escalation`` as the sweep of the previous working day left them.
"""

from __future__ import annotations

import bisect
import datetime as dt
import json
import random
import sys
import time
from collections import Counter
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

from django.db import connection, transaction
from tqdm import tqdm

from ansinh.access.models import Organisation, User
from ansinh.law.calendar import add_working_days, is_working_day
from ansinh.law.deadlines import counting_start, due_at, office_minutes_between
from ansinh.onestop import services
from ansinh.onestop.clock import Cutoffs, classify, cutoffs
from ansinh.onestop.models import (
    ApologySlip,
    DailySequence,
    Dossier,
    DossierTransition,
    Office,
    ProcedureVersion,
    SatisfactionRating,
)
from ansinh.synth import bulk, names
from ansinh.synth.dossiers import (
    COMMUNE_DEPARTMENTS,
    COMMUNE_PROCEDURES,
    EMPLOYER_CHANNELS,
    EMPLOYER_PROCEDURES,
    PERSON_CHANNELS,
    PROCEDURE_WEIGHTS,
    PROVINCE_DEPARTMENTS,
)

_MIN = dt.timedelta(minutes=1)
_DAY = dt.timedelta(days=1)


@dataclass(frozen=True)
class BulkParams:
    dossiers: int = 1_000_000
    years: int = 3
    open: int = 100_000
    provinces: int = 34
    seed: int = 1
    #: The moment the data set describes (local time); fixed so that a kept data set is reused.
    now: dt.datetime = dt.datetime(2026, 11, 20, 10, 0)

    def key(self) -> str:
        return (
            f"d{self.dossiers}-y{self.years}-o{self.open}-p{self.provinces}-s{self.seed}"
            f"-now{self.now:%Y%m%d%H%M}"
        )


@dataclass
class BulkSummary:
    counts: Counter[str] = field(default_factory=Counter)
    open_by_state: Counter[str] = field(default_factory=Counter)
    open_by_warning: Counter[str] = field(default_factory=Counter)
    seconds: float = 0.0
    setup_seconds: float = 0.0

    def as_dict(self) -> dict[str, Any]:
        return {
            "counts": dict(self.counts),
            "open_by_state": dict(self.open_by_state),
            "open_by_warning": dict(self.open_by_warning),
            "seconds": round(self.seconds, 1),
            "setup_seconds": round(self.setup_seconds, 1),
        }


@dataclass
class _Office:
    office: Office
    province: str
    agency: str
    members: dict[str, list[tuple[int, str]]]  # department code → [(user id, name)]
    departments: dict[str, int]  # department code → id
    parent: _Office | None = None


# --- offices and staff -------------------------------------------------------------------------


def province_codes(n: int) -> list[str]:
    """The current-system province codes when ``ansinh bootstrap`` loaded them, else made up."""
    from ansinh.places.models import AdminUnit, UnitLevel, UnitSystem

    codes = list(
        AdminUnit.objects.filter(system=UnitSystem.CURRENT, level=UnitLevel.PROVINCE)
        .order_by("code")
        .values_list("code", flat=True)
    )
    if len(codes) < n:
        codes = [f"{i:02d}" for i in range(1, n + 1)]
    return codes[:n]


def _user(rng: random.Random, username: str, org: Organisation, role: str) -> User:
    """A staff member without a usable password, in the role's group (written directly:
    ``access.services.create_user`` re-checks every role's permissions on each call, which
    is what a person creating one account wants and too slow for hundreds)."""
    from django.contrib.auth.models import Group

    found = User.objects.filter(username=username).first()
    if found is not None:
        return found
    family_middle, _, given = names.vietnamese_name(rng, rng.choice("MF")).rpartition(" ")
    user = User(username=username, organisation=org, first_name=family_middle, last_name=given)
    user.set_unusable_password()
    user.save()
    user.groups.add(Group.objects.get(name=role))
    return user


@transaction.atomic
def ensure_offices(params: BulkParams) -> tuple[list[_Office], User]:
    """A provincial office and two commune offices per province, each with its departments and
    officers, and a nationwide manager (``bench.manager``) for the dashboard page."""
    from ansinh.access.services import create_organisation, ensure_roles

    ensure_roles()
    services.sync_catalogue()
    rng = random.Random(params.seed)
    central = Organisation.objects.filter(code="VSS").first() or create_organisation(
        code="VSS", name="Bảo hiểm xã hội Việt Nam", kind="central", nationwide=True
    )
    manager = _user(rng, "bench.manager", central, "manager")
    out: list[_Office] = []
    from ansinh.places.models import AdminUnit, UnitLevel, UnitSystem

    known = set(
        AdminUnit.objects.filter(system=UnitSystem.CURRENT, level=UnitLevel.PROVINCE).values_list(
            "code", flat=True
        )
    )
    for i, code in enumerate(province_codes(params.provinces), start=1):
        for slot in range(3):
            org_code = f"BENCH-{code}-{slot}"
            org = Organisation.objects.filter(code=org_code).first()
            if org is None:
                org = create_organisation(
                    code=org_code,
                    name=(
                        f"Bảo hiểm xã hội tỉnh {code}"
                        if slot == 0
                        else f"Bảo hiểm xã hội cơ sở {code}-{slot}"
                    ),
                    kind="province_office" if slot == 0 else "commune_office",
                    scope_codes=(code,) if slot == 0 and code in known else (),
                    parent=out[-slot].office.organisation if slot else central,
                )
            office = Office.objects.filter(organisation=org).first()
            if office is None:
                office = services.create_office(
                    organisation=org,
                    agency_code=f"000.{slot:02d}.{i:02d}.B{i:02d}",
                    province_code=code,
                    place=f"Tỉnh {code}",
                    departments=PROVINCE_DEPARTMENTS if slot == 0 else COMMUNE_DEPARTMENTS,
                )
            staff = {"MOTCUA": 2, "THU": 3, "SOTHE": 3, "CHEDO": 1} if slot == 0 else None
            staff = staff or {"MOTCUA": 1, "SOTHE": 2}
            departments = {d.code: d for d in office.departments.all()}
            members: dict[str, list[tuple[int, str]]] = {}
            for dept, n in staff.items():
                members[dept] = []
                for k in range(n):
                    user = _user(rng, f"cb{i:02d}{slot}{dept.lower()}{k}", org, "officer")
                    departments[dept].members.add(user)
                    members[dept].append((user.pk, user.get_full_name()[:150]))
                if departments[dept].head_id is None:
                    departments[dept].head_id = members[dept][0][0]
                    departments[dept].save(update_fields=["head"])
            if slot == 0 and office.director_id is None:
                director = _user(rng, f"ld{i:02d}", org, "manager")
                office.director = director
                office.save(update_fields=["director"])
            entry = _Office(
                office,
                code,
                office.agency_code,
                members,
                {c: d.pk for c, d in departments.items()},
                parent=out[-slot] if slot else None,
            )
            out.append(entry)
    return out, manager


# --- the generator -------------------------------------------------------------------------------

_DOSSIER_COLUMNS = (
    "id",
    "code",
    "procedure_id",
    "procedure_version_id",
    "channel",
    "state",
    "receiving_office_id",
    "office_id",
    "province_code",
    "department_id",
    "assignee_id",
    "applicant_name",
    "applicant_id",
    "applicant_address",
    "applicant_phone",
    "applicant_email",
    "documents",
    "external_ref",
    "received_at",
    "counted_from",
    "due_at",
    "promised_at",
    "paused_at",
    "paused_left",
    "paused_minutes",
    "resolved_at",
    "outcome",
    "processing_minutes",
    "returned_at",
    "closed_at",
    "warning",
    "escalation",
    "version",
    "created_by_id",
)
_STEP_COLUMNS = (
    "dossier_id",
    "at",
    "action",
    "from_state",
    "to_state",
    "actor_id",
    "actor_name",
    "from_office_id",
    "to_office_id",
    "from_department_id",
    "to_department_id",
    "from_assignee_id",
    "to_assignee_id",
    "note",
    "due_at",
    "since_previous",
)
_SLIP_COLUMNS = (
    "dossier_id",
    "number",
    "issued_at",
    "issued_by_id",
    "reason",
    "old_due_at",
    "new_due_at",
    "delivered_via",
)
_RATING_COLUMNS = ("dossier_id", "level", "comment", "rated_at")
_SEQ_COLUMNS = ("office_id", "day", "last")


class BulkGenerator:
    def __init__(self, params: BulkParams, offices: list[_Office], *, progress: bool) -> None:
        from ansinh.onestop import warnings as onestop_warnings

        self.p = params
        self.offices = offices
        self.progress = progress
        self.rng = random.Random(params.seed)
        self.tz = dt.timezone(dt.timedelta(hours=7))  # Asia/Ho_Chi_Minh: UTC+7, no DST
        self.now = params.now  # naive local wall time; all arithmetic below is in it
        self.start = (self.now - dt.timedelta(days=round(365.25 * params.years))).replace(
            hour=0, minute=0
        )
        self.pg = bulk.is_postgres()
        self.offset = dt.timedelta(hours=7)
        self.summary = BulkSummary()
        self.versions = {
            code: list(
                ProcedureVersion.objects.filter(procedure__code=code)
                .select_related("procedure")
                .order_by("valid_from")
            )
            for code in PROCEDURE_WEIGHTS
        }
        self.proc_codes = list(PROCEDURE_WEIGHTS)
        self.proc_cum = _cumulative([PROCEDURE_WEIGHTS[c] for c in self.proc_codes])
        self.due_cache: dict[tuple[Any, int], dt.datetime] = {}
        self.start_cache: dict[tuple[dt.date, int], dt.datetime] = {}
        # The sweep of the previous working day left these warnings and escalation levels.
        day = self.now.date() - _DAY
        while not is_working_day(day):
            day -= _DAY
        self.swept = self.aware(dt.datetime.combine(day, dt.time(7, 0)))
        self.swept_cut = cutoffs(self.swept)
        self.now_cut = cutoffs(self.aware(self.now))
        self.head_cut = onestop_warnings.overdue_cutoff(
            self.swept, onestop_warnings.escalate_after_days()
        )
        self.director_cut = onestop_warnings.overdue_cutoff(
            self.swept, onestop_warnings.escalate_director_after_days()
        )
        provinces = sorted({o.province for o in offices})
        weights = {code: self.rng.uniform(1.0, 4.0) for code in provinces}
        weights.update({c: w for c, w in (("01", 9.0), ("79", 11.0)) if c in weights})
        self.by_province = {c: [o for o in offices if o.province == c] for c in provinces}
        self.provinces = provinces
        self.province_cum = _cumulative([weights[c] for c in provinces])
        self.persons = [
            (names.vietnamese_name(self.rng, self.rng.choice("MF")), f"0{i:011d}")
            for i in range(1, 5001)
        ]
        self.firms = [
            (
                f"Công ty TNHH {self.rng.choice(names.FIRM_BRANDS)} {i}",
                f"{self.rng.randint(1, 99):02d}{i:08d}",
            )
            for i in range(1, 2001)
        ]

    # -- time --

    def aware(self, local: dt.datetime) -> dt.datetime:
        return local.replace(tzinfo=self.tz)

    def db(self, local: dt.datetime | None) -> Any:
        """A local wall time as the driver stores it (UTC text on SQLite, as Django does)."""
        if local is None:
            return None
        if self.pg:
            return local.replace(tzinfo=self.tz)
        return (local - self.offset).isoformat(" ")

    def span(self, delta: dt.timedelta | None) -> Any:
        """A duration as the driver stores it (an interval on PostgreSQL, integer microseconds
        on SQLite, as Django does)."""
        if delta is None or self.pg:
            return delta
        return (delta.days * 86_400 + delta.seconds) * 1_000_000 + delta.microseconds

    def counted(self, received: dt.datetime, office: Office) -> dt.datetime:
        """``law.deadlines.counting_start``, cached per day for receptions outside hours."""
        t = received.time()
        if office.opens <= t < office.closes and is_working_day(received.date()):
            return received
        key = (received.date(), 0 if t < office.opens else 1)
        found = self.start_cache.get(key)
        if found is None:
            start = counting_start(self.aware(received), office.hours)
            found = start.astimezone(self.tz).replace(tzinfo=None)
            self.start_cache[key] = found
        return found

    def due(self, start: dt.datetime, version: ProcedureVersion, office: Office) -> dt.datetime:
        """``law.deadlines.due_at``: cached per (counting day, version) for day deadlines, per
        counting minute for hour deadlines."""
        key: tuple[Any, int] = (
            (start.date(), version.pk) if version.deadline_days is not None else (start, version.pk)
        )
        found = self.due_cache.get(key)
        if found is None:
            moment = due_at(self.aware(start), version.deadline, office.hours)
            found = moment.astimezone(self.tz).replace(tzinfo=None)
            self.due_cache[key] = found
        return found

    def version(self, code: str, day: dt.date) -> ProcedureVersion:
        found = self.versions[code][0]
        for v in self.versions[code]:
            if v.valid_from <= day and (v.valid_to is None or day <= v.valid_to):
                found = v
        return found

    # -- volume --

    def days(self) -> list[tuple[dt.date, float]]:
        """Each day's share: working days, growing 50% over the period, little on rest days."""
        out = []
        n = (self.now.date() - self.start.date()).days + 1
        for i in range(n):
            day = self.start.date() + dt.timedelta(days=i)
            w = (1.0 + 0.5 * i / n) * (1.0 if is_working_day(day) else 0.06)
            out.append((day, w))
        return out

    def open_share(self, plan: list[tuple[dt.date, int]]) -> tuple[float, float]:
        """Probability of being still open for receptions of the last 30 days and before, so
        that about ``open`` dossiers are open at ``now``."""
        recent_from = self.now.date() - dt.timedelta(days=30)
        recent = sum(n for day, n in plan if day >= recent_from)
        older = sum(n for day, n in plan if day < recent_from)
        p_recent = min(0.85, self.p.open / max(recent, 1))
        p_older = max(0.0, (self.p.open - p_recent * recent) / max(older, 1))
        return p_recent, min(p_older, 1.0)

    # -- run --

    def run(self) -> BulkSummary:
        started = time.perf_counter()
        days = self.days()
        total_w = sum(w for _, w in days)
        plan, carry = [], 0.0
        for day, w in days:
            exact = self.p.dossiers * w / total_w + carry
            n = int(exact)
            carry = exact - n
            plan.append((day, n))
        short = self.p.dossiers - sum(n for _, n in plan)
        if short:
            plan[-1] = (plan[-1][0], plan[-1][1] + short)
        self.p_recent, self.p_older = self.open_share(plan)
        self.recent_from = self.now.date() - dt.timedelta(days=30)

        self.w_dossier = bulk.TableWriter(Dossier, _DOSSIER_COLUMNS, 20_000, autoflush=False)
        self.w_step = bulk.TableWriter(DossierTransition, _STEP_COLUMNS, 10**9, autoflush=False)
        self.w_slip = bulk.TableWriter(ApologySlip, _SLIP_COLUMNS, 10**9, autoflush=False)
        self.w_rating = bulk.TableWriter(
            SatisfactionRating, _RATING_COLUMNS, 10**9, autoflush=False
        )
        self.w_seq = bulk.TableWriter(DailySequence, _SEQ_COLUMNS, 20_000)
        self.next_id = bulk.next_id(Dossier)
        bar = tqdm(
            total=self.p.dossiers,
            desc="dossiers",
            unit="dossier",
            unit_scale=True,
            disable=not self.progress,
            file=sys.stderr,
        )
        with _bulk_pragmas():
            for day, n in plan:
                if n:
                    self.day(day, n)
                    bar.update(n)
            self.flush()
            self.w_seq.flush()
        bar.close()
        bulk.reset_sequences(Dossier, DossierTransition, ApologySlip, SatisfactionRating)
        s = self.summary
        s.counts["dossiers"] = self.w_dossier.written
        s.counts["transitions"] = self.w_step.written
        s.counts["apology_slips"] = self.w_slip.written
        s.counts["ratings"] = self.w_rating.written
        s.counts["daily_sequences"] = self.w_seq.written
        s.seconds = time.perf_counter() - started
        # Fresh planner statistics on PostgreSQL, as autovacuum would soon gather them. Not on
        # SQLite: ansinh never runs ANALYZE there, and its statistics (no histograms) make the
        # planner scan whole tables for the skewed ``state`` column (see docs/benchmarks.md).
        if self.pg:
            with connection.cursor() as cursor:
                cursor.execute("ANALYZE")
        return s

    def flush(self) -> None:
        with transaction.atomic():
            self.w_dossier.flush()
            self.w_step.flush()
            self.w_slip.flush()
            self.w_rating.flush()

    def day(self, day: dt.date, n: int) -> None:
        rng = self.rng
        working = is_working_day(day)
        receptions = []
        for _ in range(n):
            province = self.provinces[_pick(rng, self.province_cum)]
            offices = self.by_province[province]
            r = rng.random()
            office = offices[0] if r < 0.6 else offices[1] if r < 0.8 else offices[2]
            code = self.proc_codes[_pick(rng, self.proc_cum)]
            table = EMPLOYER_CHANNELS if code in EMPLOYER_PROCEDURES else PERSON_CHANNELS
            channel = _choice(rng, table)
            if office.parent is not None and channel == "gateway":
                channel = "online"
            if working and (channel in ("counter", "post") or rng.random() < 0.6):
                minute = 8 * 60 + int(rng.triangular(0, 530, 160))
            elif channel in ("counter", "post"):
                channel = "online"
                minute = int(rng.triangular(6 * 60, 23 * 60, 10 * 60))
            else:
                minute = int(rng.triangular(6 * 60, 23 * 60, 10 * 60))
            at = dt.datetime.combine(day, dt.time(minute // 60, minute % 60))
            if at >= self.now:
                at = self.now - dt.timedelta(minutes=rng.randint(1, 300))
                if at.date() != day:
                    continue
            receptions.append((at, office, code, channel))
        receptions.sort(key=lambda x: x[0])
        sequence: Counter[int] = Counter()
        for at, office, code, channel in receptions:
            sequence[office.office.pk] += 1
            self.dossier(at, office, code, channel, sequence[office.office.pk])
            if self.w_dossier.full:
                self.flush()
        for office_id, last in sequence.items():
            self.w_seq.add((office_id, bulk.date_value(day), last))

    def dossier(
        self, received: dt.datetime, receiving: _Office, code: str, channel: str, seq: int
    ) -> None:
        rng = self.rng
        now = self.now
        pk = self.next_id
        self.next_id += 1
        version = self.version(code, received.date())
        hours_office = receiving.office
        start = self.counted(received, hours_office)
        due = self.due(start, version, hours_office)
        steps: list[tuple[Any, ...]] = []
        office = receiving
        department: int | None = None
        assignee: tuple[int, str] | None = None
        state = "received"
        dept_members: list[tuple[int, str]] = []
        desk = rng.choice(receiving.members["MOTCUA"])
        actor = desk if channel in ("counter", "post") else None
        steps.append(
            (received, "receive", "", "received", actor, None, office, None, None, None, None, due)
        )
        # Open at now? Then the path stops at a state drawn for its age.
        recent = received.date() >= self.recent_from
        is_open = rng.random() < (self.p_recent if recent else self.p_older)
        target = None
        if is_open:
            age = now - received
            u = rng.random()
            if age < dt.timedelta(hours=20) and u < 0.5:
                target = "received"
            else:
                target = "transferred" if u < 0.15 else "supplement" if u < 0.27 else "processing"
        fate = rng.random()
        t = received if received >= start else start

        def later(lo: int, hi: int) -> dt.datetime:
            return t + dt.timedelta(minutes=rng.randint(lo, hi))

        paused_at = None
        paused_left = None
        paused_minutes = 0
        resolved = outcome = returned = closed = promised = None
        processing = None
        rating = None
        slip = None
        done = False

        def cut(moment: dt.datetime) -> bool:
            """The next step would be after now: stop (open dossiers keep their state)."""
            return moment >= now

        # 1. transfer to the processing department (or from a commune up to the province).
        if target != "received":
            dept_code = version.departments[0] if version.departments else "SOTHE"
            nt = later(5, 240)
            if not cut(nt):
                to_office = office
                if office.parent is not None and (
                    code not in COMMUNE_PROCEDURES or rng.random() < 0.5
                ):
                    to_office = office.parent
                if dept_code not in to_office.departments:
                    dept_code = "SOTHE"
                to_dept = to_office.departments[dept_code]
                to_assignee = (
                    rng.choice(to_office.members[dept_code]) if rng.random() < 0.3 else None
                )
                actor = rng.choice(office.members["MOTCUA"])
                steps.append(
                    (nt, "transfer", state, "transferred", actor, office, to_office, department,
                     to_dept, None, to_assignee, due)
                )  # fmt: skip
                t, state, office, department, assignee = (
                    nt,
                    "transferred",
                    to_office,
                    to_dept,
                    to_assignee,
                )
                dept_members = office.members[dept_code]
            else:
                done = True
        else:
            done = True
        # 2. withdrawn before processing.
        if not done and target is None and fate < 0.02:
            nt = later(60, 2 * 1440)
            if not cut(nt):
                steps.append(
                    (nt, "withdraw", state, "withdrawn", rng.choice(office.members["MOTCUA"]),
                     office, office, department, department, assignee, assignee, due)
                )  # fmt: skip
                t, state, closed = nt, "withdrawn", nt
            done = True
        # 3. processing starts.
        if not done and target != "transferred":
            nt = later(15, 1200)
            if not cut(nt):
                who = assignee or rng.choice(dept_members)
                steps.append(
                    (nt, "start", state, "processing", who, office, office, department, department,
                     assignee, who, due)
                )  # fmt: skip
                t, state, assignee = nt, "processing", who
            else:
                done = True
        elif target == "transferred":
            done = True
        # 4. a supplement (the clock pauses; resumes with the days that were left).
        if not done and (target == "supplement" or (target is None and rng.random() < 0.1)):
            nt = later(30, 1440)
            if not cut(nt):
                steps.append(
                    (nt, "request_supplement", state, "supplement", assignee, office, office,
                     department, department, assignee, assignee, due)
                )  # fmt: skip
                t, state, paused_at = nt, "supplement", nt
                left = max((due.date() - nt.date()).days * 5 // 7, 0) if nt < due else None
                paused_left = left
                back = later(1440, 6 * 1440)
                if target == "supplement" or cut(back):
                    done = True
                else:
                    if left is not None:
                        due = dt.datetime.combine(
                            add_working_days(back.date(), max(left, 1)), due.time()
                        )
                    paused_minutes = min(office_minutes_between(
                        self.aware(nt), self.aware(back), hours_office.hours), 60_000)  # fmt: skip
                    steps.append(
                        (back, "supplement_received", state, "processing",
                         rng.choice(office.members["MOTCUA"]), office, office, department,
                         department, assignee, assignee, due)
                    )  # fmt: skip
                    t, state, paused_at, paused_left = back, "processing", None, None
            else:
                done = True
        if not done and target == "processing":
            done = True
        # 5. result (early, on time, late — decided as services.record_result decides) or refusal.
        if not done:
            if fate < 0.06:
                nt = later(60, 3 * 1440)
                action, to_state = "reject", "rejected"
            else:
                timing = rng.random()
                due_open = dt.datetime.combine(due.date(), hours_office.opens)
                if timing < 0.72 and due_open - t > dt.timedelta(hours=1):
                    span = int((due_open - t).total_seconds() // 60)
                    nt = later(30, max(span - 1, 30))
                elif timing < 0.92 and due - t > dt.timedelta(minutes=20):
                    lo = max(t, due_open)
                    nt = lo + dt.timedelta(
                        minutes=rng.randint(1, max(int((due - lo).total_seconds() // 60) - 1, 1))
                    )
                else:
                    nt = max(t, due) + dt.timedelta(minutes=rng.randint(30, 5 * 1440))
                action, to_state = "result_ready", "result_ready"
            if nt > t and not cut(nt):
                if action == "result_ready" and nt > due and rng.random() < 0.5:
                    issued = max(t + _MIN, due - dt.timedelta(minutes=rng.randint(0, 240)))
                    if issued < nt:
                        promised = dt.datetime.combine((nt + _DAY).date(), hours_office.closes)
                        steps.append(
                            (issued, "apology", state, state, assignee, office, office,
                             department, department, assignee, assignee, due)
                        )  # fmt: skip
                        slip = (issued, assignee, due, promised)
                resolved = nt
                outcome = "late" if nt > due else "early" if nt.date() < due.date() else "on_time"
                processing = max(
                    office_minutes_between(self.aware(start), self.aware(nt), hours_office.hours)
                    - paused_minutes,
                    0,
                )
                if action == "reject":
                    closed = nt
                steps.append(
                    (nt, action, state, to_state, assignee, office, office, department,
                     department, assignee, assignee, due)
                )  # fmt: skip
                t, state = nt, to_state
                # 6. returned to the applicant, sometimes rated.
                if action == "result_ready":
                    back = later(0, 3 * 1440)
                    if not cut(back) and rng.random() < 0.97:
                        steps.append(
                            (back, "return", state, "returned",
                             rng.choice(office.members["MOTCUA"]), office, office, department,
                             department, assignee, assignee, due)
                        )  # fmt: skip
                        t, state, returned, closed = back, "returned", back, back
                        if rng.random() < 0.3:
                            rated = later(60, 3 * 1440)
                            if not cut(rated):
                                level = _choice(
                                    rng,
                                    {"very_satisfied": 50, "satisfied": 42, "not_satisfied": 8},
                                )
                                rating = (level, rated)

        # The warning and escalation the previous sweep left.
        warning, escalation = "", 0
        if state in ("received", "transferred", "processing"):
            swept_local = self.swept.replace(tzinfo=None)
            if received <= swept_local:
                warning = _warning(self.aware(due), self.swept_cut)
                if due < swept_local:
                    escalation = 1
                    if self.aware(due) <= self.head_cut:
                        escalation = 2
                    if self.aware(due) <= self.director_cut:
                        escalation = 3
            else:
                warning = classify(self.aware(due), self.aware(received))
        elif state == "supplement":
            warning = "paused"
        self.summary.counts[f"state:{state}"] += 1
        if state in ("received", "transferred", "processing", "supplement"):
            self.summary.open_by_state[state] += 1
            self.summary.open_by_warning[
                "paused" if state == "supplement" else _warning(self.aware(due), self.now_cut)
            ] += 1

        applicant = (
            rng.choice(self.firms) if code in EMPLOYER_PROCEDURES else rng.choice(self.persons)
        )
        db = self.db
        previous: dt.datetime | None = None
        self.w_dossier.add(
            (
                pk,
                f"{receiving.agency}-{received:%y%m%d}-{seq:04d}",
                version.procedure_id,
                version.pk,
                channel,
                state,
                receiving.office.pk,
                office.office.pk,
                office.province,
                department,
                assignee[0] if assignee else None,
                applicant[0],
                applicant[1],
                "",
                "",
                "",
                "[]",
                "",
                db(received),
                db(start),
                db(due),
                db(promised),
                db(paused_at),
                paused_left,
                paused_minutes,
                db(resolved),
                outcome or "",
                processing,
                db(returned),
                db(closed),
                warning,
                escalation,
                len(steps),
                None,
            )
        )
        for (
            at,
            action,
            from_state,
            to_state,
            who,
            from_o,
            to_o,
            from_d,
            to_d,
            from_a,
            to_a,
            d,
        ) in steps:
            # The path is written in time order: each row records the time since the previous.
            since = at - previous if previous is not None else None
            previous = at
            self.w_step.add(
                (
                    pk,
                    db(at),
                    action,
                    from_state,
                    to_state,
                    who[0] if who else None,
                    who[1] if who else "",
                    from_o.office.pk if from_o else None,
                    to_o.office.pk if to_o else None,
                    from_d,
                    to_d,
                    from_a[0] if from_a else None,
                    to_a[0] if to_a else None,
                    "",
                    db(d),
                    self.span(since),
                )
            )
        if slip is not None:
            issued, who, old_due, new_due = slip
            self.w_slip.add(
                (pk, 1, db(issued), who[0], "Cần xác minh thêm.", db(old_due), db(new_due), "sms")
            )
        if rating is not None:
            self.w_rating.add((pk, rating[0], "", db(rating[1])))


def _warning(due: dt.datetime, cut: Cutoffs) -> str:
    """``clock.classify`` with the cut-offs computed once."""
    if due < cut.now:
        return "overdue"
    if due < cut.end_of_today:
        return "due_today"
    if due < cut.end_of_soon:
        return "due_soon"
    return "on_track"


def _cumulative(weights: list[float]) -> list[float]:
    total, out = 0.0, []
    for w in weights:
        total += w
        out.append(total)
    return out


def _pick(rng: random.Random, cum: list[float]) -> int:
    return bisect.bisect_right(cum, rng.random() * cum[-1])


def _choice(rng: random.Random, table: dict[str, int]) -> str:
    keys = list(table)
    return rng.choices(keys, weights=[table[k] for k in keys], k=1)[0]


@contextmanager
def _bulk_pragmas() -> Iterator[None]:
    """On SQLite, no fsync per batch while loading (as ``synth.generator`` does)."""
    if bulk.is_postgres() or connection.in_atomic_block:
        yield
        return
    with connection.cursor() as cursor:
        cursor.execute("PRAGMA synchronous")
        before = int(cursor.fetchone()[0])
        cursor.execute("PRAGMA synchronous=OFF")
    try:
        yield
    finally:
        with connection.cursor() as cursor:
            cursor.execute(f"PRAGMA synchronous={before}")


def generate_dossiers(params: BulkParams, *, progress: bool = False) -> BulkSummary:
    """Offices, staff and ``params.dossiers`` dossiers with their paths (an empty one-stop
    database expected: dossier ids continue after the highest one)."""
    started = time.perf_counter()
    offices, _manager = ensure_offices(params)
    setup = time.perf_counter() - started
    gen = BulkGenerator(params, offices, progress=progress)
    summary = gen.run()
    summary.setup_seconds = setup
    return summary


def describe(summary: BulkSummary) -> str:
    return json.dumps(summary.as_dict(), indent=2, ensure_ascii=False)
