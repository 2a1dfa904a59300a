"""The gateway's trust store (kho chứng thư tin cậy): certificate authorities, revocation lists
and registered signer certificates, and the certificate checks every signature goes through.

Only authorities an administrator loaded here are trusted — never the operating system's store
(Law on E-transactions 20/2023/QH15 Art. 22-25: a digital signature is valid only with a
certificate from a licensed provider, valid and not revoked at signing time).

Verification runs for every submission (the intake goal is 200 one-row dossiers/s on 2 cores),
so the parsed store is built once per process and cached: services and model signals bump a
version kept in Django's cache, and each process rebuilds its snapshot when the version moves
(checked at most every ``GATEWAY_TRUST_CHECK_SECONDS``) or the snapshot is older than
``GATEWAY_TRUST_MAX_AGE``.
"""

from __future__ import annotations

import datetime as dt
import enum
import logging
import threading
import time
import uuid
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any, Protocol

from cryptography import x509
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, rsa
from cryptography.x509 import verification
from django.conf import settings
from django.core.cache import cache
from django.db import transaction
from django.db.models.signals import post_delete, post_save
from django.utils.module_loading import import_string

from ansinh.access.models import AuditAction
from ansinh.access.services import audit
from ansinh.core.errors import Conflict, DomainError
from ansinh.gateway.models import (
    CertificateAuthority,
    RevocationList,
    RevokedCertificate,
    SignerCertificate,
)

logger = logging.getLogger(__name__)

VERSION_KEY = "ansinh:gateway:trust-version"
MIN_RSA_BITS = 2048
EC_CURVES = frozenset({"secp256r1", "secp384r1", "secp521r1"})

# --- Certificate helpers -------------------------------------------------------------------------


def fingerprint(cert: x509.Certificate) -> str:
    """SHA-256 of the DER certificate, lower-case hex."""
    return cert.fingerprint(hashes.SHA256()).hex()


def serial_hex(cert_or_serial: x509.Certificate | int) -> str:
    """Serial number as lower-case hex without leading zeros (how CRL entries are stored)."""
    serial = getattr(cert_or_serial, "serial_number", cert_or_serial)
    return format(serial, "x")


def tax_code(cert: x509.Certificate) -> str:
    """The tax code (mã số thuế) Vietnamese CAs write in the subject as ``UID=MST:<code>``."""
    for attribute in cert.subject.get_attributes_for_oid(x509.NameOID.USER_ID):
        value = str(attribute.value).strip()
        if value.upper().startswith("MST:"):
            return value[4:].strip()
    return ""


def load_certificate(data: bytes | str) -> x509.Certificate:
    """One certificate from PEM (the first block) or DER; ``ValueError`` if neither."""
    raw = data.encode("ascii", errors="replace") if isinstance(data, str) else bytes(data)
    if b"-----BEGIN" in raw:
        certs = x509.load_pem_x509_certificates(raw)
        return certs[0]
    return x509.load_der_x509_certificate(raw)


def _aware(value: dt.datetime) -> dt.datetime:
    return value if value.tzinfo else value.replace(tzinfo=dt.UTC)


# --- Errors ------------------------------------------------------------------------------------


def _untrusted() -> DomainError:
    return DomainError(
        "certificate_untrusted",
        "signature",
        "Chứng thư số không do tổ chức chứng thực nào trong danh sách tin cậy của cơ quan BHXH "
        "cấp.",
        "The certificate does not chain to a certificate authority in the gateway's trust store.",
    )


def _expired(when: dt.datetime, *, authority: bool = False) -> DomainError:
    whose_vi = "Chứng thư số của tổ chức chứng thực" if authority else "Chứng thư số"
    whose_en = "The certificate authority's certificate" if authority else "The certificate"
    return DomainError(
        "certificate_expired",
        "signature",
        f"{whose_vi} đã hết hạn (hết hiệu lực từ {when:%d/%m/%Y %H:%M} UTC).",
        f"{whose_en} expired on {when:%Y-%m-%d %H:%M} UTC.",
    )


def _not_yet_valid(when: dt.datetime) -> DomainError:
    return DomainError(
        "certificate_not_yet_valid",
        "signature",
        f"Chứng thư số chưa có hiệu lực (có hiệu lực từ {when:%d/%m/%Y %H:%M} UTC).",
        f"The certificate is not valid before {when:%Y-%m-%d %H:%M} UTC.",
    )


def _key_usage() -> DomainError:
    return DomainError(
        "certificate_key_usage",
        "signature",
        "Chứng thư số không được cấp cho mục đích ký số (thiếu digitalSignature/nonRepudiation).",
        "The certificate is not issued for signing (no digitalSignature or nonRepudiation key "
        "usage).",
    )


# --- The cached snapshot -------------------------------------------------------------------------


@dataclass(frozen=True)
class Authority:
    """An active trusted CA as the verifier sees it (parsed once per snapshot)."""

    id: int
    name: str
    certificate: x509.Certificate
    fingerprint: str
    crl_this_update: dt.datetime | None
    crl_next_update: dt.datetime | None
    # serial (hex) -> (revoked at, reason), copied from the latest CRL: no query per signature
    revoked: dict[str, tuple[dt.datetime, str]] = field(default_factory=dict, repr=False)

    @property
    def has_crl(self) -> bool:
        return self.crl_this_update is not None


@dataclass
class TrustSnapshot:
    authorities: dict[str, Authority]  # by fingerprint
    store: verification.Store | None
    shared_version: str | None
    local_version: int
    built_at: float
    checked_at: float = field(default=0.0)
    # Chains already built from this store, by the fingerprints of the leaf and of the
    # certificates sent along: intake sees the same few signers all day. Dropped with the
    # snapshot whenever the store changes; dates and revocation are still checked every time.
    chains: dict[tuple[str, ...], list[x509.Certificate]] = field(default_factory=dict)

    def issuer_of(self, cert: x509.Certificate) -> Authority | None:
        """The trusted authority that issued ``cert`` (name match and a valid signature)."""
        for authority in self.authorities.values():
            if authority.certificate.subject != cert.issuer:
                continue
            try:
                cert.verify_directly_issued_by(authority.certificate)
            except (ValueError, TypeError, InvalidSignature):
                continue
            return authority
        return None


_lock = threading.Lock()
_snapshot: TrustSnapshot | None = None
_local_version = 0


def _read_shared_version() -> str | None:
    try:
        return cache.get(VERSION_KEY)
    except Exception:  # a cache outage must not stop intake; the max age covers it
        logger.warning("gateway trust: shared cache unavailable, relying on snapshot max age")
        return None


def invalidate() -> None:
    """Mark the trust store as changed, here and (through the cache) in every other process."""
    global _local_version
    with _lock:
        _local_version += 1
    try:
        cache.set(VERSION_KEY, uuid.uuid4().hex, timeout=None)
    except Exception:  # as above
        logger.warning("gateway trust: could not publish a trust store change to other processes")


def _build(shared_version: str | None, local_version: int) -> TrustSnapshot:
    latest: dict[int, tuple[dt.datetime, dt.datetime | None]] = {}
    for authority_id, this_update, next_update in RevocationList.objects.order_by(
        "authority_id", "this_update"
    ).values_list("authority_id", "this_update", "next_update"):
        latest[authority_id] = (this_update, next_update)
    revoked: dict[int, dict[str, tuple[dt.datetime, str]]] = {}
    for authority_id, serial, revoked_at, reason in RevokedCertificate.objects.filter(
        authority__active=True
    ).values_list("authority_id", "serial", "revoked_at", "reason"):
        revoked.setdefault(authority_id, {})[serial] = (revoked_at, reason)
    authorities: dict[str, Authority] = {}
    for ca in CertificateAuthority.objects.filter(active=True).only(
        "id", "name", "certificate_pem", "fingerprint"
    ):
        try:
            cert = load_certificate(ca.certificate_pem)
        except ValueError:
            logger.error("gateway trust: authority %s has an unreadable certificate", ca.pk)
            continue
        this_update, next_update = latest.get(ca.pk, (None, None))
        authorities[ca.fingerprint] = Authority(
            ca.pk, ca.name, cert, ca.fingerprint, this_update, next_update, revoked.get(ca.pk, {})
        )
    store = (
        verification.Store([a.certificate for a in authorities.values()]) if authorities else None
    )
    now = time.monotonic()
    return TrustSnapshot(authorities, store, shared_version, local_version, now, now)


def snapshot() -> TrustSnapshot:
    """The current trust store, rebuilt only when it changed."""
    global _snapshot
    current = _snapshot
    now = time.monotonic()
    max_age = float(getattr(settings, "GATEWAY_TRUST_MAX_AGE", 300))
    every = float(getattr(settings, "GATEWAY_TRUST_CHECK_SECONDS", 1))
    if current is not None and current.local_version == _local_version:
        if now - current.built_at < max_age:
            if now - current.checked_at < every:
                return current
            shared = _read_shared_version()
            if shared == current.shared_version:
                current.checked_at = now
                return current
    with _lock:
        shared = _read_shared_version()
        current = _build(shared, _local_version)
        _snapshot = current
    return current


def _changed(**_kwargs: Any) -> None:
    invalidate()


for _model in (CertificateAuthority, RevocationList):
    post_save.connect(_changed, sender=_model, dispatch_uid=f"gateway-trust-{_model.__name__}-s")
    post_delete.connect(_changed, sender=_model, dispatch_uid=f"gateway-trust-{_model.__name__}-d")


# --- Revocation: pluggable checkers (CRL now, OCSP later) ----------------------------------------


class RevocationStatus(enum.StrEnum):
    GOOD = "good"  # checked: not revoked
    REVOKED = "revoked"
    UNKNOWN = "unknown"  # could not tell, and policy says that must refuse
    NOT_CHECKED = "not_checked"  # no information, and policy allows it


@dataclass(frozen=True)
class RevocationResult:
    status: RevocationStatus
    source: str = ""
    reason: str = ""
    revoked_at: dt.datetime | None = None


class RevocationChecker(Protocol):
    """``GATEWAY_REVOCATION_CHECKERS`` lists dotted paths of callables with this signature.
    ``issuer`` is None when the issuing CA is not itself in the trust store (an intermediate the
    signer sent along)."""

    def __call__(
        self, certificate: x509.Certificate, issuer: Authority | None, *, at: dt.datetime
    ) -> RevocationResult: ...


def check_crl(
    certificate: x509.Certificate, issuer: Authority | None, *, at: dt.datetime
) -> RevocationResult:
    """Revocation from the CRLs an administrator loaded (``load_crl``)."""
    require_crl = getattr(settings, "GATEWAY_REQUIRE_CRL", False)
    missing = RevocationStatus.UNKNOWN if require_crl else RevocationStatus.NOT_CHECKED
    if issuer is None:
        return RevocationResult(missing, "crl", "issuer_not_in_store")
    row = issuer.revoked.get(serial_hex(certificate))
    if row is not None and row[0] <= at:
        return RevocationResult(RevocationStatus.REVOKED, "crl", row[1], row[0])
    if not issuer.has_crl:
        return RevocationResult(missing, "crl", "no_crl")
    if issuer.crl_next_update is not None and issuer.crl_next_update < at:
        if getattr(settings, "GATEWAY_REQUIRE_FRESH_CRL", True):
            return RevocationResult(RevocationStatus.UNKNOWN, "crl", "stale_crl")
        return RevocationResult(RevocationStatus.NOT_CHECKED, "crl", "stale_crl")
    return RevocationResult(RevocationStatus.GOOD, "crl")


_checkers_cache: tuple[tuple[str, ...], list[Callable[..., RevocationResult]]] | None = None


def revocation_checkers() -> list[Callable[..., RevocationResult]]:
    global _checkers_cache
    paths = tuple(
        getattr(settings, "GATEWAY_REVOCATION_CHECKERS", ("ansinh.gateway.trust.check_crl",))
    )
    if _checkers_cache is None or _checkers_cache[0] != paths:
        _checkers_cache = (paths, [import_string(p) for p in paths])
    return _checkers_cache[1]


def check_revocation(
    certificate: x509.Certificate, issuer: Authority | None, *, at: dt.datetime
) -> RevocationResult:
    """Ask every configured checker. A REVOKED answer wins, then GOOD, then UNKNOWN."""
    results = [checker(certificate, issuer, at=at) for checker in revocation_checkers()]
    for wanted in (RevocationStatus.REVOKED, RevocationStatus.GOOD, RevocationStatus.UNKNOWN):
        for result in results:
            if result.status == wanted:
                return result
    return RevocationResult(RevocationStatus.NOT_CHECKED)


# --- The certificate check every signature goes through -----------------------------------------


@dataclass(frozen=True)
class CertificateCheck:
    certificate: x509.Certificate
    chain: list[x509.Certificate]  # leaf first, trust anchor last
    authority: Authority  # the anchor in our store
    revocation: RevocationResult


_EE_POLICY = verification.ExtensionPolicy.permit_all()
_CA_POLICY = verification.ExtensionPolicy.webpki_defaults_ca()


def _clamp(at: dt.datetime, cert: x509.Certificate) -> dt.datetime:
    return min(max(at, cert.not_valid_before_utc), cert.not_valid_after_utc)


def check_certificate(
    leaf: x509.Certificate,
    intermediates: Sequence[x509.Certificate] = (),
    *,
    at: dt.datetime,
    check_revocation_status: bool = True,
) -> CertificateCheck:
    """Chain to an active trusted CA, validity at ``at``, signing key usage, revocation.

    Checked in that order so the first error is the most fundamental one: an untrusted
    certificate is reported as untrusted even if it has also expired."""
    at = _aware(at).astimezone(dt.UTC)
    snap = snapshot()
    if snap.store is None:
        raise _untrusted()
    # Build the chain at a time inside the leaf's validity: trust is judged first, the leaf's
    # dates are reported with their own codes below.
    builder = (
        verification.PolicyBuilder()
        .store(snap.store)
        .time(_clamp(at, leaf))
        .extension_policies(ee_policy=_EE_POLICY, ca_policy=_CA_POLICY)
    )
    key = (fingerprint(leaf), *(fingerprint(c) for c in intermediates))
    try:
        chain = snap.chains.get(key)
        if chain is None:
            chain = list(builder.build_client_verifier().verify(leaf, list(intermediates)).chain)
            if len(snap.chains) < 10_000:
                snap.chains[key] = chain
    except verification.VerificationError:
        issuer = snap.issuer_of(leaf)
        if issuer is not None and not (
            issuer.certificate.not_valid_before_utc <= at <= issuer.certificate.not_valid_after_utc
        ):
            raise _expired(issuer.certificate.not_valid_after_utc, authority=True) from None
        raise _untrusted() from None
    if at < leaf.not_valid_before_utc:
        raise _not_yet_valid(leaf.not_valid_before_utc)
    if at > leaf.not_valid_after_utc:
        raise _expired(leaf.not_valid_after_utc)
    for ca_cert in chain[1:]:
        if not ca_cert.not_valid_before_utc <= at <= ca_cert.not_valid_after_utc:
            raise _expired(ca_cert.not_valid_after_utc, authority=True)
    _check_signing_usage(leaf)
    anchor = snap.authorities[fingerprint(chain[-1])]
    revocation = RevocationResult(RevocationStatus.NOT_CHECKED)
    if check_revocation_status:
        for index, cert in enumerate(chain[:-1]):
            issuer = snap.authorities.get(fingerprint(chain[index + 1]))
            result = check_revocation(cert, issuer, at=at)
            if result.status == RevocationStatus.REVOKED:
                when = result.revoked_at
                raise DomainError(
                    "certificate_revoked",
                    "signature",
                    "Chứng thư số đã bị thu hồi"
                    + (f" từ {when:%d/%m/%Y %H:%M} UTC." if when else "."),
                    "The certificate has been revoked"
                    + (f" since {when:%Y-%m-%d %H:%M} UTC." if when else "."),
                )
            if result.status == RevocationStatus.UNKNOWN:
                raise DomainError(
                    "revocation_unknown",
                    "signature",
                    "Không xác định được tình trạng thu hồi của chứng thư số: danh sách thu hồi "
                    "(CRL) của tổ chức chứng thực đã quá hạn hoặc chưa được nạp.",
                    "The certificate's revocation status cannot be established: the "
                    "authority's CRL is out of date or has not been loaded.",
                )
            if index == 0:
                revocation = result
    return CertificateCheck(leaf, chain, anchor, revocation)


def _check_signing_usage(cert: x509.Certificate) -> None:
    try:
        constraints = cert.extensions.get_extension_for_class(x509.BasicConstraints).value
        if constraints.ca:
            raise _key_usage()
    except x509.ExtensionNotFound:
        pass
    try:
        usage = cert.extensions.get_extension_for_class(x509.KeyUsage).value
    except x509.ExtensionNotFound:
        raise _key_usage() from None
    if not (usage.digital_signature or usage.content_commitment):
        raise _key_usage()
    key = cert.public_key()
    weak = (isinstance(key, rsa.RSAPublicKey) and key.key_size < MIN_RSA_BITS) or (
        isinstance(key, ec.EllipticCurvePublicKey) and key.curve.name not in EC_CURVES
    )
    if not isinstance(key, rsa.RSAPublicKey | ec.EllipticCurvePublicKey) or weak:
        raise DomainError(
            "certificate_weak_key",
            "signature",
            f"Khóa của chứng thư số quá yếu: cần RSA từ {MIN_RSA_BITS} bit hoặc ECDSA "
            "P-256/P-384/P-521.",
            f"The certificate's key is too weak: RSA of at least {MIN_RSA_BITS} bits or ECDSA "
            "P-256/P-384/P-521 is required.",
        )


# --- Services ------------------------------------------------------------------------------------
# Each service has a read_* twin that makes every check without writing, so forms (the admin)
# can show the same errors on their fields before the service is called.


def _bytes(data: bytes | str) -> bytes:
    return data.encode("utf-8") if isinstance(data, str) else bytes(data)


def read_authority(pem: bytes | str) -> x509.Certificate:
    """The CA certificate in ``pem`` (PEM or DER), or ``authority_invalid`` /
    ``authority_not_ca``."""
    try:
        cert = load_certificate(_bytes(pem))
    except ValueError:
        raise DomainError(
            "authority_invalid",
            "certificate",
            "Tệp không chứa chứng thư số X.509 hợp lệ (PEM hoặc DER).",
            "The file does not hold a valid X.509 certificate (PEM or DER).",
        ) from None
    try:
        is_ca = cert.extensions.get_extension_for_class(x509.BasicConstraints).value.ca
    except x509.ExtensionNotFound:
        is_ca = False
    if not is_ca:
        raise DomainError(
            "authority_not_ca",
            "certificate",
            "Chứng thư số này không phải của một tổ chức chứng thực (thiếu BasicConstraints CA).",
            "This certificate is not a certificate authority's (no BasicConstraints CA=true).",
        )
    return cert


@transaction.atomic
def add_authority(pem: bytes | str, *, name: str = "", actor: Any = None) -> CertificateAuthority:
    """Trust a certificate authority (PEM or DER). Adding one already present re-activates it."""
    cert = read_authority(pem)
    digest = fingerprint(cert)
    common = cert.subject.get_attributes_for_oid(x509.NameOID.COMMON_NAME)
    label = (name or (str(common[0].value) if common else cert.subject.rfc4514_string()))[:200]
    authority, created = CertificateAuthority.objects.get_or_create(
        fingerprint=digest,
        defaults={
            "name": label,
            "certificate_pem": cert.public_bytes(serialization.Encoding.PEM).decode("ascii"),
            "subject": cert.subject.rfc4514_string()[:500],
            "not_before": cert.not_valid_before_utc,
            "not_after": cert.not_valid_after_utc,
        },
    )
    if not created:
        changed = []
        if not authority.active:
            authority.active = True
            changed.append("active")
        if name and authority.name != label:
            authority.name = label
            changed.append("name")
        if changed:
            authority.save(update_fields=changed)
    audit(
        actor=actor,
        action=AuditAction.CREATE if created else AuditAction.UPDATE,
        object_type="gateway_authority",
        object_id=str(authority.pk),
        detail={"fingerprint": digest},
    )
    _changed_now_and_on_commit()
    return authority


@transaction.atomic
def set_authority_active(
    authority: CertificateAuthority, active: bool, *, actor: Any = None
) -> CertificateAuthority:
    """Stop (or resume) trusting an authority, keeping its CRLs."""
    if authority.active != active:
        authority.active = active
        authority.save(update_fields=["active"])
        audit(
            actor=actor,
            action=AuditAction.UPDATE,
            object_type="gateway_authority",
            object_id=str(authority.pk),
            detail={"active": active},
        )
    _changed_now_and_on_commit()
    return authority


def _changed_now_and_on_commit() -> None:
    # Now, for this connection (which sees the uncommitted rows); after commit, for everyone —
    # a process that rebuilt in between must not keep a snapshot without the change.
    invalidate()
    transaction.on_commit(invalidate)


@dataclass(frozen=True)
class CrlFile:
    """A CRL checked and matched to its authority, ready to load."""

    crl: x509.CertificateRevocationList
    authority: CertificateAuthority
    number: str
    already_loaded: RevocationList | None


def _crl_object(data: bytes) -> x509.CertificateRevocationList:
    try:
        if b"-----BEGIN" in data:
            return x509.load_pem_x509_crl(data)
        return x509.load_der_x509_crl(data)
    except ValueError:
        raise DomainError(
            "crl_invalid",
            "crl",
            "Tệp không phải danh sách thu hồi chứng thư số (CRL) hợp lệ (PEM hoặc DER).",
            "The file is not a valid certificate revocation list (PEM or DER).",
        ) from None


def read_crl(data: bytes | str, *, lock: bool = False) -> CrlFile:
    """Parse a CRL, find the trusted authority that signed it and compare it with the latest
    one loaded. Codes: ``crl_invalid``, ``crl_unknown_issuer``, ``crl_signature_invalid``,
    ``crl_outdated`` (409)."""
    crl = _crl_object(_bytes(data))
    candidates = CertificateAuthority.objects.filter(subject=crl.issuer.rfc4514_string()[:500])
    authority = None
    for candidate in candidates:
        if crl.is_signature_valid(load_certificate(candidate.certificate_pem).public_key()):
            authority = candidate
            break
    if authority is None:
        if candidates:
            raise DomainError(
                "crl_signature_invalid",
                "crl",
                "Chữ ký trên danh sách thu hồi (CRL) không khớp với tổ chức chứng thực phát hành.",
                "The CRL's signature does not match its issuing certificate authority.",
            )
        raise DomainError(
            "crl_unknown_issuer",
            "crl",
            "Danh sách thu hồi (CRL) do một tổ chức chứng thực chưa có trong kho tin cậy phát "
            "hành; hãy nạp chứng thư của tổ chức đó trước.",
            "The CRL was issued by a certificate authority not in the trust store; add that "
            "authority first.",
        )
    try:
        number = str(crl.extensions.get_extension_for_class(x509.CRLNumber).value.crl_number)
    except x509.ExtensionNotFound:
        number = ""
    latest_qs = RevocationList.objects.filter(authority=authority).order_by("-this_update", "-id")
    if lock:
        latest_qs = latest_qs.select_for_update()
    latest = latest_qs.defer("crl_der").first()
    this_update = crl.last_update_utc
    if latest is not None:
        if latest.this_update == this_update and latest.number == number[:40]:
            return CrlFile(crl, authority, number[:40], latest)
        if latest.this_update > this_update:
            raise Conflict(
                "crl_outdated",
                "crl",
                f"Danh sách thu hồi này cũ hơn danh sách đã nạp (phát hành "
                f"{latest.this_update:%d/%m/%Y %H:%M} UTC).",
                f"This CRL is older than the one already loaded (issued "
                f"{latest.this_update:%Y-%m-%d %H:%M} UTC).",
            )
    return CrlFile(crl, authority, number[:40], None)


def _crl_reason(entry: x509.RevokedCertificate) -> str:
    try:
        return entry.extensions.get_extension_for_class(x509.CRLReason).value.reason.value[:40]
    except x509.ExtensionNotFound:
        return ""


@transaction.atomic
def load_crl(data: bytes | str, *, actor: Any = None) -> RevocationList:
    """Load a CRL file (PEM or DER) issued by a trusted authority. Its entries replace the
    authority's revoked serials (a full CRL lists every revocation still in force). Loading
    the same CRL twice is a no-op; a CRL older than the latest loaded is refused."""
    prepared = read_crl(data, lock=True)
    if prepared.already_loaded is not None:
        return prepared.already_loaded
    crl, authority = prepared.crl, prepared.authority
    revocation_list = RevocationList.objects.create(
        authority=authority,
        crl_der=crl.public_bytes(serialization.Encoding.DER),
        number=prepared.number,
        this_update=crl.last_update_utc,
        next_update=crl.next_update_utc,
    )
    RevokedCertificate.objects.filter(authority=authority).delete()
    RevokedCertificate.objects.bulk_create(
        (
            RevokedCertificate(
                authority=authority,
                crl=revocation_list,
                serial=serial_hex(entry.serial_number),
                revoked_at=entry.revocation_date_utc,
                reason=_crl_reason(entry),
            )
            for entry in crl
        ),
        batch_size=2000,
        ignore_conflicts=True,  # a malformed CRL listing a serial twice
    )
    audit(
        actor=actor,
        action=AuditAction.CREATE,
        object_type="gateway_crl",
        object_id=str(revocation_list.pk),
        detail={"authority": authority.pk, "number": prepared.number, "entries": len(crl)},
    )
    _changed_now_and_on_commit()
    return revocation_list


def _owner_pk(owner: Any) -> Any:
    return getattr(owner, "pk", None)


def read_signer(pem: bytes | str, *, ivan: Any = None, employer: Any = None) -> x509.Certificate:
    """Check a signer certificate before registering it: one owner, readable, chains to a
    trusted authority, valid now and fit for signing, not registered to someone else."""
    if (ivan is None) == (employer is None):
        raise DomainError(
            "signer_owner",
            "owner",
            "Chứng thư số phải thuộc đúng một chủ thể: một tổ chức I-VAN hoặc một đơn vị.",
            "A signer certificate belongs to exactly one owner: an I-VAN or an employer.",
        )
    try:
        cert = load_certificate(_bytes(pem))
    except ValueError:
        raise DomainError(
            "certificate_invalid",
            "certificate",
            "Tệp không chứa chứng thư số X.509 hợp lệ (PEM hoặc DER).",
            "The file does not hold a valid X.509 certificate (PEM or DER).",
        ) from None
    check_certificate(cert, at=dt.datetime.now(dt.UTC), check_revocation_status=False)
    existing = SignerCertificate.objects.filter(fingerprint=fingerprint(cert)).first()
    if existing is not None and (
        existing.ivan_id != _owner_pk(ivan) or existing.employer_id != _owner_pk(employer)
    ):
        raise Conflict(
            "signer_taken",
            "certificate",
            "Chứng thư số này đã được đăng ký cho một chủ thể khác.",
            "This certificate is already registered to another owner.",
        )
    return cert


@transaction.atomic
def register_signer(
    pem: bytes | str, *, ivan: Any = None, employer: Any = None, actor: Any = None
) -> SignerCertificate:
    """Register (pin) a signing certificate as an I-VAN's or an employer's. Registering it
    again for the same owner re-activates it."""
    cert = read_signer(pem, ivan=ivan, employer=employer)
    digest = fingerprint(cert)
    existing = SignerCertificate.objects.select_for_update().filter(fingerprint=digest).first()
    if existing is not None:
        if not existing.active:
            existing.active = True
            existing.save(update_fields=["active"])
        return existing
    signer = SignerCertificate.objects.create(
        ivan=ivan,
        employer=employer,
        certificate_pem=cert.public_bytes(serialization.Encoding.PEM).decode("ascii"),
        fingerprint=digest,
        serial=serial_hex(cert),
        issuer=cert.issuer.rfc4514_string()[:500],
        subject=cert.subject.rfc4514_string()[:500],
        not_before=cert.not_valid_before_utc,
        not_after=cert.not_valid_after_utc,
    )
    audit(
        actor=actor,
        action=AuditAction.CREATE,
        object_type="gateway_signer",
        object_id=str(signer.pk),
        detail={"fingerprint": digest, "owner": "ivan" if ivan is not None else "employer"},
    )
    return signer


@transaction.atomic
def set_signer_active(
    signer: SignerCertificate, active: bool, *, actor: Any = None
) -> SignerCertificate:
    """Withdraw (or restore) a registered signer certificate."""
    if signer.active != active:
        signer.active = active
        signer.save(update_fields=["active"])
        audit(
            actor=actor,
            action=AuditAction.UPDATE,
            object_type="gateway_signer",
            object_id=str(signer.pk),
            detail={"active": active},
        )
    return signer
