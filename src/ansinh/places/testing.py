"""Test helpers for every app that needs the real administrative units.

Loading all ~14,000 units takes a couple of seconds, so a test package loads them once,
outside the per-test transactions, and removes them again after its last test (other packages'
tests may count on an empty table)::

    # conftest.py of an app's tests package: import both fixtures
    from ansinh.places.testing import admin_units, admin_units_package  # noqa: F401

    def test_x(admin_units): ...

``ensure_units_loaded()`` can also be called directly; when the units are there it costs one
grouped count and one count. Called inside a test's transaction (and the units missing) it
loads into that transaction, which works but costs the load on every such test.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterator
from typing import Any

import pytest
from django.db import connection, transaction
from django.db.models import Count

from ansinh.places.models import AdminUnit, UnitSuccession
from ansinh.places.services import load_admin_units
from ansinh.places.source import read_source


def units_loaded() -> bool:
    """True when every (system, level) group holds at least as many units as the bundled
    data and every succession row is there (other tests may add a few units of their own)."""
    data = read_source()
    expected = Counter((row.system, row.level) for row in data.units)
    have = Counter(
        {
            (row["system"], row["level"]): row["n"]
            for row in AdminUnit.objects.values("system", "level")
            .annotate(n=Count("pk"))
            .order_by()
        }
    )
    if any(have[group] < n for group, n in expected.items()):
        return False
    return UnitSuccession.objects.count() >= len(data.successions)


def ensure_units_loaded() -> None:
    """Load the administrative units unless they already are. Safe to call repeatedly."""
    if not units_loaded():
        load_admin_units()


def unload_admin_units() -> None:
    """Delete every succession and unit. Plain SQL: the ORM's cascade collector needs seconds
    for 14,000 self-referencing rows; the database still refuses if anything points at a unit."""
    quote = connection.ops.quote_name
    with transaction.atomic(), connection.cursor() as cursor:
        cursor.execute(f"DELETE FROM {quote(UnitSuccession._meta.db_table)}")  # noqa: S608
        cursor.execute(f"DELETE FROM {quote(AdminUnit._meta.db_table)}")  # noqa: S608


@pytest.fixture(scope="package")
def admin_units_package(django_db_setup: None, django_db_blocker: Any) -> Iterator[None]:
    """The real units, committed to the test database for the tests of one package and
    removed after its last test (only if this fixture loaded them)."""
    with django_db_blocker.unblock():
        loaded_here = not units_loaded()
        if loaded_here:
            load_admin_units()
    yield
    if loaded_here:
        with django_db_blocker.unblock():
            unload_admin_units()


@pytest.fixture
def admin_units(admin_units_package: None, db: None) -> None:
    """Per test: the units are there (reloaded in the test's transaction if a transactional
    test flushed the database since the package fixture ran)."""
    ensure_units_loaded()
