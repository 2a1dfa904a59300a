"""A local test certificate authority (tổ chức chứng thực thử nghiệm) for the demo, the sandbox
and the tests, so that every signature the gateway checks is a real one.

Nothing here is used to decide trust: the gateway trusts only the authorities an administrator
loads into its store (``gateway.trust``). ``agency_identity`` also creates, once, the agency's
own signing key when no production key is configured, so receipts and results are signed even on
a laptop.
"""

from __future__ import annotations

import datetime as dt
import os
import tempfile
import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, rsa
from cryptography.x509.oid import NameOID

PrivateKey = rsa.RSAPrivateKey | ec.EllipticCurvePrivateKey

# Key usages a test certificate can carry: "sign" is what a signing certificate of a licensed
# Vietnamese CA carries; the others exist to test refusals.
KEY_USAGES = ("sign", "non_repudiation", "encipher", "none")
KINDS = ("employer", "ivan", "agency", "person")


@dataclass
class Identity:
    """A private key with its certificate, in objects and in PEM."""

    key: PrivateKey
    certificate: x509.Certificate
    key_pem: bytes
    cert_pem: bytes

    @classmethod
    def of(cls, key: PrivateKey, certificate: x509.Certificate) -> Identity:
        key_pem = key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
        return cls(key, certificate, key_pem, certificate.public_bytes(serialization.Encoding.PEM))

    @property
    def fingerprint(self) -> str:
        return self.certificate.fingerprint(hashes.SHA256()).hex()


def _now() -> dt.datetime:
    return dt.datetime.now(dt.UTC).replace(microsecond=0)


def new_key(key_type: str = "rsa") -> PrivateKey:
    if key_type == "rsa":
        return rsa.generate_private_key(public_exponent=65537, key_size=2048)
    if key_type == "rsa1024":  # too short: only to test the refusal
        return rsa.generate_private_key(public_exponent=65537, key_size=1024)  # noqa: S505
    if key_type in ("ec", "ecdsa"):
        return ec.generate_private_key(ec.SECP256R1())
    if key_type == "ec192":  # too weak: only to test the refusal
        return ec.generate_private_key(ec.SECP192R1())
    raise ValueError(f"unknown key type {key_type!r}")


def _key_usage(kind: str) -> x509.KeyUsage | None:
    if kind == "none":
        return None
    flags = dict.fromkeys(
        (
            "digital_signature",
            "content_commitment",
            "key_encipherment",
            "data_encipherment",
            "key_agreement",
            "key_cert_sign",
            "crl_sign",
            "encipher_only",
            "decipher_only",
        ),
        False,
    )
    if kind == "sign":
        flags.update(digital_signature=True, content_commitment=True)
    elif kind == "non_repudiation":
        flags["content_commitment"] = True
    elif kind == "encipher":
        flags["key_encipherment"] = True
    else:
        raise ValueError(f"unknown key usage {kind!r}")
    return x509.KeyUsage(**flags)


def _ca_builder(
    subject: x509.Name, key: PrivateKey, start: dt.datetime, years: int
) -> x509.CertificateBuilder:
    return (
        x509.CertificateBuilder()
        .subject_name(subject)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(start)
        .not_valid_after(start + dt.timedelta(days=years * 365))
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .add_extension(
            x509.KeyUsage(
                digital_signature=False,
                content_commitment=False,
                key_encipherment=False,
                data_encipherment=False,
                key_agreement=False,
                key_cert_sign=True,
                crl_sign=True,
                encipher_only=False,
                decipher_only=False,
            ),
            critical=True,
        )
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(key.public_key()), critical=False)
    )


class TestPKI:
    """A self-signed root CA able to issue signing certificates and CRLs."""

    __test__ = False  # not a pytest test class

    def __init__(self, ca: Identity, *, crl_number: int | None = None) -> None:
        self.ca = ca
        # CRL numbers must grow, also across runs of the command that reuse a CA from disk.
        self._crl_number = int(time.time()) if crl_number is None else crl_number

    @classmethod
    def load(cls, directory: Path) -> TestPKI:
        """The CA written by ``write`` to ``directory``."""
        directory = Path(directory)
        return cls(load_identity(directory / "ca.pem", directory / "ca-key.pem"))

    @classmethod
    def create(
        cls, name: str = "ansinh test CA", *, key_type: str = "rsa", years: int = 10
    ) -> TestPKI:
        key = new_key(key_type)
        subject = x509.Name(
            [
                x509.NameAttribute(NameOID.COUNTRY_NAME, "VN"),
                x509.NameAttribute(NameOID.ORGANIZATION_NAME, "ansinh (test only)"),
                x509.NameAttribute(NameOID.COMMON_NAME, name),
            ]
        )
        start = _now() - dt.timedelta(days=3 * 365)
        ski = x509.SubjectKeyIdentifier.from_public_key(key.public_key())
        cert = (
            _ca_builder(subject, key, start, years + 3)
            .issuer_name(subject)
            .add_extension(
                x509.AuthorityKeyIdentifier.from_issuer_subject_key_identifier(ski), critical=False
            )
            .sign(key, hashes.SHA256())
        )
        return cls(Identity.of(key, cert))

    def intermediate(self, name: str, *, key_type: str = "rsa", years: int = 5) -> TestPKI:
        """A subordinate CA issued by this one (to test chains sent in ``X509Data``)."""
        key = new_key(key_type)
        subject = x509.Name(
            [
                x509.NameAttribute(NameOID.COUNTRY_NAME, "VN"),
                x509.NameAttribute(NameOID.ORGANIZATION_NAME, "ansinh (test only)"),
                x509.NameAttribute(NameOID.COMMON_NAME, name),
            ]
        )
        start = self.ca.certificate.not_valid_before_utc + dt.timedelta(days=1)
        ca_ski = self.ca.certificate.extensions.get_extension_for_class(
            x509.SubjectKeyIdentifier
        ).value
        cert = (
            _ca_builder(subject, key, start, years)
            .issuer_name(self.ca.certificate.subject)
            .add_extension(
                x509.AuthorityKeyIdentifier.from_issuer_subject_key_identifier(ca_ski),
                critical=False,
            )
            .sign(self.ca.key, hashes.SHA256())
        )
        return TestPKI(Identity.of(key, cert))

    def issue(
        self,
        *,
        common_name: str,
        tax_code: str = "",
        kind: str = "employer",
        days: int = 365,
        not_before: dt.datetime | None = None,
        key_type: str = "rsa",
        key_usage: str = "sign",
    ) -> Identity:
        """Issue a signing certificate. Valid ``days`` days from ``not_before`` (default: 60 days
        ago, so tests can verify at past dates). The tax code goes in the subject as
        ``UID=MST:<tax code>``, as Vietnamese CAs write it for organisations."""
        if kind not in KINDS:
            raise ValueError(f"unknown kind {kind!r}")
        key = new_key(key_type)
        start = (not_before or _now() - dt.timedelta(days=60)).astimezone(dt.UTC)
        attributes = [
            x509.NameAttribute(NameOID.COUNTRY_NAME, "VN"),
            x509.NameAttribute(NameOID.ORGANIZATIONAL_UNIT_NAME, kind),
            x509.NameAttribute(NameOID.COMMON_NAME, common_name),
        ]
        if tax_code:
            attributes.append(x509.NameAttribute(NameOID.USER_ID, f"MST:{tax_code}"))
        ca_ski = self.ca.certificate.extensions.get_extension_for_class(
            x509.SubjectKeyIdentifier
        ).value
        builder = (
            x509.CertificateBuilder()
            .subject_name(x509.Name(attributes))
            .issuer_name(self.ca.certificate.subject)
            .public_key(key.public_key())
            .serial_number(x509.random_serial_number())
            .not_valid_before(start)
            .not_valid_after(start + dt.timedelta(days=days))
            .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
            .add_extension(
                x509.SubjectKeyIdentifier.from_public_key(key.public_key()), critical=False
            )
            .add_extension(
                x509.AuthorityKeyIdentifier.from_issuer_subject_key_identifier(ca_ski),
                critical=False,
            )
        )
        usage = _key_usage(key_usage)
        if usage is not None:
            builder = builder.add_extension(usage, critical=True)
        cert = builder.sign(self.ca.key, hashes.SHA256())
        return Identity.of(key, cert)

    def crl(
        self,
        revoked: Sequence[x509.Certificate] = (),
        *,
        next_update_days: int = 7,
        this_update: dt.datetime | None = None,
        revoked_at: dt.datetime | None = None,
    ) -> bytes:
        """A CRL (PEM) revoking ``revoked``, issued at ``this_update`` (default now)."""
        start = (this_update or _now()).astimezone(dt.UTC)
        when = (revoked_at or start).astimezone(dt.UTC)
        self._crl_number += 1
        ca_ski = self.ca.certificate.extensions.get_extension_for_class(
            x509.SubjectKeyIdentifier
        ).value
        builder = (
            x509.CertificateRevocationListBuilder()
            .issuer_name(self.ca.certificate.subject)
            .last_update(start)
            .next_update(start + dt.timedelta(days=next_update_days))
            .add_extension(x509.CRLNumber(self._crl_number), critical=False)
            .add_extension(
                x509.AuthorityKeyIdentifier.from_issuer_subject_key_identifier(ca_ski),
                critical=False,
            )
        )
        for cert in revoked:
            entry = (
                x509.RevokedCertificateBuilder()
                .serial_number(cert.serial_number)
                .revocation_date(when)
                .add_extension(x509.CRLReason(x509.ReasonFlags.key_compromise), critical=False)
                .build()
            )
            builder = builder.add_revoked_certificate(entry)
        return builder.sign(self.ca.key, hashes.SHA256()).public_bytes(serialization.Encoding.PEM)

    def write(self, directory: Path) -> None:
        """Write ``ca.pem`` (public) and ``ca-key.pem`` (private, mode 0600)."""
        directory = Path(directory)
        directory.mkdir(parents=True, exist_ok=True)
        (directory / "ca.pem").write_bytes(self.ca.cert_pem)
        write_private(directory / "ca-key.pem", self.ca.key_pem)


def make_test_pki(name: str = "ansinh test CA", *, key_type: str = "rsa") -> TestPKI:
    return TestPKI.create(name, key_type=key_type)


def write_private(path: Path, data: bytes) -> None:
    """Write a private key readable by its owner only."""
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "wb") as fh:
        fh.write(data)


def write_identity(directory: Path, stem: str, identity: Identity) -> tuple[Path, Path]:
    directory.mkdir(parents=True, exist_ok=True)
    cert_path, key_path = directory / f"{stem}.pem", directory / f"{stem}-key.pem"
    cert_path.write_bytes(identity.cert_pem)
    write_private(key_path, identity.key_pem)
    return cert_path, key_path


def load_identity(cert_path: Path, key_path: Path, password: bytes | None = None) -> Identity:
    """Load a key and its certificate (the first PEM block of ``cert_path``)."""
    key = serialization.load_pem_private_key(key_path.read_bytes(), password=password)
    if not isinstance(key, rsa.RSAPrivateKey | ec.EllipticCurvePrivateKey):
        raise ValueError("only RSA and ECDSA keys can sign dossiers")
    cert = x509.load_pem_x509_certificates(cert_path.read_bytes())[0]
    return Identity.of(key, cert)


def agency_identity(directory: Path) -> Identity:
    """The agency's demo signing identity under ``directory``, created on first use.

    Created in a temporary directory and renamed into place, so two processes starting together
    end up with the same key (the loser of the race loads the winner's)."""
    directory = Path(directory)
    cert_path, key_path = directory / "agency.pem", directory / "agency-key.pem"
    if not cert_path.exists():
        directory.parent.mkdir(parents=True, exist_ok=True)
        staging = Path(tempfile.mkdtemp(prefix=".gateway-", dir=directory.parent))
        pki = make_test_pki("ansinh demo agency CA")
        pki.write(staging)
        # ECDSA P-256: a receipt is signed per submission, and signing one costs less than half
        # of what RSA-2048 does (docs/gateway-security.md, section 7).
        identity = pki.issue(
            common_name="ansinh demo agency", kind="agency", days=10 * 365, key_type="ec"
        )
        write_identity(staging, "agency", identity)
        try:
            staging.rename(directory)
        except OSError:  # another process won, or the directory exists without a key
            keep_theirs = cert_path.exists()
            for child in staging.iterdir():
                if keep_theirs:
                    child.unlink()
                else:
                    child.replace(directory / child.name)
            staging.rmdir()
    return load_identity(cert_path, key_path)
