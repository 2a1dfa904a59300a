"""The demo's e-cards: a signing key if there is none, and a card for every active person who
has none (``ansinh demo`` calls this; safe to run again)."""

from __future__ import annotations

import time

from ansinh.nationaldb import services
from ansinh.nationaldb.models import ECardKey
from ansinh.registry.models import Person


def ensure_demo_ecards() -> str:
    """Issue the missing demo cards; returns the line the demo command prints."""
    started = time.perf_counter()
    if not ECardKey.objects.filter(active=True).exists():
        services.create_signing_key()
    persons = (
        Person.objects.filter(status="active", ecards__isnull=True)
        .only("id", "ss_number", "full_name", "date_of_birth", "status")
        .order_by("id")
    )
    count = services.issue_ecards_bulk(persons.iterator(2000))
    if not count:
        return "e-cards: already present"
    return f"e-cards: {count:,} issued in {time.perf_counter() - started:.1f} s"
