"""Hardened XML parsing for everything the gateway receives (dữ liệu không tin cậy).

A dossier comes from outside and may be hostile: no DTD is accepted at all (which rules out
XXE, external DTDs and billion-laughs entity expansion in one stroke), nothing is fetched from
the network, entities are never expanded, and size and nesting depth are capped before and after
parsing. Every refusal is a ``DomainError`` with a machine-readable code.
"""

from __future__ import annotations

import re
import threading

from django.conf import settings
from lxml import etree

from ansinh.core.errors import DomainError

DEFAULT_MAX_BYTES = 20 * 1024 * 1024
DEFAULT_MAX_DEPTH = 64

_DOCTYPE = re.compile(rb"<!DOCTYPE", re.IGNORECASE)
_ENTITY = re.compile(rb"<!ENTITY", re.IGNORECASE)
_local = threading.local()


def _parser() -> etree.XMLParser:
    """One parser per thread (lxml parsers must not be shared between threads)."""
    parser = getattr(_local, "parser", None)
    if parser is None:
        parser = etree.XMLParser(
            resolve_entities=False,
            no_network=True,
            load_dtd=False,
            dtd_validation=False,
            huge_tree=False,
            remove_blank_text=False,  # whitespace is covered by the signature
        )
        _local.parser = parser
    return parser


def _refuse_dtd(has_entities: bool) -> DomainError:
    if has_entities:
        return DomainError(
            "entity_forbidden",
            None,
            "Tệp XML không được khai báo hoặc dùng thực thể (ENTITY).",
            "XML entities are not allowed (no ENTITY declarations or references).",
        )
    return DomainError(
        "dtd_forbidden",
        None,
        "Tệp XML không được chứa khai báo DOCTYPE/DTD.",
        "XML documents must not contain a DOCTYPE or DTD.",
    )


def _ascii_views(data: bytes) -> list[bytes]:
    """The bytes to scan for a DOCTYPE: the data itself and, for UTF-16/32 input, its UTF-8
    re-encoding (a byte scan alone would miss ``<\\0!\\0D\\0...``)."""
    views = [data]
    head = data[:4]
    for bom, codec in (
        (b"\xff\xfe\x00\x00", "utf-32-le"),
        (b"\x00\x00\xfe\xff", "utf-32-be"),
        (b"\xff\xfe", "utf-16-le"),
        (b"\xfe\xff", "utf-16-be"),
        (b"<\x00?\x00", "utf-16-le"),
        (b"\x00<\x00?", "utf-16-be"),
    ):
        if head.startswith(bom):
            try:
                views.append(data.decode(codec, errors="replace").encode("utf-8"))
            except LookupError:  # pragma: no cover - codecs are built in
                pass
            break
    return views


def _too_deep(limit: int) -> DomainError:
    return DomainError(
        "too_deep",
        None,
        f"Tệp XML lồng quá {limit} cấp phần tử.",
        f"The XML document nests elements deeper than {limit} levels.",
    )


def parse(
    data: bytes, *, max_bytes: int | None = None, max_depth: int | None = None
) -> etree._Element:
    """Parse untrusted XML bytes into the root element, or raise ``DomainError``.

    Codes: ``too_large`` (413), ``dtd_forbidden``, ``entity_forbidden``, ``too_deep``,
    ``malformed_xml`` (with line and column).
    """
    if isinstance(data, str):
        data = data.encode("utf-8")
    limit = max_bytes or getattr(settings, "GATEWAY_MAX_BYTES", DEFAULT_MAX_BYTES)
    depth = max_depth or getattr(settings, "GATEWAY_MAX_DEPTH", DEFAULT_MAX_DEPTH)
    if len(data) > limit:
        raise DomainError(
            "too_large",
            None,
            f"Tệp XML vượt quá dung lượng cho phép ({limit} byte).",
            f"The XML document is larger than the {limit}-byte limit.",
            status=413,
        )
    for view in _ascii_views(data):
        if _DOCTYPE.search(view):
            raise _refuse_dtd(bool(_ENTITY.search(view)))
    try:
        root = etree.fromstring(data, parser=_parser())
    except etree.XMLSyntaxError as exc:
        raise _syntax_error(exc, depth) from None
    # Defence in depth: whatever the scan above missed, the parsed tree must have no DTD and no
    # entity reference left in it.
    docinfo = root.getroottree().docinfo
    if docinfo.internalDTD is not None or docinfo.externalDTD is not None or docinfo.doctype:
        raise _refuse_dtd(False)
    if next(root.iter(etree.Entity), None) is not None:
        raise _refuse_dtd(True)
    # An element exists at depth ``depth + 1`` (the root is depth 1) exactly when this path
    # matches; libxml2 evaluates it in C.
    if root.xpath("boolean(" + "/*" * (depth + 1) + ")"):
        raise _too_deep(depth)
    return root


parse_untrusted = parse


_ENTITY_ERRORS = re.compile(r"^Entity '[^']*' not defined|entity reference loop|amplification")


def _syntax_error(exc: etree.XMLSyntaxError, depth: int) -> DomainError:
    line, column = exc.position if exc.position else (exc.lineno or 0, 0)
    # libxml2 appends ", line L, column C" itself; we state them once, in both languages.
    text = re.sub(r", line \d+, column \d+$", "", (exc.msg or "").strip()) or "empty document"
    if _ENTITY_ERRORS.search(text):
        return DomainError(
            "entity_forbidden",
            None,
            f"Tệp XML dùng thực thể không được phép (dòng {line}, cột {column}).",
            f"The XML document uses an entity, which is not allowed (line {line}, "
            f"column {column}).",
        )
    if text.startswith("Excessive depth"):
        return _too_deep(depth)
    return DomainError(
        "malformed_xml",
        None,
        f"Tệp XML không đúng cú pháp (dòng {line}, cột {column}): {text}",
        f"The XML document is not well-formed (line {line}, column {column}): {text}",
    )
