"""The client's answer reader (``client._Response``) against ``http.client.HTTPResponse`` on
the same bytes: status, reason, version, header fields (order, case, duplicates, folded and
malformed lines), body (length, chunked, to the close), keep-alive — so the lean header split
changes nothing but its cost."""

from __future__ import annotations

import http.client
import io

import pytest

from ansinh.exchange.client import _Response

SIGNED = (
    b"HTTP/1.1 200 OK\r\n"
    b"Server: gunicorn\r\nDate: Tue, 24 Nov 2026 03:00:00 GMT\r\nConnection: keep-alive\r\n"
    b"Content-Type: application/json\r\nx-road-client: VN/GOV/SNV-HN/unemployment\r\n"
    b"x-road-id: 0123\r\ncontent-digest: sha-256=:X48E9qOokqqrvdts8nOJRJN3OWDUoyWxBf7kbu9DBPE=:\r\n"
    b'signature-input: xrd=("@status" "content-digest");created=1795457824;keyid="d3";alg="ed25519"'
    b"\r\nsignature: xrd=:AAAA:\r\nContent-Length: 7\r\n"
    b"X-Content-Type-Options: nosniff\r\n\r\n"
    b'{"a":1}'
)
CASES = {
    "signed answer": SIGNED,
    "duplicate and mixed case": (
        b"HTTP/1.1 409 Conflict\r\nX-A: 1\r\nx-a: 2\r\nX-Road-Error: message_id_conflict\r\n"
        b"content-length: 2\r\n\r\n{}"
    ),
    "spaces and empty value": (
        b"HTTP/1.1 200 OK\r\nX-Pad:   lots  \r\nX-Empty:\r\nX-Tab:\tv\r\nContent-Length: 0\r\n\r\n"
    ),
    "folded line": b"HTTP/1.1 200 OK\r\nX-Long: a\r\n  b\r\nContent-Length: 1\r\n\r\nz",
    "stray carriage return": b"HTTP/1.1 200 OK\r\nX-CR: a\rb\r\nContent-Length: 1\r\n\r\nz",
    "line without a colon": b"HTTP/1.1 200 OK\r\nnot a field\r\nContent-Length: 1\r\n\r\nz",
    "name with a space": b"HTTP/1.1 200 OK\r\nBad Name: v\r\nContent-Length: 1\r\n\r\nz",
    "bare newlines": b"HTTP/1.1 200 OK\nX-A: 1\nContent-Length: 2\n\nok",
    "latin-1 value": b"HTTP/1.1 200 OK\r\nX-Name: Nguy\xe1n\r\nContent-Length: 0\r\n\r\n",
    "chunked": (
        b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nabc\r\n2\r\nde\r\n0\r\n\r\n"
    ),
    "close, no length": b"HTTP/1.1 200 OK\r\nConnection: close\r\n\r\nuntil the end",
    "no length": b"HTTP/1.1 500 Internal Server Error\r\nContent-Type: text/plain\r\n\r\nboom",
    "http/1.0 keep-alive": (
        b"HTTP/1.0 200 OK\r\nConnection: Keep-Alive\r\nContent-Length: 2\r\n\r\nokEXTRA"
    ),
    "continue first": (
        b"HTTP/1.1 100 Continue\r\nX-Skip: 1\r\n\r\nHTTP/1.1 201 Created\r\nContent-Length: 2\r\n"
        b"\r\nok"
    ),
    "no content": b"HTTP/1.1 204 No Content\r\nContent-Length: 5\r\n\r\n",
    "negative length": b"HTTP/1.1 200 OK\r\nContent-Length: -1\r\n\r\nrest",
    "no blank line": b"HTTP/1.1 200 OK\r\nContent-Length: 0\r\n",
}


class _Sock:
    def __init__(self, data: bytes) -> None:
        self.data = data

    def makefile(self, mode: str) -> io.BufferedReader:
        return io.BufferedReader(io.BytesIO(self.data))


def _read(cls: type[http.client.HTTPResponse], data: bytes, method: str = "POST") -> tuple:
    response = cls(_Sock(data), method=method)  # type: ignore[arg-type]
    response.begin()
    return (
        response.status, response.reason, response.version, response.getheaders(),
        response.getheader("x-a"), response.will_close, response.length, response.chunked,
        response.read(),
    )  # fmt: skip


@pytest.mark.parametrize("name", list(CASES))
def test_the_same_as_http_client(name: str) -> None:
    data = CASES[name]
    assert _read(_Response, data) == _read(http.client.HTTPResponse, data)


def test_a_head_answer_has_no_body() -> None:
    data = b"HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\n"
    assert _read(_Response, data, "HEAD") == _read(http.client.HTTPResponse, data, "HEAD")


@pytest.mark.parametrize(
    "data",
    [b"", b"garbage\r\n\r\n", b"HTTP/2 200 OK\r\n\r\n", b"HTTP/1.1 200 OK\r\n" + b"X: y\r\n" * 101],
)
def test_the_same_refusals(data: bytes) -> None:
    errors = []
    for cls in (_Response, http.client.HTTPResponse):
        with pytest.raises(http.client.HTTPException) as caught:
            _read(cls, data)
        errors.append(type(caught.value))
    assert errors[0] is errors[1]


def test_the_common_answer_takes_the_short_way() -> None:
    response = _Response(_Sock(SIGNED), method="POST")  # type: ignore[arg-type]
    response.begin()
    assert not isinstance(response.headers, http.client.HTTPMessage)
    assert response.getheader("SIGNATURE") == "xrd=:AAAA:"
