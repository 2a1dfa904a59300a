"""Shared test set-up; settings come from ansinh.settings_test."""

from __future__ import annotations

from collections.abc import Iterator

import pytest


@pytest.fixture(autouse=True)
def _fresh_calendar_announcements() -> Iterator[None]:
    """Calendar announcements are cached per process; a test's rolled-back rows must not leak
    into the next test."""
    from ansinh.law.calendar import forget_announcements

    forget_announcements()
    yield
    forget_announcements()
