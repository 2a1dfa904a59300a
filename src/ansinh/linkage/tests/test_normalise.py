"""Vietnamese-aware normalisation and the bands (no database)."""

from __future__ import annotations

import datetime as dt
import unicodedata

import pytest
from hypothesis import given
from hypothesis import strategies as st

from ansinh.linkage.normalise import (
    clean_personal_id,
    dates_relation,
    fold,
    id_consistent,
    id_edit,
    model_row,
    name_parts,
    same_name_any_order,
    swap_day_month,
)
from ansinh.synth.names import FAMILY_NAMES, GIVEN_NAMES, MIDDLE_NAMES


def test_fold_drops_diacritics_and_dd_and_spaces():
    assert fold("  Đặng   Thị Ánh ") == "dang thi anh"
    assert fold("NGUYỄN VĂN ĐỨC") == "nguyen van duc"


def test_decomposed_unicode_equals_composed():
    nfd = unicodedata.normalize("NFD", "Nguyễn Thị Mai")
    assert name_parts(nfd)[0] == name_parts("Nguyễn Thị Mai")[0] == "nguyễn thị mai"


def test_name_order_and_accents_ignored_by_the_key():
    assert same_name_any_order("Nguyễn Thị Mai", "Mai Nguyen Thi")
    assert same_name_any_order("Trần Văn An", "TRAN VAN AN")
    assert not same_name_any_order("Trần Văn An", "Trần Văn Anh")
    assert name_parts("Mai Nguyen Thi")[3] == "thi"  # the given name is the last word


names = st.builds(
    lambda f, m, g: f"{f} {m} {g}",
    st.sampled_from(sorted(FAMILY_NAMES)),
    st.sampled_from(sorted(MIDDLE_NAMES["F"])),
    st.sampled_from(sorted(GIVEN_NAMES["F"])),
)


@given(names, st.randoms(use_true_random=False))
def test_any_word_order_without_accents_has_the_same_key(name, rnd):
    words = fold(name).split(" ")
    rnd.shuffle(words)
    shuffled = " ".join(words).upper()
    assert name_parts(shuffled)[2] == name_parts(name)[2]


def test_personal_id_cleaning():
    assert clean_personal_id(" 001 090 012 345 ") == "001090012345"
    assert clean_personal_id("001.090.012.345") == "001090012345"
    assert clean_personal_id("123456789") is None  # a 9-digit identity card number
    assert clean_personal_id(None) is None


def test_id_edit_kinds():
    assert id_edit("001090012345", "001090012345") == "exact"
    assert id_edit("001090012345", "001090012346") == "substitution"
    assert id_edit("001090012345", "001090012354") == "transposition"
    assert id_edit("001090012345", "001090013254") == "different"


@given(st.text(alphabet="0123456789", min_size=12, max_size=12), st.integers(0, 10))
def test_a_transposition_is_found_wherever_it_is(pid, i):
    swapped = pid[:i] + pid[i + 1] + pid[i] + pid[i + 2 :]
    assert id_edit(pid, swapped) in ("exact", "transposition")


def test_id_structure_checked_against_birth_date_and_sex():
    """Decree 137/2015/NĐ-CP Art. 13: province, century/sex digit, birth year."""
    assert id_consistent("001090012345", dt.date(1990, 5, 1), "M")
    assert not id_consistent("001190012345", dt.date(1990, 5, 1), "M")  # female digit
    assert not id_consistent("001091012345", dt.date(1990, 5, 1), "M")  # year typo
    assert not id_consistent("003090012345", dt.date(1990, 5, 1), "M")  # no province 03
    assert id_consistent("079303012345", dt.date(2003, 1, 2), "F")


def test_day_month_swap():
    assert swap_day_month(dt.date(1990, 3, 12)) == dt.date(1990, 12, 3)
    assert swap_day_month(dt.date(1990, 3, 13)) is None  # no 13th month
    assert swap_day_month(dt.date(1990, 5, 5)) is None
    assert dates_relation(dt.date(1990, 3, 12), dt.date(1990, 12, 3)) == "swapped"
    assert dates_relation(dt.date(1990, 3, 12), dt.date(1990, 7, 1)) == "year"
    assert dates_relation(dt.date(1990, 3, 12), dt.date(1991, 7, 1)) == "near"
    assert dates_relation(None, dt.date(1991, 7, 1)) == "missing"


def test_model_row_nulls_empty_values():
    row = model_row("k", "", "", None, "X", " ")
    assert row == ("k", None, None, None, None, None, None, None, None, None, None)


@pytest.mark.parametrize(
    ("p", "band"), [(0.99, "link"), (0.95, "link"), (0.5, "review"), (0.3, "review"), (0.1, "none")]
)
def test_bands_follow_the_thresholds(settings, p, band):
    from ansinh.linkage.services import band_for

    settings.LINKAGE_LINK_THRESHOLD = 0.95
    settings.LINKAGE_REVIEW_THRESHOLD = 0.3
    assert band_for(p) == band
