"""The short-cut reading of ``Signature``, ``Signature-Input`` and ``Content-Digest``
(``signatures._fast_dictionary``) gives exactly what the full structured-field parser
(``http_sf``, RFC 9651 §4.2.2) gives, or steps aside: on our own fields, on hand-picked
malformed ones and on thousands of mutations of them, a field is refused through
``_dictionary`` exactly when the full parser refuses it."""

from __future__ import annotations

import random

import http_sf
import pytest

from ansinh.core.errors import DomainError
from ansinh.exchange import keys, signatures


def _signed_fields() -> list[str]:
    out = []
    for algorithm in keys.ALGORITHMS:
        key = keys.new_key(algorithm)
        for body in (b"", b"{}", b'{"a":"xin ch\xc3\xa0o"}' * 7):
            headers = signatures.sign_request(
                "POST", "http://x/r1/VN/GOV/BHXH/benefits/echo",
                {"x-road-client": "VN/GOV/A/b", "x-road-id": "m-1"}, body, key=key,
            )  # fmt: skip
            out += [headers["signature"], headers["signature-input"], headers["content-digest"]]
        response = signatures.sign_response(
            200,
            {"x-road-client": "VN/GOV/A/b", "x-road-id": "m-1", "x-road-service": "s",
             "x-road-request-hash": signatures.request_hash(headers["signature"])},
            b"{}",
            key=key,
        )  # fmt: skip
        out += [response["signature"], response["signature-input"]]
    return out


MALFORMED = [
    "", " ", "xrd", "xrd=", "xrd=:", "xrd=::", "xrd=:AAAA", "xrd=AAAA:", "xrd=:A===:",
    "xrd=:=AAA:", "xrd=:AA=A:", "xrd=:AAA*:", "xrd=:AAAA:,", "xrd=:AAAA:;", "XRD=:AAAA:",
    "1xrd=:AAAA:", "xrd=:AAAA:, xrd=:BBBB:", "xrd=(", "xrd=()", "xrd=(\"a\"", "xrd=(a)",
    'xrd=("a")created=1', 'xrd=("a");created', 'xrd=("a");created=', 'xrd=("a");=1',
    'xrd=("a");created=1234567890123456', 'xrd=("a");created=1.5', 'xrd=("a");k="x',
    'xrd=("a");k="\\q"', 'xrd=("a");k="\x7f"', 'xrd=("a");k="é"', 'xrd=("a")  ;k=1',
    'xrd=("a";x=1)', 'xrd=("a"\t"b")', 'xrd=("a");k=?1', 'xrd=("a");K=1', 'xrd=("a");k=1;k=2',
    'xrd=("a" "b");created=1;keyid="k";keyid="j"', "sha-256=:AAAA:, sha-512=:BBBB:",
    'xrd=("a");k=-', 'xrd=("a");k=--1', 'xrd=("a");k=1a', "xrd=:AAAA:;a=1",
]  # fmt: skip


def _full(value: str) -> object:
    try:
        return http_sf.parse(value.encode("ascii"), tltype="dictionary")
    except (ValueError, TypeError, UnicodeError):
        return "refused"


def _ours(value: str) -> object:
    try:
        return signatures._dictionary(value, "field")
    except DomainError as exc:
        assert exc.code == "bad_signature"
        return "refused"


def _check(value: str) -> bool:
    """Same outcome as the full parser; returns whether the short cut took it."""
    fast = signatures._fast_dictionary(value)
    if fast is not None:
        assert fast == _full(value), value
    assert _ours(value) == _full(value), value
    return fast is not None


def test_our_own_fields_take_the_short_cut_and_read_the_same() -> None:
    fields = _signed_fields()
    assert all(_check(value) for value in fields)


@pytest.mark.parametrize("value", MALFORMED)
def test_malformed_fields_are_refused_as_the_full_parser_refuses_them(value: str) -> None:
    _check(value)


def test_mutated_fields_are_read_as_the_full_parser_reads_them() -> None:
    rng = random.Random(9421)
    alphabet = ' \t"\\:;=(),*-._+/AZaz09é\x7f?'
    fast = slow = 0
    for value in _signed_fields():
        for _ in range(300):
            chars = list(value)
            for _ in range(rng.randint(1, 3)):
                at = rng.randrange(len(chars) + 1)
                op = rng.randrange(3)
                if op == 0 and chars and at < len(chars):
                    del chars[at]
                elif op == 1:
                    chars.insert(at, rng.choice(alphabet))
                elif chars and at < len(chars):
                    chars[at] = rng.choice(alphabet)
            took = _check("".join(chars))
            fast, slow = fast + took, slow + (not took)
    assert fast > 100 and slow > 1000  # both routes were exercised
