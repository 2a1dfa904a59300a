"""Incremental detection: the contribution ledger says which persons got new rows (after its
transaction committed); the detector looks at their awards at once."""

from __future__ import annotations

import logging
from typing import Any

log = logging.getLogger(__name__)


def on_ledger_written(sender: Any, person_ids: Any = (), periods: Any = (), **_kw: Any) -> None:
    from ansinh.benefits import detector
    from ansinh.benefits.models import Award

    ids = sorted(set(person_ids))
    if not ids or not Award.objects.exists():
        return
    try:
        detector.run(person_ids=ids)
    except Exception:  # the ledger's work is committed; the periodic full run catches up
        log.exception("benefits: incremental detection failed")


def connect() -> None:
    from ansinh.contributions.signals import enrolled, ledger_written

    ledger_written.connect(on_ledger_written, dispatch_uid="benefits.detector")
    # A report of a new job (báo tăng) is news before its first contribution is billed.
    enrolled.connect(on_ledger_written, dispatch_uid="benefits.detector.enrolled")
