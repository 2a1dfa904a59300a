"""Shared test material for signature and trust tests: one test CA per process (RSA key
generation is slow), certificates valid around a fixed past instant, and a one-row dossier-like
document of about 3 KB."""

from __future__ import annotations

import datetime as dt
import functools
from zoneinfo import ZoneInfo

from ansinh.gateway import trust
from ansinh.gateway.models import CertificateAuthority
from ansinh.gateway.testca import Identity, TestPKI, make_test_pki

VN = ZoneInfo("Asia/Ho_Chi_Minh")
AT = dt.datetime(2026, 11, 2, 9, 30, tzinfo=VN)
NS = "urn:ansinh:gateway:600:1.0"


@functools.cache
def default_pki(name: str = "ansinh test CA") -> TestPKI:
    return make_test_pki(name)


@functools.cache
def signer(
    key_type: str = "rsa", key_usage: str = "sign", days: int = 365, start_days: int = -30
) -> Identity:
    """A certificate of the default test CA, valid from ``AT + start_days`` for ``days``."""
    return default_pki().issue(
        common_name="CÔNG TY TNHH THỬ NGHIỆM",
        tax_code="0101234567",
        kind="employer",
        key_type=key_type,
        key_usage=key_usage,
        days=days,
        not_before=AT + dt.timedelta(days=start_days),
    )


def trust_ca(pki: TestPKI | None = None, *, crl: bool = True) -> CertificateAuthority:
    """Put the CA in the trust store, with a fresh (empty) CRL issued the day before ``AT``."""
    pki = pki or default_pki()
    authority = trust.add_authority(pki.ca.cert_pem)
    if crl:
        trust.load_crl(pki.crl(this_update=AT - dt.timedelta(days=1), next_update_days=7))
    return authority


def document(rows: int = 1) -> bytes:
    """An unsigned D02-LT-like dossier: about 3 KB for one row. Synthetic data only."""
    lines = []
    for n in range(1, rows + 1):
        lines.append(
            f"""    <Row number="{n}" kind="increase">
      <PersonalId>0010900{n:05d}</PersonalId>
      <FullName>Nguyễn Văn Thử {n}</FullName>
      <DateOfBirth>1990-01-0{1 + n % 9}</DateOfBirth>
      <Sex>M</Sex>
      <Nationality>VN</Nationality>
      <AddressUnitCode>00004</AddressUnitCode>
      <Start>2026-10-01</Start>
      <ContractType>indefinite</ContractType>
      <Salary>9500000</Salary>
      <Allowances>500000</Allowances>
      <Occupation>Kỹ sư phần mềm</Occupation>
      <Participant>
        <Phone>0900000000</Phone>
        <Email>thu.nghiem@example.invalid</Email>
        <HospitalCode>01-001</HospitalCode>
      </Participant>
    </Row>"""
        )
    body = "\n".join(lines)
    padding = "x" * 300  # a note field: signed, the one-row dossier weighs about 3.5 KB
    return f"""<?xml version="1.0" encoding="UTF-8"?>
<Dossier xmlns="{NS}" version="1.0">
  <Header>
    <Procedure>600</Procedure>
    <TransactionId>TX-2026-000001</TransactionId>
    <Employer>
      <UnitCode>TA0000001</UnitCode>
      <TaxCode>0101234567</TaxCode>
      <Name>Công ty TNHH Thử nghiệm</Name>
    </Employer>
    <SignedAt>2026-11-02T09:00:00+07:00</SignedAt>
    <Ivan code="IVAN01" receivedAt="2026-11-02T09:05:00+07:00"/>
    <Note>{padding}</Note>
  </Header>
  <Rows>
{body}
  </Rows>
</Dossier>
""".encode()
