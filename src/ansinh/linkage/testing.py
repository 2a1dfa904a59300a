"""Test helpers: load a generated population (``quality.population``) into the registry fast."""

from __future__ import annotations

from collections.abc import Sequence

from ansinh.core.text import normalise, sort_key, split_name
from ansinh.linkage import quality
from ansinh.registry.models import Person


def ensure_communes(codes: Sequence[str], *, province: str = "01") -> dict[str, int]:
    """Current communes with these codes (created if missing) → their ids."""
    from ansinh.access.testing import make_unit
    from ansinh.places.models import AdminUnit, UnitLevel, UnitSystem

    parent = make_unit(province)
    existing = dict(
        AdminUnit.objects.filter(
            system=UnitSystem.CURRENT, level=UnitLevel.COMMUNE, code__in=list(codes)
        ).values_list("code", "id")
    )
    missing = [
        AdminUnit(
            system=UnitSystem.CURRENT,
            level=UnitLevel.COMMUNE,
            code=c,
            name=f"Xã thử {c}",
            short_name=f"Thử {c}",
            parent=parent,
            province_code=parent.code,
            key=f"xa thu {c}",
        )
        for c in sorted(set(codes))
        if c not in existing
    ]
    AdminUnit.objects.bulk_create(missing, batch_size=500)
    return dict(
        AdminUnit.objects.filter(
            system=UnitSystem.CURRENT, level=UnitLevel.COMMUNE, code__in=list(codes)
        ).values_list("code", "id")
    )


def load_population(persons: Sequence[quality.Person]) -> dict[str, int]:
    """Insert generated persons as registry rows (bulk, bypassing the registration service's
    per-row checks); returns generated uid → Person pk."""
    units = ensure_communes(sorted({p.commune for p in persons}))
    rows = []
    for i, p in enumerate(persons):
        family, middle, given = split_name(p.full_name)
        rows.append(
            Person(
                ss_number=p.personal_id or f"NN{9_000_000_000 + i:010d}",
                personal_id=p.personal_id,
                full_name=p.full_name,
                family_name=family,
                middle_name=middle,
                given_name=given,
                name_normalised=normalise(p.full_name),
                sort_key=sort_key(p.full_name),
                date_of_birth=p.birth_date,
                sex=p.sex,
                address_unit_id=units[p.commune],
            )
        )
    Person.objects.bulk_create(rows, batch_size=1000)
    by_number = (
        dict(
            Person.objects.filter(ss_number__in=[r.ss_number for r in rows]).values_list(
                "ss_number", "pk"
            )
        )
        if len(rows) < 900
        else dict(Person.objects.values_list("ss_number", "pk"))
    )
    return {p.uid: by_number[r.ss_number] for p, r in zip(persons, rows, strict=True)}
