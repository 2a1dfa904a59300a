"""Two ansinh deployments as separate processes on 127.0.0.1 — each with its own data
directory, SQLite database, member identity and signing key — for the end-to-end tests of
inter-agency exchange (``test_exchange_e2e``, ``test_unemployment_e2e``)."""

from __future__ import annotations

import json
import os
import socket
import ssl
import subprocess
import sys
import time
import urllib.request
from pathlib import Path
from typing import Any

from ansinh.exchange.testing import TlsFiles

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
