"""The two pre-Unicode Vietnamese encodings still found in provincial files, which Python has
no codec for: TCVN3 (bảng mã TCVN 5712:1993 "ABC", the .VnTime fonts) and VNI (VNI-Windows).

Both are written here as data tables over Latin-1 bytes (every byte maps to ``chr(byte)``
first, then the table turns those characters into Vietnamese letters):

- **TCVN3** is one byte per letter. It has the lower-case letters with tone marks and the
  upper-case base letters Ă Â Ê Ô Ơ Ư Đ only: upper-case toned vowels were typed in a separate
  upper-case font using the same bytes, so they decode as lower case. The import capitalises
  the words of a name decoded from TCVN3 (see ``normalise``).
- **VNI** writes a base letter followed by one mark byte (tone, or breve/circumflex/horn, or a
  combined mark + tone byte); ơ ư đ and the toned i and ỵ are single bytes.

``encode_*`` are the inverse tables, used by tests and the benchmark to write fixture files.
"""

from __future__ import annotations

import codecs
import re
import unicodedata

# --- TCVN3 ------------------------------------------------------------------------------------

#: byte → letter; every other byte is Latin-1.
TCVN3_TABLE: dict[int, str] = {
    0xA1: "Ă", 0xA2: "Â", 0xA3: "Ê", 0xA4: "Ô", 0xA5: "Ơ", 0xA6: "Ư", 0xA7: "Đ",
    0xA8: "ă", 0xA9: "â", 0xAA: "ê", 0xAB: "ô", 0xAC: "ơ", 0xAD: "ư", 0xAE: "đ",
    0xB5: "à", 0xB6: "ả", 0xB7: "ã", 0xB8: "á", 0xB9: "ạ",
    0xBB: "ằ", 0xBC: "ẳ", 0xBD: "ẵ", 0xBE: "ắ", 0xC6: "ặ",
    0xC7: "ầ", 0xC8: "ẩ", 0xC9: "ẫ", 0xCA: "ấ", 0xCB: "ậ",
    0xCC: "è", 0xCE: "ẻ", 0xCF: "ẽ", 0xD0: "é", 0xD1: "ẹ",
    0xD2: "ề", 0xD3: "ể", 0xD4: "ễ", 0xD5: "ế", 0xD6: "ệ",
    0xD7: "ì", 0xD8: "ỉ", 0xDC: "ĩ", 0xDD: "í", 0xDE: "ị",
    0xDF: "ò", 0xE1: "ỏ", 0xE2: "õ", 0xE3: "ó", 0xE4: "ọ",
    0xE5: "ồ", 0xE6: "ổ", 0xE7: "ỗ", 0xE8: "ố", 0xE9: "ộ",
    0xEA: "ờ", 0xEB: "ở", 0xEC: "ỡ", 0xED: "ớ", 0xEE: "ợ",
    0xEF: "ù", 0xF1: "ủ", 0xF2: "ũ", 0xF3: "ú", 0xF4: "ụ",
    0xF5: "ừ", 0xF6: "ử", 0xF7: "ữ", 0xF8: "ứ", 0xF9: "ự",
    0xFA: "ỳ", 0xFB: "ỷ", 0xFC: "ỹ", 0xFD: "ý", 0xFE: "ỵ",
}  # fmt: skip
_TCVN3_DECODE = {i: chr(i) for i in range(256)} | TCVN3_TABLE
_TCVN3_ENCODE: dict[str, int] = {letter: byte for byte, letter in TCVN3_TABLE.items()}


#: The same table as a 256-character string for the C charmap decoder (a whole file at once).
_TCVN3_CHARMAP = "".join(_TCVN3_DECODE[i] for i in range(256))


def decode_tcvn3(data: bytes) -> str:
    """TCVN3 bytes → text (NFC)."""
    return codecs.charmap_decode(data, "strict", _TCVN3_CHARMAP)[0]


def encode_tcvn3(text: str) -> bytes:
    """Text → TCVN3 bytes. Upper-case toned vowels are written as their lower-case byte (as the
    upper-case .VnTimeH font did); a character with no byte raises ``UnicodeEncodeError``."""
    out = bytearray()
    for i, ch in enumerate(unicodedata.normalize("NFC", text)):
        if ch in _TCVN3_ENCODE:
            out.append(_TCVN3_ENCODE[ch])
        elif ch.lower() in _TCVN3_ENCODE and ch not in "ĂÂÊÔƠƯĐ":
            out.append(_TCVN3_ENCODE[ch.lower()])
        elif ord(ch) < 0x80:
            out.append(ord(ch))
        else:
            raise UnicodeEncodeError("tcvn3", text, i, i + 1, "no TCVN3 byte")
    return bytes(out)


# --- VNI --------------------------------------------------------------------------------------

_TONES = {
    "acute": "\u0301",
    "grave": "\u0300",
    "hook": "\u0309",
    "tilde": "\u0303",
    "dot": "\u0323",
}
#: Tone mark bytes (lower case; the upper-case forms are ``str.upper()`` of these).
_VNI_TONE = {"acute": "ù", "grave": "ø", "hook": "û", "tilde": "õ", "dot": "ï"}
#: Circumflex + tone and breve + tone bytes.
_VNI_CIRC_TONE = {"acute": "á", "grave": "à", "hook": "å", "tilde": "ã", "dot": "ä"}
_VNI_BREVE_TONE = {"acute": "é", "grave": "è", "hook": "ú", "tilde": "ü", "dot": "ë"}
_VNI_I = {"acute": "í", "grave": "ì", "hook": "æ", "tilde": "ó", "dot": "ò"}


def _vni_table() -> dict[str, str]:
    """VNI sequence → letter, lower and upper case."""
    lower: dict[str, str] = {"ñ": "đ", "ô": "ơ", "ö": "ư", "aâ": "â", "eâ": "ê", "oâ": "ô"}
    lower["aê"] = "ă"
    for tone, mark in _TONES.items():
        for base in "aeouy":
            lower[base + _VNI_TONE[tone]] = unicodedata.normalize("NFC", base + mark)
        lower["ô" + _VNI_TONE[tone]] = unicodedata.normalize("NFC", "ơ" + mark)
        lower["ö" + _VNI_TONE[tone]] = unicodedata.normalize("NFC", "ư" + mark)
        for base, with_circ in (("a", "â"), ("e", "ê"), ("o", "ô")):
            lower[base + _VNI_CIRC_TONE[tone]] = unicodedata.normalize("NFC", with_circ + mark)
        lower["a" + _VNI_BREVE_TONE[tone]] = unicodedata.normalize("NFC", "ă" + mark)
        lower[_VNI_I[tone]] = unicodedata.normalize("NFC", "i" + mark)
    del lower["y" + _VNI_TONE["dot"]]
    lower["î"] = "ỵ"
    table = dict(lower)
    for seq, letter in lower.items():
        table[seq.upper()] = letter.upper()
    return table


VNI_TABLE: dict[str, str] = _vni_table()
_VNI_ENCODE: dict[str, str] = {letter: seq for seq, letter in VNI_TABLE.items()}
#: Decoding also accepts an upper-case base with a lower-case mark ("Aá" for Ấ), as typed.
_VNI_DECODE = VNI_TABLE | {
    seq[0].upper() + seq[1:]: letter.upper() for seq, letter in VNI_TABLE.items() if len(seq) == 2
}
#: One capturing group: ``split`` gives text, sequence, text, … (longest sequences first).
_VNI_PATTERN = re.compile(
    "(" + "|".join(re.escape(s) for s in sorted(_VNI_DECODE, key=len, reverse=True)) + ")"
)
_VNI_ENCODE_PATTERN = re.compile("|".join(re.escape(c) for c in _VNI_ENCODE))


def decode_vni(data: bytes) -> str:
    """VNI-Windows bytes → text (NFC)."""
    parts = _VNI_PATTERN.split(data.decode("latin-1"))
    table = _VNI_DECODE
    parts[1::2] = [table[seq] for seq in parts[1::2]]  # no Python call per letter
    return "".join(parts)


def encode_vni(text: str) -> bytes:
    """Text → VNI-Windows bytes (a character with no form raises ``UnicodeEncodeError``)."""
    out = _VNI_ENCODE_PATTERN.sub(
        lambda m: _VNI_ENCODE[m.group(0)], unicodedata.normalize("NFC", text)
    )
    return out.encode("latin-1")


# --- Windows-1258 -----------------------------------------------------------------------------

_TONE_SET = set(_TONES.values())


def encode_cp1258(text: str) -> bytes:
    """Text → Windows-1258 bytes as Vietnamese Windows wrote them: a letter with its
    breve/circumflex/horn is one byte, the tone a combining byte after it (Python's ``cp1258``
    codec encodes only what has a byte of its own)."""
    out = bytearray()
    for ch in unicodedata.normalize("NFC", text):
        try:
            out += ch.encode("cp1258")
            continue
        except UnicodeEncodeError:
            pass
        parts = unicodedata.normalize("NFD", ch)
        tones = "".join(p for p in parts if p in _TONE_SET)
        base = unicodedata.normalize("NFC", "".join(p for p in parts if p not in _TONE_SET))
        out += (base + tones).encode("cp1258")
    return bytes(out)
