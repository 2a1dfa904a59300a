"""The review screen through the Django test client (no browser)."""

from __future__ import annotations

import pytest
from django.urls import reverse

from ansinh.access.models import AuditEvent
from ansinh.access.testing import login_verified, make_org, make_user
from ansinh.linkage import quality
from ansinh.linkage.models import PairState, ReviewPair
from ansinh.linkage.records import SourceRecord
from ansinh.linkage.services import link_records
from ansinh.linkage.testing import load_population

pytestmark = pytest.mark.django_db


@pytest.fixture
def pair(settings) -> ReviewPair:
    settings.LINKAGE_LINK_THRESHOLD = 0.999999999
    settings.LINKAGE_REVIEW_THRESHOLD = 0.01
    people = list(quality.population(100, seed=13, prefix="r"))
    load_population(people)
    p = people[0]
    rec = SourceRecord("ncc:b1:r7", None, p.full_name.upper(), p.birth_date, p.sex, "99999")
    link_records([rec])
    return ReviewPair.objects.get()


def test_queue_and_pair_page_show_both_sides_and_differences(client, pair):
    login_verified(client, make_user("officer"))
    r = client.get(reverse("linkage:queue"))
    assert r.status_code == 200
    assert reverse("linkage:pair", args=[pair.pk]) in r.content.decode()
    r = client.get(reverse("linkage:pair", args=[pair.pk]))
    html = r.content.decode()
    assert r.status_code == 200
    assert pair.person.full_name in html and pair.record["full_name"] in html
    assert 'data-relation="different"' in html  # the commune differs
    sex_row = html[html.index('data-field="sex"') :][:400]
    assert "Nam" in sex_row or "Nữ" in sex_row  # the label, not the stored M/F code
    assert 'id="weights-chart"' in html and "<rect" in html
    assert 'value="link"' in html and 'value="separate"' in html
    assert AuditEvent.objects.filter(
        action="read", object_type="review_pair", object_id=str(pair.pk)
    ).exists()


def test_link_then_undo_through_the_page(client, pair):
    login_verified(client, make_user("officer"))
    url = reverse("linkage:decide", args=[pair.pk])
    r = client.post(url, {"decision": "link", "note": "giấy tờ khớp", "version": "0"})
    assert r.status_code == 302
    pair.refresh_from_db()
    assert pair.state == PairState.LINKED
    page = client.get(reverse("linkage:pair", args=[pair.pk])).content.decode()
    assert 'value="undo"' in page and "giấy tờ khớp" in page
    client.post(url, {"decision": "undo", "version": "1"})
    pair.refresh_from_db()
    assert pair.state == PairState.OPEN


def test_stale_version_is_refused_with_a_message(client, pair):
    login_verified(client, make_user("officer"))
    r = client.post(
        reverse("linkage:decide", args=[pair.pk]), {"decision": "link", "version": "5"}, follow=True
    )
    assert r.status_code == 200
    pair.refresh_from_db()
    assert pair.state == PairState.OPEN


def test_roles_and_scope(client, pair):
    login_verified(client, make_user("auditor"))
    assert client.get(reverse("linkage:queue")).status_code == 403
    assert client.get(reverse("linkage:pair", args=[pair.pk])).status_code == 403
    client.logout()
    login_verified(client, make_user("officer", org=make_org(scope_codes=("79",))))
    assert pair.pk not in [p.pk for p in client.get(reverse("linkage:queue")).context["page"]]
    assert client.get(reverse("linkage:pair", args=[pair.pk])).status_code == 403
    r = client.post(reverse("linkage:decide", args=[pair.pk]), {"decision": "link"})
    assert r.status_code == 403
    pair.refresh_from_db()
    assert pair.state == PairState.OPEN
