from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from typing import Any

import pytest

from ansinh.places.testing import admin_units, admin_units_package  # noqa: F401


@pytest.fixture
def units(admin_units: None) -> None:  # noqa: F811 - the fixture imported above
    """The real administrative units (the registry factories need current communes)."""


@pytest.fixture
def employer(units: None) -> Any:
    from ansinh.registry.testing import make_employer

    return make_employer(wage_region=1)


@pytest.fixture
def person(units: None) -> Any:
    from ansinh.registry.testing import make_person

    return make_person(date_of_birth=dt.date(1990, 5, 17))


@pytest.fixture(autouse=True)
def _fresh_rule_caches() -> Iterator[None]:
    """Tests that write rule rows roll them back: drop what the caches learnt from them."""
    yield
    from ansinh.law import selectors
    from ansinh.law.services import forget_snapshots

    selectors._hold = False  # the rule write that set it was rolled back, never committed
    selectors.clear_cache()
    forget_snapshots()
