"""Signals of the linkage app, sent after the transaction commits."""

from __future__ import annotations

from django.dispatch import Signal

#: A review pair was decided (or a decision undone). Arguments: ``record_key`` (str | None: the
#: source record's key; None for a person–person pair), ``person_id`` (int | None: the registry
#: person the record or person is now linked to; None when separated), ``decision``
#: ("link" | "separate") and ``pair`` (the ReviewPair).
pair_decided = Signal()
