"""The engine's DuckDB normalisation equals the Python one; the committed model loads."""

from __future__ import annotations

import datetime as dt
import unicodedata

from hypothesis import given, settings
from hypothesis import strategies as st

from ansinh.linkage import engine, quality
from ansinh.linkage.normalise import model_row


def _iso(row):
    return tuple(v.isoformat() if isinstance(v, dt.date) else v for v in row)


def _same(rows):
    expected = sorted(model_row(*r) for r in rows)
    assert [_iso(r) for r in engine.prepared(rows)] == expected


def test_sql_normalisation_matches_python_on_a_generated_population():
    rows = [p.row() for p in quality.population(500, seed=2)]
    rows += [
        (
            "x1",
            " 001.090-012 345 ",
            unicodedata.normalize("NFD", "  ĐẶNG  Thị Ánh "),
            dt.date(1990, 3, 12),
            "F",
            " 00004 ",
        ),
        ("x2", "12345", "", None, "X", ""),
        ("x3", None, "Mai Nguyen Thi", dt.date(1990, 5, 5), None, None),
    ]
    _same(rows)


names = st.text(
    alphabet="aăâbcdđeêghiklmnoôơpqrstuưvxyàảãáạằẳẵắặầẩẫấậèẻẽéẹềểễếệìỉĩíị"
    "òỏõóọồổỗốộờởỡớợùủũúụừửữứựỳỷỹýỵĐÁ ",
    max_size=30,
)


@settings(max_examples=40, deadline=None)
@given(st.lists(names, min_size=1, max_size=20))
def test_sql_normalisation_matches_python_on_any_vietnamese_text(texts):
    _same([(f"k{i}", None, t, None, None, None) for i, t in enumerate(texts)])


def test_committed_model_has_trained_parameters_and_the_three_blocking_rules():
    s = engine.load_settings()
    rules = [r["blocking_rule"] for r in s["blocking_rules_to_generate_predictions"]]
    assert rules == engine.BLOCKING_RULES
    names = [c["output_column_name"] for c in s["comparisons"]]
    assert names == list(engine.COMPARISON_NAMES)
    for comp in s["comparisons"]:
        for level in comp["comparison_levels"]:
            if not level.get("is_null_level"):
                assert "m_probability" in level and "u_probability" in level
