from __future__ import annotations

from collections.abc import Iterator

import pytest
from django.core.cache import cache

from ansinh.places.testing import admin_units, admin_units_package  # noqa: F401


@pytest.fixture(autouse=True)
def _fresh_caches() -> Iterator[None]:
    """The home counts are cached; rule rows written by a test are rolled back after it."""
    cache.clear()
    yield
    from ansinh.law.selectors import clear_cache
    from ansinh.law.services import forget_snapshots

    clear_cache()
    forget_snapshots()
