"""Reading source files: the encoding (UTF-8 with or without BOM, Windows-1258, TCVN3, VNI),
the CSV delimiter, and XLSX through python-calamine. Readers yield the header and then the
rows as lists of strings (or dates/numbers from XLSX), each with its line number.

Encoding detection (nhận dạng bảng mã): a BOM decides; valid UTF-8 decides; otherwise each
legacy candidate decodes a sample and is scored by how many of its words look like Vietnamese
syllables (letters of the Vietnamese alphabet, at most one tone mark, a sane case pattern, a
vowel cluster Vietnamese allows). Wrong decodings produce symbols (``¨ § ®``), capitals inside
words (``NguyÔn``) or impossible clusters (``Vaên``, ``Huứng``), which score negative.
``--encoding`` overrides the guess.
"""

from __future__ import annotations

import csv
import datetime as dt
import io
import re
import unicodedata
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ansinh.core.errors import DomainError
from ansinh.nationaldb.imports.legacy_codecs import decode_tcvn3, decode_vni

ENCODINGS = ("utf-8", "utf-8-sig", "cp1258", "tcvn3", "vni")
DELIMITERS = ",;\t|"
SAMPLE = 256 * 1024

_LOWER = "aăâbcdđeêfghijklmnoôơpqrstuưvwxyz"
_BASE_VOWELS = set("aăâeêioôơuưy")
_TONE_MARKS = {"\u0300", "\u0301", "\u0303", "\u0309", "\u0323"}
#: A letter with a breve/circumflex/horn may follow only these vowels inside a cluster.
_MAY_FOLLOW = {"ă": "o", "â": "u", "ê": "iyu", "ô": "u", "ơ": "uư", "ư": ""}
_WORD = re.compile(r"[^\W\d_]+")


def _split(ch: str) -> tuple[str, bool]:
    """(base letter with its vowel mark, has a tone) of one lower-case letter."""
    parts = unicodedata.normalize("NFD", ch)
    tone = any(p in _TONE_MARKS for p in parts)
    base = unicodedata.normalize("NFC", "".join(p for p in parts if p not in _TONE_MARKS))
    return base, tone


def _word_score(word: str) -> int:
    """+1 for a plausible Vietnamese word with a non-ASCII letter, -1 for an implausible one,
    0 for plain ASCII (says nothing about the encoding)."""
    if word.isascii():
        return 0
    if not (word.islower() or word.isupper() or (word[0].isupper() and word[1:].islower())):
        return -1
    tones = 0
    cluster = ""
    for ch in word.lower():
        base, tone = _split(ch)
        if base not in _LOWER:
            return -1
        tones += tone
        if base in _BASE_VOWELS:
            allowed = _MAY_FOLLOW.get(base)
            if cluster and allowed is not None and cluster[-1] not in allowed:
                return -1
            cluster += base
            if len(cluster) > 3:
                return -1
        else:
            cluster = ""
    return 1 if tones <= 1 else -1


def score_text(text: str) -> int:
    """Sum of word scores: higher is more Vietnamese-looking."""
    return sum(_word_score(w) for w in _WORD.findall(unicodedata.normalize("NFC", text)))


def decode(data: bytes, encoding: str) -> str:
    """Bytes → NFC text in one of :data:`ENCODINGS`."""
    if encoding == "tcvn3":
        text = decode_tcvn3(data)
    elif encoding == "vni":
        text = decode_vni(data)
    elif encoding == "utf-8":
        text = data.decode("utf-8-sig")
    else:
        text = data.decode(encoding)
    return unicodedata.normalize("NFC", text)


def detect_encoding(data: bytes) -> str:
    """The encoding of a source file's bytes (see the module docstring)."""
    if data.startswith(b"\xef\xbb\xbf"):
        return "utf-8-sig"
    sample = data[:SAMPLE]
    try:
        data.decode("utf-8")
        return "utf-8"
    except UnicodeDecodeError:
        pass
    scores: dict[str, int] = {}
    for candidate in ("cp1258", "tcvn3", "vni"):
        try:
            scores[candidate] = score_text(decode(sample, candidate))
        except UnicodeDecodeError:
            continue
    return max(scores, key=lambda k: (scores[k], k == "cp1258"))


def sniff_delimiter(header_line: str) -> str:
    """The delimiter of a CSV file: the candidate that splits the header line most often (a
    header has no quoted delimiters in practice). A file with one column has none: ","."""
    counts = {d: header_line.count(d) for d in DELIMITERS}
    best = max(counts, key=lambda d: counts[d])
    return best if counts[best] else ","


@dataclass
class SourceFile:
    """A file opened for reading: format, encoding, delimiter and a row iterator."""

    name: str
    file_format: str
    encoding: str
    delimiter: str
    header: list[str]
    rows: Iterator[tuple[int, list[Any]]]
    total: int


def _csv_file(name: str, data: bytes, encoding: str | None) -> SourceFile:
    enc = encoding or detect_encoding(data)
    try:
        text = decode(data, enc)
    except UnicodeDecodeError as exc:
        raise DomainError(
            "encoding_invalid",
            "file",
            f"Tệp không đọc được theo bảng mã {enc}.",
            f"The file cannot be read as {enc}.",
        ) from exc
    first = text.split("\n", 1)[0]
    delimiter = sniff_delimiter(first)
    reader = csv.reader(io.StringIO(text, newline=""), delimiter=delimiter)
    header = next(reader, [])
    total = max(text.count("\n") - (0 if text.endswith("\n") else -1) - 1, 0)

    def rows() -> Iterator[tuple[int, list[Any]]]:
        strip = str.strip
        for row in reader:
            if not any(map(strip, row)):
                continue
            yield reader.line_num, row

    return SourceFile(name, "csv", enc, delimiter, header, rows(), total)


def _xlsx_file(name: str, data: bytes) -> SourceFile:
    from python_calamine import CalamineWorkbook

    book = CalamineWorkbook.from_filelike(io.BytesIO(data))
    sheet = book.get_sheet_by_index(0)
    table = sheet.to_python(skip_empty_area=False)
    header = [str(c).strip() for c in table[0]] if table else []

    def rows() -> Iterator[tuple[int, list[Any]]]:
        for i, row in enumerate(table[1:], start=2):
            if not any(c.strip() if c.__class__ is str else str(c).strip() for c in row):
                continue
            # Most cells are text already: convert only the others.
            yield i, [c if c.__class__ is str else _cell(c) for c in row]

    return SourceFile(name, "xlsx", "", "", header, rows(), max(len(table) - 1, 0))


def _cell(value: Any) -> Any:
    """Calamine gives floats for numbers (``1.0``), dates for date cells."""
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    if isinstance(value, dt.datetime | dt.date):
        return value
    return str(value)


def open_source(name: str, data: bytes, *, encoding: str | None = None) -> SourceFile:
    """A CSV or XLSX file (by its content: XLSX is a ZIP archive)."""
    if encoding is not None and encoding not in ENCODINGS:
        raise DomainError(
            "encoding_unknown",
            "encoding",
            f"Bảng mã không hỗ trợ: {encoding}.",
            f"Unsupported encoding {encoding}; use one of {', '.join(ENCODINGS)}.",
        )
    if data[:4] == b"PK\x03\x04":
        return _xlsx_file(name, data)
    return _csv_file(name, data, encoding)


def read_path(path: str | Path) -> bytes:
    return Path(path).read_bytes()
