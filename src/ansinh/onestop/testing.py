"""Test factories for the one-stop app.

office = make_office()                          # a provincial office with four departments
officer = make_officer(office, departments=("THU",))
dossier = make_dossier(office, actor=officer)   # procedure 600, received now at the counter
"""

from __future__ import annotations

import datetime as dt
import itertools
from typing import Any

from ansinh.access.models import Organisation, User
from ansinh.access.testing import make_org, make_user
from ansinh.onestop import services
from ansinh.onestop.models import Department, Dossier, Office

_seq = itertools.count(1)

DEPARTMENTS = (
    ("MOTCUA", "Bộ phận tiếp nhận và trả kết quả"),
    ("THU", "Phòng Quản lý thu"),
    ("SOTHE", "Phòng Cấp sổ, thẻ"),
    ("CHEDO", "Phòng Chế độ BHXH"),
)


def ensure_catalogue() -> None:
    services.sync_catalogue()


def make_office(
    org: Organisation | None = None,
    *,
    province_code: str = "01",
    kind: str = "province_office",
    parent: Organisation | None = None,
    **fields: Any,
) -> Office:
    """An office (with the seeded catalogue and the four usual departments)."""
    ensure_catalogue()
    n = next(_seq)
    org = org or make_org(kind=kind, scope_codes=(province_code,), parent=parent)
    return services.create_office(
        organisation=org,
        agency_code=fields.pop(
            "agency_code", f"000.{n // 100 % 100:02d}.{n % 100:02d}.T{n // 10000 % 100:02d}"
        ),
        province_code=province_code,
        place=fields.pop("place", "Hà Nội"),
        departments=fields.pop("departments", DEPARTMENTS),
        **fields,
    )


def make_officer(
    office: Office, role: str = "officer", *, departments: tuple[str, ...] = (), **kw: Any
) -> User:
    user = make_user(role, org=office.organisation, **kw)
    for code in departments:
        Department.objects.get(office=office, code=code).members.add(user)
    return user


def make_dossier(
    office: Office,
    *,
    procedure_code: str = "600",
    actor: Any = None,
    at: dt.datetime | None = None,
    channel: str = "counter",
    **kw: Any,
) -> Dossier:
    applicant = kw.pop(
        "applicant",
        services.Applicant(name="Công ty TNHH Thử Nghiệm", id_number="0101234567"),
    )
    return services.receive_dossier(
        office=office,
        procedure_code=procedure_code,
        channel=channel,
        applicant=applicant,
        documents=kw.pop("documents", [services.DocumentReceived("Mẫu D02-LT")]),
        actor=actor,
        at=at,
        **kw,
    )
