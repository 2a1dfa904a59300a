from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest


@pytest.fixture
def exchange_keys(settings: Any, tmp_path: Path) -> Path:
    settings.EXCHANGE_KEY_FILE = str(tmp_path / "exchange" / "signing_key.pem")
    settings.EXCHANGE_CERT_FILE = ""
    return tmp_path


@pytest.fixture(autouse=True)
def _close_kept_alive_connections() -> Iterator[None]:
    yield
    from ansinh.exchange import client

    client.close_connections()
