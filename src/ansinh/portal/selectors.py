"""Reads for the staff home page. The counts are cached per organisation for a few minutes: a
count over a national table is not free and the home page is opened often."""

from __future__ import annotations

from dataclasses import dataclass

from django.core.cache import cache

from ansinh.access.selectors import filter_employers_in_scope, filter_persons_in_scope
from ansinh.contributions.models import BillStatus, EmployerBill
from ansinh.registry.models import Employer, Person

COUNTS_CACHE_SECONDS = 300


@dataclass(frozen=True)
class HomeCounts:
    persons: int
    employers: int
    open_bills: int


def home_counts(user: object, *, use_cache: bool = True) -> HomeCounts:
    """Persons and employers in the user's scope and the open (unpaid or partly paid) bills of
    those employers."""
    org_id = getattr(user, "organisation_id", None)
    key = f"portal:home-counts:{org_id or 'none'}:{getattr(user, 'pk', '')}"
    if use_cache and (hit := cache.get(key)) is not None:
        return hit
    employers = filter_employers_in_scope(Employer.objects.all(), user)
    counts = HomeCounts(
        persons=filter_persons_in_scope(Person.objects.all(), user).count(),
        employers=employers.count(),
        open_bills=EmployerBill.objects.filter(
            employer__in=employers.values("pk"),
            status__in=[BillStatus.OPEN, BillStatus.PARTIAL],
        ).count(),
    )
    cache.set(key, counts, COUNTS_CACHE_SECONDS)
    return counts
