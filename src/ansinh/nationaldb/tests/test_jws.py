"""The e-card's JWS (RFC 7515 compact, EdDSA/Ed25519 per RFC 8037) and the verdict on a token,
without a database: sign/verify, a token altered by one byte, a wrong key, ``alg: none``, the
HS256-with-the-public-key confusion, non-canonical base64url, expiry and revocation."""

from __future__ import annotations

import base64
import datetime as dt
import hashlib
import hmac
import json

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from ansinh.nationaldb import cardcheck, jws

NOW = dt.datetime(2026, 11, 2, 9, 0, tzinfo=dt.UTC)


def _payload(**over: object) -> dict[str, object]:
    payload: dict[str, object] = {
        "iss": "VN-ANSINH",
        "jti": "7K2M9QX4TB",
        "sub": "001085012345",
        "name": "Nguyễn Văn An",
        "dob": "1985-04-12",
        "iat": int(NOW.timestamp()) - 86400,
        "exp": int(NOW.timestamp()) + 364 * 86400,
        "cov": ["bhxh", "bhyt"],
        "prg": [],
    }
    payload.update(over)
    return payload


@pytest.fixture
def key() -> Ed25519PrivateKey:
    return Ed25519PrivateKey.generate()


def _keys(key: Ed25519PrivateKey, kid: str = "k1") -> dict:
    return {kid: key.public_key()}


def test_a_signed_card_verifies_and_reads_back(key: Ed25519PrivateKey) -> None:
    token = jws.sign(_payload(), key, kid="k1", typ=cardcheck.CARD_TYP)
    result = cardcheck.check_token(token, _keys(key), now=NOW, issuer="VN-ANSINH")
    assert result.status == "valid" and result.kid == "k1"
    assert result.claims is not None
    assert result.claims.name == "Nguyễn Văn An"
    assert result.claims.coverage == ("bhxh", "bhyt")
    assert result.claims.masked_number == "••••••••2345"
    # Small enough for a QR code read by a phone (well under the ~1,200 bytes of version 25).
    assert len(token) < 450


def test_every_single_byte_change_is_refused(key: Ed25519PrivateKey) -> None:
    token = jws.sign(_payload(), key, kid="k1", typ=cardcheck.CARD_TYP)
    alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_"
    for i, ch in enumerate(token):
        if ch == ".":
            continue
        other = alphabet[(alphabet.index(ch) + 1) % len(alphabet)]
        altered = token[:i] + other + token[i + 1 :]
        result = cardcheck.check_token(altered, _keys(key), now=NOW)
        assert result.status == "forged", (i, result)
        assert result.claims is None


def test_non_canonical_base64_of_the_signature_is_refused(key: Ed25519PrivateKey) -> None:
    """The last character of a 64-byte signature carries 4 unused bits: flipping one decodes
    to the same bytes, and must still be refused (one token, one encoding)."""
    token = jws.sign(_payload(), key, kid="k1", typ=cardcheck.CARD_TYP)
    head, sig = token.rsplit(".", 1)
    last = sig[-1]
    alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_"
    twin = alphabet[alphabet.index(last) ^ 1]
    assert base64.urlsafe_b64decode(sig[:-1] + twin + "==") == base64.urlsafe_b64decode(sig + "==")
    result = cardcheck.check_token(f"{head}.{sig[:-1]}{twin}", _keys(key), now=NOW)
    assert result.status == "forged" and result.reason == "malformed"


def test_wrong_key_and_unknown_kid_are_forged(key: Ed25519PrivateKey) -> None:
    token = jws.sign(_payload(), key, kid="k1", typ=cardcheck.CARD_TYP)
    other = Ed25519PrivateKey.generate()
    assert cardcheck.check_token(token, _keys(other), now=NOW).reason == "bad_signature"
    assert cardcheck.check_token(token, _keys(key, "k2"), now=NOW).reason == "unknown_key"
    forged = jws.sign(_payload(), other, kid="k1", typ=cardcheck.CARD_TYP)
    assert cardcheck.check_token(forged, _keys(key), now=NOW).status == "forged"


def _b64(data: object) -> str:
    return jws.b64u(json.dumps(data).encode())


def test_alg_none_is_refused(key: Ed25519PrivateKey) -> None:
    unsigned = (
        f"{_b64({'alg': 'none', 'kid': 'k1', 'typ': cardcheck.CARD_TYP})}.{_b64(_payload())}."
    )
    result = cardcheck.check_token(unsigned, _keys(key), now=NOW)
    assert result.status == "forged"
    # With a dummy signature too.
    result = cardcheck.check_token(unsigned + jws.b64u(b"\0" * 64), _keys(key), now=NOW)
    assert result.status == "forged" and result.reason == "bad_alg"


def test_hs256_signed_with_the_public_key_is_refused(key: Ed25519PrivateKey) -> None:
    """The classic algorithm confusion: an attacker HMACs with the (public) verification key."""
    public = jws.raw_public(key.public_key())
    header = _b64({"alg": "HS256", "kid": "k1", "typ": cardcheck.CARD_TYP})
    signing_input = f"{header}.{_b64(_payload(name='Kẻ Giả'))}"
    for secret in (public, jws.b64u(public).encode()):
        mac = hmac.new(secret, signing_input.encode(), hashlib.sha256).digest()
        result = cardcheck.check_token(f"{signing_input}.{jws.b64u(mac)}", _keys(key), now=NOW)
        assert result.status == "forged" and result.reason == "bad_alg"


def test_a_revocation_list_or_other_typ_is_not_a_card(key: Ed25519PrivateKey) -> None:
    token = jws.sign(_payload(), key, kid="k1", typ=cardcheck.REVOCATION_TYP)
    assert cardcheck.check_token(token, _keys(key), now=NOW).reason == "bad_typ"


def test_expired_and_revoked(key: Ed25519PrivateKey) -> None:
    token = jws.sign(
        _payload(exp=int(NOW.timestamp()) - 3600), key, kid="k1", typ=cardcheck.CARD_TYP
    )
    assert cardcheck.check_token(token, _keys(key), now=NOW).status == "expired"
    token = jws.sign(_payload(), key, kid="k1", typ=cardcheck.CARD_TYP)
    result = cardcheck.check_token(token, _keys(key), now=NOW, revoked={"7K2M9QX4TB"})
    assert result.status == "revoked" and result.claims is not None


def test_missing_claims_and_wrong_issuer_are_forged(key: Ed25519PrivateKey) -> None:
    payload = _payload()
    del payload["sub"]
    token = jws.sign(payload, key, kid="k1", typ=cardcheck.CARD_TYP)
    assert cardcheck.check_token(token, _keys(key), now=NOW).reason == "bad_claims"
    token = jws.sign(_payload(iss="OTHER"), key, kid="k1", typ=cardcheck.CARD_TYP)
    result = cardcheck.check_token(token, _keys(key), now=NOW, issuer="VN-ANSINH")
    assert result.reason == "bad_issuer"


def test_jwks_round_trip_skips_foreign_keys(key: Ed25519PrivateKey) -> None:
    jwks = {
        "keys": [
            jws.public_jwk(key.public_key(), "k1"),
            {"kty": "oct", "k": "c2VjcmV0", "kid": "k2"},
            {"kty": "OKP", "crv": "X25519", "x": "AAAA", "kid": "k3"},
        ]
    }
    keys = jws.keys_from_jwks(jwks)
    assert list(keys) == ["k1"]
    token = jws.sign(_payload(), key, kid="k1", typ=cardcheck.CARD_TYP)
    assert cardcheck.check_token(token, keys, now=NOW).ok


def test_find_token_in_a_url_or_pasted_text(key: Ed25519PrivateKey) -> None:
    token = jws.sign(_payload(), key, kid="k1", typ=cardcheck.CARD_TYP)
    assert cardcheck.find_token(f"https://x.vn/the-an-sinh/kiem-tra/#{token}") == token
    assert cardcheck.find_token(f"  {token[:50]}\n{token[50:]}  ") == token
    assert cardcheck.find_token("hello") == ""
