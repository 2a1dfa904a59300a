"""The trust store is cached per process and test rollbacks send no signals: start each
gateway test from the database, not from the previous test's cache."""

from __future__ import annotations

from collections.abc import Iterator

import pytest


@pytest.fixture(autouse=True)
def _fresh_trust_store() -> Iterator[None]:
    from ansinh.gateway import trust

    trust.invalidate()
    yield
    trust.invalidate()
