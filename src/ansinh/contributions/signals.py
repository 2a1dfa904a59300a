"""Signals of the ledger. ``ledger_written(person_ids, periods)`` is sent after the commit of
a transaction that wrote ledger rows, so other apps (the benefits detector) can react to new
contributions without the ledger knowing them."""

from django.dispatch import Signal

ledger_written = Signal()
