"""Identifier rules, as pure functions.

- Personal ID (số định danh cá nhân), 12 digits — Decree 137/2015/NĐ-CP Art. 13, Circular
  07/2016/TT-BCA Art. 7: digits 1–3 = "0" + legacy GSO province code of birth registration,
  digit 4 = century and sex, digits 5–6 = last two digits of the birth year, 7–12 random; no
  check digit. Format errors make it invalid; a century/sex/year that disagrees with the date of
  birth or sex only *flags* it (a real ID keeps its digits when a birth date is corrected).
- Legacy social insurance number (mã số BHXH): 10 digits, structure unpublished.
- Health insurance card: 15 characters (Decision 1351/QĐ-BHXH) or 10 digits (1666/QĐ-BHXH).
"""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass, field

from ansinh.core.errors import DomainError, ErrorDetail
from ansinh.registry.cardcodes import PARTICIPANT_GROUPS

_PID = re.compile(r"^\d{12}$")
_LEGACY = re.compile(r"^\d{10}$")
_SYSTEM = re.compile(r"^NN\d{10}$")
_CARD15 = re.compile(r"^([A-Z]{2})([1-5])(\d{2})(\d{10})$")

#: Digit 4: (first year of the century, sex) — Circular 07/2016/TT-BCA Art. 7.
CENTURY_SEX: dict[str, tuple[int, str]] = {
    "0": (1900, "M"),
    "1": (1900, "F"),
    "2": (2000, "M"),
    "3": (2000, "F"),
    "4": (2100, "M"),
    "5": (2100, "F"),
    "6": (2200, "M"),
    "7": (2200, "F"),
    "8": (1800, "M"),
    "9": (1800, "F"),
}

FLAG_CENTURY = "century_mismatch"
FLAG_YEAR = "birth_year_mismatch"
FLAG_SEX = "sex_mismatch"


@dataclass(frozen=True)
class IdCheck:
    errors: list[ErrorDetail] = field(default_factory=list)
    flags: list[str] = field(default_factory=list)

    @property
    def valid(self) -> bool:
        return not self.errors


def _province_codes() -> dict[str, str]:
    from ansinh.places.codes import LEGACY_PROVINCE_CODES

    return LEGACY_PROVINCE_CODES


def century_digit(date_of_birth: dt.date, sex: str) -> str:
    """The digit 4 a personal ID has for this birth year and sex."""
    century = date_of_birth.year // 100 * 100
    for digit, (start, s) in CENTURY_SEX.items():
        if start == century and s == sex:
            return digit
    raise ValueError(f"no personal ID century digit for {date_of_birth.year}")


def check_personal_id(
    pid: str, *, date_of_birth: dt.date | None = None, sex: str | None = None
) -> IdCheck:
    """Validate a personal ID; compare it with the date of birth and sex when given."""
    errors: list[ErrorDetail] = []
    if not isinstance(pid, str) or not _PID.match(pid):
        errors.append(
            ErrorDetail(
                "personal_id_format",
                "personal_id",
                "Số định danh cá nhân phải gồm đúng 12 chữ số.",
                "The personal ID must be exactly 12 digits.",
            )
        )
        return IdCheck(errors=errors)
    if pid[0] != "0" or pid[1:3] not in _province_codes():
        errors.append(
            ErrorDetail(
                "personal_id_province",
                "personal_id",
                f"Mã tỉnh nơi đăng ký khai sinh '{pid[:3]}' không tồn tại.",
                f"Unknown province code of birth registration '{pid[:3]}'.",
            )
        )
        return IdCheck(errors=errors)
    flags: list[str] = []
    century, id_sex = CENTURY_SEX[pid[3]]
    if date_of_birth is not None:
        if date_of_birth.year // 100 * 100 != century:
            flags.append(FLAG_CENTURY)
        if f"{date_of_birth.year % 100:02d}" != pid[4:6]:
            flags.append(FLAG_YEAR)
    if sex is not None and sex != id_sex:
        flags.append(FLAG_SEX)
    return IdCheck(flags=flags)


def is_legacy_number(s: str) -> bool:
    return isinstance(s, str) and bool(_LEGACY.match(s))


def is_system_number(s: str) -> bool:
    return isinstance(s, str) and bool(_SYSTEM.match(s))


def is_personal_id_shape(s: str) -> bool:
    return isinstance(s, str) and bool(_PID.match(s))


@dataclass(frozen=True)
class CardNumber:
    """A parsed card number. ``group``, ``benefit_level``, ``province_code`` are empty/None for
    the 10-digit format (Decision 1666/QĐ-BHXH)."""

    number: str
    short_number: str
    group: str = ""
    benefit_level: int | None = None
    province_code: str = ""

    @property
    def is_full(self) -> bool:
        return bool(self.group)


def parse_card_number(s: str) -> CardNumber:
    """Parse either card format; raise DomainError ``card_number_format`` / ``card_group`` /
    ``card_province`` (field ``card_number``)."""
    value = (s or "").strip().upper().replace(" ", "")
    if _LEGACY.match(value):
        return CardNumber(number=value, short_number=value)
    m = _CARD15.match(value)
    if not m:
        raise DomainError(
            "card_number_format",
            "card_number",
            "Mã thẻ BHYT phải gồm 15 ký tự (2 chữ, mức hưởng 1–5, mã tỉnh, 10 số) hoặc 10 chữ số.",
            "A health insurance card number is 15 characters (2 letters, level 1–5, "
            "province code, 10 digits) or 10 digits.",
        )
    group, level, province, number = m.groups()
    if group not in PARTICIPANT_GROUPS:
        raise DomainError(
            "card_group",
            "card_number",
            f"Mã đối tượng '{group}' không có trong danh mục (QĐ 1351/QĐ-BHXH).",
            f"Unknown participant group '{group}' (Decision 1351/QĐ-BHXH).",
        )
    if province not in _province_codes():
        raise DomainError(
            "card_province",
            "card_number",
            f"Mã tỉnh '{province}' trên thẻ không tồn tại.",
            f"Unknown province code '{province}' on the card.",
        )
    return CardNumber(
        number=value,
        short_number=number,
        group=group,
        benefit_level=int(level),
        province_code=province,
    )
