from __future__ import annotations

from collections.abc import Iterator

import pytest


@pytest.fixture(autouse=True)
def _fresh_rule_caches() -> Iterator[None]:
    """Tests that write rule rows roll them back: drop what the caches learnt from them."""
    yield
    from ansinh.law import selectors
    from ansinh.law.services import forget_snapshots

    selectors._hold = False  # the rule write that set it was rolled back, never committed
    selectors.clear_cache()
    forget_snapshots()
