from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from django.core.cache import cache

from ansinh.places.testing import admin_units, admin_units_package  # noqa: F401


@pytest.fixture(autouse=True)
def _units(admin_units: None) -> None:  # noqa: F811 - the fixture imported above
    """The real administrative units, loaded once per session (used by the factories)."""


@pytest.fixture(autouse=True)
def _key_dir(settings: Any, tmp_path: Path) -> Iterator[Path]:
    """Each test keeps its issuer keys in its own directory; caches start empty."""
    settings.NATIONALDB_KEY_DIR = str(tmp_path / "keys")
    cache.clear()
    yield tmp_path / "keys"
    from ansinh.law.selectors import clear_cache
    from ansinh.law.services import forget_snapshots

    clear_cache()
    forget_snapshots()
