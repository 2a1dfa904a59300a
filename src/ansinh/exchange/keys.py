"""Signing keys of the exchange layer: Ed25519 (default) or ECDSA P-256.

Our private key lives in ``EXCHANGE_KEY_FILE`` (default ``DATA_DIR/exchange/signing_key.pem``,
mode 0600), created by ``ansinh exchange init``; a self-signed certificate naming our member id
sits beside it for peers that want one. A key id is the SHA-256 of the public key (SPKI DER), so
both sides name a key the same way without a registry.
"""

from __future__ import annotations

import datetime as dt
import functools
import hashlib
import os
from pathlib import Path

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, ed25519
from cryptography.x509.oid import NameOID
from django.conf import settings

from ansinh.core.errors import DomainError

PrivateKey = ed25519.Ed25519PrivateKey | ec.EllipticCurvePrivateKey
PublicKey = ed25519.Ed25519PublicKey | ec.EllipticCurvePublicKey

ED25519 = "ed25519"
ECDSA_P256 = "ecdsa-p256-sha256"
ALGORITHMS = (ED25519, ECDSA_P256)


def key_file() -> Path:
    configured = getattr(settings, "EXCHANGE_KEY_FILE", "")
    return (
        Path(configured) if configured else Path(settings.DATA_DIR) / "exchange" / "signing_key.pem"
    )


def cert_file() -> Path:
    configured = getattr(settings, "EXCHANGE_CERT_FILE", "")
    return Path(configured) if configured else key_file().with_name("certificate.pem")


def new_key(algorithm: str = ED25519) -> PrivateKey:
    if algorithm == ED25519:
        return ed25519.Ed25519PrivateKey.generate()
    if algorithm == ECDSA_P256:
        return ec.generate_private_key(ec.SECP256R1())
    raise ValueError(f"unknown algorithm {algorithm}")


def algorithm_of(key: PrivateKey | PublicKey) -> str:
    if isinstance(key, ed25519.Ed25519PrivateKey | ed25519.Ed25519PublicKey):
        return ED25519
    if isinstance(key, ec.EllipticCurvePrivateKey | ec.EllipticCurvePublicKey) and isinstance(
        key.curve, ec.SECP256R1
    ):
        return ECDSA_P256
    raise DomainError(
        "key_type_unsupported",
        "public_key",
        "Chỉ chấp nhận khóa Ed25519 hoặc ECDSA P-256.",
        "Only Ed25519 or ECDSA P-256 keys are accepted.",
    )


def key_id(public: PublicKey) -> str:
    der = public.public_bytes(
        serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo
    )
    return hashlib.sha256(der).hexdigest()


def public_pem(public: PublicKey) -> str:
    return public.public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
    ).decode()


def load_public(pem: str | bytes) -> tuple[PublicKey, str]:
    """A public key from a PEM public key or certificate; returns it and the certificate PEM
    ("" when given a bare key)."""
    data = pem.encode() if isinstance(pem, str) else pem
    try:
        if b"BEGIN CERTIFICATE" in data:
            cert = x509.load_pem_x509_certificate(data)
            public = cert.public_key()
            cert_pem = cert.public_bytes(serialization.Encoding.PEM).decode()
        else:
            public = serialization.load_pem_public_key(data)
            cert_pem = ""
    except ValueError as exc:
        raise DomainError(
            "public_key_invalid",
            "public_key",
            "Không đọc được khóa công khai hoặc chứng thư (PEM).",
            "Cannot read the public key or certificate (PEM).",
        ) from exc
    algorithm_of(public)  # type: ignore[arg-type]
    return public, cert_pem  # type: ignore[return-value]


@functools.lru_cache(maxsize=256)
def cached_public(pem: str) -> PublicKey:
    """``load_public`` once per PEM and process: a peer's key is parsed on every message."""
    return load_public(pem)[0]


def self_signed(key: PrivateKey, common_name: str, years: int = 5) -> x509.Certificate:
    now = dt.datetime.now(dt.UTC)
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, common_name)])
    builder = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - dt.timedelta(minutes=5))
        .not_valid_after(now + dt.timedelta(days=365 * years))
    )
    digest = None if isinstance(key, ed25519.Ed25519PrivateKey) else hashes.SHA256()
    return builder.sign(key, digest)


def write_key(key: PrivateKey, path: Path) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    data = key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    )
    path.touch(mode=0o600, exist_ok=True)
    path.chmod(0o600)
    path.write_bytes(data)


@functools.cache
def _load_private(path: str, mtime: float) -> PrivateKey:
    password = getattr(settings, "EXCHANGE_KEY_PASSWORD", "") or None
    key = serialization.load_pem_private_key(
        Path(path).read_bytes(), password=password.encode() if password else None
    )
    algorithm_of(key)  # type: ignore[arg-type]
    return key  # type: ignore[return-value]


@functools.cache
def _own_key_id(path: str, mtime: float) -> str:
    return key_id(_load_private(path, mtime).public_key())


def signing_key_with_id() -> tuple[PrivateKey, str]:
    """Our private key and its key id, both cached per process (the id is hashed once)."""
    path, mtime = _key_stamp()
    return _load_private(path, mtime), _own_key_id(path, mtime)


def signing_key() -> PrivateKey:
    """Our private key, cached per process (reloaded when the file changes)."""
    return _load_private(*_key_stamp())


@functools.cache
def _key_path(configured: str, data_dir: str) -> str:
    return str(Path(configured) if configured else Path(data_dir) / "exchange" / "signing_key.pem")


def _key_stamp() -> tuple[str, float]:
    """The key file and its modification time, read on every signature (a replaced key is
    used at once); the path is built once per setting (``pathlib`` cost as much as the stat)."""
    path = _key_path(getattr(settings, "EXCHANGE_KEY_FILE", ""), str(settings.DATA_DIR))
    try:
        mtime = os.stat(path).st_mtime
    except FileNotFoundError as exc:
        raise DomainError(
            "exchange_not_initialised",
            None,
            "Chưa khởi tạo định danh trao đổi: chạy `ansinh exchange init`.",
            "The exchange identity is not set up: run `ansinh exchange init`.",
            status=503,
        ) from exc
    return path, mtime
