"""What an e-card says about its holder besides identity: insurance coverage and programmes.

Coverage (``cov``) is the holder's status on the day of issue, per scheme:

- ``bhxh``/``bhtn``: the contribution ledger has an amount due for the scheme in the month of
  issue or the month before (the current month may not be built yet). The ledger applies the
  law (who owes BHTN, exemptions), so the card does not repeat those rules.
- ``bhyt``: the same, or a health insurance card (thẻ BHYT) valid that day and not revoked.

The ledger belongs to ``contributions``, an app of the same floor; it is read here through its
models only, on use, as the registry's person page does — the one read the brief asks for.

Programmes (``prg``) come from providers named in ``NATIONALDB_PROGRAMME_PROVIDERS``: dotted
paths of callables ``(person_ids, on) -> {person_id: [code, ...]}``. The programmes work (social
assistance, poverty, meritorious service) adds its provider there; the card code stays as is.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Iterable, Sequence
from functools import cache

from django.conf import settings
from django.db.models import Q, Sum
from django.utils.module_loading import import_string

from ansinh.nationaldb.cardcheck import SCHEMES
from ansinh.registry.models import HealthInsuranceCard

#: Ledger columns of each scheme (the same split as ``contributions.selectors``).
_SCHEME_COLUMNS: dict[str, tuple[str, ...]] = {
    "bhxh": ("er_sickness", "er_accident", "er_retirement", "ee_retirement"),
    "bhyt": ("er_health", "ee_health"),
    "bhtn": ("er_unemployment", "ee_unemployment"),
}
CHUNK = 2000

ProgrammeProvider = Callable[[Sequence[int], dt.date], dict[int, Iterable[str]]]


def _periods(on: dt.date) -> list[int]:
    previous = on.replace(day=1) - dt.timedelta(days=1)
    return [on.year * 100 + on.month, previous.year * 100 + previous.month]


def _chunks(ids: Sequence[int]) -> Iterable[Sequence[int]]:
    for start in range(0, len(ids), CHUNK):
        yield ids[start : start + CHUNK]


def coverage_many(person_ids: Sequence[int], on: dt.date) -> dict[int, tuple[str, ...]]:
    """Schemes each person is covered by on ``on``; a few queries per 2,000 persons."""
    from ansinh.contributions.models import LedgerRow

    covered: dict[int, set[str]] = {pk: set() for pk in person_ids}
    columns = {c for cols in _SCHEME_COLUMNS.values() for c in cols}
    for chunk in _chunks(list(person_ids)):
        rows = (
            LedgerRow.objects.filter(person_id__in=chunk, period__in=_periods(on))
            .values("person_id")
            .annotate(**{c: Sum(c) for c in sorted(columns)})
        )
        for row in rows:
            for scheme, cols in _SCHEME_COLUMNS.items():
                if sum(row[c] or 0 for c in cols) > 0:
                    covered[row["person_id"]].add(scheme)
        cards = HealthInsuranceCard.objects.filter(
            Q(valid_to__isnull=True) | Q(valid_to__gte=on),
            person_id__in=chunk,
            revoked=False,
            valid_from__lte=on,
        ).values_list("person_id", flat=True)
        for pk in cards:
            covered[pk].add("bhyt")
    return {pk: tuple(s for s in SCHEMES if s in schemes) for pk, schemes in covered.items()}


@cache
def _provider(path: str) -> ProgrammeProvider:
    return import_string(path)


def programmes_many(person_ids: Sequence[int], on: dt.date) -> dict[int, tuple[str, ...]]:
    """Programme codes per person from the configured providers, sorted, without repeats."""
    found: dict[int, set[str]] = {pk: set() for pk in person_ids}
    for path in getattr(settings, "NATIONALDB_PROGRAMME_PROVIDERS", []):
        for pk, codes in _provider(path)(list(person_ids), on).items():
            if pk in found:
                found[pk].update(str(c) for c in codes)
    return {pk: tuple(sorted(codes)) for pk, codes in found.items()}
