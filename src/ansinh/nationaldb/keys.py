"""Key files of the national database: the e-card issuer keys (private halves, one PEM file per
key id under ``NATIONALDB_KEY_DIR/ecard-keys/``) and PEM helpers shared with the
population-registry client. Private keys never enter the database."""

from __future__ import annotations

import os
from pathlib import Path

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey
from cryptography.hazmat.primitives.serialization import (
    Encoding,
    NoEncryption,
    PrivateFormat,
    PublicFormat,
    load_pem_private_key,
    load_pem_public_key,
)
from django.conf import settings

from ansinh.core.errors import DomainError


def key_dir() -> Path:
    configured = getattr(settings, "NATIONALDB_KEY_DIR", "")
    return Path(configured) if configured else Path(settings.DATA_DIR) / "nationaldb"


def ecard_key_path(kid: str) -> Path:
    if not kid.isalnum():
        raise ValueError("a key id is alphanumeric")
    return key_dir() / "ecard-keys" / f"{kid}.pem"


def write_private_pem(path: Path, key: Ed25519PrivateKey) -> None:
    """Write a PKCS#8 PEM readable by its owner only; never overwrite an existing key."""
    path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
    pem = key.private_bytes(Encoding.PEM, PrivateFormat.PKCS8, NoEncryption())
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "wb") as fh:
        fh.write(pem)


def write_public_pem(path: Path, key: Ed25519PublicKey) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(key.public_bytes(Encoding.PEM, PublicFormat.SubjectPublicKeyInfo))


def read_private_pem(path: Path | str) -> Ed25519PrivateKey:
    key = load_pem_private_key(Path(path).read_bytes(), password=None)
    if not isinstance(key, Ed25519PrivateKey):
        raise ValueError(f"{path} is not an Ed25519 private key")
    return key


def read_public_pem(path: Path | str) -> Ed25519PublicKey:
    key = load_pem_public_key(Path(path).read_bytes())
    if not isinstance(key, Ed25519PublicKey):
        raise ValueError(f"{path} is not an Ed25519 public key")
    return key


def load_ecard_key(kid: str) -> Ed25519PrivateKey:
    path = ecard_key_path(kid)
    try:
        return read_private_pem(path)
    except (OSError, ValueError) as exc:
        raise DomainError(
            "signing_key_missing",
            None,
            f"Không đọc được khóa ký thẻ {kid} trên máy chủ này.",
            f"The card signing key {kid} cannot be read on this server.",
            status=409,
        ) from exc
