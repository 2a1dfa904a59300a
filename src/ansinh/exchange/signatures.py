"""HTTP Message Signatures (RFC 9421) with a Content-Digest (RFC 9530) on every exchange
message, in one fixed profile.

A request signature (label ``xrd``) covers ``@method``, ``@target-uri``, ``content-digest``,
``x-road-client`` and ``x-road-id`` with the parameters ``created``, ``keyid``, ``alg``,
``nonce`` and ``tag="ansinh-exchange"``. A response signature covers ``@status``,
``content-digest``, ``x-road-client``, ``x-road-id``, ``x-road-service`` and
``x-road-request-hash`` (the SHA-256 of the request's ``Signature`` field), which binds the
answer to the exact request it answers. Algorithms: ``ed25519`` and ``ecdsa-p256-sha256``.

Why our own code: the profile is fixed, so building the signature base is a few string joins;
the general ``http-message-signatures`` package re-serialises every structured field several
times per message (about 2 ms per signature on this machine, the largest share of a round
trip). Incoming fields in the shape we send are read by a short cut, any other shape by
``http-sf`` (the structured-field parser that package uses); the tests check our signatures
with ``http-message-signatures`` and its signatures with ours, both ways. Anything outside
the profile — other components, other parameters, other algorithms — is refused. Freshness
(``created``) and replay (``nonce``) are checked by the caller of :func:`verify_request`;
:func:`verify_response` checks freshness itself.
"""

from __future__ import annotations

import base64
import datetime as dt
import hashlib
import hmac
import re
import secrets
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import http_sf
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec, ed25519
from cryptography.hazmat.primitives.asymmetric.utils import (
    decode_dss_signature,
    encode_dss_signature,
)
from django.conf import settings

from ansinh.core.errors import DomainError
from ansinh.exchange import keys

TAG = "ansinh-exchange"
LABEL = "xrd"
REQUEST_COMPONENTS = ("@method", "@target-uri", "content-digest", "x-road-client", "x-road-id")
RESPONSE_COMPONENTS = (
    "@status",
    "content-digest",
    "x-road-client",
    "x-road-id",
    "x-road-service",
    "x-road-request-hash",
)
#: The headers a signed message carries, kept in the message log as evidence.
SIGNED_HEADERS = (
    "content-type",
    "content-digest",
    "signature-input",
    "signature",
    "x-road-client",
    "x-road-id",
    "x-road-service",
    "x-road-request-hash",
    "x-road-error",
    "x-ansinh-truncated",
)


@dataclass(frozen=True)
class Verified:
    created: dt.datetime
    nonce: str
    key_id: str
    signature: str  # the Signature field as received


def max_age() -> int:
    return int(getattr(settings, "EXCHANGE_MAX_AGE_SECONDS", 300))


def clock_skew() -> int:
    return int(getattr(settings, "EXCHANGE_CLOCK_SKEW_SECONDS", 30))


def request_hash(signature_field: str) -> str:
    """The value of ``X-Road-Request-Hash``: SHA-256 of the request's Signature field."""
    digest = hashlib.sha256(signature_field.encode("ascii", "replace")).digest()
    return f"sha-256=:{base64.b64encode(digest).decode()}:"


def _lower(headers: Mapping[str, str]) -> dict[str, str]:
    return {k.lower(): v for k, v in headers.items()}


def content_digest(body: bytes) -> str:
    return f"sha-256=:{base64.b64encode(hashlib.sha256(body).digest()).decode()}:"


def _sf_string(value: str) -> str:
    if not value.isascii() or not value.isprintable():
        raise ValueError("structured-field strings are printable ASCII")
    return '"' + value.replace("\\", "\\\\").replace('"', '\\"') + '"'


def _params(components: tuple[str, ...], params: Mapping[str, Any]) -> str:
    """The serialised ``@signature-params`` (also the Signature-Input member)."""
    out = "(" + " ".join(f'"{c}"' for c in components) + ")"
    for name, value in params.items():
        if isinstance(value, bool) or not isinstance(value, int | str):
            raise ValueError(f"unsupported signature parameter {name}")
        out += f";{name}={value}" if isinstance(value, int) else f";{name}={_sf_string(value)}"
    return out


def _value(
    component: str, method: str, url: str, status: int | None, headers: Mapping[str, str]
) -> str:
    if component == "@method":
        return method.upper()
    if component == "@target-uri":
        return url
    if component == "@status":
        return str(status)
    value = headers.get(component)
    if value is None:
        raise KeyError(component)
    value = value.strip(" \t")
    if "\n" in value or "\r" in value or not value.isascii():
        raise ValueError(f"{component} is not a plain ASCII field value")
    return value


def _base(
    components: tuple[str, ...],
    params_text: str,
    method: str,
    url: str,
    status: int | None,
    headers: Mapping[str, str],
) -> bytes:
    lines = [f'"{c}": {_value(c, method, url, status, headers)}' for c in components]
    lines.append(f'"@signature-params": {params_text}')
    return "\n".join(lines).encode("ascii")


def _raw_sign(key: keys.PrivateKey, data: bytes) -> bytes:
    if isinstance(key, ed25519.Ed25519PrivateKey):
        return key.sign(data)
    r, s = decode_dss_signature(key.sign(data, ec.ECDSA(hashes.SHA256())))
    return r.to_bytes(32, "big") + s.to_bytes(32, "big")


def _raw_verify(public: keys.PublicKey, signature: bytes, data: bytes) -> bool:
    try:
        if isinstance(public, ed25519.Ed25519PublicKey):
            public.verify(signature, data)
        else:
            if len(signature) != 64:
                return False
            der = encode_dss_signature(
                int.from_bytes(signature[:32], "big"), int.from_bytes(signature[32:], "big")
            )
            public.verify(der, data, ec.ECDSA(hashes.SHA256()))
    except InvalidSignature:
        return False
    return True


def _sign(
    components: tuple[str, ...],
    method: str,
    url: str,
    status: int | None,
    headers: Mapping[str, str],
    body: bytes,
    *,
    now: dt.datetime | None,
    nonce: str | None,
    key: keys.PrivateKey | None,
    key_id: str | None,
) -> dict[str, str]:
    if key is None:
        key, own_id = keys.signing_key_with_id()
        key_id = key_id or own_id
    key_id = key_id or keys.key_id(key.public_key())
    out = _lower(headers)
    out["content-digest"] = content_digest(body)
    params: dict[str, Any] = {
        "created": int((now or dt.datetime.now(dt.UTC)).timestamp()),
        "keyid": key_id,
        "alg": keys.algorithm_of(key),
        "nonce": nonce or secrets.token_urlsafe(18),
        "tag": TAG,
    }
    params_text = _params(components, params)
    signature = _raw_sign(key, _base(components, params_text, method, url, status, out))
    out["signature-input"] = f"{LABEL}={params_text}"
    out["signature"] = f"{LABEL}=:{base64.b64encode(signature).decode()}:"
    return out


def sign_request(
    method: str,
    url: str,
    headers: Mapping[str, str],
    body: bytes,
    *,
    now: dt.datetime | None = None,
    nonce: str | None = None,
    key: keys.PrivateKey | None = None,
    key_id: str | None = None,
) -> dict[str, str]:
    """``headers`` (with X-Road-Client and X-Road-Id) plus Content-Digest, Signature-Input and
    Signature, all names in lower case."""
    return _sign(REQUEST_COMPONENTS, method, url, None, headers, body, now=now, nonce=nonce,
                 key=key, key_id=key_id)  # fmt: skip


def sign_response(
    status: int,
    headers: Mapping[str, str],
    body: bytes,
    *,
    now: dt.datetime | None = None,
    key: keys.PrivateKey | None = None,
    key_id: str | None = None,
) -> dict[str, str]:
    return _sign(RESPONSE_COMPONENTS, "", "", status, headers, body, now=now, nonce=None,
                 key=key, key_id=key_id)  # fmt: skip


def bad_signature(detail: str) -> DomainError:
    return DomainError(
        "bad_signature",
        "signature",
        f"Chữ ký thông điệp không hợp lệ ({detail[:160]}).",
        f"The message signature is not valid ({detail[:160]}).",
        status=401,
    )


# Our own signatures in their usual shape, read without the general parser (which validates
# base64 and every item character by character, a fifth of the provider's CPU): one member, a
# padded base64 byte sequence, or an inner list of plain strings with integer or plain-string
# parameters. Anything else — whitespace, several members, escapes, booleans, decimals,
# parameters given twice — goes to ``http_sf``, so what is refused stays exactly what the full
# parser refuses; the tests compare both on valid and malformed fields.
_KEY = r"[a-z*][a-z0-9_\-.*]{0,63}"
_STRING = r'"[\x20\x21\x23-\x5b\x5d-\x7e]*"'
_BYTES_MEMBER = re.compile(
    rf"({_KEY})=:((?:[A-Za-z0-9+/]{{4}})*(?:[A-Za-z0-9+/]{{2}}==|[A-Za-z0-9+/]{{3}}=)?):"
)
_LIST_MEMBER = re.compile(
    rf"({_KEY})=\(({_STRING}(?: {_STRING})*)\)((?:;{_KEY}=(?:-?[0-9]{{1,15}}|{_STRING}))*)"
)
_ITEM = re.compile(_STRING)
_PARAM = re.compile(rf";({_KEY})=(?:(-?[0-9]{{1,15}})|\"([^\"]*)\")")


def _fast_dictionary(value: str) -> dict[str, Any] | None:
    """The structured-field dictionary ``http_sf`` would return, for the shapes above only;
    None for anything else."""
    m = _BYTES_MEMBER.fullmatch(value)
    if m is not None:
        return {m[1]: (base64.b64decode(m[2], validate=True), {})}
    m = _LIST_MEMBER.fullmatch(value)
    if m is None:
        return None
    items = [(item[1:-1], {}) for item in _ITEM.findall(m[2])]
    params: dict[str, Any] = {}
    for name, number, text in _PARAM.findall(m[3]):
        if name in params:
            return None  # the last one wins in SF; leave that to the full parser
        params[name] = int(number) if number else text
    return {m[1]: (items, params)}


def _dictionary(value: str, name: str) -> dict[str, Any]:
    fast = _fast_dictionary(value)
    if fast is not None:
        return fast
    try:
        parsed = http_sf.parse(value.encode("ascii"), tltype="dictionary")
    except (ValueError, TypeError, UnicodeError) as exc:
        raise bad_signature(f"malformed {name}") from exc
    if not isinstance(parsed, dict):
        raise bad_signature(f"malformed {name}")
    return parsed


def _verify(
    components: tuple[str, ...],
    method: str,
    url: str,
    status: int | None,
    headers: Mapping[str, str],
    body: bytes,
    public: keys.PublicKey,
    key_id: str,
) -> Verified:
    if "signature" not in headers or "signature-input" not in headers:
        raise DomainError(
            "signature_missing",
            "signature",
            "Thông điệp thiếu chữ ký (Signature, Signature-Input).",
            "The message is not signed (Signature, Signature-Input missing).",
            status=401,
        )
    inputs = _dictionary(headers["signature-input"], "Signature-Input")
    values = _dictionary(headers["signature"], "Signature")
    if LABEL not in inputs or LABEL not in values:
        raise bad_signature(f"no signature labelled {LABEL}")
    covered, params = inputs[LABEL]
    signature = values[LABEL][0]
    if not isinstance(covered, list) or not isinstance(signature, bytes):
        raise bad_signature("malformed signature member")
    names = tuple(item for item, item_params in covered if not item_params)
    if names != components or len(covered) != len(components):
        raise bad_signature("the signature does not cover the required components")
    allowed = {"created": int, "keyid": str, "alg": str, "nonce": str, "tag": str}
    for name, value in params.items():
        if name not in allowed or type(value) is not allowed[name]:
            raise bad_signature(f"unexpected signature parameter {name}")
    if params.get("tag") != TAG or "created" not in params or "keyid" not in params:
        raise bad_signature("tag, created or keyid missing")
    if params.get("alg", keys.algorithm_of(public)) != keys.algorithm_of(public):
        raise bad_signature("unexpected algorithm")
    if params["keyid"] != key_id:
        raise bad_signature("signed with another key")
    try:
        base = _base(components, _params(components, params), method, url, status, headers)
    except KeyError as exc:
        raise bad_signature(f"covered field {exc.args[0]} missing") from exc
    except ValueError as exc:
        raise bad_signature(str(exc)) from exc
    if not _raw_verify(public, signature, base):
        raise bad_signature("signature does not verify")
    digests = _dictionary(headers["content-digest"], "Content-Digest")
    hashers = {"sha-256": hashlib.sha256, "sha-512": hashlib.sha512}
    if not digests or any(k not in hashers for k in digests):
        raise bad_signature("unsupported Content-Digest")
    for algorithm, (digest, _) in digests.items():
        if not isinstance(digest, bytes) or not hmac.compare_digest(
            digest, hashers[algorithm](body).digest()
        ):
            raise bad_signature("Content-Digest does not match the body")
    nonce = str(params.get("nonce") or "")
    if not nonce and components is REQUEST_COMPONENTS:
        raise bad_signature("nonce missing")
    return Verified(
        created=dt.datetime.fromtimestamp(int(params["created"]), dt.UTC),
        nonce=nonce,
        key_id=str(params["keyid"]),
        signature=headers["signature"],
    )


def check_fresh(created: dt.datetime, now: dt.datetime | None = None) -> None:
    now = now or dt.datetime.now(dt.UTC)
    age = (now - created).total_seconds()
    if age > max_age() or age < -clock_skew():
        raise DomainError(
            "stale_message",
            "signature",
            f"Thông điệp quá cũ hoặc ghi thời điểm tương lai (tạo lúc {created:%Y-%m-%d %H:%M:%S}"
            f" UTC; chấp nhận trong {max_age()} giây).",
            f"The message is stale or dated in the future (created {created:%Y-%m-%d %H:%M:%S}"
            f" UTC; accepted within {max_age()} s).",
            status=401,
        )


def verify_request(
    method: str,
    url: str,
    headers: Mapping[str, str],
    body: bytes,
    *,
    public: keys.PublicKey,
    key_id: str,
    now: dt.datetime | None = None,
) -> Verified:
    """Check the signature and the digest, then freshness. Replay is the caller's check."""
    verified = _verify(REQUEST_COMPONENTS, method, url, None, _lower(headers), body, public, key_id)
    check_fresh(verified.created, now)
    return verified


def verify_response(
    status: int,
    headers: Mapping[str, str],
    body: bytes,
    *,
    public: keys.PublicKey,
    key_id: str,
    request_signature: str,
    now: dt.datetime | None = None,
) -> Verified:
    """Check the peer's signature on its answer and that it answers our request."""
    lowered = _lower(headers)
    verified = _verify(RESPONSE_COMPONENTS, "", "", status, lowered, body, public, key_id)
    if lowered.get("x-road-request-hash") != request_hash(request_signature):
        raise bad_signature("the response answers another request")
    check_fresh(verified.created, now)
    return verified
