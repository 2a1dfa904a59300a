"""The synthetic data generator behind ``ansinh generate`` and ``ansinh demo``.

Deterministic: one seeded random stream per phase, consumed in a fixed order, so the same
parameters and seed give the same rows whatever the batch size or database. Ids are assigned
here (from the first free id of each table) and rows are written with ``bulk.TableWriter``.

What is generated, for one current province:
- employers over its communes (urban wards weigh more), enterprise or budget codes, tax codes,
  names, sectors, wage regions derived from the commune (ward/commune/special zone), a few
  public bodies on the State pay scale, sizes drawn from a heavy-tailed law;
- persons living in its communes, born mostly in the legacy provinces merged into it (that sets
  their personal ID prefix), with a personal ID consistent with birth date and sex, some legacy
  10-digit numbers, ~0.1% foreign workers with a system number ``NN…`` and ~0.05% with a
  deliberately inconsistent personal ID (flagged as the registry would flag it);
- employment spells from the 1st of a month to the last day of a month, non-overlapping, with
  job changes and gaps, salaries ≥ the regional minimum wage (State scale: coefficient × base
  salary), yearly raises and sometimes allowances;
- the ledger: one regular row per employed person and month of the window computed with
  ``contributions.calc.compute_month`` and the dated rules, one bill per employer and month, and
  payments: most bills paid on time, ~3% of employers with the last 1–4 months unpaid or partly
  paid (interest is left to ``contributions.services.accrue_interest``).
"""

from __future__ import annotations

import datetime as dt
import math
import random
import sys
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

from django.db import connection, transaction
from django.utils import timezone
from tqdm import tqdm

from ansinh.contributions.models import (
    MONEY_COLUMNS,
    BillStatus,
    EmployerBill,
    LedgerRow,
    Payment,
    PaymentAllocation,
)
from ansinh.core.errors import DomainError
from ansinh.core.text import normalise, sort_key, split_name
from ansinh.places.codes import LEGACY_PROVINCE_CODES
from ansinh.places.models import AdminUnit, UnitLevel, UnitSystem
from ansinh.registry.models import (
    Employer,
    EmploymentSpell,
    LegacyNumber,
    NumberCounter,
    Person,
    PersonNameWord,
    SalaryPeriod,
)
from ansinh.synth import bulk, names

#: Share of persons with a legacy 10-digit social insurance number kept as an alias.
LEGACY_SHARE = 0.10
#: Foreign workers without a personal ID (system number ``NN`` + 10 digits).
FOREIGN_SHARE = 0.001
#: Persons whose personal ID disagrees with their sex or birth year (flagged for verification).
INCONSISTENT_SHARE = 0.0005
#: Working-age persons who take part in insured work at all; with spells of ~30 months and
#: gaps of a few months, about three in four working-age persons are employed in a month.
PARTICIPATION = 0.85
#: Employers with arrears in the last months of the window.
ARREARS_SHARE = 0.03
PUBLIC_SHARE = 0.06
WORK_FROM_AGE, WORK_TO_AGE = 18, 60
#: How far before the window spells may start (the history a person brings along).
HISTORY_MONTHS = 24
BATCH = 20_000


def month_index(day: dt.date) -> int:
    return day.year * 12 + day.month - 1


def month_start(index: int) -> dt.date:
    return dt.date(index // 12, index % 12 + 1, 1)


def month_end(index: int) -> dt.date:
    return month_start(index + 1) - dt.timedelta(days=1)


def period_of(index: int) -> int:
    return (index // 12) * 100 + index % 12 + 1


def last_full_month(today: dt.date | None = None) -> int:
    today = today or timezone.localdate()
    return month_index(today) - 1


def parse_period(text: str) -> int:
    """'2026-03' → month index; raises DomainError (field ``end``)."""
    try:
        year, month = (int(p) for p in text.split("-"))
        return month_index(dt.date(year, month, 1))
    except (ValueError, TypeError) as exc:
        raise DomainError(
            "period_invalid", "end", "Tháng phải có dạng YYYY-MM.", "Use YYYY-MM for a month."
        ) from exc


@dataclass(frozen=True)
class Params:
    persons: int
    employers: int
    months: int
    seed: int = 1
    province: str = "01"
    end: int | None = None  # month index of the last month; default: last full month

    def end_index(self) -> int:
        return self.end if self.end is not None else last_full_month()

    def key(self) -> str:
        """Identifies a data set (bench reuses one whose key matches)."""
        end = period_of(self.end_index())
        return (
            f"p{self.persons}-e{self.employers}-m{self.months}-s{self.seed}"
            f"-v{self.province}-end{end}"
        )


@dataclass
class Summary:
    counts: dict[str, int] = field(default_factory=dict)
    seconds: dict[str, float] = field(default_factory=dict)

    @property
    def total_seconds(self) -> float:
        return sum(self.seconds.values())

    def lines(self) -> list[str]:
        out = [f"{k}: {v:,}" for k, v in self.counts.items()]
        for phase, sec in self.seconds.items():
            out.append(f"phase {phase}: {sec:.1f} s")
        total = self.total_seconds or 1e-9
        out.append(
            f"total {total:.1f} s — {self.counts.get('persons', 0) / total:,.0f} persons/s, "
            f"{self.counts.get('ledger_rows', 0) / total:,.0f} ledger rows/s"
        )
        return out


# --- Rules -------------------------------------------------------------------------------------


class RuleBook:
    """Contribution rules per (month, wage region, pay scale), cached, with the snapshot id and a
    memo of ``compute_month`` (salaries repeat a lot, the computation is pure)."""

    def __init__(self, span: tuple[int, int]) -> None:
        from ansinh.contributions.calc import compute_month
        from ansinh.law.selectors import contribution_rules
        from ansinh.law.services import snapshot_for

        self._rules_fn = contribution_rules
        self._snapshot_fn = snapshot_for
        self._compute = compute_month
        self._rules: dict[tuple[int, int, str], Any] = {}
        self._snapshots: dict[str, int] = {}
        self._amounts: dict[tuple[int, str], tuple[int, ...]] = {}
        self._earliest: int | None = None
        self._span = span
        self._changes: dict[tuple[int, str], set[int]] = {}

    def rules(self, index: int, region: int, pay_scale: str) -> Any:
        key = (index, region, pay_scale)
        found = self._rules.get(key)
        if found is None:
            found = self._load(index, region, pay_scale)
            self._rules[key] = found
        return found

    def _load(self, index: int, region: int, pay_scale: str) -> Any:
        try:
            return self._rules_fn(month_start(index), wage_region=region, pay_scale=pay_scale)
        except (DomainError, LookupError):
            # Before the first rule in the tables (only salaries of history before the window
            # need it): use the earliest month that has rules.
            if self._earliest is None:
                probe = index
                while probe < index + 600:
                    probe += 1
                    try:
                        self._rules_fn(month_start(probe), wage_region=region, pay_scale=pay_scale)
                        self._earliest = probe
                        break
                    except (DomainError, LookupError):
                        continue
                else:
                    raise
            if index >= self._earliest:
                raise
            return self.rules(self._earliest, region, pay_scale)

    def events(self, first: int, last: int, region: int, pay_scale: str) -> list[int]:
        """Months of [first, last] where a salary may change: the first, every January, and
        every month whose minimum wage or base salary differs from the month before."""
        key = (region, pay_scale)
        changes = self._changes.get(key)
        if changes is None:
            changes = self._changes[key] = set()
            lo, hi = self._span
            before = None
            for m in range(lo, hi + 1):
                r = self.rules(m, region, pay_scale)
                ref = (r.base_salary, r.regional_min_wage)
                if before is not None and ref != before:
                    changes.add(m)
                before = ref
        months = {first}
        months.update(m for m in range(first + (12 - first % 12) % 12, last + 1, 12))
        months.update(m for m in changes if first < m <= last)
        return sorted(months)

    def basis_id(self, rules: Any) -> int:
        snap = self._snapshots.get(rules.digest)
        if snap is None:
            snap = self._snapshot_fn(rules).pk
            self._snapshots[rules.digest] = snap
        return snap

    def amounts(self, insured_salary: int, rules: Any) -> tuple[int, ...]:
        """(insured_salary, bhtn_salary, the 8 money columns…, total)."""
        key = (insured_salary, rules.digest)
        found = self._amounts.get(key)
        if found is None:
            m = self._compute(insured_salary, rules)
            found = (
                int(m.insured_salary),
                int(m.bhtn_salary),
                *(int(getattr(m, c)) for c in MONEY_COLUMNS),
                int(m.total),
            )
            self._amounts[key] = found
        return found


def bill_dates(period: int) -> tuple[dt.date, dt.date]:
    """(issued_on, due_on) of the bill of a month, as ``contributions.services.issue_bill``
    sets them."""
    from ansinh.contributions.services import bill_dates as service_bill_dates

    return service_bill_dates(period)


# --- Places ------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Commune:
    id: int
    code: str
    name: str
    short_name: str
    urban: bool
    wage_region: int


def wage_region_of(province: str, unit_type: str, code: str) -> int:
    """Deterministic stand-in for the region lists of Decree 293/2025/NĐ-CP: wards of the big
    cities in region I, other wards in II, communes in II–IV, special zones in III."""
    kind = normalise(unit_type)
    n = int(code) if code.isdigit() else sum(map(ord, code))
    if "phuong" in kind:
        return 1 if province in names.REGION_I_PROVINCES else 2
    if "dac khu" in kind:
        return 3
    if province in names.REGION_I_PROVINCES:
        return 2 if n % 3 else 3
    return 4 if n % 4 == 0 else 3


def province_communes(province: str, *, progress: bool = False) -> list[Commune]:
    qs = AdminUnit.objects.filter(
        system=UnitSystem.CURRENT, level=UnitLevel.COMMUNE, province_code=province
    ).order_by("code")
    if not qs.exists():
        from ansinh.places.services import load_admin_units

        load_admin_units(progress=progress)
    units = list(qs.values_list("id", "code", "name", "short_name", "unit_type"))
    if not units:
        raise DomainError(
            "unknown_unit",
            "province",
            f"Tỉnh {province} không có xã/phường nào.",
            f"Province {province} has no communes.",
        )
    return [
        Commune(
            id=uid,
            code=code,
            name=name,
            short_name=short or name,
            urban="phuong" in normalise(utype or name.split(" ")[0]),
            wage_region=wage_region_of(province, utype or name, code),
        )
        for uid, code, name, short, utype in units
    ]


# --- The generator -----------------------------------------------------------------------------


@dataclass
class _Employer:
    id: int
    index: int
    commune: Commune
    pay_scale: str
    sector: str
    occupations: tuple[str, ...]
    public: bool
    unit_code: str
    arrears: dict[int, float]  # month offset in window → share paid (0 = unpaid)


_FORMS = (
    ("Công ty TNHH", "DN", "DN", 45),
    ("Công ty Cổ phần", "DN", "DN", 25),
    ("Công ty TNHH MTV", "DN", "DN", 15),
    ("Doanh nghiệp tư nhân", "DN", "DN", 5),
    ("Hợp tác xã", "HTX", "HX", 5),
)
_TERMINATION = ("resigned", "contract_end", "dismissed", "mutual_agreement")


def _weighted(items: list[tuple[Any, float]]) -> tuple[list[Any], list[float]]:
    cum, total = [], 0.0
    for _, w in items:
        total += w
        cum.append(total)
    return [i for i, _ in items], cum


class Generator:
    def __init__(
        self,
        params: Params,
        *,
        progress: bool = False,
        append: bool = False,
        log: Callable[[str], None] | None = None,
    ) -> None:
        self.p = params
        self.progress = progress
        self.append = append
        self.log = log or (lambda msg: None)
        self.summary = Summary()
        self.end = params.end_index()
        self.start = self.end - params.months + 1
        self.now = timezone.now()

    # -- helpers --
    def _bar(self, total: int, desc: str, unit: str) -> tqdm:
        return tqdm(
            total=total,
            desc=desc,
            unit=unit,
            disable=not self.progress,
            file=sys.stderr,
            unit_scale=True,
            dynamic_ncols=True,
        )

    def run(self) -> Summary:
        p = self.p
        if p.persons < 0 or p.employers < 1 or p.months < 1:
            raise DomainError(
                "invalid_size",
                "persons",
                "Cần ít nhất 1 đơn vị và 1 tháng.",
                "At least one employer and one month are needed.",
            )
        if not self.append and (Person.objects.exists() or Employer.objects.exists()):
            raise DomainError(
                "registry_not_empty",
                "append",
                "Sổ đăng ký đã có dữ liệu; dùng --append để thêm dữ liệu tổng hợp.",
                "The registry is not empty; use --append to add synthetic data to it.",
            )
        t0 = time.perf_counter()
        self.communes = province_communes(p.province, progress=self.progress)
        self._ensure_rules()
        self.book = RuleBook((self.start - HISTORY_MONTHS, self.end))
        self._load_taken()
        self.summary.seconds["setup"] = time.perf_counter() - t0

        t0 = time.perf_counter()
        self._employers()
        self.summary.seconds["employers"] = time.perf_counter() - t0

        t0 = time.perf_counter()
        self._placeholder_bills()
        with _bulk_load_pragmas():
            self._persons()
        self.summary.seconds["persons+ledger"] = time.perf_counter() - t0

        t0 = time.perf_counter()
        self._settle_bills()
        bulk.reset_sequences(
            Person,
            PersonNameWord,
            LegacyNumber,
            Employer,
            EmploymentSpell,
            SalaryPeriod,
            LedgerRow,
            EmployerBill,
            Payment,
            PaymentAllocation,
        )
        self.summary.seconds["bills+payments"] = time.perf_counter() - t0
        return self.summary

    def _ensure_rules(self) -> None:
        from ansinh.law.models import ContributionRate

        if not ContributionRate.objects.exists():
            from ansinh.law.services import sync_rules

            sync_rules()

    def _load_taken(self) -> None:
        """Numbers already used (``--append``), so new ones never collide."""
        self.taken_pids: set[str] = set()
        self.taken_legacy: set[str] = set()
        self.taken_codes: set[str] = set()
        if self.append:
            self.taken_pids = set(
                Person.objects.exclude(personal_id=None).values_list("personal_id", flat=True)
            )
            self.taken_legacy = set(LegacyNumber.objects.values_list("number", flat=True))
            for unit, tax in Employer.objects.values_list("unit_code", "tax_code"):
                self.taken_codes.add(unit)
                if tax:
                    self.taken_codes.add(tax)

    def _unique_digits(self, rng: random.Random, prefix: str, length: int, taken: set) -> str:
        while True:
            value = (
                prefix + f"{rng.randrange(10 ** (length - len(prefix))):0{length - len(prefix)}d}"
            )
            if value not in taken:
                taken.add(value)
                return value

    # -- employers --
    def _employers(self) -> None:
        p = self.p
        rng = random.Random(f"{p.seed}:employers")
        communes, commune_cum = _weighted([(c, 3.0 if c.urban else 1.0) for c in self.communes])
        sectors, sector_cum = _weighted([(k, v[0]) for k, v in names.SECTORS.items()])
        forms, form_cum = _weighted([(f, f[3]) for f in _FORMS])
        base = bulk.next_id(Employer)
        writer = bulk.TableWriter(
            Employer,
            (
                "id",
                "unit_code",
                "unit_type",
                "participant_group",
                "tax_code",
                "name",
                "name_normalised",
                "address_unit_id",
                "wage_region",
                "sector",
                "pay_scale",
                "active",
                "created_at",
            ),
        )
        used_names: set[str] = set()
        self.employers: list[_Employer] = []
        weights: list[float] = []
        created = bulk.datetime_value(self.now)
        with self._bar(p.employers, "employers", "emp") as bar:
            for i in range(p.employers):
                commune = rng.choices(communes, cum_weights=commune_cum)[0]
                public = rng.random() < PUBLIC_SHARE
                if public:
                    sector, pattern, occupations = rng.choice(names.PUBLIC_BODIES)
                    place = commune.name if "{place}" in pattern[-8:] else commune.short_name
                    name = pattern.format(place=place)
                    unit_type = "HC" if sector == "administration" else "SN"
                    group = "HC"
                    unit_code = self._unique_digits(rng, "1", 7, self.taken_codes)
                    tax_code = self._unique_digits(rng, p.province, 10, self.taken_codes)
                    pay_scale = "state"
                    size = 5 + rng.paretovariate(1.6) * 10
                else:
                    form, unit_type, group, _ = rng.choices(forms, cum_weights=form_cum)[0]
                    sector = rng.choices(sectors, cum_weights=sector_cum)[0]
                    _, lines, occupations = names.SECTORS[sector]
                    name = f"{form} {rng.choice(lines)} {rng.choice(names.FIRM_BRANDS)}"
                    unit_code = self._unique_digits(rng, p.province, 10, self.taken_codes)
                    tax_code = unit_code  # the enterprise code is the tax code
                    pay_scale = "employer"
                    size = rng.paretovariate(1.05)
                if name in used_names:
                    name = f"{name} {commune.short_name}"
                n = 2
                while name in used_names:
                    name = f"{name.rsplit(' số ', 1)[0]} số {n}"
                    n += 1
                used_names.add(name)
                arrears: dict[int, float] = {}
                if rng.random() < ARREARS_SHARE:
                    for back in range(rng.randint(1, 4)):
                        arrears[p.months - 1 - back] = (
                            0.0 if rng.random() < 0.6 else rng.uniform(0.3, 0.8)
                        )
                emp = _Employer(
                    id=base + i,
                    index=i,
                    commune=commune,
                    pay_scale=pay_scale,
                    sector=sector,
                    occupations=occupations,
                    public=public,
                    unit_code=unit_code,
                    arrears=arrears,
                )
                self.employers.append(emp)
                weights.append(min(size, 5000.0))
                writer.add(
                    (
                        emp.id,
                        unit_code,
                        unit_type,
                        group,
                        tax_code,
                        names.nfc(name),
                        normalise(name),
                        commune.id,
                        commune.wage_region,
                        sector,
                        pay_scale,
                        True,
                        created,
                    )
                )
                bar.update(1)
        writer.flush()
        _, self.employer_cum = _weighted(
            [(e, w) for e, w in zip(self.employers, weights, strict=True)]
        )
        self.summary.counts["employers"] = writer.written

    # -- bills: placeholders first, so ledger rows can reference them batch by batch --
    def _placeholder_bills(self) -> None:
        self.bill_base = bulk.next_id(EmployerBill)
        k = self.p.months
        dates = [bill_dates(period_of(self.start + m)) for m in range(k)]
        self.bill_dates = dates
        writer = bulk.TableWriter(
            EmployerBill,
            (
                "id",
                "employer_id",
                "period",
                "issued_on",
                "due_on",
                "amount",
                "paid_amount",
                "interest_amount",
                "status",
                "paid_in_full_on",
                "row_count",
            ),
        )
        rng = random.Random(f"{self.p.seed}:payments")
        # Day each bill is (or would be) paid; None where it stays unpaid or partly paid.
        self.paid_on: list[dt.date | None] = [None] * (len(self.employers) * k)
        self.paid_on_db: list[Any] = [None] * (len(self.employers) * k)
        for e in self.employers:
            for m in range(k):
                idx = e.index * k + m
                issued, due = dates[m]
                if m not in e.arrears:
                    span = max((due - issued).days, 0)
                    day = issued + dt.timedelta(days=rng.randint(0, span))
                    self.paid_on[idx] = day
                    self.paid_on_db[idx] = bulk.date_value(day)
                writer.add(
                    (
                        self.bill_base + idx,
                        e.id,
                        period_of(self.start + m),
                        bulk.date_value(issued),
                        bulk.date_value(due),
                        0,
                        0,
                        0,
                        BillStatus.OPEN.value,
                        None,
                        0,
                    )
                )
        writer.flush()
        self.bill_rows = [0] * (len(self.employers) * k)
        self.bill_amount = [0] * (len(self.employers) * k)

    # -- persons, spells, salaries, ledger --
    def _persons(self) -> None:
        p = self.p
        rng = random.Random(f"{p.seed}:persons")
        self.person_id = bulk.next_id(Person)
        self.word_id = bulk.next_id(PersonNameWord)
        self.legacy_id = bulk.next_id(LegacyNumber)
        self.spell_id = bulk.next_id(EmploymentSpell)
        self.salary_id = bulk.next_id(SalaryPeriod)
        self.row_id = bulk.next_id(LedgerRow)
        counter = NumberCounter.objects.filter(name="ss_number").first()
        self.nn_counter = counter.last_value if counter else 0
        nn_start = self.nn_counter
        self.w_person = bulk.TableWriter(
            Person,
            (
                "id",
                "ss_number",
                "personal_id",
                "full_name",
                "family_name",
                "middle_name",
                "given_name",
                "name_normalised",
                "sort_key",
                "date_of_birth",
                "sex",
                "nationality",
                "address_unit_id",
                "status",
                "date_of_death",
                "identity_check",
                "identity_flags",
                "created_at",
                "updated_at",
            ),
            batch=BATCH,
            autoflush=False,
        )
        self.w_words = bulk.TableWriter(
            PersonNameWord, ("id", "person_id", "word"), BATCH * 4, autoflush=False
        )
        self.w_legacy = bulk.TableWriter(
            LegacyNumber, ("id", "number", "person_id"), BATCH, autoflush=False
        )
        self.w_spell = bulk.TableWriter(
            EmploymentSpell,
            (
                "id",
                "person_id",
                "employer_id",
                "contract_type",
                "start",
                "end",
                "occupation",
                "termination_reason",
                "reported_on",
            ),
            BATCH,
            autoflush=False,
        )
        self.w_salary = bulk.TableWriter(
            SalaryPeriod,
            ("id", "spell_id", "valid_from", "salary", "allowances"),
            BATCH * 2,
            autoflush=False,
        )
        self.w_ledger = bulk.TableWriter(
            LedgerRow,
            (
                "id",
                "person_id",
                "employer_id",
                "period",
                "kind",
                "insured_salary",
                "bhtn_salary",
                *MONEY_COLUMNS,
                "exempt_reason",
                "basis_id",
                "bill_id",
                "paid_on",
            ),
            BATCH * 2,
            autoflush=False,
        )
        writers = (
            self.w_person,
            self.w_words,
            self.w_legacy,
            self.w_spell,
            self.w_salary,
            self.w_ledger,
        )
        self.created = bulk.datetime_value(self.now)
        self._name_cache: dict[str, tuple[str, str, str, str, str, list[str]]] = {}
        communes, commune_cum = _weighted([(c, 2.0 if c.urban else 1.0) for c in self.communes])
        self._communes, self._commune_cum = communes, commune_cum
        home = [c for c in names.PREDECESSORS.get(p.province, (p.province,))]
        home = [c for c in home if c in LEGACY_PROVINCE_CODES] or [p.province]
        self._home = home
        self._home_cum = [float(2 if i == 0 else 1) for i in range(len(home))]
        for i in range(1, len(self._home_cum)):
            self._home_cum[i] += self._home_cum[i - 1]
        self._all_provinces = sorted(LEGACY_PROVINCE_CODES)
        self.window_periods = [period_of(self.start + m) for m in range(p.months)]
        self._spells = 0
        with self._bar(p.persons, "persons", "pers") as bar:
            for i in range(p.persons):
                self._person(rng, self.person_id + i)
                if i % 1000 == 999:
                    bar.update(1000)
                    if any(w.full for w in writers):
                        for w in writers:  # parents first: foreign keys hold per batch
                            w.flush()
            bar.update(p.persons % 1000)
        for w in writers:
            w.flush()
        if self.nn_counter != nn_start:
            with transaction.atomic():
                NumberCounter.objects.update_or_create(
                    name="ss_number", defaults={"last_value": self.nn_counter}
                )
        c = self.summary.counts
        c["persons"] = self.w_person.written
        c["legacy_numbers"] = self.w_legacy.written
        c["spells"] = self.w_spell.written
        c["salary_periods"] = self.w_salary.written
        c["ledger_rows"] = self.w_ledger.written

    def _name_fields(self, full_name: str) -> tuple[str, str, str, str, str, list[str]]:
        found = self._name_cache.get(full_name)
        if found is None:
            family, middle, given = split_name(full_name)
            norm = normalise(full_name)
            words = sorted({w[:40] for w in norm.split(" ") if w})
            found = (family, middle, given, norm, sort_key(full_name), words)
            if len(self._name_cache) < 500_000:
                self._name_cache[full_name] = found
        return found

    def _person(self, rng: random.Random, pid_db: int) -> None:
        from ansinh.registry.identifiers import century_digit, check_personal_id

        end_day = month_end(self.end)
        roll = rng.random()
        foreign = roll < FOREIGN_SHARE
        inconsistent = FOREIGN_SHARE <= roll < FOREIGN_SHARE + INCONSISTENT_SHARE
        age = 16 + int(rng.betavariate(1.8, 2.4) * 56)
        dob = dt.date(end_day.year - age, 1, 1) + dt.timedelta(days=rng.randrange(365))
        commune = rng.choices(self._communes, cum_weights=self._commune_cum)[0]
        flags = ""
        if foreign:
            full_name, sex, nationality = rng.choice(names.FOREIGN_NAMES)
            self.nn_counter += 1
            ss_number = f"NN{self.nn_counter:010d}"
            personal_id = None
            check = "n/a"
        else:
            sex = "F" if rng.random() < 0.49 else "M"
            nationality = "VN"
            full_name = names.vietnamese_name(rng, sex)
            if rng.random() < 0.8:
                birth = rng.choices(self._home, cum_weights=self._home_cum)[0]
            else:
                birth = rng.choice(self._all_provinces)
            id_sex = ("M" if sex == "F" else "F") if inconsistent else sex
            prefix = f"0{birth}{century_digit(dob, id_sex)}{dob.year % 100:02d}"
            personal_id = self._unique_digits(rng, prefix, 12, self.taken_pids)
            ss_number = personal_id
            check = "consistent"
            if inconsistent:
                found = check_personal_id(personal_id, date_of_birth=dob, sex=sex).flags
                flags = ",".join(found)
                check = "flagged" if found else "consistent"
        family, middle, given, norm, skey, words = self._name_fields(full_name)
        self.w_person.add(
            (
                pid_db,
                ss_number,
                personal_id,
                full_name,
                family,
                middle,
                given,
                norm,
                skey,
                bulk.date_value(dob),
                sex,
                nationality,
                commune.id,
                "active",
                None,
                check,
                flags,
                self.created,
                self.created,
            )
        )
        for word in words:
            self.w_words.add((self.word_id, pid_db, word))
            self.word_id += 1
        if not foreign and rng.random() < LEGACY_SHARE:
            prefix = rng.choice(self._home)
            number = self._unique_digits(rng, prefix, 10, self.taken_legacy)
            self.w_legacy.add((self.legacy_id, number, pid_db))
            self.legacy_id += 1
        self._career(rng, pid_db, dob)

    def _career(self, rng: random.Random, person: int, dob: dt.date) -> None:
        if rng.random() >= PARTICIPATION:
            return
        first = month_index(dob) + WORK_FROM_AGE * 12 + 1
        stop = month_index(dob) + WORK_TO_AGE * 12
        t = max(first, self.start - HISTORY_MONTHS)
        last = min(stop, self.end)
        if t > last:
            return
        if rng.random() >= 0.85:  # starts in a gap
            t += rng.randint(1, 8)
        previous: _Employer | None = None
        while t <= last:
            length = 3 + int(rng.expovariate(1 / 30))
            s_end = t + length - 1
            emp = self.employers[
                rng.choices(range(len(self.employers)), cum_weights=self.employer_cum)[0]
            ]
            if previous is not None and emp is previous and len(self.employers) > 1:
                emp = self.employers[(emp.index + 1) % len(self.employers)]
            open_ended = s_end >= self.end and stop > self.end
            s_end = min(s_end, last)
            self._spell(rng, person, emp, t, None if open_ended else s_end, stop)
            previous = emp
            gap = rng.randint(1, 6) if rng.random() < 0.9 else rng.randint(7, 24)
            t = s_end + 1 + gap

    def _spell(
        self,
        rng: random.Random,
        person: int,
        emp: _Employer,
        first: int,
        last: int | None,
        stop: int,
    ) -> None:
        spell = self.spell_id
        self.spell_id += 1
        if emp.public:
            contract = "civil_servant" if rng.random() < 0.8 else "fixed"
        else:
            r = rng.random()
            contract = "indefinite" if r < 0.45 else ("fixed" if r < 0.85 else "seasonal")
        start = month_start(first)
        reason = ""
        if last is not None:
            reason = "retirement" if last == stop else rng.choice(_TERMINATION)
        self.w_spell.add(
            (
                spell,
                person,
                emp.id,
                contract,
                bulk.date_value(start),
                bulk.date_value(month_end(last)) if last is not None else None,
                rng.choice(emp.occupations),
                reason,
                bulk.date_value(start + dt.timedelta(days=rng.randint(0, 20))),
            )
        )
        # Salary periods: from the start, every January (raise), and whenever a new minimum
        # wage or base salary would otherwise leave the salary below it.
        region = emp.commune.wage_region
        scale = emp.pay_scale
        end = self.end if last is None else last
        book = self.book
        periods: list[tuple[int, int, int]] = []  # (month index, salary, allowances)
        if scale == "state":
            coef = round(rng.uniform(2.34, 5.0), 2)
            allowance_coef = round(rng.uniform(0.1, 0.5), 2) if rng.random() < 0.4 else 0.0
        else:
            factor = 1.0 + min(rng.lognormvariate(-0.7, 0.8), 14.0)
            allowance = rng.randint(3, 20) * 100_000 if rng.random() < 0.2 else 0
        salary = allowances = 0
        januaries = 0
        for m in book.events(first, end, region, scale):
            rules = book.rules(m, region, scale)
            new_year = m % 12 == 0 and m != first
            januaries += new_year
            if scale == "state":
                if new_year and januaries % 3 == 0:  # a pay step every three years
                    coef = round(coef + 0.33, 2)
                base = int(rules.base_salary)
                s = int(round(coef * base, -3))
                a = int(round(allowance_coef * base, -3))
            else:
                floor = int(rules.regional_min_wage)
                if m == first:
                    s = _round_up(floor * factor, 50_000)
                    a = allowance
                else:
                    s, a = salary, allowances
                    if new_year:
                        s = _round_up(s * rng.uniform(1.03, 1.10), 50_000)
                if s < floor:
                    s = _round_up(floor, 50_000)
            if m == first or (s, a) != (salary, allowances):
                salary, allowances = s, a
                periods.append((m, s, a))
        for m, s, a in periods:
            self.w_salary.add((self.salary_id, spell, bulk.date_value(month_start(m)), s, a))
            self.salary_id += 1
        # Ledger rows for the months of the window.
        lo, hi = max(first, self.start), min(end, self.end)
        if lo > hi:
            return
        k = self.p.months
        pi = 0
        for m in range(lo, hi + 1):
            while pi + 1 < len(periods) and periods[pi + 1][0] <= m:
                pi += 1
            _, s, a = periods[pi]
            rules = book.rules(m, region, scale)
            amounts = book.amounts(s + a, rules)
            offset = m - self.start
            bill = emp.index * k + offset
            self.bill_rows[bill] += 1
            self.bill_amount[bill] += amounts[-1]
            self.w_ledger.add(
                (
                    self.row_id,
                    person,
                    emp.id,
                    self.window_periods[offset],
                    "regular",
                    *amounts[:-1],
                    "",
                    book.basis_id(rules),
                    self.bill_base + bill,
                    self.paid_on_db[bill],
                )
            )
            self.row_id += 1

    # -- bills and payments --
    def _settle_bills(self) -> None:
        k = self.p.months
        rng = random.Random(f"{self.p.seed}:settle")
        updates: list[tuple[Any, ...]] = []
        empty: list[int] = []
        payments: list[tuple[Any, ...]] = []
        allocations: list[tuple[Any, ...]] = []
        pay_id = bulk.next_id(Payment)
        alloc_id = bulk.next_id(PaymentAllocation)
        issued_bills = 0
        for e in self.employers:
            for m in range(k):
                idx = e.index * k + m
                bill_id = self.bill_base + idx
                rows, amount = self.bill_rows[idx], self.bill_amount[idx]
                if rows == 0:
                    empty.append(bill_id)
                    continue
                issued_bills += 1
                issued = self.bill_dates[m][0]
                paid_day = self.paid_on[idx]
                if paid_day is not None:
                    paid, status, full_on = amount, BillStatus.PAID.value, paid_day
                    received = paid_day
                else:
                    share = e.arrears.get(m, 0.0)
                    paid = int(amount * share)
                    status = BillStatus.PARTIAL.value if paid else BillStatus.OPEN.value
                    full_on = None
                    received = issued + dt.timedelta(days=rng.randint(0, 10))
                updates.append((amount, rows, paid, status, bulk.date_value(full_on), bill_id))
                if paid > 0:
                    payments.append(
                        (
                            pay_id,
                            e.id,
                            bulk.date_value(received),
                            paid,
                            f"SYN-{period_of(self.start + m)}-{e.unit_code}",
                            None,
                            self.created,
                        )
                    )
                    allocations.append((alloc_id, pay_id, bill_id, paid, 0))
                    pay_id += 1
                    alloc_id += 1
        table = connection.ops.quote_name(EmployerBill._meta.db_table)  # model metadata, not input
        with self._bar(len(updates), "bills", "bill") as bar:
            for start in range(0, len(updates), BATCH):
                chunk = updates[start : start + BATCH]
                bulk.execute_many(
                    f"UPDATE {table} SET amount = %s, row_count = %s, "  # noqa: S608
                    "paid_amount = %s, status = %s, paid_in_full_on = %s WHERE id = %s",
                    chunk,
                )
                bar.update(len(chunk))
        for start in range(0, len(empty), 500):
            chunk = empty[start : start + 500]
            with transaction.atomic(), connection.cursor() as cursor:
                cursor.execute(
                    f"DELETE FROM {table} WHERE id IN "  # noqa: S608
                    f"({', '.join(['%s'] * len(chunk))})",
                    chunk,
                )
        w_pay = bulk.TableWriter(
            Payment,
            (
                "id",
                "employer_id",
                "received_on",
                "amount",
                "reference",
                "recorded_by_id",
                "created_at",
            ),
        )
        for row in payments:
            w_pay.add(row)
        w_pay.flush()
        w_alloc = bulk.TableWriter(
            PaymentAllocation, ("id", "payment_id", "bill_id", "principal", "interest")
        )
        for row in allocations:
            w_alloc.add(row)
        w_alloc.flush()
        self.summary.counts["bills"] = issued_bills
        self.summary.counts["payments"] = w_pay.written
        self.summary.counts["bills_in_arrears"] = sum(
            1 for u in updates if u[3] != BillStatus.PAID.value
        )


@contextmanager
def _bulk_load_pragmas() -> Iterator[None]:
    """On SQLite, skip the fsync at each batch commit while loading (a crash loses only the
    synthetic data being generated); the setting is restored afterwards."""
    if bulk.is_postgres() or connection.in_atomic_block:
        yield
        return
    with connection.cursor() as cursor:
        cursor.execute("PRAGMA synchronous")
        before = cursor.fetchone()[0]
        cursor.execute("PRAGMA synchronous=OFF")
    try:
        yield
    finally:
        with connection.cursor() as cursor:
            cursor.execute(f"PRAGMA synchronous={int(before)}")


def _round_up(value: float, step: int) -> int:
    return int(math.ceil(value / step) * step)


def generate(
    params: Params,
    *,
    progress: bool = False,
    append: bool = False,
    log: Callable[[str], None] | None = None,
) -> Summary:
    """Generate a synthetic data set (see the module docstring). Refuses a registry that already
    holds persons or employers unless ``append`` (code ``registry_not_empty``)."""
    return Generator(params, progress=progress, append=append, log=log).run()
