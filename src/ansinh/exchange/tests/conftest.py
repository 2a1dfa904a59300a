from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from ansinh.exchange.models import Identity
from ansinh.exchange.testing import make_identity


@pytest.fixture
def exchange_keys(settings: Any, tmp_path: Path) -> Path:
    settings.EXCHANGE_KEY_FILE = str(tmp_path / "exchange" / "signing_key.pem")
    settings.EXCHANGE_CERT_FILE = ""
    return tmp_path


@pytest.fixture
def identity(exchange_keys: Path, db: None) -> Identity:
    return make_identity(exchange_keys)


@pytest.fixture(autouse=True)
def _close_kept_alive_connections() -> Iterator[None]:
    """The client keeps connections alive; a live server's handler thread (and its database
    connection) lives as long as one, so close them before the test database goes."""
    yield
    from ansinh.exchange import client

    client.close_connections()
