from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pytest

from ansinh.places.testing import admin_units, admin_units_package  # noqa: F401

TZ = ZoneInfo("Asia/Ho_Chi_Minh")
#: The centre's member id (a FakePeer in exchange tests).
CENTRE = "VN/GOV/SNV-HN/unemployment"


def at(day: str, hour: int = 9) -> dt.datetime:
    return dt.datetime.combine(dt.date.fromisoformat(day), dt.time(hour), tzinfo=TZ)


@pytest.fixture
def units(admin_units: None) -> None:  # noqa: F811 - the fixture imported above
    """The real administrative units (the registry factories need current communes)."""


@pytest.fixture
def exchange_keys(settings: Any, tmp_path: Path) -> Path:
    settings.EXCHANGE_KEY_FILE = str(tmp_path / "exchange" / "signing_key.pem")
    settings.EXCHANGE_CERT_FILE = ""
    return tmp_path


@pytest.fixture(autouse=True)
def _fresh_caches() -> Iterator[None]:
    yield
    from ansinh.exchange import client
    from ansinh.law import selectors
    from ansinh.law.services import forget_snapshots

    client.close_connections()
    selectors._hold = False
    selectors.clear_cache()
    forget_snapshots()


@pytest.fixture
def worker(units: None) -> Any:
    """A worker employed from 2025-01-01 to 2025-09-30 at 10,000,000 đồng (region I), with
    the ledger rows of those nine months written by the contribution services."""
    from ansinh.benefits.tests.helpers import employ

    return employ()
