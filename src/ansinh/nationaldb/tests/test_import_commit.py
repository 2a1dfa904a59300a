"""The fast commit against the reference (issue 6, import rate).

``commit_batch`` writes the rows' links with one prepared UPDATE per chunk and reads the
paying communes in bulk; ``commit_batch(..., reference=True)`` keeps the earlier ORM way
(``bulk_update``, one commune query per code). Each test commits the same staged batch both
ways — the reference inside a savepoint that is rolled back — and requires the same persons
(with their name words, legacy numbers, address reviews), beneficiaries, households, members,
poverty statuses, row verdicts and links, and audit events, compared by natural keys (the
primary keys of a rolled-back run are not reused on PostgreSQL). Independent expectations
(one person per personal ID, the name words of every new person) are checked as well."""

from __future__ import annotations

import datetime as dt
import json
import random
from collections import Counter
from typing import Any

import pytest
from django.db import transaction

from ansinh.access.models import AuditEvent
from ansinh.access.testing import make_user
from ansinh.nationaldb.imports import services
from ansinh.nationaldb.models import (
    Beneficiary,
    Household,
    HouseholdMember,
    ImportBatch,
    PovertyStatus,
    RowVerdict,
)
from ansinh.nationaldb.tests.test_import_fast import _random_rows, _registered, _text, _units
from ansinh.registry.models import AddressReview, LegacyNumber, Person, PersonNameWord
from ansinh.registry.testing import default_commune_code, make_person, personal_id_for

pytestmark = pytest.mark.django_db


def _ss(pk: int | None) -> str | None:
    return None if pk is None else Person.objects.values_list("ss_number", flat=True).get(pk=pk)


def _detail(detail: Any) -> str:
    """An audit detail without the address review's primary key (not reused after a rollback
    on PostgreSQL): whether there is one is what must agree."""
    if isinstance(detail, dict) and "address_review" in detail:
        detail = {**detail, "address_review": True}
    return json.dumps(detail, sort_keys=True)


def _state(batch: ImportBatch) -> dict[str, Any]:
    """Everything a commit writes, by natural keys."""
    ss = dict(Person.objects.values_list("pk", "ss_number"))
    bens = {
        b.pk: (
            ss[b.person_id],
            b.programme.code,
            b.category.code,
            b.household.code if b.household_id else None,
            b.monthly_allowance,
            b.rule_snapshot.digest if b.rule_snapshot_id else None,
            b.legal_basis,
            b.start,
            b.end,
            b.paying_unit.code if b.paying_unit_id else None,
            b.paying_office,
            b.source_batch_id,
        )
        for b in Beneficiary.objects.select_related(
            "programme", "category", "household", "paying_unit", "rule_snapshot"
        )
    }
    batch.refresh_from_db()
    return {
        "batch": (batch.state, batch.counts),
        "rows": [
            (line, verdict, ss.get(person), bens.get(ben), reason)
            for line, verdict, person, ben, reason in batch.rows.order_by("line").values_list(
                "line", "verdict", "person_id", "beneficiary_id", "reason"
            )
        ],
        "persons": sorted(
            Person.objects.values_list(
                "ss_number",
                "personal_id",
                "full_name",
                "family_name",
                "middle_name",
                "given_name",
                "name_normalised",
                "sort_key",
                "date_of_birth",
                "sex",
                "nationality",
                "address_unit__code",
                "identity_check",
                "identity_flags",
            )
        ),
        "words": sorted(
            (ss[p], w) for p, w in PersonNameWord.objects.values_list("person", "word")
        ),
        "legacy": sorted(
            (ss[p], n) for p, n in LegacyNumber.objects.values_list("person", "number")
        ),
        "reviews": sorted(
            (
                ss[r.person_id],
                r.legacy_unit.code,
                r.proposed.code,
                r.source,
                sorted(r.candidates.values_list("code", flat=True)),
            )
            for r in AddressReview.objects.select_related("legacy_unit", "proposed")
        ),
        "beneficiaries": Counter(bens.values()),
        "households": sorted(
            (h.code, h.commune.code if h.commune_id else None, ss.get(h.head_id), h.source_batch_id)
            for h in Household.objects.select_related("commune")
        ),
        "members": sorted(
            (m.household.code, ss[m.person_id], m.relation)
            for m in HouseholdMember.objects.select_related("household")
        ),
        "statuses": sorted(
            PovertyStatus.objects.values_list("household__code", "year", "level", "source_batch")
        ),
        "audit": Counter(
            (
                e.action,
                e.object_type,
                ss.get(int(e.object_id)) if e.object_type == "person" else e.object_id,
                _detail(e.detail),
            )
            for e in AuditEvent.objects.filter(object_type__in=["person", "import_batch"])
        ),
    }


def _both(batch: ImportBatch, actor: Any) -> dict[str, Any]:
    """Commit through the reference in a rolled-back savepoint, then through the fast path;
    both must write the same. Returns the state after the fast commit."""
    with transaction.atomic():
        services.commit_batch(batch, actor=actor, reference=True)
        expected = _state(batch)
        transaction.set_rollback(True)
    batch.refresh_from_db()
    assert batch.state == "staged" and not Person.objects.filter(
        pk__in=batch.rows.filter(verdict=RowVerdict.LOADED).values("person")
    )
    services.commit_batch(batch, actor=actor)
    got = _state(batch)
    assert got.keys() == expected.keys()
    for key in expected:
        if key == "rows":
            for g, e in zip(got[key], expected[key], strict=True):
                assert g == e
        assert got[key] == expected[key], key
    return got


def _independent(batch: ImportBatch, state: dict[str, Any]) -> None:
    """Expectations computed from the staged rows, not from either commit."""
    rows = list(batch.rows.all())
    written = [r for r in rows if r.verdict in (RowVerdict.LOADED, RowVerdict.MERGED)]
    assert written and all(r.person_id and r.beneficiary_id for r in written)
    linked = {r.beneficiary_id for r in written}
    assert Beneficiary.objects.filter(pk__in=linked).count() == len(linked)  # no dangling link
    assert not any(r.person_id for r in rows if r.verdict == RowVerdict.DUPLICATE)
    for row in written:
        pid = row.data.get("personal_id")
        if pid and row.reason != "review_linked":  # one person per personal ID, that one
            assert Person.objects.get(pk=row.person_id).personal_id == pid
    persons = {r.person_id for r in written}
    expected = {
        (pk, w[:40])
        for pk, name in Person.objects.filter(pk__in=persons).values_list("pk", "name_normalised")
        for w in name.split(" ")
        if w
    }
    got = set(PersonNameWord.objects.filter(person__in=persons).values_list("person", "word"))
    assert got == expected


def _good_rows(n: int, seed: int) -> list[list[Any]]:
    """Rows that load: current, pre-2025 and split communes, several names and programmes."""
    units = _units()
    rng = random.Random(seed)
    born = dt.date(1956, 3, 12)
    rows = []
    for i in range(n):
        commune, legacy = rng.choice(
            [(units["current"], ""), (units["legacy"], ""), (units["split"], "")]
        )
        rows.append(
            [
                personal_id_for(born, "M", n=5000 + i),
                rng.choice(["Nguyễn Văn Hùng", "Lê Đức Thọ", "Hoàng Văn Tú", "nguyen van an"]),
                "12/03/1956",
                "Nam",
                commune,
                legacy,
                rng.choice(["NCT_80", "KT_NANG"]),
                "",
                rng.choice(["01/08/2024", "01/09/2024"]),
                "",
                rng.choice(["Bưu điện xã", ""]),
            ]
        )
    return rows


@pytest.mark.parametrize("seed", [66])
def test_commit_equals_the_reference_for_a_programme_file(seed: int) -> None:
    """2,400 rows: new persons (with and without personal ID, pre-2025 and split communes →
    address reviews), registered persons (merged), duplicates, conflicts and review rows an
    officer decided before the commit (link and new person)."""
    actor = make_user(role="manager")
    rows = _random_rows(800, seed=seed) + _good_rows(1400, seed) + _registered()
    batch = services.stage_file("tgxh", "c.csv", _text(rows).encode("utf-8-sig"), link=False)
    assert batch.counts["loaded"] + batch.counts["merged"] >= 1000
    assert batch.counts["merged"] and batch.counts["duplicate"] and batch.counts["review"]
    review = list(batch.rows.filter(verdict=RowVerdict.REVIEW).order_by("line")[:2])
    known = Person.objects.exclude(personal_id=None).first()
    services.decide_row(review[0], decision="link", ss_number=known.ss_number, actor=actor)
    services.decide_row(review[1], decision="separate", actor=actor)
    batch.refresh_from_db()
    state = _both(batch, actor)
    assert state["reviews"]  # split communes were imported
    _independent(batch, state)


def test_commit_equals_the_reference_for_a_poverty_file() -> None:
    """2,000 poverty rows in 500 households (heads, members, a registered member, members
    without personal ID, exact duplicate rows)."""
    commune = default_commune_code()
    rng = random.Random(7)
    header = [
        "Mã hộ",
        "Họ và tên",
        "Ngày sinh",
        "Giới tính",
        "Số CCCD",
        "Quan hệ với chủ hộ",
        "Phân loại hộ",
        "Năm rà soát",
        "Mã xã",
    ]
    born = dt.date(1970, 1, 2)
    registered = personal_id_for(born, "M", n=5)
    make_person(personal_id=registered, full_name="Lò Văn Páo", date_of_birth=born, sex="M")
    rows = []
    for h in range(500):
        for m, relation in enumerate(("Chủ hộ", "Vợ", "Con", "Con")):
            pid = personal_id_for(born, "M", n=100 + h * 4 + m) if rng.random() < 0.9 else ""
            rows.append(
                [
                    f"HN-{h:04d}",
                    rng.choice(["Lò Văn Páo", "Vàng A Dính", "Hà Văn Tú"]),
                    "02/01/1970",
                    "Nam",
                    pid,
                    relation,
                    rng.choice(["Hộ nghèo", "cận nghèo"]),
                    "2025",
                    commune,
                ]
            )
    rows[0][1], rows[0][4] = "Lò Văn Páo", registered
    rows += [list(rows[i]) for i in range(0, 2000, 97)]
    text = "\n".join(",".join(r) for r in [header, *rows])
    batch = services.stage_file("hongheo", "hn.csv", text.encode(), link=False)
    assert batch.counts["merged"] and batch.counts["duplicate"]
    state = _both(batch, make_user(role="manager"))
    assert len(state["households"]) == 500 and state["statuses"]
    _independent(batch, state)
