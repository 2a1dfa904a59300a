"""Linkage reads: the review queue, one pair side by side, linked persons."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any

from django.db.models import Q, QuerySet

from ansinh.core.errors import DomainError
from ansinh.linkage.models import LinkDecision, PairSource, PairState, PersonLink, ReviewPair
from ansinh.linkage.normalise import (
    clean_personal_id,
    dates_relation,
    fold,
    id_edit,
    name_parts,
)
from ansinh.linkage.records import SourceRecord
from ansinh.registry.models import Person, Sex


def linked_persons(person: Person | int) -> list[Person]:
    """Every other registry person linked to this one as the same identity, directly or
    through others (active ``PersonLink``s), for the 360° view. Ordered by id."""
    start = person if isinstance(person, int) else person.pk
    seen = {start}
    frontier = {start}
    while frontier:
        links = PersonLink.objects.filter(active=True).filter(
            Q(person_a_id__in=frontier) | Q(person_b_id__in=frontier)
        )
        found: set[int] = set()
        for a, b in links.values_list("person_a_id", "person_b_id"):
            found.update((a, b))
        frontier = found - seen
        seen |= found
    seen.discard(start)
    return list(Person.objects.filter(pk__in=seen).order_by("pk"))


def review_queue(
    *,
    user: Any = None,
    state: str | None = PairState.OPEN,
    source: str | None = None,
    band: str | None = None,
    min_probability: float | None = None,
    max_probability: float | None = None,
) -> QuerySet[ReviewPair]:
    """Pairs to review (hàng chờ), most probable first; limited to pairs whose registry persons
    are all in the user's scope when a user is given. ``band`` ``link``/``review`` filters by
    the thresholds in force."""
    from ansinh.linkage.services import thresholds

    if state is not None and state not in PairState.values:
        raise DomainError("state_invalid", "state", "Trạng thái không hợp lệ.", "Invalid state.")
    if source is not None and source not in PairSource.values:
        raise DomainError("source_invalid", "source", "Nguồn không hợp lệ.", "Invalid source.")
    qs = ReviewPair.objects.select_related("person__address_unit", "other_person__address_unit")
    if state is not None:
        qs = qs.filter(state=state)
    if source is not None:
        qs = qs.filter(source=source)
    hi, lo = thresholds()
    if band == "link":
        qs = qs.filter(probability__gte=hi)
    elif band == "review":
        qs = qs.filter(probability__gte=lo, probability__lt=hi)
    elif band:
        raise DomainError("band_invalid", "band", "Ngưỡng không hợp lệ.", "Invalid band.")
    if min_probability is not None:
        qs = qs.filter(probability__gte=min_probability)
    if max_probability is not None:
        qs = qs.filter(probability__lte=max_probability)
    if user is not None:
        from ansinh.access.selectors import filter_persons_in_scope, scope_commune_ids

        if scope_commune_ids(user) is not None:
            persons = filter_persons_in_scope(Person.objects.all(), user).values("pk")
            qs = qs.filter(person__in=persons).filter(
                Q(other_person__isnull=True) | Q(other_person__in=persons)
            )
    return qs.order_by("-probability", "id")


def get_pair(pk: int) -> ReviewPair | None:
    return (
        ReviewPair.objects.select_related("person__address_unit", "other_person__address_unit")
        .filter(pk=pk)
        .first()
    )


def pair_decisions(pair: ReviewPair) -> list[LinkDecision]:
    return list(pair.decisions.select_related("actor").order_by("at", "id"))


@dataclass(frozen=True)
class FieldRow:
    """One line of the side-by-side view: the two values and how they compare."""

    label: str
    left: str
    right: str
    relation: str  # "same" | "similar" | "different" | "missing"


def _side(pair: ReviewPair) -> SourceRecord:
    if pair.other_person_id:
        p = pair.other_person
        return SourceRecord(
            key=p.ss_number,
            personal_id=p.personal_id,
            full_name=p.full_name,
            birth_date=p.date_of_birth,
            sex=p.sex,
            commune_code=p.address_unit.code if p.address_unit_id else None,
        )
    return SourceRecord.from_snapshot(pair.record or {})


def _text(value: Any) -> str:
    if value is None or value == "":
        return "—"
    if isinstance(value, dt.date):
        return value.strftime("%d/%m/%Y")
    return str(value)


def _sex(value: str | None) -> str:
    """The label an officer reads (Nam/Nữ), not the stored code; an unknown code shown as is."""
    if not value:
        return "—"
    try:
        return str(Sex(value.upper()).label)
    except ValueError:
        return value


def side_by_side(pair: ReviewPair) -> list[FieldRow]:
    """The compared fields of the two records, each marked same / similar / different, so the
    review page can highlight what differs."""
    p = pair.person
    left = SourceRecord(
        key=p.ss_number,
        personal_id=p.personal_id,
        full_name=p.full_name,
        birth_date=p.date_of_birth,
        sex=p.sex,
        commune_code=p.address_unit.code if p.address_unit_id else None,
    )
    right = _side(pair)
    rows: list[FieldRow] = []
    a_id, b_id = clean_personal_id(left.personal_id), clean_personal_id(right.personal_id)
    if not a_id or not b_id:
        rel = "missing"
    else:
        rel = {"exact": "same", "different": "different"}.get(id_edit(a_id, b_id), "similar")
    rows.append(FieldRow("personal_id", _text(left.personal_id), _text(right.personal_id), rel))
    la, lb = name_parts(left.full_name), name_parts(right.full_name)
    if la[0] == lb[0]:
        rel = "same"
    elif la[2] == lb[2]:
        rel = "similar"
    else:
        rel = "different"
    rows.append(FieldRow("full_name", left.full_name, right.full_name, rel))
    dr = dates_relation(left.birth_date, right.birth_date)
    rel = {"exact": "same", "missing": "missing", "different": "different"}.get(dr, "similar")
    rows.append(FieldRow("birth_date", _text(left.birth_date), _text(right.birth_date), rel))
    for label, a, b in (
        ("sex", left.sex, right.sex),
        ("commune", left.commune_code, right.commune_code),
    ):
        if not a or not b:
            rel = "missing"
        else:
            rel = "same" if fold(a) == fold(b) else "different"
        show = _sex if label == "sex" else _text
        rows.append(FieldRow(label, show(a), show(b), rel))
    return rows


def person_pairs(person: Person | int) -> QuerySet[ReviewPair]:
    """Every pair (any state) that involves this person: the linkage history of the 360° view."""
    pk = person if isinstance(person, int) else person.pk
    return (
        ReviewPair.objects.filter(Q(person_id=pk) | Q(other_person_id=pk))
        .select_related("person", "other_person")
        .prefetch_related("decisions")
        .order_by("-created_at", "-id")
    )
