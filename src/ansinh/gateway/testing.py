"""Factories for gateway tests, the demo and the benchmarks: a test CA loaded into the trust
store, an I-VAN with its certificate and API user, employers registered to transact, and
signed D02-LT dossiers built through the public format (``builder``) and signed like a
submitter would (``client.sign``), never through the server's own shortcuts."""

from __future__ import annotations

import datetime as dt
import itertools
from dataclasses import dataclass
from functools import lru_cache
from typing import Any

from cryptography.hazmat.primitives.serialization import Encoding
from django.utils import timezone

from ansinh.access.models import Organisation, OrganisationKind
from ansinh.gateway import builder, client, formats, testca, trust
from ansinh.gateway.models import CertificateAuthority, Channel, EtransRegistration, IvanProvider
from ansinh.registry.models import Employer

_seq = itertools.count(1)


@lru_cache(maxsize=1)
def pki() -> testca.TestPKI:
    """One test CA per process (key generation is the slow part)."""
    return testca.make_test_pki("ansinh test CA")


@lru_cache(maxsize=64)
def identity(common_name: str, tax_code: str, kind: str, key_type: str = "rsa") -> testca.Identity:
    return pki().issue(common_name=common_name, tax_code=tax_code, kind=kind, key_type=key_type)


def trust_test_ca() -> CertificateAuthority:
    pem = pki().ca.cert_pem
    found = CertificateAuthority.objects.filter(
        certificate_pem=pem.decode() if isinstance(pem, bytes) else pem
    ).first()
    return found or trust.add_authority(pem, name="ansinh test CA")


def cert_pem(ident: testca.Identity) -> str:
    return ident.certificate.public_bytes(Encoding.PEM).decode()


@dataclass
class Ivan:
    provider: IvanProvider
    identity: testca.Identity
    token: str
    user: Any


def make_ivan(code: str | None = None, **kw: Any) -> Ivan:
    """An active I-VAN with a registered signing certificate and an API token."""
    from ansinh.access.testing import make_user, token_for
    from ansinh.gateway import submitters

    trust_test_ca()
    n = next(_seq)
    code = code or f"IVAN{n:03d}"
    provider = submitters.create_ivan(
        code=code,
        name=kw.pop("name", f"Công ty I-VAN thử nghiệm {n}"),
        tax_code=kw.pop("tax_code", f"09{n:08d}"),
        contract_start=kw.pop("contract_start", dt.date(2025, 1, 1)),
        **kw,
    )
    ident = identity(provider.name, provider.tax_code, "ivan")
    trust.register_signer(cert_pem(ident), ivan=provider)
    user = make_user("ivan", org=provider.organisation)
    return Ivan(provider, ident, token_for(user), user)


def employer_org(employer: Employer) -> Organisation:
    """The employer's own organisation (its code is the unit code), for direct submissions."""
    org, _ = Organisation.objects.get_or_create(
        code=employer.unit_code,
        defaults={"name": employer.name[:200], "kind": OrganisationKind.EMPLOYER},
    )
    return org


def employer_identity(employer: Employer, key_type: str = "rsa") -> testca.Identity:
    return identity(employer.name, employer.tax_code, "employer", key_type)


def register_etrans(employer: Employer, *, ivan: IvanProvider | None = None) -> None:
    """Form 01/ĐK-GD: the employer transacts through ``ivan`` (or directly)."""
    from ansinh.gateway import submitters

    if EtransRegistration.objects.filter(employer=employer, ended_on__isnull=True).exists():
        return
    submitters.register_employer_etrans(
        employer=employer,
        channel=Channel.IVAN if ivan else Channel.DIRECT,
        ivan=ivan,
        registered_on=dt.date(2025, 1, 1),
        email="ketoan@example.vn",
    )


def increase_row(number: int, person: Any = None, **data: Any) -> formats.RowData:
    """A D02-LT 'increase' row for an existing person (or the fields given)."""
    if person is not None:
        data.setdefault("personal_id", person.personal_id)
        data.setdefault("full_name", person.full_name)
        data.setdefault("date_of_birth", person.date_of_birth.isoformat())
        data.setdefault("sex", person.sex)
        data.setdefault("address_unit_code", person.address_unit.code)
    data.setdefault("nationality", "VN")
    data.setdefault("start", "2026-11-01")
    data.setdefault("contract_type", "indefinite")
    data.setdefault("salary", 8_000_000)
    data.setdefault("allowances", 0)
    data.setdefault("occupation", "Nhân viên")
    return formats.RowData(
        number=number, kind="increase", personal_id=data["personal_id"], data=data
    )


def package_600(
    employer: Employer,
    rows: list[formats.RowData],
    *,
    transaction_id: str | None = None,
    signed_at: dt.datetime | None = None,
    ivan_code: str = "",
    ivan_received_at: dt.datetime | None = None,
) -> formats.Package:
    if ivan_code and ivan_received_at is None:
        ivan_received_at = timezone.now().replace(microsecond=0) - dt.timedelta(minutes=1)
    return formats.Package(
        procedure_code="600",
        version=formats.SUPPORTED["600"][-1],
        transaction_id=transaction_id or f"TX-{next(_seq):08d}",
        employer=formats.EmployerRef(
            unit_code=employer.unit_code, tax_code=employer.tax_code, name=employer.name
        ),
        signed_at=signed_at,
        ivan_code=ivan_code,
        ivan_received_at=ivan_received_at,
        rows=rows,
        attachments=[],
    )


def signed(package: formats.Package, ident: testca.Identity) -> bytes:
    """The package as XML, signed by ``ident`` as the submitter's own tool would."""
    return client.sign(builder.build(package), ident.key_pem, ident.cert_pem)
