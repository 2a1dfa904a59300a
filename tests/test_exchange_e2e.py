"""End to end between two agencies, as they would run it: two gunicorn servers on 127.0.0.1,
each with its own data directory, SQLite database, member identity and signing key — the
employment service centre (VN/GOV/SNV-HN/unemployment) and the insurance agency
(VN/GOV/BHXH/benefits), the latter behind mutual TLS. They exchange public keys, register each
other, grant ``echo`` and call it both ways with ``ansinh exchange``; the insurance side is
stopped and the outbox delivers when it returns; a log row edited with raw SQL is found."""

from __future__ import annotations

import json
import os
import shutil
import socket
import sqlite3
import ssl
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from ansinh.exchange.testing import TlsFiles, make_tls_files

BIN = Path(sys.executable).parent
CENTRE = "VN/GOV/SNV-HN/unemployment"
INSURANCE = "VN/GOV/BHXH/benefits"


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Side:
    def __init__(self, root: Path, name: str, member: str, tls: TlsFiles | None) -> None:
        self.dir = root / name
        self.dir.mkdir(parents=True, exist_ok=True)
        self.member = member
        self.port = _free_port()
        self.tls = tls  # this side's server requires client certificates
        self.server: subprocess.Popen[bytes] | None = None
        self.env = {
            k: v for k, v in os.environ.items() if k not in ("DATABASE_URL", "ANSINH_DATA_DIR")
        }
        self.env.update(
            ANSINH_DATA_DIR=str(self.dir),
            DJANGO_SETTINGS_MODULE="ansinh.settings",
            LOG_LEVEL="WARNING",
            EXCHANGE_OUTBOX_BACKOFF_BASE="1",
        )

    @property
    def url(self) -> str:
        scheme = "https" if self.tls else "http"
        return f"{scheme}://127.0.0.1:{self.port}"

    def ansinh(self, *args: str, check: bool = True) -> subprocess.CompletedProcess[str]:
        done = subprocess.run(
            [str(BIN / "ansinh"), *args],
            env=self.env,
            capture_output=True,
            text=True,
            timeout=120,
            check=False,
        )
        if check:
            assert done.returncode == 0, f"{args}: {done.stderr}\n{done.stdout}"
        return done

    def json(self, *args: str, check: bool = True) -> Any:
        return json.loads(self.ansinh(*args, check=check).stdout)

    def start(self) -> None:
        cmd = [str(BIN / "gunicorn"), "ansinh.wsgi", "-b", f"127.0.0.1:{self.port}", "-w", "2"]
        if self.tls:
            cmd += [
                "--certfile", str(self.tls.server_cert), "--keyfile", str(self.tls.server_key),
                "--ca-certs", str(self.tls.ca), "--cert-reqs", "2",
            ]  # fmt: skip
        self.server = subprocess.Popen(
            cmd, env=self.env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
        )
        context = None
        if self.tls:
            context = ssl.create_default_context(cafile=str(self.tls.ca))
            context.load_cert_chain(str(self.tls.client_cert), str(self.tls.client_key))
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            try:
                with urllib.request.urlopen(f"{self.url}/health", timeout=2, context=context):  # noqa: S310
                    return
            except OSError:
                time.sleep(0.3)
        raise AssertionError(f"{self.member} did not start")

    def stop(self) -> None:
        if self.server is not None:
            self.server.terminate()
            self.server.wait(timeout=30)
            self.server = None


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
