"""Hardened parsing of received dossiers (gateway.xmlsafe).

Decree 166/2016/NĐ-CP has the agency receive dossiers from anyone holding a certificate, so
the parser is the first thing an attacker reaches: every hostile input below must be refused
with its own code before anything is expanded, fetched or stored.
"""

from __future__ import annotations

import time

import pytest
from django.test import override_settings
from lxml import etree

from ansinh.core.errors import DomainError
from ansinh.gateway import xmlsafe


def _code(data: bytes, **kwargs: object) -> DomainError:
    with pytest.raises(DomainError) as info:
        xmlsafe.parse(data, **kwargs)  # type: ignore[arg-type]
    return info.value


def test_well_formed_document_parses_with_whitespace_kept() -> None:
    """Whitespace is covered by the signature's digest: the parser must not drop it."""
    root = xmlsafe.parse(b'<?xml version="1.0"?>\n<a>\n  <b x="1">t&amp;t</b>\n</a>')
    assert root.tag == "a"
    assert root[0].text == "t&t"
    assert root.text == "\n  "
    assert xmlsafe.parse_untrusted is xmlsafe.parse


def test_xxe_external_entity_is_refused_and_never_read() -> None:
    payload = b"""<?xml version="1.0"?>
<!DOCTYPE d [<!ENTITY xxe SYSTEM "file:///etc/passwd">]>
<d>&xxe;</d>"""
    error = _code(payload)
    assert error.code == "entity_forbidden"
    assert "root:" not in str(error.as_dict())


def test_xxe_parameter_entity_is_refused() -> None:
    payload = b"""<?xml version="1.0"?>
<!DOCTYPE d [<!ENTITY % p SYSTEM "http://127.0.0.1:9/evil.dtd"> %p;]>
<d/>"""
    assert _code(payload).code == "entity_forbidden"


def test_billion_laughs_is_refused_at_once() -> None:
    entities = "".join(f'<!ENTITY l{i} "{("&l" + str(i - 1) + ";") * 10}">' for i in range(1, 10))
    payload = (
        f'<?xml version="1.0"?><!DOCTYPE lolz [<!ENTITY l0 "lol">{entities}]><lolz>&l9;</lolz>'
    ).encode()
    started = time.perf_counter()
    assert _code(payload).code == "entity_forbidden"
    assert time.perf_counter() - started < 0.5


def test_external_dtd_is_refused_without_network() -> None:
    payload = b"""<?xml version="1.0"?>
<!DOCTYPE d SYSTEM "http://127.0.0.1:9/schema.dtd">
<d/>"""
    assert _code(payload).code == "dtd_forbidden"


def test_internal_dtd_without_entities_is_refused() -> None:
    payload = b'<?xml version="1.0"?><!DOCTYPE d [<!ELEMENT d (#PCDATA)>]><d>x</d>'
    assert _code(payload).code == "dtd_forbidden"


def test_doctype_hidden_in_utf16_is_found() -> None:
    payload = '<?xml version="1.0" encoding="UTF-16"?>\n<!DOCTYPE d [<!ENTITY x "y">]><d>&x;</d>'
    assert _code(payload.encode("utf-16")).code == "entity_forbidden"


def test_undeclared_entity_reference_is_refused() -> None:
    assert _code(b"<d>&secret;</d>").code == "entity_forbidden"


def test_xinclude_is_never_processed() -> None:
    root = xmlsafe.parse(
        b'<d xmlns:xi="http://www.w3.org/2001/XInclude">'
        b'<xi:include href="/etc/passwd" parse="text"/></d>'
    )
    assert root[0].tag == "{http://www.w3.org/2001/XInclude}include"
    assert "root:" not in etree.tostring(root).decode()


def test_oversized_document_is_refused_with_413_before_parsing() -> None:
    data = b"<d>" + b"x" * 2048 + b"</d>"
    error = _code(data, max_bytes=1024)
    assert (error.code, error.status) == ("too_large", 413)


@override_settings(GATEWAY_MAX_BYTES=100)
def test_size_limit_comes_from_settings() -> None:
    assert _code(b"<d>" + b"x" * 200 + b"</d>").code == "too_large"
    assert xmlsafe.parse(b"<d>small</d>").text == "small"


def _nested(depth: int) -> bytes:
    return b"<e>" * depth + b"</e>" * depth


def test_depth_limit_default_64() -> None:
    assert xmlsafe.parse(_nested(64)).tag == "e"
    error = _code(_nested(65))
    assert error.code == "too_deep"
    assert "64" in error.first.message_en


def test_depth_beyond_libxml2_limit_is_too_deep_not_malformed() -> None:
    assert _code(_nested(300)).code == "too_deep"
    assert _code(_nested(10), max_depth=5).code == "too_deep"


@pytest.mark.parametrize(
    ("data", "line", "column"),
    [
        (b"<d>\n  <a>\n</d>", 3, 5),
        (b"<d><a x='1' x='2'/></d>", 1, None),
        (b"no xml at all", 1, None),
        (b"<d>A & B</d>", 1, None),
    ],
)
def test_malformed_xml_reports_line_and_column(data: bytes, line: int, column: int | None) -> None:
    error = _code(data)
    assert error.code == "malformed_xml"
    assert f"line {line}" in error.first.message_en
    assert f"dòng {line}" in error.first.message_vi
    if column is not None:
        assert f"column {column}" in error.first.message_en


def test_empty_input_is_malformed() -> None:
    assert _code(b"").code == "malformed_xml"
