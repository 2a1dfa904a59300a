"""``core.sqlscript``: the same effects as one-by-one statements, in fewer messages on
PostgreSQL, and nothing left behind when a step fails."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from django.db import IntegrityError, ProgrammingError, connection, transaction
from django.test.utils import CaptureQueriesContext

from ansinh.core import sqlscript

pytestmark = pytest.mark.django_db(transaction=True)

PG = connection.vendor == "postgresql"


@pytest.fixture
def table() -> Iterator[str]:
    with connection.cursor() as cursor:
        cursor.execute("CREATE TABLE core_script_probe (id integer PRIMARY KEY, name text)")
    yield "core_script_probe"
    with connection.cursor() as cursor:
        cursor.execute("DROP TABLE core_script_probe")


def _rows(table: str) -> list[tuple[int, str]]:
    with connection.cursor() as cursor:
        cursor.execute(f"SELECT id, name FROM {table} ORDER BY id")  # noqa: S608 - test table
        return [tuple(r) for r in cursor.fetchall()]


def test_results_per_statement_and_commit(table: str) -> None:
    with sqlscript.transaction_script() as script:
        first = script.run(
            [
                (f"INSERT INTO {table} (id, name) VALUES (%s, %s)", [1, "một"]),  # noqa: S608
                (f"SELECT count(*) FROM {table}", []),  # noqa: S608
            ]
        )
        second = script.run(
            [(f"SELECT name FROM {table} WHERE id = %s", [1])],  # noqa: S608
            commit=True,
        )
    assert first == [[], [(1,)]]
    assert second == [[("một",)]]
    assert _rows(table) == [(1, "một")]


def test_left_without_commit_commits(table: str) -> None:
    with sqlscript.transaction_script() as script:
        script.run([(f"INSERT INTO {table} (id, name) VALUES (%s, %s)", [1, "a"])])  # noqa: S608
    assert _rows(table) == [(1, "a")]


def test_error_in_a_later_message_rolls_back_the_earlier_one(table: str) -> None:
    with pytest.raises(IntegrityError):
        with sqlscript.transaction_script() as script:
            script.run([(f"INSERT INTO {table} (id, name) VALUES (%s, %s)", [1, "a"])])  # noqa: S608
            script.run(
                [
                    (f"INSERT INTO {table} (id, name) VALUES (%s, %s)", [2, "b"]),  # noqa: S608
                    (f"INSERT INTO {table} (id, name) VALUES (%s, %s)", [1, "again"]),  # noqa: S608
                ],
                commit=True,
            )
    assert _rows(table) == []
    # The connection is usable again, outside any transaction.
    assert connection.get_autocommit()
    with sqlscript.transaction_script() as script:
        script.run([(f"INSERT INTO {table} (id, name) VALUES (%s, %s)", [3, "c"])], commit=True)  # noqa: S608
    assert _rows(table) == [(3, "c")]


def test_exception_between_messages_rolls_back(table: str) -> None:
    with pytest.raises(ValueError, match="refused"):
        with sqlscript.transaction_script() as script:
            script.run([(f"INSERT INTO {table} (id, name) VALUES (%s, %s)", [1, "a"])])  # noqa: S608
            raise ValueError("refused")
    assert _rows(table) == []


def test_no_run_after_commit(table: str) -> None:
    with sqlscript.transaction_script() as script:
        script.run([], commit=True)
        with pytest.raises(RuntimeError):
            script.run([(f"SELECT 1 FROM {table}", [])])  # noqa: S608


def _two_runs(table: str, first_id: int) -> None:
    with sqlscript.transaction_script() as script:
        script.run(
            [
                (f"INSERT INTO {table} (id, name) VALUES (%s, %s)", [first_id, "a"]),  # noqa: S608
                (f"INSERT INTO {table} (id, name) VALUES (%s, %s)", [first_id + 1, "b"]),  # noqa: S608
            ]
        )
        script.run([(f"SELECT max(id) FROM {table}", [])], commit=True)  # noqa: S608


def test_messages_on_postgresql(table: str) -> None:
    """One message per run on PostgreSQL (BEGIN and COMMIT ride along), the statements
    prepared once per session; one statement per message elsewhere."""
    with CaptureQueriesContext(connection) as first:
        _two_runs(table, 1)
    with CaptureQueriesContext(connection) as again:
        _two_runs(table, 3)
    sent = [q["sql"] for q in again.captured_queries]
    if PG:
        assert len(sent) == 2
        assert sent[0].startswith("BEGIN;\nEXECUTE ansinh_") and sent[1].endswith("COMMIT")
        prepares = [q["sql"] for q in first.captured_queries if q["sql"].startswith("PREPARE")]
        assert len(prepares) == 2  # the INSERT and the SELECT, each once
    else:
        assert len([s for s in sent if s.startswith(("INSERT", "SELECT"))]) == 3
    assert _rows(table) == [(1, "a"), (2, "b"), (3, "a"), (4, "b")]


@pytest.mark.skipif(not PG, reason="prepared statements of PostgreSQL")
def test_unprepared_when_switched_off(table: str, settings) -> None:
    settings.SQL_PREPARED_STATEMENTS = False
    with CaptureQueriesContext(connection) as sent:
        _two_runs(table, 1)
    texts = [q["sql"] for q in sent.captured_queries]
    assert len(texts) == 2 and "INSERT INTO core_script_probe" in texts[0]


@pytest.mark.skipif(not PG, reason="prepared statements of PostgreSQL")
def test_a_failed_prepare_is_recovered_from(table: str) -> None:
    """A PREPARE message that fails part way leaves some statements prepared and some not:
    the next one starts again from none instead of preparing a name twice."""
    good = (f"SELECT count(*) FROM {table} WHERE id > %s", [0])  # noqa: S608
    bad = ("SELECT * FROM core_no_such_table WHERE id = %s", [1])
    with pytest.raises(ProgrammingError), sqlscript.transaction_script() as script:
        script.run([good, bad])
    with sqlscript.transaction_script() as script:
        assert script.run([good], commit=True) == [[(0,)]]
    with CaptureQueriesContext(connection) as sent:
        with sqlscript.transaction_script() as script:
            assert script.run([good], commit=True) == [[(0,)]]
    assert len(sent.captured_queries) == 1  # prepared since: no PREPARE again


def test_inside_an_atomic_block_joins_it(table: str) -> None:
    """Within Django's transaction nothing is combined and the outer block decides."""
    with pytest.raises(ValueError, match="outer"):
        with transaction.atomic():
            assert not sqlscript.combines()
            with sqlscript.transaction_script() as script:
                script.run([(f"INSERT INTO {table} (id, name) VALUES (%s, %s)", [1, "a"])])  # noqa: S608
            raise ValueError("outer")
    assert _rows(table) == []


@pytest.mark.skipif(not PG, reason="psycopg's client-side binding")
def test_merged_message_is_what_psycopg_would_send() -> None:
    """The cached merge writes each value exactly as psycopg's own binding does."""
    import datetime as dt
    import decimal

    from psycopg.types.json import Jsonb

    parts = ["INSERT INTO t (a, b, c) VALUES (%s, %s, %s)", "SELECT %s, %s, %s, %s"]
    params = [
        "O'Neil; DROP TABLE x -- \\ %s",
        b"\x00\xff'bytes",
        dt.datetime(2026, 11, 24, 9, 30, tzinfo=dt.UTC),
        None,
        Jsonb({"tên": "Nguyễn Văn An", "n": [1, 2]}),
        decimal.Decimal("12.50"),
        True,
    ]
    with connection.cursor() as cursor:
        merged = sqlscript._merged(cursor, parts, params)
        expected = cursor.cursor.mogrify(";\n".join(parts), params)
    assert merged is not None and merged.decode() == expected


def test_texts_with_other_percent_signs_are_left_to_psycopg() -> None:
    with connection.cursor() as cursor:
        assert sqlscript._merged(cursor, ["SELECT '100%%' , %s"], [1]) is None
        assert sqlscript._merged(cursor, ["SELECT %(a)s"], [1]) is None
