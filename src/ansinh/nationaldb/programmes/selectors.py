"""Reads of programme membership, including the e-card's programme provider."""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence

from django.db.models import Q, QuerySet

from ansinh.nationaldb.models import Beneficiary

CHUNK = 2000


def in_force(on: dt.date) -> Q:
    return Q(start__lte=on) & (Q(end__isnull=True) | Q(end__gte=on))


def programme_codes(person_ids: Sequence[int], on: dt.date) -> dict[int, list[str]]:
    """The e-card ``prg`` provider (``NATIONALDB_PROGRAMME_PROVIDERS``): programme codes each
    person is a beneficiary of on ``on``."""
    found: dict[int, list[str]] = {}
    ids = list(person_ids)
    for start in range(0, len(ids), CHUNK):
        rows = (
            Beneficiary.objects.filter(in_force(on), person_id__in=ids[start : start + CHUNK])
            .values_list("person_id", "programme__code")
            .distinct()
        )
        for pk, code in rows:
            found.setdefault(pk, []).append(code)
    return found


def beneficiaries_of(person_id: int) -> QuerySet[Beneficiary]:
    return (
        Beneficiary.objects.filter(person_id=person_id)
        .select_related("programme", "category", "household", "paying_unit", "rule_snapshot")
        .order_by("programme__code", "-start")
    )
