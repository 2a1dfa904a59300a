"""Registry reads. Numbers (personal ID, system number, legacy number, card number) are looked
up through unique indexes; name words through the ``PersonNameWord`` prefix index."""

from __future__ import annotations

import datetime as dt
from typing import Any

from django.db.models import Q, QuerySet
from django.utils import timezone

from ansinh.core.errors import DomainError
from ansinh.core.text import normalise
from ansinh.registry import identifiers as ids
from ansinh.registry.models import (
    AddressReview,
    Employer,
    EmploymentSpell,
    HealthInsuranceCard,
    LegacyNumber,
    Person,
    PersonNameWord,
    ReviewStatus,
    SalaryPeriod,
)


def find_person(number: str) -> Person | None:
    """The person with this personal ID, system number or legacy 10-digit number."""
    number = (number or "").strip().upper()
    if ids.is_personal_id_shape(number) or ids.is_system_number(number):
        return Person.objects.filter(ss_number=number).first()
    if ids.is_legacy_number(number):
        alias = LegacyNumber.objects.select_related("person").filter(number=number).first()
        return alias.person if alias else None
    return None


def _number_filter(q: str) -> Q | None:
    value = q.strip().upper().replace(" ", "")
    if ids.is_personal_id_shape(value) or ids.is_system_number(value):
        return Q(ss_number=value)
    if ids.is_legacy_number(value):
        legacy = LegacyNumber.objects.filter(number=value).values("person_id")
        cards = HealthInsuranceCard.objects.filter(short_number=value).values("person_id")
        return Q(pk__in=legacy) | Q(pk__in=cards)
    if len(value) == 15 and value[:2].isalpha() and value[2:].isdigit():
        try:
            card = ids.parse_card_number(value)
        except DomainError:
            return Q(pk__in=[])
        cards = HealthInsuranceCard.objects.filter(number=card.number).values("person_id")
        legacy = LegacyNumber.objects.filter(number=card.short_number).values("person_id")
        return Q(pk__in=cards) | Q(pk__in=legacy)
    return None


def _unit_filter(unit_code: str) -> Q:
    from ansinh.places.models import AdminUnit, UnitLevel, UnitSystem

    level = UnitLevel.PROVINCE if len(unit_code) == 2 else UnitLevel.COMMUNE
    unit = AdminUnit.objects.filter(system=UnitSystem.CURRENT, level=level, code=unit_code).first()
    if unit is None:
        raise DomainError(
            "unknown_unit",
            "unit_code",
            f"Không có đơn vị hành chính mã '{unit_code}'.",
            f"No administrative unit with code '{unit_code}'.",
        )
    if level == UnitLevel.PROVINCE:
        return Q(address_unit__province_code=unit.code, address_unit__system=UnitSystem.CURRENT)
    return Q(address_unit=unit)


def search_persons(
    *, q: str = "", date_of_birth: dt.date | None = None, unit_code: str = "", user: Any = None
) -> QuerySet[Person]:
    """Staff search (tra cứu): ``q`` is a personal ID, system, legacy or card number, or name
    words (each must prefix a word of the name, any order, accents ignored). Ordered the
    Vietnamese way (given name, middle, family); limited to the user's scope when given."""
    qs = Person.objects.select_related("address_unit")
    q = (q or "").strip()
    if q:
        number = _number_filter(q)
        if number is not None:
            qs = qs.filter(number)
        else:
            for word in sorted(set(normalise(q).split(" "))):
                words = PersonNameWord.objects.filter(word__startswith=word[:40])
                qs = qs.filter(pk__in=words.values("person_id"))
    if date_of_birth is not None:
        qs = qs.filter(date_of_birth=date_of_birth)
    if unit_code:
        qs = qs.filter(_unit_filter(unit_code.strip()))
    if user is not None:
        from ansinh.access.selectors import filter_persons_in_scope

        qs = filter_persons_in_scope(qs, user)
    return qs.order_by("sort_key", "id")


def search_employers(*, q: str = "", unit_code: str = "") -> QuerySet[Employer]:
    """Employers by unit code, tax code or name prefix words."""
    qs = Employer.objects.select_related("address_unit")
    q = (q or "").strip()
    if q:
        compact = q.replace("-", "").replace(" ", "")
        if compact.isdigit():
            qs = qs.filter(Q(unit_code=compact) | Q(tax_code=q) | Q(tax_code=compact))
        else:
            for word in normalise(q).split(" "):
                qs = qs.filter(
                    Q(name_normalised__startswith=word) | Q(name_normalised__contains=" " + word)
                )
    if unit_code:
        qs = qs.filter(_unit_filter(unit_code.strip()))
    return qs.order_by("name_normalised", "id")


def get_employer(unit_code: str) -> Employer | None:
    return Employer.objects.filter(unit_code=(unit_code or "").strip()).first()


def salary_on(spell: EmploymentSpell, day: dt.date) -> SalaryPeriod | None:
    """The salary period in force on ``day``; None outside the spell."""
    if day < spell.start or (spell.end is not None and day > spell.end):
        return None
    return spell.salaries.filter(valid_from__lte=day).order_by("-valid_from").first()


def employer_workers(employer: Employer, *, on: dt.date | None = None) -> QuerySet[EmploymentSpell]:
    """Spells of this employer in force on ``on`` (today by default)."""
    day = on or timezone.localdate()
    return (
        EmploymentSpell.objects.filter(employer=employer, start__lte=day)
        .filter(Q(end__isnull=True) | Q(end__gte=day))
        .select_related("person")
        .order_by("person__sort_key", "person_id")
    )


def person_spells(person: Person) -> QuerySet[EmploymentSpell]:
    return (
        EmploymentSpell.objects.filter(person=person)
        .select_related("employer")
        .prefetch_related("salaries")
        .order_by("start")
    )


def address_reviews(
    *, user: Any, status: str | None = ReviewStatus.OPEN
) -> QuerySet[AddressReview]:
    """Address reviews (of persons whose pre-2025 commune was split) whose person is in the
    user's scope, oldest first; ``status`` ``open`` (default), ``resolved`` or None for all.
    The old commune comes with its district and province (``legacy_unit__parent__parent``)."""
    from ansinh.access.selectors import filter_persons_in_scope, scope_commune_ids

    if status is not None and status not in ReviewStatus.values:
        raise DomainError(
            "status_invalid",
            "status",
            "Trạng thái phải là 'open' hoặc 'resolved'.",
            "The status must be 'open' or 'resolved'.",
        )
    qs = _reviews()
    if status is not None:
        qs = qs.filter(status=status)
    if scope_commune_ids(user) is not None:  # None: the whole country, nothing to filter
        persons = filter_persons_in_scope(Person.objects.all(), user)
        qs = qs.filter(person__in=persons.values("pk"))
    return qs.order_by("created_at", "id")


def _reviews() -> QuerySet[AddressReview]:
    return AddressReview.objects.select_related(
        "person", "legacy_unit__parent__parent", "proposed", "chosen", "resolved_by"
    ).prefetch_related("candidates")


def get_address_review(pk: int) -> AddressReview | None:
    """One review by id, whoever may see it (callers check the person's scope)."""
    return _reviews().filter(pk=pk).first()


def open_address_review_count(user: Any) -> int:
    """How many open address reviews the user can resolve: one COUNT (the scope is cached on
    the user for the request)."""
    return address_reviews(user=user).count()


def review_candidates(review: AddressReview) -> list[Any]:
    """The candidate communes of a review, the proposed (default) one first, then by code."""
    units = list(review.candidates.all())
    return sorted(units, key=lambda u: (u.pk != review.proposed_id, u.code))
