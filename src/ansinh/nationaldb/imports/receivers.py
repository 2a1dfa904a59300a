"""Listens to the linkage app's ``pair_decided`` to finish import rows sent to review."""

from __future__ import annotations

from typing import Any


def _on_pair_decided(
    sender: Any = None,
    *,
    record_key: str | None = None,
    person_id: int | None = None,
    decision: str = "",
    **kwargs: Any,
) -> None:
    from ansinh.nationaldb.imports.services import finish_reviewed_row

    if record_key:
        finish_reviewed_row(record_key, person_id=person_id, decision=decision)


def connect() -> None:
    """Connect when the linkage app is present (it may be installed later)."""
    try:
        from ansinh.linkage.signals import pair_decided
    except ImportError:
        return
    pair_decided.connect(_on_pair_decided, dispatch_uid="nationaldb_import_pair_decided")
