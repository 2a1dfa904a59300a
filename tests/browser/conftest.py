from __future__ import annotations

from collections.abc import Iterator

import pytest


@pytest.fixture(autouse=True)
def _fresh_rule_caches() -> Iterator[None]:
    """The rule rows a browser test loads are flushed after it: forget what was cached."""
    yield
    from ansinh.law.selectors import clear_cache
    from ansinh.law.services import forget_snapshots

    clear_cache()
    forget_snapshots()
