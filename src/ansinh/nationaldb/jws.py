"""Compact JWS (RFC 7515) with EdDSA over Ed25519 (RFC 8037) — only that, on ``cryptography``.

Why our own few lines rather than a JOSE library: the e-card needs one algorithm, and a verifier
that accepts exactly one algorithm cannot be tricked into another. The header's ``alg`` is
checked to be ``EdDSA`` and is never used to choose how to verify, so ``alg: none`` and the
HS256-with-the-public-key confusion are refused by construction. Base64url parts must be
canonical (no padding, unused bits zero), so no two encodings of one token both verify.

No Django here: the offline verifier (``ansinh ecard verify``) and the tests use it as is.
"""

from __future__ import annotations

import base64
import binascii
import json
import re
from collections.abc import Mapping
from typing import Any

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey
from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat

ALG = "EdDSA"
#: A token longer than this is refused before any parsing (a card token is ~400 characters).
MAX_TOKEN_LENGTH = 4096
_B64URL = re.compile(r"^[A-Za-z0-9_-]*$")


class JwsError(Exception):
    """The token is not a valid JWS of ours; ``code`` says why (for logs and tests)."""

    def __init__(self, code: str, detail: str = "") -> None:
        super().__init__(f"{code}: {detail}" if detail else code)
        self.code = code


def b64u(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


def b64u_decode(text: str) -> bytes:
    """Strict base64url: alphabet only, no padding, and the canonical encoding of its bytes."""
    if not _B64URL.match(text) or len(text) % 4 == 1:
        raise JwsError("malformed", "not base64url")
    try:
        data = base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))
    except (binascii.Error, ValueError) as exc:
        raise JwsError("malformed", "not base64url") from exc
    if b64u(data) != text:
        raise JwsError("malformed", "non-canonical base64url")
    return data


def _json_part(data: dict[str, Any]) -> str:
    return b64u(json.dumps(data, separators=(",", ":"), ensure_ascii=False).encode("utf-8"))


def sign(payload: dict[str, Any], key: Ed25519PrivateKey, *, kid: str, typ: str) -> str:
    """``header.payload.signature`` with header ``{"alg":"EdDSA","kid":…,"typ":…}``."""
    signing_input = _json_part({"alg": ALG, "kid": kid, "typ": typ}) + "." + _json_part(payload)
    return signing_input + "." + b64u(key.sign(signing_input.encode("ascii")))


def _json_object(raw: bytes, what: str) -> dict[str, Any]:
    try:
        value = json.loads(raw.decode("utf-8"))
    except (UnicodeDecodeError, ValueError, RecursionError) as exc:
        raise JwsError("malformed", f"{what} is not JSON") from exc
    if not isinstance(value, dict):
        raise JwsError("malformed", f"{what} is not a JSON object")
    return value


def split(token: str) -> tuple[dict[str, Any], dict[str, Any], bytes, bytes]:
    """(header, payload, signing input, signature) WITHOUT checking the signature."""
    if not isinstance(token, str) or len(token) > MAX_TOKEN_LENGTH:
        raise JwsError("malformed", "too long")
    parts = token.split(".")
    if len(parts) != 3:
        raise JwsError("malformed", "a compact JWS has three parts")
    header = _json_object(b64u_decode(parts[0]), "header")
    payload = _json_object(b64u_decode(parts[1]), "payload")
    signature = b64u_decode(parts[2])
    return header, payload, f"{parts[0]}.{parts[1]}".encode("ascii"), signature


def verify(
    token: str, keys: Mapping[str, Ed25519PublicKey], *, typ: str
) -> tuple[dict[str, Any], dict[str, Any]]:
    """Check ``token`` against the public keys by key id; return (header, payload).

    Raises :class:`JwsError` with code ``malformed``, ``bad_alg``, ``bad_typ``, ``crit``,
    ``unknown_key`` or ``bad_signature``."""
    header, payload, signing_input, signature = split(token)
    if header.get("alg") != ALG:
        raise JwsError("bad_alg", str(header.get("alg"))[:20])
    if header.get("typ") != typ:
        raise JwsError("bad_typ", str(header.get("typ"))[:40])
    if "crit" in header:
        raise JwsError("crit", "no critical extensions are understood")
    kid = header.get("kid")
    key = keys.get(kid) if isinstance(kid, str) else None
    if key is None:
        raise JwsError("unknown_key", str(kid)[:40])
    if len(signature) != 64:
        raise JwsError("bad_signature", "an Ed25519 signature has 64 bytes")
    try:
        key.verify(signature, signing_input)
    except InvalidSignature as exc:
        raise JwsError("bad_signature") from exc
    return header, payload


# --- JWK / JWKS (RFC 7517, RFC 8037 "OKP") ---------------------------------------------------


def raw_public(key: Ed25519PublicKey) -> bytes:
    return key.public_bytes(Encoding.Raw, PublicFormat.Raw)


def public_jwk(key: Ed25519PublicKey | bytes, kid: str) -> dict[str, str]:
    raw = key if isinstance(key, bytes) else raw_public(key)
    return {"kty": "OKP", "crv": "Ed25519", "x": b64u(raw), "kid": kid, "alg": ALG, "use": "sig"}


def keys_from_jwks(jwks: Mapping[str, Any]) -> dict[str, Ed25519PublicKey]:
    """Public keys by kid from a JWKS; entries that are not Ed25519 signing keys are skipped."""
    keys: dict[str, Ed25519PublicKey] = {}
    for jwk in jwks.get("keys", []) if isinstance(jwks, Mapping) else []:
        if not isinstance(jwk, Mapping):
            continue
        if jwk.get("kty") != "OKP" or jwk.get("crv") != "Ed25519" or "d" in jwk:
            continue
        if jwk.get("alg", ALG) != ALG or jwk.get("use", "sig") != "sig":
            continue
        kid, x = jwk.get("kid"), jwk.get("x")
        if not isinstance(kid, str) or not isinstance(x, str):
            continue
        try:
            raw = b64u_decode(x)
            keys[kid] = Ed25519PublicKey.from_public_bytes(raw)
        except (JwsError, ValueError):
            continue
    return keys
