"""Short-lived per-process memos of small reference look-ups (bộ đệm tra cứu ngắn hạn).

The gateway's intake (goal: 200 one-row dossiers/s on 2 cores) would otherwise repeat the same
handful of queries for every dossier — the I-VAN of an organisation, the employer, the signer's
registered certificate, the receiving office of a province, the procedure and its version in
force. Building those ORM queries costs more CPU than the rest of a submission, and their answers
change a few times a year.

A :class:`Memo` keeps answers for at most ``LOOKUP_CACHE_SECONDS`` (settings, 60 s; 0 switches
memos off, as in the test suite unless a test turns them on). A ``post_save`` / ``post_delete``
of one of the models it names clears it at once in this process (and again when the transaction
commits), and publishes a new version token in Django's cache — shared by the processes of a
machine (file cache) or of all machines (Redis) — which every process looks at once per
``LOOKUP_CACHE_CHECK_SECONDS`` (1 s), clearing all its memos when it moved: the pattern of the
gateway's trust store. So a suspended I-VAN or an ended registration is refused within about a
second everywhere; a write that bypasses model signals (``QuerySet.update``) shows within
``LOOKUP_CACHE_SECONDS``.

Values must be treated as read-only: they are shared by the threads of a process.
"""

from __future__ import annotations

import logging
import threading
import time
import uuid
from collections.abc import Callable, Hashable, Iterable
from typing import Any, TypeVar

from django.conf import settings
from django.core.cache import cache
from django.db import transaction
from django.db.models.signals import post_delete, post_save

T = TypeVar("T")
logger = logging.getLogger(__name__)

#: A memo never holds more entries than this; past it, it starts afresh.
MAX_ENTRIES = 10_000

VERSION_KEY = "ansinh:memo-version"

_all: list[Memo] = []
_lock = threading.Lock()
_shared: dict[str, Any] = {"version": None, "checked": float("-inf")}


def ttl() -> float:
    return float(getattr(settings, "LOOKUP_CACHE_SECONDS", 60.0))


def _check_shared(now: float) -> None:
    """Clear every memo when another process published a change since the last look."""
    if now - _shared["checked"] < float(getattr(settings, "LOOKUP_CACHE_CHECK_SECONDS", 1.0)):
        return
    _shared["checked"] = now
    try:
        version = cache.get(VERSION_KEY)
    except Exception:  # a cache outage must not stop intake; the TTL still bounds staleness
        return
    if version != _shared["version"]:
        _shared["version"] = version
        _clear_local()


def _publish() -> None:
    _clear_local()
    try:
        version = uuid.uuid4().hex
        cache.set(VERSION_KEY, version, timeout=None)
        _shared["version"] = version  # ours: no need to clear again at the next look
    except Exception:  # other processes fall back on the TTL
        logger.warning("memo: could not publish a change to other processes")


class Memo:
    """A named map of look-up results, each kept ``LOOKUP_CACHE_SECONDS`` at most and cleared
    when one of ``models`` is saved or deleted in this process."""

    def __init__(self, name: str, models: Iterable[type] = ()) -> None:
        self.name = name
        self._data: dict[Hashable, tuple[float, int, Any]] = {}
        self._generation = 0
        for model in models:
            uid = f"memo:{name}:{model._meta.label}"
            post_save.connect(self._changed, sender=model, dispatch_uid=uid + ":s", weak=False)
            post_delete.connect(self._changed, sender=model, dispatch_uid=uid + ":d", weak=False)
        with _lock:
            _all.append(self)

    def _changed(self, **_kwargs: Any) -> None:
        # Now (this transaction may read again) and after commit (other threads may have
        # reloaded the old row meanwhile); other processes through the shared version.
        self.clear()
        transaction.on_commit(_publish)

    def clear(self) -> None:
        self._generation += 1
        self._data = {}

    def get(self, key: Hashable, load: Callable[[], T]) -> T:
        """The value for ``key``: remembered if fresh, else ``load()`` (and remembered)."""
        limit = ttl()
        if limit <= 0:
            return load()
        now = time.monotonic()
        _check_shared(now)
        hit = self._data.get(key)
        if hit is not None and now - hit[0] < limit and hit[1] == self._generation:
            return hit[2]
        generation = self._generation
        value = load()
        data = self._data
        if len(data) >= MAX_ENTRIES:
            data = self._data = {}
        if generation == self._generation:  # not cleared while loading
            data[key] = (now, generation, value)
        return value


def _clear_local() -> None:
    with _lock:
        memos = list(_all)
    for memo in memos:
        memo.clear()


def clear_all() -> None:
    """Forget every memo, here and in the other processes (tests; after bulk changes)."""
    _publish()
