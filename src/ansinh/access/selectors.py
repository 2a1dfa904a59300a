"""Reads of the access app: a user's administrative scope and the audit log.

Scope (phạm vi quản lý): an organisation serves a set of provinces or communes of the current
(2025) system; a province covers all of its communes. A person is in scope when their address
commune is in the set, or when they have an open employment spell with an employer whose
address commune is in the set (the office that collects that employer's contributions serves
its workers wherever they live). An employer is in scope when its address commune is.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from django.apps import apps
from django.db.models import Exists, OuterRef, Q, QuerySet
from django.utils import timezone

from ansinh.access.models import AuditEvent
from ansinh.places.selectors import commune_ids_under

_SCOPE_CACHE_ATTR = "_ansinh_scope_commune_ids"


def scope_commune_ids(user: Any) -> frozenset[int] | None:
    """Commune ids the user may see, or ``None`` for the whole country.

    Superusers, users with ``registry.view_any_area`` and members of a ``nationwide``
    organisation see everything; a user without an (active) organisation sees nothing.
    Cached on the user object, which Django creates afresh for each request.
    """
    if user is None or not getattr(user, "is_authenticated", False) or not user.is_active:
        return frozenset()
    cached = getattr(user, _SCOPE_CACHE_ATTR, False)
    if cached is not False:
        return cached
    result: frozenset[int] | None
    if user.is_superuser or user.has_perm("registry.view_any_area"):
        result = None
    elif user.organisation_id is None:
        result = frozenset()
    else:
        org = user.organisation
        if not org.active:
            result = frozenset()
        elif org.nationwide:
            result = None
        else:
            unit_ids = list(org.scope_units.values_list("id", flat=True))
            result = frozenset(commune_ids_under(unit_ids)) if unit_ids else frozenset()
    setattr(user, _SCOPE_CACHE_ATTR, result)
    return result


def clear_scope_cache(user: Any) -> None:
    """Forget the cached scope (after the organisation's scope units changed)."""
    if hasattr(user, _SCOPE_CACHE_ATTR):
        delattr(user, _SCOPE_CACHE_ATTR)


def filter_persons_in_scope(qs: QuerySet, user: Any, *, today: dt.date | None = None) -> QuerySet:
    """Persons of ``qs`` the user may see: one query (address test OR an EXISTS on open spells).

    The model is looked up lazily because registry sits above access in the layering.
    """
    ids = scope_commune_ids(user)
    if ids is None:
        return qs
    if not ids:
        return qs.none()
    spell_model = apps.get_model("registry", "EmploymentSpell")
    today = today or timezone.localdate()
    open_spell_here = spell_model.objects.filter(
        person_id=OuterRef("pk"), employer__address_unit_id__in=ids
    ).filter(Q(end__isnull=True) | Q(end__gte=today))
    return qs.filter(Q(address_unit_id__in=ids) | Exists(open_spell_here))


def filter_employers_in_scope(qs: QuerySet, user: Any) -> QuerySet:
    """Employers of ``qs`` whose address commune is in the user's scope."""
    ids = scope_commune_ids(user)
    if ids is None:
        return qs
    if not ids:
        return qs.none()
    return qs.filter(address_unit_id__in=ids)


def person_in_scope(user: Any, person: Any, *, today: dt.date | None = None) -> bool:
    ids = scope_commune_ids(user)
    if ids is None:
        return True
    if person.address_unit_id is not None and person.address_unit_id in ids:
        return True
    model = type(person)
    return filter_persons_in_scope(model.objects.filter(pk=person.pk), user, today=today).exists()


def employer_in_scope(user: Any, employer: Any) -> bool:
    ids = scope_commune_ids(user)
    return ids is None or employer.address_unit_id in ids


def scope_summary(user: Any) -> dict[str, Any]:
    """What the user's scope is, for display: nationwide, the units named, the commune count."""
    ids = scope_commune_ids(user)
    org = getattr(user, "organisation", None)
    units = list(org.scope_units.order_by("code").values_list("code", flat=True)) if org else []
    return {
        "nationwide": ids is None,
        "units": units,
        "communes": None if ids is None else len(ids),
    }


def user_roles(user: Any) -> list[str]:
    return sorted(user.groups.values_list("name", flat=True))


def audit_events(
    *,
    actor: str = "",
    organisation: str = "",
    action: str = "",
    object_type: str = "",
    object_id: str = "",
    purpose: str = "",
    date_from: dt.date | None = None,
    date_to: dt.date | None = None,
) -> QuerySet[AuditEvent]:
    """Audit events matching every given filter, newest first. Dates are local calendar days,
    both ends included; ``purpose`` matches a substring, the other text filters match exactly."""
    qs = AuditEvent.objects.select_related("organisation")
    if actor:
        qs = qs.filter(actor_username=actor.strip())
    if organisation:
        qs = qs.filter(organisation__code=organisation.strip())
    if action:
        qs = qs.filter(action=action)
    if object_type:
        qs = qs.filter(object_type=object_type.strip())
    if object_id:
        qs = qs.filter(object_id=object_id.strip())
    if purpose:
        qs = qs.filter(purpose__icontains=purpose.strip())
    tz = timezone.get_current_timezone()
    if date_from:
        qs = qs.filter(at__gte=dt.datetime.combine(date_from, dt.time.min, tzinfo=tz))
    if date_to:
        end = dt.datetime.combine(date_to + dt.timedelta(days=1), dt.time.min, tzinfo=tz)
        qs = qs.filter(at__lt=end)
    return qs.order_by("-at", "-id")
