"""Vietnamese text: normalisation for accent-insensitive search and the Vietnamese sort order.

``normalise`` gives the one stored search column: NFC, lower case, diacritics removed, đ → d,
runs of white space folded. It is computed in Python and stored, so SQLite and PostgreSQL
compare the same strings and return the same rows.

``sort_key`` gives a key that orders names the Vietnamese way: by given name, then middle name,
then family name, each compared letter by letter in the Vietnamese alphabet (a ă â b c d đ e ê …)
and only then by tone mark. The key is made of digits only, so every database collation orders
it the same way.
"""

from __future__ import annotations

import re
import unicodedata

_WS = re.compile(r"\s+")

# The 29 letters of the Vietnamese alphabet in order, plus f j w z for foreign names.
_ALPHABET = "a ă â b c d đ e ê f g h i j k l m n o ô ơ p q r s t u ư v w x y z".split()
_LETTER_RANK = {letter: i + 10 for i, letter in enumerate(_ALPHABET)}  # two digits, 10..42
# Tone marks as combining characters, in the conventional order: none, grave, hook, tilde,
# acute, dot below.
_TONES = {"\u0300": 1, "\u0309": 2, "\u0303": 3, "\u0301": 4, "\u0323": 5}
# Marks that make a distinct letter (breve, circumflex, horn) stay with the letter.
_LETTER_MARKS = {"\u0306", "\u0302", "\u031b"}


def nfc(value: str) -> str:
    return unicodedata.normalize("NFC", value)


def clean_name(value: str) -> str:
    """NFC, trimmed, single spaces; keeps the case and the diacritics the person uses."""
    return _WS.sub(" ", nfc(value)).strip()


def normalise(value: str) -> str:
    """Accent-insensitive search form: 'Đặng Thị Ánh' → 'dang thi anh'."""
    value = nfc(value).lower().replace("đ", "d")
    decomposed = unicodedata.normalize("NFD", value)
    stripped = "".join(ch for ch in decomposed if not unicodedata.combining(ch))
    return _WS.sub(" ", stripped).strip()


def split_name(full_name: str) -> tuple[str, str, str]:
    """Split a Vietnamese full name into (family, middle, given): 'Nguyễn Văn An' →
    ('Nguyễn', 'Văn', 'An'). A one-word name is a given name only."""
    parts = clean_name(full_name).split(" ")
    if len(parts) == 1:
        return "", "", parts[0]
    return parts[0], " ".join(parts[1:-1]), parts[-1]


def _word_keys(word: str) -> tuple[str, str]:
    primary: list[str] = []
    tones: list[str] = []
    for ch in nfc(word.lower()):
        base, *marks = unicodedata.normalize("NFD", ch)
        letter = unicodedata.normalize(
            "NFC", base + "".join(m for m in marks if m in _LETTER_MARKS)
        )
        tone = next((_TONES[m] for m in marks if m in _TONES), 0)
        rank = _LETTER_RANK.get(letter)
        if rank is None:
            rank = _LETTER_RANK.get(normalise(letter)[:1], 99) if letter.strip() else 1
        primary.append(f"{rank:02d}")
        tones.append(str(tone))
    return "".join(primary), "".join(tones)


def sort_key(full_name: str) -> str:
    """Digits-only key: given name, middle name, family name; letters first, then tones."""
    family, middle, given = split_name(full_name)
    primaries, tones = [], []
    for part in (given, middle, family):
        for i, word in enumerate(part.split(" ") if part else []):
            if i:
                primaries.append("01")  # between words of one part, before any letter
            p, t = _word_keys(word)
            primaries.append(p)
            tones.append(t)
        primaries.append("00")  # separates the parts and sorts before any letter
    return "".join(primaries) + "0" + "".join(tones)
