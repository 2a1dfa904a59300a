"""Record linkage in the 360° person view: linked records and the pair history, for users who
may see review pairs."""

from __future__ import annotations

import datetime as dt
from zoneinfo import ZoneInfo

import pytest
from django.test import Client
from django.urls import reverse

from ansinh.access.testing import login_verified, make_org, make_user
from ansinh.linkage.models import PairState, PersonLink, ReviewPair
from ansinh.registry.testing import make_person

pytestmark = pytest.mark.django_db
AT = dt.datetime(2026, 11, 2, 10, tzinfo=ZoneInfo("Asia/Ho_Chi_Minh"))


def _page(client: Client, person) -> str:
    url = reverse("registry:person_detail", args=[person.ss_number])
    client.post(url, {"purpose": "verification"})
    return client.get(url).content.decode()


def test_linked_records_and_pairs_show_on_the_person_page(client: Client) -> None:
    a, b = sorted([make_person(), make_person()], key=lambda p: p.pk)
    pair = ReviewPair.objects.create(
        source="dedupe",
        person=a,
        other_person=b,
        probability=0.97,
        match_weight=8.1,
        state=PairState.LINKED,
        created_at=AT,
        decided_at=AT,
    )
    PersonLink.objects.create(person_a=a, person_b=b, pair=pair, created_at=AT)
    staff = login_verified(client, make_user("officer", org=make_org(scope_codes=("01",))))
    html = _page(staff, a)
    assert 'id="h-linkage"' in html
    assert reverse("registry:person_detail", args=[b.ss_number]) in html
    assert reverse("linkage:pair", args=[pair.pk]) in html
    assert "Hồ sơ đã liên kết" in html  # the overview fact


def test_no_linkage_section_without_pairs(client: Client) -> None:
    staff = login_verified(client, make_user("officer", org=make_org(scope_codes=("01",))))
    assert 'id="h-linkage"' not in _page(staff, make_person())
