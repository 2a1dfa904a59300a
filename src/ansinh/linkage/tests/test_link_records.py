"""link_records: bands, review pairs, remembered decisions (nationaldb import interface)."""

from __future__ import annotations

import datetime as dt

import pytest

from ansinh.core.errors import DomainError
from ansinh.linkage import quality
from ansinh.linkage.models import PairState, ReviewPair
from ansinh.linkage.normalise import fold
from ansinh.linkage.records import SourceRecord
from ansinh.linkage.services import link_records
from ansinh.linkage.testing import load_population

pytestmark = pytest.mark.django_db


def _registry(n: int = 300) -> tuple[list[quality.Person], dict[str, int]]:
    people = list(quality.population(n, seed=5, prefix="r"))
    return people, load_population(people)


def _record(p: quality.Person, key: str, **kw) -> SourceRecord:
    data = {
        "key": key,
        "personal_id": p.personal_id,
        "full_name": p.full_name,
        "birth_date": p.birth_date,
        "sex": p.sex,
        "commune_code": p.commune,
    }
    data.update(kw)
    return SourceRecord(**data)


def test_exact_copy_links_and_stranger_does_not():
    people, pks = _registry()
    p = next(x for x in people if x.personal_id)
    stranger = SourceRecord("s:2", "001099123456", "Zơ Râm Kơ", dt.date(1950, 1, 1), "M", None)
    out = link_records([_record(p, "s:1"), stranger])
    assert out["s:1"].band == "link"
    assert out["s:1"].person_id == pks[p.uid]
    assert out["s:2"].band == "none"
    assert out["s:2"].person_id is None or out["s:2"].probability < 0.3


def _review_settings(settings) -> None:
    # A near-certain link threshold puts a record without an ID into the review band.
    settings.LINKAGE_LINK_THRESHOLD = 0.999999999
    settings.LINKAGE_REVIEW_THRESHOLD = 0.01


def test_review_band_opens_one_pair_and_reuses_it(settings):
    _review_settings(settings)
    people, pks = _registry()
    p = people[3]
    rec = _record(p, "tgxh:b1:r1", personal_id=None, commune_code=None)
    out = link_records([rec])
    assert out[rec.key].band == "review"
    assert out[rec.key].person_id == pks[p.uid]
    pair = ReviewPair.objects.get()
    assert pair.record["full_name"] == p.full_name and pair.state == PairState.OPEN
    assert set(pair.evidence) == {"pid", "name", "dob", "sex", "commune"}
    again = link_records([_record(p, "tgxh:b2:r9", personal_id=None, commune_code=None)])
    assert again["tgxh:b2:r9"].band == "review"
    assert ReviewPair.objects.count() == 1  # same fingerprint, same person: not a new pair


def test_duplicate_keys_are_refused():
    people, _ = _registry(20)
    rec = _record(people[0], "k")
    with pytest.raises(DomainError):
        link_records([rec, rec])


def test_name_order_and_missing_accents_and_swapped_date_still_link():
    people, pks = _registry()
    p = next(
        x
        for x in people
        if x.personal_id and x.birth_date.day <= 12 and x.birth_date.day != x.birth_date.month
    )
    words = fold(p.full_name).split(" ")
    swapped = p.birth_date.replace(day=p.birth_date.month, month=p.birth_date.day)
    rec = _record(
        p, "s:1", full_name=" ".join([words[-1], *words[:-1]]).upper(), birth_date=swapped
    )
    out = link_records([rec])
    assert out["s:1"].band == "link" and out["s:1"].person_id == pks[p.uid]
