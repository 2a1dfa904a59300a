"""Minimal registry rows for scope tests, made directly so these tests depend only on the
registry's data model."""

from __future__ import annotations

import datetime as dt
import itertools

from ansinh.places.models import AdminUnit
from ansinh.registry.models import Employer, EmploymentSpell, Person

_n = itertools.count(1)


def person(unit: AdminUnit | None) -> Person:
    n = next(_n)
    pid = f"0010900{n:05d}"
    return Person.objects.create(
        ss_number=pid,
        personal_id=pid,
        full_name=f"Nguyễn Văn {n}",
        given_name=str(n),
        name_normalised=f"nguyen van {n}",
        sort_key=f"{n:010d}",
        date_of_birth=dt.date(1990, 1, 1),
        sex="M",
        address_unit=unit,
    )


def employer(unit: AdminUnit) -> Employer:
    n = next(_n)
    return Employer.objects.create(
        unit_code=f"TS{n:08d}",
        unit_type="01",
        participant_group="DN",
        name=f"Công ty {n}",
        name_normalised=f"cong ty {n}",
        address_unit=unit,
        wage_region=1,
    )


def spell(p: Person, e: Employer, start: dt.date, end: dt.date | None = None) -> EmploymentSpell:
    return EmploymentSpell.objects.create(
        person=p, employer=e, contract_type="indefinite", start=start, end=end
    )
