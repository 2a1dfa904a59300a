"""Reads of administrative units (đơn vị hành chính) and of the 2025 old→new mapping.

Current system: 34 provinces and 3,321 communes from 2025-07-01 (Resolution 202/2025/QH15 and
the 2025 commune arrangement resolutions of the NA Standing Committee). Legacy system: 63
provinces, ~700 districts and ~10,000 communes until 2025-06-30.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field

from django.db.models import Q, QuerySet

from ansinh.core.errors import DomainError, NotFound
from ansinh.core.text import normalise
from ansinh.places.models import AdminUnit, UnitLevel, UnitSuccession, UnitSystem

_LEVEL_VI = {
    UnitLevel.PROVINCE: "tỉnh/thành phố",
    UnitLevel.DISTRICT: "quận/huyện",
    UnitLevel.COMMUNE: "xã/phường",
}


@dataclass(frozen=True)
class Resolution:
    """Where a legacy unit went in the 2025 reform.

    ``candidates`` lists every successor, the default first. ``ambiguous`` is true when the old
    commune was split (or has no known successor): an address there cannot be placed from the
    commune alone and goes to review, with ``default`` as the suggestion.
    """

    default: AdminUnit | None
    candidates: list[AdminUnit] = field(default_factory=list)
    ambiguous: bool = False


def _unknown(
    system: str, level: str, code: str, *, field_name: str = "code", status: int = 404
) -> DomainError:
    cls = NotFound if status == 404 else DomainError
    return cls(
        "unknown_unit",
        field_name,
        f"Không có đơn vị hành chính cấp {_LEVEL_VI.get(level, level)} mã {code!r} "
        f"({'hiện hành' if system == UnitSystem.CURRENT else 'trước 01/7/2025'}).",
        f"No {level} with code {code!r} in the {system} system of administrative units.",
    )


def get_unit(system: str, level: str, code: str) -> AdminUnit:
    """One unit by its official code; raises ``NotFound`` (``unknown_unit``) if there is none."""
    try:
        return AdminUnit.objects.get(system=system, level=level, code=code)
    except AdminUnit.DoesNotExist:
        raise _unknown(system, level, code) from None


def current_commune(code: str) -> AdminUnit:
    """A commune of the current system by its 5-digit code, for an address being recorded.

    Raises ``DomainError`` (400, ``unknown_unit`` on ``address_unit``): an unknown code here is
    bad input, not a missing resource."""
    try:
        return AdminUnit.objects.get(system=UnitSystem.CURRENT, level=UnitLevel.COMMUNE, code=code)
    except AdminUnit.DoesNotExist:
        raise _unknown(
            UnitSystem.CURRENT, UnitLevel.COMMUNE, code, field_name="address_unit", status=400
        ) from None


def province_of(unit: AdminUnit) -> AdminUnit:
    """The province (of the same system) a unit lies in; a province is its own province."""
    if unit.level == UnitLevel.PROVINCE:
        return unit
    return get_unit(unit.system, UnitLevel.PROVINCE, unit.province_code)


def provinces(system: str = UnitSystem.CURRENT) -> QuerySet[AdminUnit]:
    return AdminUnit.objects.filter(system=system, level=UnitLevel.PROVINCE).order_by("code")


def communes_of(province_code: str, system: str = UnitSystem.CURRENT) -> QuerySet[AdminUnit]:
    """The communes of a province, by code; raises ``NotFound`` for an unknown province."""
    get_unit(system, UnitLevel.PROVINCE, province_code)
    return AdminUnit.objects.filter(
        system=system, level=UnitLevel.COMMUNE, province_code=province_code
    ).order_by("code")


def commune_ids_under(unit_ids: Iterable[int]) -> set[int]:
    """Ids of the communes the given units cover: a commune is itself, a province expands to
    its communes (of its own system, so a current province gives current communes), a legacy
    district to its communes. Unknown ids are ignored."""
    ids = set(unit_ids)
    if not ids:
        return set()
    result: set[int] = set()
    province_codes: dict[str, set[str]] = {}
    district_ids: set[int] = set()
    for pk, system, level, province_code in AdminUnit.objects.filter(pk__in=ids).values_list(
        "pk", "system", "level", "province_code"
    ):
        if level == UnitLevel.COMMUNE:
            result.add(pk)
        elif level == UnitLevel.PROVINCE:
            province_codes.setdefault(system, set()).add(province_code)
        else:
            district_ids.add(pk)
    query = Q(pk__in=[])
    for system, codes in province_codes.items():
        query |= Q(system=system, province_code__in=codes)
    if district_ids:
        query |= Q(parent_id__in=district_ids)
    if province_codes or district_ids:
        result.update(
            AdminUnit.objects.filter(query, level=UnitLevel.COMMUNE).values_list("pk", flat=True)
        )
    return result


def successors_of(unit: AdminUnit) -> Resolution:
    """Where a legacy unit went: a legacy province → its current province; a legacy commune
    (or an island district that had no communes) → its current commune(s)."""
    rows = list(
        UnitSuccession.objects.filter(old=unit)
        .select_related("new")
        .order_by("-is_default", "new__code")
    )
    candidates = [row.new for row in rows]
    default = next((row.new for row in rows if row.is_default), None)
    ambiguous = not rows or len(rows) > 1 or any(row.is_split for row in rows)
    return Resolution(default=default, candidates=candidates, ambiguous=ambiguous)


def resolve_legacy_commune(code: str) -> Resolution:
    """The current commune(s) a legacy commune (5-digit code) became on 2025-07-01.

    An old commune merged whole gives one successor and ``ambiguous=False``; a split one gives
    the default and the other candidates with ``ambiguous=True``. Raises ``NotFound``
    (``unknown_unit``) for an unknown legacy code."""
    return successors_of(get_unit(UnitSystem.LEGACY, UnitLevel.COMMUNE, code))


def predecessors_of(unit: AdminUnit) -> QuerySet[AdminUnit]:
    """The legacy units merged (wholly or partly) into a current unit."""
    return AdminUnit.objects.filter(successors__new=unit).order_by("level", "code").distinct()


def search_units(
    q: str,
    *,
    system: str | None = None,
    level: str | None = None,
    province_code: str | None = None,
    limit: int = 20,
) -> list[AdminUnit]:
    """Units whose name contains the query, accent- and case-insensitively ('ba dinh' finds
    'Phường Ba Đình'). A query of digits matches a code exactly. Names that start with the
    query's words after the unit type come first, then current before legacy, then by code."""
    needle = normalise(q)
    if not needle:
        return []
    qs = AdminUnit.objects.all()
    if system:
        qs = qs.filter(system=system)
    if level:
        qs = qs.filter(level=level)
    if province_code:
        qs = qs.filter(province_code=province_code)
    if needle.isdigit():
        qs = qs.filter(code=needle)
    else:
        qs = qs.filter(search_name__contains=needle)
    # Rank in Python over a bounded slice: cheap, and identical on SQLite and PostgreSQL.
    rows = list(qs.select_related("parent")[:500])

    def rank(unit: AdminUnit) -> tuple[int, int, int, str]:
        short = normalise(unit.short_name)
        exact = 0 if short == needle else 1 if short.startswith(needle) else 2
        current = 0 if unit.system == UnitSystem.CURRENT else 1
        depth = [UnitLevel.PROVINCE, UnitLevel.DISTRICT, UnitLevel.COMMUNE].index(unit.level)
        return (exact, current, depth, unit.code)

    return sorted(rows, key=rank)[: max(0, limit)]
