"""Factories for tests in any app: valid personal IDs consistent with birth date and sex, and
existing current communes."""

from __future__ import annotations

import datetime as dt
import itertools
from typing import Any

from ansinh.registry.identifiers import century_digit
from ansinh.registry.models import Employer, Person

_seq = itertools.count(1)
#: Current-system units used when the full set is not loaded: Hà Nội and TP.HCM with one
#: commune each (GSO codes after the 2025 reform).
_MINIMAL_UNITS = (
    ("01", "Thành phố Hà Nội", "00004", "Phường Ba Đình"),
    ("79", "Thành phố Hồ Chí Minh", "26734", "Phường Sài Gòn"),
)


def ensure_units() -> None:
    """Make sure the current communes used by the factories exist."""
    try:
        from ansinh.places.testing import ensure_units_loaded
    except ImportError:
        ensure_units_loaded = None
    if ensure_units_loaded is not None:
        ensure_units_loaded()
        return
    from ansinh.places.models import AdminUnit, UnitLevel, UnitSystem

    for pcode, pname, ccode, cname in _MINIMAL_UNITS:
        province, _ = AdminUnit.objects.get_or_create(
            system=UnitSystem.CURRENT,
            level=UnitLevel.PROVINCE,
            code=pcode,
            defaults={"name": pname, "short_name": pname, "province_code": pcode, "key": pcode},
        )
        AdminUnit.objects.get_or_create(
            system=UnitSystem.CURRENT,
            level=UnitLevel.COMMUNE,
            code=ccode,
            defaults={
                "name": cname,
                "short_name": cname,
                "parent": province,
                "province_code": pcode,
                "key": ccode,
            },
        )


def default_commune_code() -> str:
    from ansinh.places.models import AdminUnit, UnitLevel, UnitSystem

    ensure_units()
    unit = (
        AdminUnit.objects.filter(system=UnitSystem.CURRENT, level=UnitLevel.COMMUNE)
        .order_by("code")
        .first()
    )
    assert unit is not None
    return unit.code


def personal_id_for(date_of_birth: dt.date, sex: str, *, province: str = "01", n: int = 0) -> str:
    """A valid personal ID agreeing with the birth date and sex (Circular 07/2016 Art. 7)."""
    serial = n or next(_seq)
    return (
        f"0{province}{century_digit(date_of_birth, sex)}{date_of_birth.year % 100:02d}"
        f"{serial % 1_000_000:06d}"
    )


def make_person(**kw: Any) -> Person:
    """Register a person through the service; every argument of ``register_person`` can be
    overridden. ``personal_id=None`` gives a system-numbered person."""
    from ansinh.registry.services import register_person

    kw.setdefault("full_name", "Nguyễn Văn An")
    kw.setdefault("date_of_birth", dt.date(1990, 5, 17))
    kw.setdefault("sex", "M")
    if "address_unit_code" not in kw:
        kw["address_unit_code"] = default_commune_code()
    if "personal_id" not in kw:
        while True:
            pid = personal_id_for(kw["date_of_birth"], kw["sex"])
            if not Person.objects.filter(ss_number=pid).exists():
                break
        kw["personal_id"] = pid
    return register_person(**kw)


def make_employer(**kw: Any) -> Employer:
    from ansinh.registry.services import register_employer

    n = next(_seq)
    kw.setdefault("unit_code", f"01{n:08d}")
    kw.setdefault("unit_type", "DN")
    kw.setdefault("participant_group", "DN")
    kw.setdefault("name", f"Công ty TNHH Thử Nghiệm {n}")
    kw.setdefault("wage_region", 1)
    if "address_unit_code" not in kw:
        kw["address_unit_code"] = default_commune_code()
    return register_employer(**kw)
