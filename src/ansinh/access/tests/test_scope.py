"""Administrative scope: who may see which persons and employers."""

from __future__ import annotations

import datetime as dt

import pytest
from django.contrib.auth.models import Permission
from django.db import connection
from django.test.utils import CaptureQueriesContext

from ansinh.access.selectors import (
    clear_scope_cache,
    filter_employers_in_scope,
    filter_persons_in_scope,
    scope_commune_ids,
)
from ansinh.access.testing import make_org, make_unit, make_user
from ansinh.access.tests.helpers import employer, person, spell
from ansinh.places.models import AdminUnit
from ansinh.registry.models import Employer, Person

pytestmark = pytest.mark.django_db

TODAY = dt.date(2026, 3, 1)


@pytest.fixture
def units() -> dict[str, object]:
    return {
        "a1": make_unit("00101", province="01"),
        "a2": make_unit("00102", province="01"),
        "b1": make_unit("79001", province="79"),
    }


def visible(user: object) -> set[int]:
    qs = filter_persons_in_scope(Person.objects.all(), user, today=TODAY)
    return set(qs.values_list("pk", flat=True))


def test_province_scope_covers_its_communes(units: dict) -> None:
    user = make_user("officer", org=make_org(scope_codes=("01",)))
    scope = scope_commune_ids(user)
    # Other tests may have loaded the real units: check ours are in and province 79's are not.
    assert {units["a1"].pk, units["a2"].pk} <= scope
    assert units["b1"].pk not in scope
    assert set(AdminUnit.objects.filter(pk__in=scope).values_list("province_code", flat=True)) == {
        "01"
    }
    inside, also_inside, outside = person(units["a1"]), person(units["a2"]), person(units["b1"])
    homeless = person(None)
    assert visible(user) == {inside.pk, also_inside.pk}
    assert outside.pk not in visible(user) and homeless.pk not in visible(user)


def test_commune_scope_covers_only_that_commune(units: dict) -> None:
    user = make_user("officer", org=make_org("commune_office", scope_codes=("00102",)))
    assert scope_commune_ids(user) == {units["a2"].pk}
    person(units["a1"])
    mine = person(units["a2"])
    assert visible(user) == {mine.pk}


def test_open_spell_with_employer_in_scope_brings_person_in(units: dict) -> None:
    user = make_user("officer", org=make_org(scope_codes=("01",)))
    firm_here, firm_there = employer(units["a1"]), employer(units["b1"])
    commuter = person(units["b1"])  # lives in province 79, works in province 01
    spell(commuter, firm_here, dt.date(2025, 1, 1))
    ending_today = person(units["b1"])
    spell(ending_today, firm_here, dt.date(2024, 1, 1), end=TODAY)
    left = person(units["b1"])  # worked here, spell closed
    spell(left, firm_here, dt.date(2020, 1, 1), end=dt.date(2025, 12, 31))
    elsewhere = person(units["b1"])
    spell(elsewhere, firm_there, dt.date(2025, 1, 1))
    assert visible(user) == {commuter.pk, ending_today.pk}


def test_filter_is_one_query_without_duplicates(units: dict) -> None:
    user = make_user("officer", org=make_org(scope_codes=("01",)))
    firm = employer(units["a1"])
    local = person(units["a1"])
    spell(local, firm, dt.date(2025, 1, 1))  # in scope both ways: must appear once
    scope_commune_ids(user)  # warm the per-user cache
    with CaptureQueriesContext(connection) as ctx:
        rows = list(filter_persons_in_scope(Person.objects.all(), user, today=TODAY))
    assert [p.pk for p in rows] == [local.pk]
    assert len(ctx.captured_queries) == 1


def test_nationwide_and_superuser_and_view_any_area_see_everything(units: dict) -> None:
    central = make_user("officer", org=make_org("central", scope_codes=(), nationwide=True))
    root = make_user(None, org=False, is_superuser=True)
    roaming = make_user("officer", org=make_org(scope_codes=("79",)))
    roaming.user_permissions.add(Permission.objects.get(codename="view_any_area"))
    roaming = type(roaming).objects.get(pk=roaming.pk)  # fresh permission cache
    everyone = {person(units["a1"]).pk, person(units["b1"]).pk, person(None).pk}
    for user in (central, root, roaming):
        assert scope_commune_ids(user) is None
        assert visible(user) == everyone


def test_user_without_organisation_sees_nothing(units: dict) -> None:
    person(units["a1"])
    loner = make_user("officer", org=False)
    assert scope_commune_ids(loner) == frozenset()
    assert visible(loner) == set()
    assert not filter_employers_in_scope(Employer.objects.all(), loner).exists()


def test_inactive_organisation_sees_nothing(units: dict) -> None:
    org = make_org(scope_codes=("01",))
    org.active = False
    org.save()
    person(units["a1"])
    assert visible(make_user("officer", org=org)) == set()


def test_employer_scope_by_address(units: dict) -> None:
    user = make_user("officer", org=make_org(scope_codes=("01",)))
    here, there = employer(units["a2"]), employer(units["b1"])
    qs = filter_employers_in_scope(Employer.objects.all(), user)
    assert set(qs.values_list("pk", flat=True)) == {here.pk}
    assert there.pk not in set(qs.values_list("pk", flat=True))


def test_scope_is_cached_per_user_object(units: dict) -> None:
    org = make_org(scope_codes=("00101",))
    user = make_user("officer", org=org)
    first = scope_commune_ids(user)
    org.scope_units.add(units["b1"])
    assert scope_commune_ids(user) == first  # same request: cached
    clear_scope_cache(user)
    assert scope_commune_ids(user) == {units["a1"].pk, units["b1"].pk}
