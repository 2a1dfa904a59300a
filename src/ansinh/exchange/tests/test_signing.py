"""RFC 9421 signatures with an RFC 9530 digest, as the exchange profile fixes them: any change
to the covered parts — one byte of the body, a covered header, the target, the method — or an
old or reused signature is refused."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pytest

from ansinh.core.errors import DomainError
from ansinh.exchange import keys, signatures

URL = "https://bhxh.example/r1/VN/GOV/BHXH/benefits/contributionHistory"
BODY = b'{"personal_id":"001090000001"}'
NOW = dt.datetime(2026, 11, 20, 3, 0, tzinfo=dt.UTC)


def _signed(key: keys.PrivateKey, **kw: object) -> dict[str, str]:
    headers = {"x-road-client": "VN/GOV/SNV-HN/unemployment", "x-road-id": "m-1"}
    return signatures.sign_request("POST", URL, headers, BODY, key=key, now=NOW, **kw)


def _verify(
    key: keys.PrivateKey,
    headers: dict[str, str],
    *,
    method: str = "POST",
    url: str = URL,
    body: bytes = BODY,
    now: dt.datetime = NOW,
) -> signatures.Verified:
    public = key.public_key()
    return signatures.verify_request(
        method, url, headers, body, public=public, key_id=keys.key_id(public), now=now
    )  # fmt: skip


@pytest.mark.parametrize("algorithm", keys.ALGORITHMS)
def test_a_signed_request_verifies_with_the_signers_key(algorithm: str) -> None:
    key = keys.new_key(algorithm)
    headers = _signed(key)
    assert headers["content-digest"].startswith("sha-256=:")
    assert 'tag="ansinh-exchange"' in headers["signature-input"]
    verified = _verify(key, headers)
    assert (
        verified.created == NOW
        and verified.nonce
        and verified.key_id == keys.key_id(key.public_key())
    )


def _code(fn: object) -> str:
    with pytest.raises(DomainError) as err:
        fn()  # type: ignore[operator]
    return err.value.code


def test_one_byte_of_body_changed_fails() -> None:
    key = keys.new_key()
    headers = _signed(key)
    tampered = bytes([BODY[0]]) + BODY[1:-2] + b"2" + BODY[-1:]
    assert _code(lambda: _verify(key, headers, body=tampered)) == "bad_signature"


def test_a_covered_header_changed_fails() -> None:
    key = keys.new_key()
    headers = _signed(key)
    for name, value in (("x-road-client", "VN/GOV/SNV-HCM/unemployment"), ("x-road-id", "m-2")):
        assert _code(lambda n=name, v=value: _verify(key, {**headers, n: v})) == "bad_signature"


def test_a_digest_recomputed_for_a_new_body_still_fails() -> None:
    from http_message_signatures import ContentDigest

    key = keys.new_key()
    headers = _signed(key)
    other = b'{"personal_id":"001090000002"}'
    forged = {**headers, "content-digest": ContentDigest.create(other)}
    assert _code(lambda: _verify(key, forged, body=other)) == "bad_signature"


def test_another_target_or_method_fails() -> None:
    key = keys.new_key()
    headers = _signed(key)
    other = URL.replace("contributionHistory", "paymentStatus")
    assert _code(lambda: _verify(key, headers, url=other)) == "bad_signature"
    assert _code(lambda: _verify(key, headers, method="PUT")) == "bad_signature"


def test_another_key_fails_and_an_unsigned_message_is_refused() -> None:
    key = keys.new_key()
    headers = _signed(key)
    intruder = keys.new_key()
    public = intruder.public_key()
    with pytest.raises(DomainError) as err:
        signatures.verify_request(
            "POST", URL, headers, BODY, public=public, key_id=keys.key_id(public), now=NOW
        )
    assert err.value.code == "bad_signature"
    bare = {k: v for k, v in headers.items() if not k.startswith("signature")}
    assert _code(lambda: _verify(key, bare)) == "signature_missing"


def test_old_or_future_signatures_are_stale() -> None:
    key = keys.new_key()
    headers = _signed(key)
    later = NOW + dt.timedelta(seconds=signatures.max_age() + 1)
    assert _code(lambda: _verify(key, headers, now=later)) == "stale_message"
    earlier = NOW - dt.timedelta(seconds=signatures.clock_skew() + 5)
    assert _code(lambda: _verify(key, headers, now=earlier)) == "stale_message"
    assert _verify(key, headers, now=NOW + dt.timedelta(seconds=10)).created == NOW


def test_a_response_must_answer_this_request() -> None:
    key = keys.new_key()
    request = _signed(key)
    response = signatures.sign_response(
        200,
        {
            "x-road-client": "VN/GOV/SNV-HN/unemployment",
            "x-road-id": "m-1",
            "x-road-service": "VN/GOV/BHXH/benefits/contributionHistory",
            "x-road-request-hash": signatures.request_hash(request["signature"]),
        },
        b"{}",
        key=key,
        now=NOW,
    )
    public = key.public_key()
    kw = {"public": public, "key_id": keys.key_id(public), "now": NOW}
    signatures.verify_response(200, response, b"{}", request_signature=request["signature"], **kw)
    other = _signed(key)["signature"]
    with pytest.raises(DomainError):
        signatures.verify_response(200, response, b"{}", request_signature=other, **kw)
    with pytest.raises(DomainError):
        signatures.verify_response(500, response, b"{}", request_signature=request["signature"],
                                   **kw)  # fmt: skip
    with pytest.raises(DomainError):
        signatures.verify_response(200, response, b"[]", request_signature=request["signature"],
                                   **kw)  # fmt: skip


class _Msg:
    def __init__(self, method: str, url: str, headers: dict[str, str]) -> None:
        self.method, self.url, self.headers = method, url, headers


_LIB_ALG = {"ed25519": "ED25519", "ecdsa-p256-sha256": "ECDSA_P256_SHA256"}


@pytest.mark.parametrize("algorithm", keys.ALGORITHMS)
def test_signatures_interoperate_with_the_http_message_signatures_package(
    algorithm: str,
) -> None:
    """Our signer and verifier against an independent RFC 9421 implementation, both ways."""
    from http_message_signatures import (
        HTTPMessageSigner,
        HTTPMessageVerifier,
        MappingKeyResolver,
        algorithms,
    )

    key = keys.new_key(algorithm)
    public = key.public_key()
    kid = keys.key_id(public)
    lib_alg = getattr(algorithms, _LIB_ALG[algorithm])
    # Theirs → ours.
    message = _Msg("POST", URL, {"x-road-client": "VN/GOV/SNV-HN/unemployment", "x-road-id": "m-1"})
    signer = HTTPMessageSigner(
        signature_algorithm=lib_alg,
        key_resolver=MappingKeyResolver(public_keys={}, private_keys={kid: key}),
    )
    signer.sign(
        message, key_id=kid, created=NOW, nonce="n-1", label="xrd", tag=signatures.TAG,
        covered_component_ids=signatures.REQUEST_COMPONENTS, body=BODY,
    )  # fmt: skip
    verified = _verify(key, dict(message.headers))
    assert verified.nonce == "n-1"
    # Ours → theirs.
    ours = _signed(key)
    verifier = HTTPMessageVerifier(
        signature_algorithm=lib_alg,
        key_resolver=MappingKeyResolver(public_keys={kid: public}, private_keys={}),
    )
    verifier.max_clock_skew = dt.timedelta(days=36500)
    results = verifier.verify(
        _Msg("POST", URL, ours), max_age=None, expect_tag=signatures.TAG,
        require_components=signatures.REQUEST_COMPONENTS, body=BODY,
    )  # fmt: skip
    assert results[0].parameters["keyid"] == kid


def test_init_again_keeps_the_identity_and_another_member_replaces_it(
    exchange_keys: Path, db: None
) -> None:
    """Restarting a deployment runs ``exchange init`` again: same member and key, same row."""
    from ansinh.exchange import services
    from ansinh.exchange.ids import MemberId
    from ansinh.exchange.models import Identity

    first = services.init_identity(MemberId.parse("VN/GOV/BHXH/benefits"))
    again = services.init_identity(MemberId.parse("VN/GOV/BHXH/benefits"))
    assert first.key_created and not again.key_created
    assert again.identity.pk == first.identity.pk
    assert Identity.objects.count() == 1
    other = services.init_identity(MemberId.parse("VN/GOV/BHXH/payments"))
    assert other.identity.pk != first.identity.pk
    assert list(Identity.objects.filter(active=True)) == [other.identity]
