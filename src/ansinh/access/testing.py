"""Test factories for every app: administrative units, organisations, users, logged-in clients,
API tokens. They create the minimum they need, so tests do not have to load the 13,000
administrative units.

    org = make_org(scope_codes=("01",))           # a provincial office serving province 01
    officer = make_user("officer", org=org)
    login_verified(client, officer)               # signed in, second factor passed
    headers = {"Authorization": f"Bearer {token_for(officer)}"}
"""

from __future__ import annotations

import itertools
from collections.abc import Iterable
from typing import Any

from django.test import Client

from ansinh.access import services
from ansinh.access.models import Organisation, User
from ansinh.access.twofactor import SESSION_KEY
from ansinh.places.models import AdminUnit, UnitLevel, UnitSystem

#: The password every ``make_user`` user gets unless told otherwise.
PASSWORD = "correct-horse-battery-42"  # noqa: S105 - test fixture

_seq = itertools.count(1)


def make_unit(code: str, *, province: str = "01", name: str | None = None) -> AdminUnit:
    """The current-system unit with this code, created if missing: a 2-digit code is a
    province, a 5-digit code a commune of ``province`` (created too if missing)."""
    if len(code) == 2:
        unit, _ = AdminUnit.objects.get_or_create(
            system=UnitSystem.CURRENT,
            level=UnitLevel.PROVINCE,
            code=code,
            defaults={
                "name": name or f"Tỉnh thử {code}",
                "short_name": name or f"Thử {code}",
                "province_code": code,
                "key": f"tinh thu {code}",
            },
        )
        return unit
    parent = make_unit(province)
    unit, _ = AdminUnit.objects.get_or_create(
        system=UnitSystem.CURRENT,
        level=UnitLevel.COMMUNE,
        code=code,
        defaults={
            "name": name or f"Xã thử {code}",
            "short_name": name or f"Thử {code}",
            "parent": parent,
            "province_code": parent.code,
            "key": f"xa thu {code}",
        },
    )
    return unit


def make_org(
    kind: str = "province_office",
    scope_codes: Iterable[str] = ("01",),
    nationwide: bool = False,
    *,
    code: str | None = None,
    name: str | None = None,
    parent: Organisation | None = None,
) -> Organisation:
    """An organisation serving the given current provinces/communes (created if missing;
    a commune code missing from the database is created under province 01)."""
    codes = list(scope_codes)
    for unit_code in codes:
        make_unit(unit_code)
    n = next(_seq)
    return services.create_organisation(
        code=code or f"T{n:04d}",
        name=name or f"Đơn vị thử {n}",
        kind=kind,
        scope_codes=codes,
        nationwide=nationwide,
        parent=parent,
    )


def make_user(
    role: str | None = "officer",
    org: Organisation | bool | None = None,
    **kw: Any,
) -> User:
    """A user with one role (None: no role). ``org=None`` creates a fresh organisation with
    ``make_org()`` (a provincial office serving province 01); ``org=False`` leaves the user
    without one. Other keywords go to the User model (``is_superuser=True``,
    ``totp_secret=...``); ``password`` defaults to :data:`PASSWORD`."""
    if org is None:
        kind = {"employer": "employer", "ivan": "ivan"}.get(role or "", "province_office")
        org = make_org(kind=kind, scope_codes=() if kind != "province_office" else ("01",))
    organisation = org if isinstance(org, Organisation) else None
    username = kw.pop("username", None) or f"user{next(_seq)}"
    password = kw.pop("password", PASSWORD)
    return services.create_user(
        username=username,
        password=password,
        organisation=organisation,
        roles=[role] if role else [],
        **kw,
    )


def login_verified(client: Client, user: User) -> Client:
    """Sign a test client in as ``user`` with the second factor already passed."""
    client.force_login(user)
    session = client.session
    session[SESSION_KEY] = True
    session.save()
    return client


def token_for(user: User, name: str = "test") -> str:
    """A fresh, non-expiring bearer token for ``user``."""
    return services.issue_token(user, name)[1]
