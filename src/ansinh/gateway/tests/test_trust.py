"""The trust store (gateway.trust, the admin and the ``gateway_testca`` command).

Law on E-transactions 20/2023/QH15 (Art. 22-25) and Decree 166/2016/NĐ-CP: the agency decides
which certificate authorities it trusts (its own store, never the operating system's), loads
their revocation lists, and pins the certificates of I-VANs and employers.
"""

from __future__ import annotations

import datetime as dt
import os
import stat
from pathlib import Path
from unittest import mock

import pytest
from cryptography.hazmat.primitives.serialization import Encoding
from django.core.cache import cache
from django.core.management import call_command
from django.core.management.base import CommandError
from django.test import Client, override_settings
from django.urls import reverse

from ansinh.access.models import AuditEvent
from ansinh.access.testing import login_verified, make_user
from ansinh.core.errors import DomainError
from ansinh.gateway import signing, submitters, trust, xmlsafe
from ansinh.gateway.models import (
    CertificateAuthority,
    RevocationList,
    RevokedCertificate,
    SignerCertificate,
)
from ansinh.gateway.testca import TestPKI, make_test_pki
from ansinh.gateway.tests.pki import AT, default_pki, document, signer, trust_ca
from ansinh.registry.testing import make_employer

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def _fresh_trust_store() -> None:
    trust.invalidate()


def _error(fn: object, *args: object, **kwargs: object) -> DomainError:
    with pytest.raises(DomainError) as info:
        fn(*args, **kwargs)  # type: ignore[operator]
    return info.value


def _ivan(code: str = "IVANT1") -> submitters.IvanProvider:  # type: ignore[name-defined]
    return submitters.create_ivan(
        code=code, name=f"I-VAN {code}", tax_code="0312345678", contract_start=dt.date(2025, 1, 1)
    )


# --- Authorities --------------------------------------------------------------------------------


def test_add_authority_from_pem_or_der_once() -> None:
    pki = default_pki()
    authority = trust.add_authority(pki.ca.cert_pem)
    assert authority.name == "ansinh test CA"
    assert authority.fingerprint == pki.ca.fingerprint
    assert authority.subject == pki.ca.certificate.subject.rfc4514_string()
    der = pki.ca.certificate.public_bytes(Encoding.DER)
    assert trust.add_authority(der) == authority
    assert CertificateAuthority.objects.count() == 1
    events = AuditEvent.objects.filter(object_type="gateway_authority")
    assert [e.action for e in events.order_by("id")] == ["create", "update"]


def test_adding_a_deactivated_authority_again_reactivates_it() -> None:
    authority = trust_ca(crl=False)
    trust.set_authority_active(authority, False)
    assert trust.add_authority(default_pki().ca.cert_pem, name="Renamed").active
    authority.refresh_from_db()
    assert (authority.active, authority.name) == (True, "Renamed")


def test_only_ca_certificates_can_be_authorities() -> None:
    error = _error(trust.add_authority, signer().cert_pem)
    assert (error.code, error.first.field) == ("authority_not_ca", "certificate")
    assert _error(trust.add_authority, b"not a certificate").code == "authority_invalid"
    assert CertificateAuthority.objects.count() == 0


# --- Revocation lists ---------------------------------------------------------------------------


def test_load_crl_pem_and_der_finds_its_authority_and_copies_serials() -> None:
    authority = trust_ca(crl=False)
    pki = default_pki()
    revoked = [signer().certificate, signer("ec").certificate]
    crl = trust.load_crl(pki.crl(revoked, this_update=AT - dt.timedelta(days=2)))
    assert crl.authority == authority
    assert crl.next_update == AT - dt.timedelta(days=2) + dt.timedelta(days=7)
    assert set(RevokedCertificate.objects.values_list("serial", flat=True)) == {
        format(c.serial_number, "x") for c in revoked
    }
    assert RevokedCertificate.objects.first().reason == "keyCompromise"

    # A newer CRL (DER this time) replaces the list: un-listed serials are no longer revoked.
    from cryptography import x509

    newer = x509.load_pem_x509_crl(pki.crl(revoked[:1], this_update=AT - dt.timedelta(days=1)))
    trust.load_crl(newer.public_bytes(Encoding.DER))
    assert list(RevokedCertificate.objects.values_list("serial", flat=True)) == [
        format(revoked[0].serial_number, "x")
    ]
    assert RevocationList.objects.count() == 2
    assert AuditEvent.objects.filter(object_type="gateway_crl").count() == 2


def test_loading_the_same_crl_twice_is_a_no_op() -> None:
    trust_ca(crl=False)
    data = default_pki().crl(this_update=AT)
    first = trust.load_crl(data)
    assert trust.load_crl(data) == first
    assert RevocationList.objects.count() == 1


def test_an_older_crl_is_refused() -> None:
    trust_ca(crl=False)
    pki = default_pki()
    older = pki.crl(this_update=AT - dt.timedelta(days=3))
    trust.load_crl(pki.crl(this_update=AT))
    error = _error(trust.load_crl, older)
    assert (error.code, error.status) == ("crl_outdated", 409)


def test_crl_of_an_unknown_authority_is_refused() -> None:
    trust_ca(crl=False)
    other = make_test_pki("some other CA", key_type="ec")
    assert _error(trust.load_crl, other.crl()).code == "crl_unknown_issuer"


def test_crl_signed_by_an_impostor_with_the_same_name_is_refused() -> None:
    trust_ca(crl=False)
    impostor = make_test_pki("ansinh test CA", key_type="ec")  # same subject, other key
    assert _error(trust.load_crl, impostor.crl()).code == "crl_signature_invalid"


def test_garbage_is_not_a_crl() -> None:
    assert _error(trust.load_crl, b"-----BEGIN X509 CRL-----\nxx\n").code == "crl_invalid"
    assert _error(trust.load_crl, b"\x30\x03\x02\x01\x00").code == "crl_invalid"


# --- Signer certificates --------------------------------------------------------------------------


def test_register_signer_for_an_ivan_or_an_employer() -> None:
    trust_ca(crl=False)
    ivan = _ivan()
    pki = default_pki()
    ivan_cert = pki.issue(common_name="I-VAN IVANT1", tax_code="0312345678", kind="ivan")
    registered = trust.register_signer(ivan_cert.cert_pem, ivan=ivan)
    assert registered.ivan == ivan and registered.employer is None
    assert registered.fingerprint == ivan_cert.fingerprint
    assert registered.serial == format(ivan_cert.certificate.serial_number, "x")
    assert trust.register_signer(ivan_cert.cert_pem, ivan=ivan) == registered

    employer = make_employer(tax_code="0101234567")
    employer_cert = pki.issue(common_name=employer.name, tax_code="0101234567")
    assert trust.register_signer(employer_cert.cert_pem, employer=employer).employer == employer

    taken = _error(trust.register_signer, ivan_cert.cert_pem, employer=employer)
    assert (taken.code, taken.status) == ("signer_taken", 409)


def test_register_signer_checks_owner_trust_and_usage() -> None:
    ivan = _ivan()
    pem = default_pki().issue(common_name="X").cert_pem
    assert _error(trust.register_signer, pem).code == "signer_owner"
    employer = make_employer()
    assert _error(trust.register_signer, pem, ivan=ivan, employer=employer).code == "signer_owner"
    assert _error(trust.register_signer, pem, ivan=ivan).code == "certificate_untrusted"
    trust_ca(crl=False)
    encipher = default_pki().issue(common_name="X", key_usage="encipher").cert_pem
    assert _error(trust.register_signer, encipher, ivan=ivan).code == "certificate_key_usage"
    assert _error(trust.register_signer, b"junk", ivan=ivan).code == "certificate_invalid"
    assert SignerCertificate.objects.count() == 0


# --- The cached snapshot ---------------------------------------------------------------------


def test_snapshot_is_reused_until_the_store_changes() -> None:
    trust_ca()
    first = trust.snapshot()
    assert trust.snapshot() is first
    authority = CertificateAuthority.objects.get()
    authority.active = False
    authority.save()  # a change outside the services still invalidates (model signal)
    second = trust.snapshot()
    assert second is not first
    assert second.store is None


def test_ca_certificates_are_not_parsed_again_for_each_signature() -> None:
    trust_ca()
    data = signing.sign(document(), key=signer().key, certificate=signer().certificate)
    signing.verify(xmlsafe.parse(data), at=AT)
    with mock.patch.object(trust, "load_certificate", wraps=trust.load_certificate) as spy:
        for _ in range(20):
            signing.verify(xmlsafe.parse(data), at=AT)
    assert spy.call_count == 0


@override_settings(GATEWAY_TRUST_CHECK_SECONDS=0)
def test_a_change_made_by_another_process_is_picked_up() -> None:
    trust_ca()
    first = trust.snapshot()
    assert trust.snapshot() is first
    cache.set(trust.VERSION_KEY, "changed elsewhere", timeout=None)
    assert trust.snapshot() is not first


@override_settings(GATEWAY_TRUST_MAX_AGE=0)
def test_the_snapshot_is_rebuilt_after_its_max_age() -> None:
    trust_ca()
    first = trust.snapshot()
    assert trust.snapshot() is not first


# --- The gateway_testca command -----------------------------------------------------------------


def test_gateway_testca_writes_a_ca_and_certificates_and_loads_the_ca(tmp_path: Path) -> None:
    ivan = _ivan("IVANCMD")
    employer = make_employer(tax_code="0109999999")
    out = tmp_path / "pki"
    call_command(
        "gateway_testca",
        "--out",
        str(out),
        "--employers",
        employer.unit_code,
        "NOSUCH01",
        "--ivans",
        ivan.code,
        stdout=open(os.devnull, "w"),
    )
    names = {p.name for p in out.iterdir()}
    assert {"ca.pem", "ca-key.pem", "crl.pem", "agency.pem", "agency-ca.pem"} <= names
    assert {f"employer-{employer.unit_code}.pem", "employer-NOSUCH01.pem"} <= names
    assert {f"ivan-{ivan.code}.pem", f"ivan-{ivan.code}-key.pem"} <= names
    for key in out.glob("*-key.pem"):
        assert stat.S_IMODE(key.stat().st_mode) == 0o600
    pki = TestPKI.load(out)
    assert CertificateAuthority.objects.get().fingerprint == pki.ca.fingerprint
    assert RevocationList.objects.count() == 1
    assert SignerCertificate.objects.filter(ivan=ivan).count() == 1
    assert SignerCertificate.objects.filter(employer=employer).count() == 1

    # The written employer key signs a dossier the gateway accepts.
    from ansinh.gateway.testca import load_identity

    ident = load_identity(
        out / f"employer-{employer.unit_code}.pem", out / f"employer-{employer.unit_code}-key.pem"
    )
    data = signing.sign(document(), key=ident.key, certificate=ident.certificate)
    now = dt.datetime.now(dt.UTC)
    assert signing.verify(xmlsafe.parse(data), at=now).tax_code == "0109999999"

    # Run again: the same CA is reused, a newer CRL is loaded.
    call_command("gateway_testca", "--out", str(out), stdout=open(os.devnull, "w"))
    assert CertificateAuthority.objects.count() == 1
    assert TestPKI.load(out).ca.fingerprint == pki.ca.fingerprint


# --- Admin --------------------------------------------------------------------------------------


@pytest.fixture
def admin_client(client: Client) -> Client:
    return login_verified(client, make_user("administrator", is_staff=True, is_superuser=True))


def test_admin_adds_an_authority_from_an_uploaded_pem(admin_client: Client, tmp_path: Path) -> None:
    url = reverse("admin:gateway_certificateauthority_add")
    assert admin_client.get(url).status_code == 200
    upload = tmp_path / "ca.pem"
    upload.write_bytes(default_pki().ca.cert_pem)
    with upload.open("rb") as fh:
        response = admin_client.post(url, {"name": "", "certificate_file": fh, "_save": "1"})
    assert response.status_code == 302, response.content.decode()[:2000]
    authority = CertificateAuthority.objects.get()
    assert authority.fingerprint == default_pki().ca.fingerprint
    change = reverse("admin:gateway_certificateauthority_change", args=[authority.pk])
    page = admin_client.get(change).content.decode()
    assert authority.fingerprint in page

    inline = {"crls-TOTAL_FORMS": "0", "crls-INITIAL_FORMS": "0"}
    response = admin_client.post(change, {"active": "", "_save": "1", **inline})
    assert response.status_code == 302
    authority.refresh_from_db()
    assert not authority.active


def test_admin_shows_service_errors_on_the_form(admin_client: Client) -> None:
    url = reverse("admin:gateway_certificateauthority_add")
    response = admin_client.post(url, {"certificate_text": signer().cert_pem.decode()})
    assert response.status_code == 200
    assert "không phải của một tổ chức chứng thực" in response.content.decode()
    assert CertificateAuthority.objects.count() == 0


def test_admin_loads_a_crl_file(admin_client: Client, tmp_path: Path) -> None:
    trust_ca(crl=False)
    upload = tmp_path / "ca.crl"
    upload.write_bytes(default_pki().crl([signer().certificate], this_update=AT))
    url = reverse("admin:gateway_revocationlist_add")
    assert admin_client.get(url).status_code == 200
    with upload.open("rb") as fh:
        response = admin_client.post(url, {"crl_file": fh, "_save": "1"})
    assert response.status_code == 302, response.content.decode()[:2000]
    assert RevokedCertificate.objects.count() == 1
    bad = tmp_path / "bad.crl"
    bad.write_bytes(b"nonsense")
    with bad.open("rb") as fh:
        response = admin_client.post(url, {"crl_file": fh})
    assert "CRL" in response.content.decode() and response.status_code == 200
    for name in ("revocationlist", "revokedcertificate", "certificateauthority"):
        assert admin_client.get(reverse(f"admin:gateway_{name}_changelist")).status_code == 200


def test_admin_registers_a_signer_certificate(admin_client: Client) -> None:
    trust_ca(crl=False)
    ivan = _ivan()
    pem = default_pki().issue(common_name="I-VAN", kind="ivan").cert_pem.decode()
    url = reverse("admin:gateway_signercertificate_add")
    assert admin_client.get(url).status_code == 200
    response = admin_client.post(url, {"ivan": ivan.pk, "certificate_text": pem, "_save": "1"})
    assert response.status_code == 302, response.content.decode()[:2000]
    signer_cert = SignerCertificate.objects.get()
    assert signer_cert.ivan == ivan
    response = admin_client.post(url, {"certificate_text": pem})
    assert "đúng một chủ thể" in response.content.decode()
    change = reverse("admin:gateway_signercertificate_change", args=[signer_cert.pk])
    assert admin_client.post(change, {"active": "", "_save": "1"}).status_code == 302
    signer_cert.refresh_from_db()
    assert not signer_cert.active
    assert (
        admin_client.get(reverse("admin:gateway_signercertificate_changelist")).status_code == 200
    )


def test_gateway_trust_command_adds_lists_loads_and_deactivates(tmp_path: Path) -> None:
    from io import StringIO

    pki = default_pki()
    (tmp_path / "ca.pem").write_bytes(pki.ca.cert_pem)
    (tmp_path / "ca.crl").write_bytes(pki.crl([signer().certificate], this_update=AT))
    out = StringIO()
    call_command("gateway_trust", "add-ca", str(tmp_path / "ca.pem"), "--name", "Test", stdout=out)
    call_command("gateway_trust", "load-crl", str(tmp_path / "ca.crl"), stdout=out)
    call_command("gateway_trust", "list", stdout=out)
    assert "1 revoked" in out.getvalue()
    assert f"{pki.ca.fingerprint}  active" in out.getvalue()
    call_command("gateway_trust", "deactivate", pki.ca.fingerprint, stdout=out)
    assert not CertificateAuthority.objects.get().active
    (tmp_path / "old.crl").write_bytes(pki.crl(this_update=AT - dt.timedelta(days=5)))
    with pytest.raises(CommandError, match="crl_outdated"):
        call_command("gateway_trust", "load-crl", str(tmp_path / "old.crl"), stdout=out)
