"""Vietnamese-aware normalisation (chuẩn hoá) of the fields compared by the linkage model.

Sources disagree with the registry in predictable ways: names typed without diacritics or in
another order ("Mai Nguyen Thi" for "Nguyễn Thị Mai"), text in decomposed Unicode, a personal
ID with one digit mistyped or two digits swapped, a birth date with day and month swapped.
Everything here is pure Python so the registry side and the source side are normalised by the
same code, and the Splink model compares ready-made columns.
"""

from __future__ import annotations

import datetime as dt
import re
from functools import lru_cache
from typing import Any

from ansinh.core.text import nfc, normalise
from ansinh.registry.identifiers import CENTURY_SEX

_NON_DIGIT = re.compile(r"[\s.\-_/]")
_PID = re.compile(r"^\d{12}$")

#: Digit 4 of a personal ID: (first year of the century, sex) — the registry's table.
_CENTURY_SEX = CENTURY_SEX


def fold(text: str | None) -> str:
    """NFC, lower case, diacritics removed, đ → d, single spaces: 'Đặng  Thị Ánh' → 'dang thi
    anh'. A name typed without accents folds to the same string as the accented one."""
    return normalise(text or "")


@lru_cache(maxsize=200_000)
def name_parts(full_name: str) -> tuple[str, str, str, str]:
    """(exact, folded, key, given) for a name: ``exact`` is NFC lower case with single spaces
    (diacritics kept), ``folded`` the accent-free form, ``key`` the folded words sorted — so
    "Mai Nguyen Thi" and "Nguyễn Thị Mai" share it — and ``given`` the folded last word (tên)."""
    exact = " ".join(nfc(full_name or "").lower().split())
    folded = fold(exact)
    words = folded.split(" ") if folded else []
    return exact, folded, " ".join(sorted(words)), words[-1] if words else ""


def same_name_any_order(a: str, b: str) -> bool:
    """True when two names have the same words, accents and order ignored."""
    return name_parts(a)[2] == name_parts(b)[2] != ""


def clean_personal_id(value: str | None) -> str | None:
    """The 12-digit personal ID written in a source (spaces, dots and dashes dropped), or None
    when absent or not 12 digits (a 9-digit identity card number is not a personal ID)."""
    if value is None:
        return None
    compact = _NON_DIGIT.sub("", str(value))
    return compact if _PID.match(compact) else None


def id_consistent(pid: str, birth_date: dt.date | None, sex: str | None) -> bool:
    """Whether the ID's structural digits agree with the record: digit 1 is 0, digits 2–3 a
    province of birth registration, digit 4 the century and sex, digits 5–6 the birth year
    (Decree 137/2015/NĐ-CP Art. 13). A typo there makes the ID disagree with the record."""
    from ansinh.places.codes import LEGACY_PROVINCE_CODES

    if not _PID.match(pid or "") or pid[0] != "0" or pid[1:3] not in LEGACY_PROVINCE_CODES:
        return False
    century, id_sex = _CENTURY_SEX[pid[3]]
    if sex in ("M", "F") and sex != id_sex:
        return False
    if birth_date is not None:
        if birth_date.year // 100 * 100 != century or f"{birth_date.year % 100:02d}" != pid[4:6]:
            return False
    return True


def id_edit(a: str, b: str) -> str:
    """How two IDs of equal length differ: ``exact``, ``substitution`` (one digit),
    ``transposition`` (two adjacent digits swapped) or ``different``."""
    if a == b:
        return "exact"
    if len(a) != len(b):
        return "different"
    diffs = [i for i in range(len(a)) if a[i] != b[i]]
    if len(diffs) == 1:
        return "substitution"
    if len(diffs) == 2 and diffs[1] == diffs[0] + 1:
        i = diffs[0]
        if a[i] == b[i + 1] and a[i + 1] == b[i]:
            return "transposition"
    return "different"


def swap_day_month(day: dt.date | None) -> dt.date | None:
    """The date with day and month exchanged (12/03 ↔ 03/12), or None when that is no date or
    the same date."""
    if day is None or day.day > 12 or day.day == day.month:
        return None
    try:
        return day.replace(month=day.day, day=day.month)
    except ValueError:
        return None


def dates_relation(a: dt.date | None, b: dt.date | None) -> str:
    """``exact``, ``swapped`` (day ↔ month), ``year`` (same year), ``near`` (years within one),
    ``different`` or ``missing``."""
    if a is None or b is None:
        return "missing"
    if a == b:
        return "exact"
    if swap_day_month(a) == b:
        return "swapped"
    if a.year == b.year:
        return "year"
    if abs(a.year - b.year) <= 1:
        return "near"
    return "different"


#: The columns the Splink model reads, in order.
COLUMNS = (
    "unique_id",
    "pid",
    "name_exact",
    "name_folded",
    "name_key",
    "given",
    "dob",
    "dob_swapped",
    "birth_year",
    "sex",
    "commune",
)


def model_row(
    unique_id: str,
    personal_id: str | None,
    full_name: str,
    birth_date: dt.date | None,
    sex: str | None,
    commune_code: str | None,
) -> tuple[Any, ...]:
    """One input row of the model (see ``COLUMNS``); empty values become NULL."""
    exact, folded, key, given = name_parts(full_name or "")
    swapped = swap_day_month(birth_date)
    return (
        unique_id,
        clean_personal_id(personal_id),
        exact or None,
        folded or None,
        key or None,
        given or None,
        birth_date.isoformat() if birth_date else None,
        swapped.isoformat() if swapped else None,
        birth_date.year if birth_date else None,
        sex if sex in ("M", "F") else None,
        (commune_code or "").strip() or None,
    )
