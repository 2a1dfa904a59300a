"""Administrative units API, mounted at /api/v1/places: the current 34 provinces / 3,321
communes (from 2025-07-01, Resolution 202/2025/QH15 and the 2025 commune arrangement
resolutions of the NA Standing Committee), the legacy 63 provinces / ~700 districts / ~10,000
communes, and the old→new mapping. Public reference data: no personal data, no audit."""

import datetime as dt
from typing import Literal

from django.http import HttpRequest
from ninja import Query, Router, Schema

from ansinh.places import selectors
from ansinh.places.models import AdminUnit, UnitLevel, UnitSystem

router = Router(tags=["places"])

System = Literal["2025", "legacy"]
Level = Literal["province", "district", "commune"]


class UnitRef(Schema):
    system: str
    level: str
    code: str
    name: str


class UnitOut(Schema):
    system: str
    level: str
    code: str
    name: str
    short_name: str
    unit_type: str
    province_code: str
    parent_code: str | None
    latitude: float | None
    longitude: float | None
    valid_from: dt.date | None
    valid_to: dt.date | None

    @staticmethod
    def resolve_parent_code(obj: AdminUnit) -> str | None:
        # Every parent is one level up in the same system; a current commune's parent is its
        # province, so its code is known without a query.
        if obj.parent_id is None:
            return None
        if obj.level == UnitLevel.COMMUNE and obj.system == UnitSystem.CURRENT:
            return obj.province_code
        return obj.parent.code


class ResolutionOut(Schema):
    old: UnitOut
    default: UnitOut | None
    candidates: list[UnitOut]
    ambiguous: bool


class UnitDetailOut(UnitOut):
    province: UnitRef
    successors: list[UnitRef]
    predecessors: list[UnitRef]

    @staticmethod
    def resolve_province(obj: AdminUnit) -> AdminUnit:
        return selectors.province_of(obj)

    @staticmethod
    def resolve_successors(obj: AdminUnit) -> list[AdminUnit]:
        if obj.system != UnitSystem.LEGACY:
            return []
        return selectors.successors_of(obj).candidates

    @staticmethod
    def resolve_predecessors(obj: AdminUnit) -> list[AdminUnit]:
        return list(selectors.predecessors_of(obj))


class SearchQuery(Schema):
    q: str
    system: System | None = None
    level: Level | None = None
    province: str | None = None
    limit: int = 20


@router.get("/provinces", response=list[UnitOut], summary="List provinces")
def list_provinces(request: HttpRequest, system: System = "2025") -> list[AdminUnit]:
    """The provinces of one system: ``2025`` (34, current) or ``legacy`` (63)."""
    return list(selectors.provinces(system))


@router.get(
    "/provinces/{code}/communes", response=list[UnitOut], summary="List communes of a province"
)
def list_communes(request: HttpRequest, code: str, system: System = "2025") -> list[AdminUnit]:
    return list(selectors.communes_of(code, system).select_related("parent"))


@router.get("/units/{system}/{level}/{code}", response=UnitDetailOut, summary="One unit")
def get_unit(request: HttpRequest, system: System, level: Level, code: str) -> AdminUnit:
    """One unit with its province, its successors (legacy) or predecessors (current)."""
    return selectors.get_unit(system, level, code)


@router.get(
    "/legacy-communes/{code}/successors",
    response=ResolutionOut,
    summary="Current commune(s) of a legacy commune",
)
def legacy_successors(request: HttpRequest, code: str) -> dict:
    """Where a pre-2025 commune went: one successor, or for a split commune the default and all
    candidates with ``ambiguous: true`` (an address there needs review)."""
    old = selectors.get_unit(UnitSystem.LEGACY, UnitLevel.COMMUNE, code)
    res = selectors.successors_of(old)
    return {
        "old": old,
        "default": res.default,
        "candidates": res.candidates,
        "ambiguous": res.ambiguous,
    }


@router.get("/search", response=list[UnitOut], summary="Search units by name or code")
def search(request: HttpRequest, filters: Query[SearchQuery]) -> list[AdminUnit]:
    """Accent- and case-insensitive name search ('ba dinh' finds 'Phường Ba Đình'); digits
    match a code exactly. At most ``limit`` (≤ 100) results."""
    return selectors.search_units(
        filters.q,
        system=filters.system,
        level=filters.level,
        province_code=filters.province,
        limit=min(max(filters.limit, 1), 100),
    )
