"""The message log: hash-chained, append-only in the database, verifiable after pruning, and a
row edited with raw SQL by someone who lifted the triggers is found."""

from __future__ import annotations

import datetime as dt

import pytest
from django.db import DatabaseError, connection, transaction

from ansinh.core import appendonly
from ansinh.exchange import log
from ansinh.exchange.models import LogCheckpoint, LogEntry

pytestmark = pytest.mark.django_db
T0 = dt.datetime(2026, 10, 1, 8, 0, tzinfo=dt.UTC)


def _records(n: int, start: dt.datetime = T0) -> list[log.Record]:
    return [
        log.Record(
            direction="in",
            kind="request",
            message_id=f"m-{i}",
            client="VN/GOV/SNV-HN/unemployment",
            service="VN/GOV/BHXH/benefits/echo",
            outcome="ok",
            headers={"Signature": f"xrd=:{i}:", "X-Other": "not kept"},
            body=f'{{"i":{i}}}'.encode(),
            method="POST",
            target="http://x/r1/VN/GOV/BHXH/benefits/echo",
            at=start + dt.timedelta(minutes=i),
        )
        for i in range(n)
    ]


class _Exec:
    def __init__(self, cursor: object) -> None:
        self.connection = connection
        self.cursor = cursor

    def execute(self, sql: str) -> None:
        self.cursor.execute(sql)  # type: ignore[attr-defined]


def _raw(sql: str, params: list[object]) -> None:
    """What an intruder with database rights does: lift the trigger, edit, put it back."""
    with connection.cursor() as cursor:
        appendonly.unprotect(_Exec(cursor), "exchange_logentry")
        cursor.execute(sql, params)
        appendonly.protect(_Exec(cursor), "exchange_logentry")


def test_the_chain_verifies_and_keeps_only_signed_headers() -> None:
    log.append(_records(5))
    result = log.verify()
    assert result.ok and result.checked == 5
    first = LogEntry.objects.order_by("id").first()
    assert first is not None and "x-other" not in first.headers and "signature" in first.headers


def test_the_log_refuses_update_and_delete() -> None:
    log.append(_records(2))
    for sql in ("UPDATE exchange_logentry SET outcome = 'x'", "DELETE FROM exchange_logentry"):
        with pytest.raises(DatabaseError), transaction.atomic(), connection.cursor() as cursor:
            cursor.execute(sql)
    assert LogEntry.objects.count() == 2


def test_an_edited_body_is_detected() -> None:
    entries = log.append(_records(4))
    target = entries[2].pk
    _raw("UPDATE exchange_logentry SET body = %s WHERE id = %s", [b'{"i":99}', target])
    result = log.verify()
    assert not result.ok and result.first_bad_id == target and "body" in result.reason


def test_an_edited_field_with_a_recomputed_digest_is_detected() -> None:
    entries = log.append(_records(4))
    target = entries[1].pk
    _raw("UPDATE exchange_logentry SET outcome = %s WHERE id = %s", ["refused", target])
    result = log.verify()
    assert not result.ok and result.first_bad_id == target and "altered" in result.reason


def test_a_removed_entry_is_detected_in_the_middle_and_at_the_end() -> None:
    entries = log.append(_records(5))
    _raw("DELETE FROM exchange_logentry WHERE id = %s", [entries[2].pk])
    result = log.verify()
    assert not result.ok and result.first_bad_id == entries[3].pk and "chain" in result.reason


def test_a_removed_tail_is_detected() -> None:
    entries = log.append(_records(5))
    _raw("DELETE FROM exchange_logentry WHERE id = %s", [entries[4].pk])
    result = log.verify()
    assert not result.ok and "head" in result.reason


def test_pruning_keeps_the_rest_verifiable(settings: object) -> None:
    log.append(_records(10))
    cutoff = T0 + dt.timedelta(minutes=6)
    assert log.prune(cutoff) == 6
    checkpoint = LogCheckpoint.objects.get()
    assert checkpoint.removed == 6
    result = log.verify()
    assert result.ok and result.checked == 4 and result.checkpoint_id == checkpoint.pk
    log.append(_records(2, start=T0 + dt.timedelta(hours=1)))
    assert log.verify().ok
    # The triggers are back after pruning.
    with pytest.raises(DatabaseError), transaction.atomic(), connection.cursor() as cursor:
        cursor.execute("DELETE FROM exchange_logentry")


def test_retention_zero_keeps_everything(settings: object) -> None:
    settings.EXCHANGE_LOG_RETENTION_DAYS = 0  # type: ignore[attr-defined]
    log.append(_records(3))
    assert log.prune() == 0
    settings.EXCHANGE_LOG_RETENTION_DAYS = 30  # type: ignore[attr-defined]
    assert log.prune(now=T0 + dt.timedelta(days=31)) == 3 and log.verify().ok
