"""The demo's e-transaction gateway: a demo CA in the trust store, the demo I-VAN with its
certificate and an API token, employers registered to transact (through the I-VAN, directly,
on the web), and three months of signed D02-LT dossiers sent through the real intake and
processing — some rows invalid, some I-VAN forwards late — so the statistics and adoption pages
have something to show.

The demo PKI is written to ``DATA_DIR/gateway/demo-pki/`` (CA, the I-VAN's and the demo
employer's keys and certificates, the I-VAN's API token) so anyone can sign a dossier and
submit it to the demo server: see docs/gateway.md, "Sandbox".
"""

from __future__ import annotations

import datetime as dt
import random
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

from django.conf import settings
from django.db.models import Exists, OuterRef

from ansinh.access.models import Organisation, OrganisationKind, User
from ansinh.gateway import formats, services, submitters, testca, trust
from ansinh.gateway import testing as gw
from ansinh.gateway.models import Channel, IvanProvider, Submission
from ansinh.registry.models import Employer, EmploymentSpell, Person

VN = ZoneInfo("Asia/Ho_Chi_Minh")
SEED = 2026
#: The months of demo submissions (year, month) and how many employers transact.
MONTHS = ((2026, 9), (2026, 10), (2026, 11))
EMPLOYERS_IVAN, EMPLOYERS_DIRECT, EMPLOYERS_WEB = 24, 6, 2


@dataclass
class GatewaySummary:
    submissions: int = 0
    refused: int = 0
    rows_accepted: int = 0
    rows_rejected: int = 0
    pki_dir: Path | None = None
    notes: list[str] = field(default_factory=list)

    def lines(self) -> list[str]:
        return [
            f"gateway: {self.submissions} signed dossiers received ({self.refused} refused), "
            f"{self.rows_accepted} rows accepted, {self.rows_rejected} rejected",
            f"gateway demo keys and the I-VAN's API token: {self.pki_dir}",
            *self.notes,
        ]


def pki_dir() -> Path:
    return Path(settings.DATA_DIR) / "gateway" / "demo-pki"


def _pki(directory: Path) -> testca.TestPKI:
    if (directory / "ca.pem").exists():
        return testca.TestPKI.load(directory)
    pki = testca.make_test_pki("ansinh demo CA")
    pki.write(directory)
    return pki


def _identity(
    pki: testca.TestPKI, directory: Path, stem: str, name: str, tax_code: str, kind: str
) -> testca.Identity:
    cert, key = directory / f"{stem}.pem", directory / f"{stem}-key.pem"
    if cert.exists() and key.exists():
        return testca.load_identity(cert, key)
    ident = pki.issue(
        common_name=name,
        tax_code=tax_code,
        kind=kind,
        days=3 * 365,
        not_before=dt.datetime(2025, 1, 1, tzinfo=VN),
    )
    testca.write_identity(directory, stem, ident)
    return ident


def _employers(rng: random.Random, province: str) -> list[Employer]:
    qs = Employer.objects.filter(address_unit__province_code=province, active=True).exclude(
        tax_code=""
    )
    chosen = list(qs.order_by("id")[: EMPLOYERS_IVAN + EMPLOYERS_DIRECT + EMPLOYERS_WEB])
    rng.shuffle(chosen)
    return chosen


def _free_persons(province: str, limit: int) -> list[Person]:
    employed = EmploymentSpell.objects.filter(person=OuterRef("pk"), end__isnull=True)
    qs = (
        Person.objects.filter(address_unit__province_code=province, status="active")
        .exclude(personal_id__isnull=True)
        .exclude(personal_id="")
        .filter(~Exists(employed), date_of_birth__gte=dt.date(1966, 1, 1))
        .select_related("address_unit")
        .order_by("id")
    )
    return list(qs[:limit])


def ensure_demo_gateway(
    orgs: dict[str, Organisation], *, province: str = "01"
) -> GatewaySummary | None:
    """Make the demo gateway unless submissions exist already."""
    if Submission.objects.exists():
        return None
    rng = random.Random(SEED)
    directory = pki_dir()
    directory.mkdir(parents=True, exist_ok=True)
    pki = _pki(directory)
    gw_trust(pki)
    ivan_org = orgs["ivan"]
    ivan = IvanProvider.objects.filter(organisation=ivan_org).first() or submitters.create_ivan(
        code="DEMO",
        name=ivan_org.name,
        tax_code="0109876543",
        contract_number="01/2025/HĐ-IVAN",
        contract_start=dt.date(2025, 1, 1),
        contact_email="hotro@ivan-demo.example.vn",
        organisation=ivan_org,
    )
    ivan_id = _identity(pki, directory, "ivan", ivan.name, ivan.tax_code, "ivan")
    trust.register_signer(gw.cert_pem(ivan_id), ivan=ivan)
    summary = GatewaySummary(pki_dir=directory)
    summary.notes.append(_token_note(ivan_org, directory))

    employers = _employers(rng, province)
    demo_employer = Employer.objects.filter(unit_code=orgs.get("employer", ivan_org).code).first()
    if demo_employer is not None and demo_employer not in employers:
        employers = [demo_employer, *employers[:-1]]
    channels: dict[int, str] = {}
    for i, employer in enumerate(employers):
        channel = (
            Channel.DIRECT
            if employer == demo_employer or i < EMPLOYERS_DIRECT
            else Channel.WEB
            if i < EMPLOYERS_DIRECT + EMPLOYERS_WEB
            else Channel.IVAN
        )
        channels[employer.pk] = channel
        submitters.register_employer_etrans(
            employer=employer,
            channel=channel,
            ivan=ivan if channel == Channel.IVAN else None,
            registered_on=dt.date(2025, rng.randint(1, 12), rng.randint(1, 28)),
            email=f"ketoan{employer.pk}@example.vn",
        )
    identities = {
        e.pk: _identity(pki, directory, f"employer-{e.unit_code}", e.name, e.tax_code, "employer")
        for e in employers
        if channels[e.pk] != Channel.IVAN
    }
    persons = _free_persons(province, 6 * len(employers) * len(MONTHS))
    people = iter(persons)
    for year, month in MONTHS:
        for employer in employers:
            if rng.random() > 0.85:
                continue
            day = rng.randint(3, 18)
            received = dt.datetime(
                year, month, day, rng.randint(8, 16), rng.randint(0, 59), tzinfo=VN
            )
            if received >= dt.datetime.now(VN):
                continue
            rows = []
            for n in range(1, rng.randint(1, 5) + 1):
                person = next(people, None)
                if person is None:
                    break
                start = dt.date(year, month, 1).isoformat()
                rows.append(
                    gw.increase_row(
                        n,
                        person,
                        start=start,
                        salary=rng.choice(
                            (5_500_000, 7_000_000, 9_500_000, 12_000_000, 18_000_000)
                        ),
                    )
                )
            if not rows:
                break
            if rng.random() < 0.2:  # a typo in a personal ID: the row is rejected, not the dossier
                bad = rows[-1]
                data = {**bad.data, "personal_id": bad.personal_id[:-1] + "x"}
                rows[-1] = formats.RowData(bad.number, bad.kind, data["personal_id"], data)
            channel = channels[employer.pk]
            via_ivan = channel == Channel.IVAN
            signed_at = received - dt.timedelta(minutes=rng.randint(5, 60 * 3 if via_ivan else 30))
            package = gw.package_600(
                employer,
                rows,
                transaction_id=f"DEMO-{employer.unit_code}-{year}{month:02d}",
                signed_at=signed_at,
                ivan_code=ivan.code if via_ivan else "",
                ivan_received_at=signed_at + dt.timedelta(minutes=1) if via_ivan else None,
            )
            data = gw.signed(package, ivan_id if via_ivan else identities[employer.pk])
            submitter = ivan_org if via_ivan else gw.employer_org(employer)
            try:
                intake = services.submit(
                    data,
                    submitter=submitter,
                    channel=channel,
                    at=received,
                )
            except services.Refused:
                summary.refused += 1
                continue
            sub = services.process_submission(
                intake.submission.pk, at=received + dt.timedelta(minutes=rng.randint(2, 40))
            )
            summary.submissions += 1
            summary.rows_accepted += sub.rows_accepted
            summary.rows_rejected += sub.rows_rejected
    return summary


def gw_trust(pki: testca.TestPKI) -> None:
    from cryptography.hazmat.primitives.serialization import Encoding

    from ansinh.gateway.models import CertificateAuthority

    pem = pki.ca.certificate.public_bytes(Encoding.PEM)
    if not CertificateAuthority.objects.filter(
        fingerprint=trust.fingerprint(pki.ca.certificate)
    ).exists():
        trust.add_authority(pem, name="ansinh demo CA (test only)")
        trust.load_crl(pki.crl(next_update_days=3650))


def _token_note(ivan_org: Organisation, directory: Path) -> str:
    from ansinh.access.services import issue_token

    path = directory / "ivan-token.txt"
    user: Any = User.objects.filter(organisation=ivan_org).order_by("id").first()
    if user is None or ivan_org.kind != OrganisationKind.IVAN_PROVIDER:
        return "gateway: no demo I-VAN user; create one and issue it an API token"
    if not path.exists():
        _row, token = issue_token(user, "demo I-VAN client")
        testca.write_private(path, token.encode())
    return f"gateway: the demo I-VAN's API token is in {path}"
