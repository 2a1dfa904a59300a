"""The wire protocol of the population-registry stand-in (``popreg``), shared by the server and
ansinh's client. No Django here.

A request is ``POST /v1/verify`` with a JSON body ``{"personal_id", "full_name",
"date_of_birth"}`` and the headers ``X-Client-Id``, ``X-Request-Id`` (a UUID, never reused),
``X-Timestamp`` (Unix seconds) and ``X-Signature``: base64url Ed25519 over

    popreg-v1-request \\n POST \\n /v1/verify \\n client id \\n request id \\n timestamp \\n
    SHA-256 hex of the body

The answer carries ``X-Request-Id`` (echoed), ``X-Timestamp`` and ``X-Signature`` over

    popreg-v1-response \\n HTTP status \\n request id \\n timestamp \\n SHA-256 hex of the body

so neither side can be answered by a replayed or altered message. See docs/nationaldb.md.
"""

from __future__ import annotations

import hashlib
import unicodedata

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey

from ansinh.nationaldb.jws import JwsError, b64u, b64u_decode

VERIFY_PATH = "/v1/verify"
#: Messages older or newer than this (seconds) are refused: bounds the replay window.
MAX_SKEW = 300
MAX_BODY = 8192
OUTCOMES = ("match", "mismatch", "unknown", "deceased")
FIELDS = ("personal_id", "full_name", "date_of_birth")


def _digest(body: bytes) -> str:
    return hashlib.sha256(body).hexdigest()


def request_message(client_id: str, request_id: str, timestamp: str, body: bytes) -> bytes:
    parts = ("popreg-v1-request", "POST", VERIFY_PATH, client_id, request_id, timestamp)
    return "\n".join((*parts, _digest(body))).encode("utf-8")


def response_message(status: int, request_id: str, timestamp: str, body: bytes) -> bytes:
    parts = ("popreg-v1-response", str(status), request_id, timestamp, _digest(body))
    return "\n".join(parts).encode("utf-8")


def sign(key: Ed25519PrivateKey, message: bytes) -> str:
    return b64u(key.sign(message))


def signature_ok(key: Ed25519PublicKey, signature: str, message: bytes) -> bool:
    try:
        key.verify(b64u_decode(signature), message)
    except (JwsError, InvalidSignature, ValueError):
        return False
    return True


def same_name(a: str, b: str) -> bool:
    """The registry's name comparison: exact, diacritics included, after Unicode NFC, case
    folding and collapsing white space (those change the bytes, not the name). 'Lê' and 'Le'
    are different names; 'Nguyễn  Văn An' and 'nguyễn văn an' (NFD or not) are the same."""

    def canon(value: str) -> str:
        return " ".join(unicodedata.normalize("NFC", value).casefold().split())

    return canon(a) == canon(b)
