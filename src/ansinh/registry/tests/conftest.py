from __future__ import annotations

import pytest

from ansinh.places.testing import admin_units, admin_units_package  # noqa: F401


@pytest.fixture(autouse=True)
def _units(admin_units: None) -> None:  # noqa: F811 - the fixture imported above
    """The real administrative units, loaded once per session (used by the factories)."""
