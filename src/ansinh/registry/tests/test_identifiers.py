"""Identifier rules: personal ID (Decree 137/2015/NĐ-CP Art. 13, Circular 07/2016/TT-BCA
Art. 7), legacy numbers, card numbers (Decision 1351/QĐ-BHXH, Decision 1666/QĐ-BHXH)."""

from __future__ import annotations

import datetime as dt

import pytest
from hypothesis import given
from hypothesis import strategies as st

from ansinh.core.errors import DomainError
from ansinh.places.codes import LEGACY_PROVINCE_CODES
from ansinh.registry.identifiers import (
    check_personal_id,
    is_legacy_number,
    parse_card_number,
)
from ansinh.registry.testing import personal_id_for


@pytest.mark.parametrize(
    ("pid", "dob", "sex", "errors", "flags"),
    [
        # Circular 07/2016 Art. 7: 001 Hà Nội, digit 4 = 0 male 1900s, 90 = 1990.
        ("001090123456", dt.date(1990, 5, 1), "M", [], []),
        # 079 TP.HCM, 3 = female 2000s, 05 = 2005.
        ("079305000001", dt.date(2005, 1, 1), "F", [], []),
        # 8/9 = 1800s (Art. 7 century table).
        ("001999000001", dt.date(1899, 12, 31), "F", [], []),
        ("00109012345", None, None, ["personal_id_format"], []),
        ("0010901234567", None, None, ["personal_id_format"], []),
        ("00109012345a", None, None, ["personal_id_format"], []),
        # 003 is not a legacy GSO province code; 1xx is no province (first digit must be 0).
        ("003090123456", None, None, ["personal_id_province"], []),
        ("101090123456", None, None, ["personal_id_province"], []),
        # Valid format, but disagrees with the given data → flagged, not invalid.
        ("001090123456", dt.date(2090, 5, 1), "M", [], ["century_mismatch"]),
        ("001090123456", dt.date(1991, 5, 1), "M", [], ["birth_year_mismatch"]),
        ("001090123456", dt.date(1990, 5, 1), "F", [], ["sex_mismatch"]),
    ],
)
def test_personal_id_table_circular_07_2016_art_7(
    pid: str, dob: dt.date | None, sex: str | None, errors: list[str], flags: list[str]
) -> None:
    check = check_personal_id(pid, date_of_birth=dob, sex=sex)
    assert [e.code for e in check.errors] == errors
    assert all(e.field == "personal_id" for e in check.errors)
    assert check.flags == flags


_dates = st.dates(min_value=dt.date(1800, 1, 1), max_value=dt.date(2299, 12, 31))
_sexes = st.sampled_from(["M", "F"])
_provinces = st.sampled_from(sorted(LEGACY_PROVINCE_CODES))


@given(dob=_dates, sex=_sexes, province=_provinces, n=st.integers(1, 999_999))
def test_generated_consistent_id_passes_unflagged(
    dob: dt.date, sex: str, province: str, n: int
) -> None:
    """Decree 137/2015 Art. 13: an ID built from birth data validates without flags."""
    pid = personal_id_for(dob, sex, province=province, n=n)
    check = check_personal_id(pid, date_of_birth=dob, sex=sex)
    assert check.valid and check.flags == []


@given(
    dob=_dates,
    sex=_sexes,
    province=_provinces,
    digit=st.sampled_from("0123456789"),
)
def test_changing_century_digit_flags_or_fails(
    dob: dt.date, sex: str, province: str, digit: str
) -> None:
    """Circular 07/2016 Art. 7: digit 4 encodes century and sex; any other value must not
    pass silently."""
    pid = personal_id_for(dob, sex, province=province, n=1)
    if digit == pid[3]:
        return
    changed = pid[:3] + digit + pid[4:]
    check = check_personal_id(changed, date_of_birth=dob, sex=sex)
    assert check.errors or check.flags


@given(st.text(max_size=14))
def test_random_text_never_crashes(value: str) -> None:
    check = check_personal_id(value)
    assert check.valid == (
        len(value) == 12
        and value.isascii()
        and value.isdigit()
        and value[0] == "0"
        and value[1:3] in LEGACY_PROVINCE_CODES
    )


def test_legacy_number_is_ten_digits() -> None:
    assert is_legacy_number("0123456789")
    assert not is_legacy_number("012345678")
    assert not is_legacy_number("01234567890")
    assert not is_legacy_number("01234S6789")


def test_card_15_characters_decision_1351() -> None:
    card = parse_card_number("dn4 79 0123456789")
    assert card.number == "DN4790123456789"
    assert (card.group, card.benefit_level, card.province_code) == ("DN", 4, "79")
    assert card.short_number == "0123456789"


def test_card_10_digits_decision_1666() -> None:
    card = parse_card_number("0123456789")
    assert card.short_number == "0123456789" and not card.is_full


@pytest.mark.parametrize(
    ("value", "code"),
    [
        ("ZZ4790123456789", "card_group"),
        ("DN6790123456789", "card_number_format"),
        ("DN4030123456789", "card_province"),
        ("DN47901234567", "card_number_format"),
        ("", "card_number_format"),
    ],
)
def test_bad_card_numbers_decision_1351(value: str, code: str) -> None:
    with pytest.raises(DomainError) as exc:
        parse_card_number(value)
    assert exc.value.first.code == code
    assert exc.value.first.field == "card_number"
