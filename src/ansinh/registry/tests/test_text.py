"""Name normalisation (one stored search column) and the Vietnamese sort order."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from ansinh.core.text import normalise, sort_key

_VI_LETTERS = (
    "aăâbcdđeêghiklmnoôơpqrstuưvxyàảãáạằẳẵắặầẩẫấậèẻẽéẹềểễếệìỉĩíịòỏõóọồổỗốộờởỡớợùủũúụừửữứựỳỷỹýỵ"
)
_vi_text = st.text(alphabet=_VI_LETTERS + _VI_LETTERS.upper() + " ", max_size=40)


@given(st.text(max_size=60))
def test_normalise_is_idempotent(value: str) -> None:
    once = normalise(value)
    assert normalise(once) == once


@given(_vi_text)
def test_normalise_vietnamese_is_ascii(value: str) -> None:
    out = normalise(value)
    assert out.isascii()
    assert out == out.lower()
    assert "  " not in out and out == out.strip()


def test_normalise_examples() -> None:
    assert normalise("Đặng") == normalise("dang") == "dang"
    assert normalise("  Nguyễn   Thị\tÁnh ") == "nguyen thi anh"
    # Decomposed input (NFD) gives the same result as composed input.
    assert normalise("Nguye\u0302\u0303n") == "nguyen"


def test_sort_by_given_name_first() -> None:
    assert sort_key("Nguyễn Văn An") < sort_key("Trần Thị Bình")
    assert sort_key("Trần Văn An") < sort_key("Nguyễn Văn Bình")


def test_vietnamese_alphabet_order() -> None:
    assert sort_key("a") < sort_key("ă") < sort_key("â") < sort_key("b")
    assert sort_key("d") < sort_key("đ") < sort_key("e")
    assert sort_key("o") < sort_key("ô") < sort_key("ơ") < sort_key("p")
    assert sort_key("u") < sort_key("ư") < sort_key("v")


def test_letters_before_tones_and_word_boundaries() -> None:
    # Tones only break ties: "Ánh" sorts after "Anh" but before "Ao".
    assert sort_key("Anh") < sort_key("Ánh") < sort_key("Ao")
    # Words of a middle name stay separate: "Văn A" before "Vănb" (word end before letters).
    assert sort_key("Lê Văn A Bình") < sort_key("Lê Vănb Bình")


@given(_vi_text)
def test_sort_key_is_digits_only(value: str) -> None:
    assert sort_key(value).isdigit()
