"""End to end between two agencies, as they would run it: two gunicorn servers on 127.0.0.1,
each with its own data directory, SQLite database, member identity and signing key — the
employment service centre (VN/GOV/SNV-HN/unemployment) and the insurance agency
(VN/GOV/BHXH/benefits), the latter behind mutual TLS. They exchange public keys, register each
other, grant ``echo`` and call it both ways with ``ansinh exchange``; the insurance side is
stopped and the outbox delivers when it returns; a log row edited with raw SQL is found."""

from __future__ import annotations

import json
import shutil
import sqlite3
import ssl
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import pytest

from ansinh.exchange.testing import make_tls_files
from tests.sides import CENTRE, INSURANCE, Side


@pytest.fixture
def sides(tmp_path: Path) -> Iterator[tuple[Side, Side]]:
    tls = make_tls_files(tmp_path / "tls")
    centre = Side(tmp_path, "centre", CENTRE, None)
    insurance = Side(tmp_path, "insurance", INSURANCE, tls)
    # The centre calls the insurance side over mutual TLS with its client certificate.
    centre.env.update(
        EXCHANGE_TLS_CA_FILE=str(tls.ca),
        EXCHANGE_TLS_CERT_FILE=str(tls.client_cert),
        EXCHANGE_TLS_KEY_FILE=str(tls.client_key),
    )
    centre.ansinh("migrate", "--no-input", "-v", "0")
    for f in centre.dir.glob("ansinh.sqlite3*"):  # same schema, separate database
        shutil.copy(f, insurance.dir / f.name)
    for side in (centre, insurance):
        side.json("exchange", "init", "--member", side.member)
        (tmp_path / f"{side.dir.name}.pem").write_text(
            side.ansinh("exchange", "show", "--pem").stdout
        )
    for me, other in ((centre, insurance), (insurance, centre)):
        key = str(tmp_path / f"{other.dir.name}.pem")
        me.json("exchange", "peer-add", other.member, "--url", other.url, "--key", key)
        me.ansinh("exchange", "grant", other.member, "echo")
    try:
        centre.start()
        insurance.start()
        yield centre, insurance
    finally:
        centre.stop()
        insurance.stop()


def test_two_agencies_exchange_signed_logged_messages(sides: tuple[Side, Side]) -> None:
    centre, insurance = sides
    # Centre → insurance (mutual TLS), then insurance → centre (plain HTTP).
    answer = centre.json("exchange", "call", INSURANCE, "echo", "--body", '{"hỏi":"lịch sử"}')
    assert answer["status"] == 200 and answer["outcome"] == "ok", answer
    assert answer["body"] == {"hỏi": "lịch sử"}
    back = insurance.json("exchange", "call", CENTRE, "echo", "--body", '{"n":1}', "--id", "q-1")
    assert back["status"] == 200 and back["body"] == {"n": 1}
    # The same message id again: the stored answer; another body: a conflict.
    again = insurance.json("exchange", "call", CENTRE, "echo", "--body", '{"n":1}', "--id", "q-1")
    assert again["status"] == 200 and again["body"] == {"n": 1}
    clash = insurance.ansinh(
        "exchange", "call", CENTRE, "echo", "--body", '{"n":2}', "--id", "q-1", check=False
    )
    assert clash.returncode != 0 and "message_id_conflict" in clash.stderr
    catalogue = centre.json("exchange", "catalogue", "--peer", INSURANCE)
    assert [s["service_code"] for s in catalogue["body"]["service"]] == ["echo"]

    # Without a client certificate the insurance side's TLS refuses the connection.
    context = ssl.create_default_context(cafile=str(insurance.tls.ca))  # type: ignore[union-attr]
    with pytest.raises((ssl.SSLError, ConnectionError, OSError)):
        with urllib.request.urlopen(f"{insurance.url}/health", timeout=5, context=context):  # noqa: S310
            pass

    # The insurance side goes down mid-flow: the message waits in the centre's outbox.
    insurance.stop()
    queued = centre.json("exchange", "send", INSURANCE, "echo", "--body", '{"quyết định":1}')
    assert queued["state"] == "pending" and queued["attempts"] == 1
    insurance.start()
    delivered = centre.json("exchange", "deliver")
    assert delivered["tried"] == 1 and delivered["delivered"] == 2 and delivered["pending"] == 0
    with sqlite3.connect(insurance.dir / "ansinh.sqlite3") as db:
        got = db.execute(
            "SELECT kind, outcome FROM exchange_logentry WHERE message_id = ? ORDER BY id",
            [queued["message_id"]],
        ).fetchall()
    assert got == [("request", "ok"), ("response", "ok")]

    # Every message verifies in both logs; a row edited with raw SQL is found.
    for side in (centre, insurance):
        assert side.json("exchange", "verify-log")["ok"] is True
    with sqlite3.connect(insurance.dir / "ansinh.sqlite3") as db:
        row_id = db.execute("SELECT min(id) FROM exchange_logentry").fetchone()[0]
        db.execute("DROP TRIGGER exchange_logentry_no_update")
        db.execute("UPDATE exchange_logentry SET body = ? WHERE id = ?", [b'{"n":9}', row_id])
    broken = insurance.ansinh("exchange", "verify-log", check=False)
    assert broken.returncode == 1
    result = json.loads(broken.stdout)
    assert result["ok"] is False and result["first_bad_id"] == row_id
