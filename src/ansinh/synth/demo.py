"""The demo installation: organisations, one user per role with a password and an enrolled TOTP
secret, the demo data set (one province, 50,000 persons, 2,000 employers, 36 months), and the
demo province's one-stop offices with a year and a half of dossiers (``synth.dossiers``).

The passwords are fixed and printed by ``ansinh demo --logins``: this is for a throw-away demo,
never for a real installation.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

import pyotp
from django.db import transaction
from django.db.models import Count, Q

from ansinh.access.models import Organisation, User
from ansinh.places.models import AdminUnit, UnitLevel, UnitSystem
from ansinh.registry.models import Employer, Person
from ansinh.synth.generator import Params, Summary, generate

if TYPE_CHECKING:
    from ansinh.synth.dossiers import DossierSummary

DEMO_PROVINCE = "01"  # Hà Nội (current system)
DEMO_PARAMS = Params(persons=50_000, employers=2_000, months=36, seed=2026, province="01")
#: Persons of the full demo: the one-stop demo is scaled to the registry demo's size.
FULL_DEMO_PERSONS = DEMO_PARAMS.persons


@dataclass(frozen=True)
class DemoLogin:
    role: str
    username: str
    password: str
    organisation: str
    description: str


#: (role label, username, role group, organisation code key, description)
DEMO_USERS = (
    ("officer", "canbo.tinh", "officer", "province", "provincial office officer"),
    ("commune officer", "canbo.xa", "officer", "commune1", "commune office officer"),
    ("manager", "lanhdao.tinh", "manager", "province", "provincial office manager"),
    ("auditor", "kiemtoan", "auditor", "central", "central agency auditor"),
    ("administrator", "quantri", "administrator", "central", "system administrator"),
    ("employer", "donvi", "employer", "employer", "employer's HR clerk"),
    ("ivan", "ivan", "ivan", "ivan", "I-VAN operator"),
    ("employment centre", "ttdvvl", "officer", "centre", "employment service centre officer"),
    ("centre manager", "ttdvvl.gd", "manager", "centre", "signs unemployment decisions"),
)


def demo_password(username: str) -> str:
    return f"Demo-{username}-2026!"


def _demo_communes() -> list[AdminUnit]:
    qs = AdminUnit.objects.filter(
        system=UnitSystem.CURRENT, level=UnitLevel.COMMUNE, province_code=DEMO_PROVINCE
    ).order_by("code")
    return list(qs[:2])


def _largest_employer() -> Employer | None:
    return (
        Employer.objects.filter(address_unit__province_code=DEMO_PROVINCE)
        .annotate(n=Count("spells", filter=Q(spells__end__isnull=True)))
        .order_by("-n", "id")
        .first()
    )


@transaction.atomic
def ensure_demo_organisations() -> dict[str, Organisation]:
    """Create the demo organisations that are missing; return them by key."""
    from ansinh.access.services import create_organisation, ensure_roles

    ensure_roles()
    province = AdminUnit.objects.get(
        system=UnitSystem.CURRENT, level=UnitLevel.PROVINCE, code=DEMO_PROVINCE
    )
    communes = _demo_communes()
    employer = _largest_employer()
    specs: list[tuple[str, str, str, str, tuple[str, ...], bool, str | None]] = [
        ("central", "VSS", "Bảo hiểm xã hội Việt Nam", "central", (), True, None),
        (
            "province",
            f"BHXH-{DEMO_PROVINCE}",
            f"Bảo hiểm xã hội {province.name}",
            "province_office",
            (DEMO_PROVINCE,),
            False,
            "central",
        ),
        (
            "centre",
            f"TTDVVL-{DEMO_PROVINCE}",
            f"Trung tâm Dịch vụ việc làm {province.short_name}",
            "employment_centre",
            (DEMO_PROVINCE,),
            False,
            None,
        ),
        ("ivan", "IVAN-DEMO", "Công ty I-VAN Thử nghiệm", "ivan", (), False, None),
    ]
    for i, unit in enumerate(communes, start=1):
        specs.append(
            (
                f"commune{i}",
                f"BHXH-{unit.code}",
                f"Bảo hiểm xã hội cơ sở {unit.name}",
                "commune_office",
                (unit.code,),
                False,
                "province",
            )
        )
    if employer is not None:
        # The employer's organisation carries the employer's unit code (DD) as its code.
        specs.append(("employer", employer.unit_code, employer.name, "employer", (), False, None))
    orgs: dict[str, Organisation] = {}
    for key, code, name, kind, scope, nationwide, parent in specs:
        org = Organisation.objects.filter(code=code).first()
        if org is None:
            org = create_organisation(
                code=code,
                name=name,
                kind=kind,
                scope_codes=scope,
                nationwide=nationwide,
                parent=orgs.get(parent) if parent else None,
            )
        orgs[key] = org
    return orgs


@transaction.atomic
def ensure_demo_users(orgs: dict[str, Organisation]) -> list[DemoLogin]:
    """Create the demo users that are missing (password, TOTP secret enrolled)."""
    from ansinh.access.services import create_user

    logins = []
    for label, username, role, org_key, description in DEMO_USERS:
        org = orgs.get(org_key)
        if org is None:
            continue
        if not User.objects.filter(username=username).exists():
            create_user(
                username=username,
                password=demo_password(username),
                organisation=org,
                roles=(role,),
                totp_secret=pyotp.random_base32(),
                totp_enabled=True,
                is_staff=role == "administrator",
                is_superuser=role == "administrator",
            )
        logins.append(DemoLogin(label, username, demo_password(username), org.name, description))
    return logins


def demo_logins() -> list[tuple[DemoLogin, str, str]]:
    """(login, TOTP secret, current TOTP code) for each demo user that exists."""
    out = []
    users = {u.username: u for u in User.objects.filter(username__in=[d[1] for d in DEMO_USERS])}
    for label, username, _role, _org, description in DEMO_USERS:
        user = users.get(username)
        if user is None:
            continue
        org = user.organisation.name if user.organisation else ""
        login = DemoLogin(label, username, demo_password(username), org, description)
        code = pyotp.TOTP(user.totp_secret).now() if user.totp_secret else ""
        out.append((login, user.totp_secret, code))
    return out


def ensure_demo(*, params: Params = DEMO_PARAMS, progress: bool = False) -> Summary | None:
    """Generate the demo data set unless persons exist, then the organisations and users.
    Returns the generation summary, or None when the data was already there."""
    summary = None
    if not Person.objects.exists():
        summary = generate(params, progress=progress, append=Employer.objects.exists())
    ensure_demo_users(ensure_demo_organisations())
    return summary


def ensure_demo_onestop(
    *, dossiers: int | None = None, progress: bool = False
) -> DossierSummary | None:
    """The demo's one-stop offices, staff and dossiers (after :func:`ensure_demo`). Returns the
    summary of the dossiers made, or None when the demo offices already had dossiers.

    By default the number of dossiers follows the size of the registry demo (``DEMO_DOSSIERS``
    for the full 50,000 persons, proportionally fewer for a smaller one, at least 60)."""
    from ansinh.synth.dossiers import DEMO_DOSSIERS, ensure_demo_dossiers

    orgs = ensure_demo_organisations()
    count = dossiers
    if count is None:
        share = min(1.0, Person.objects.count() / FULL_DEMO_PERSONS)
        count = max(60, round(DEMO_DOSSIERS * share))
    return ensure_demo_dossiers(orgs, count=count, progress=progress)
