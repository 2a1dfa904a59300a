"""The linkage API: queue and decisions with a bearer token."""

from __future__ import annotations

import pytest

from ansinh.access.testing import make_user, token_for
from ansinh.linkage import quality
from ansinh.linkage.models import PairState, ReviewPair
from ansinh.linkage.records import SourceRecord
from ansinh.linkage.services import link_records
from ansinh.linkage.testing import load_population

pytestmark = pytest.mark.django_db


def test_queue_and_decision(client, settings):
    settings.LINKAGE_LINK_THRESHOLD = 0.999999999
    settings.LINKAGE_REVIEW_THRESHOLD = 0.01
    people = list(quality.population(80, seed=17, prefix="r"))
    load_population(people)
    p = people[1]
    link_records([SourceRecord("api:1", None, p.full_name, p.birth_date, p.sex, None)])
    pair = ReviewPair.objects.get()
    auth = {"HTTP_AUTHORIZATION": f"Bearer {token_for(make_user('officer'))}"}
    r = client.get("/api/v1/linkage/pairs", **auth)
    assert r.status_code == 200
    assert [x["id"] for x in r.json()] == [pair.pk]
    assert "full_name" not in r.content.decode()
    url = f"/api/v1/linkage/pairs/{pair.pk}/decision"
    r = client.post(
        url, {"decision": "link", "version": 0}, content_type="application/json", **auth
    )
    assert r.status_code == 200 and r.json()["state"] == PairState.LINKED
    r = client.post(url, {"decision": "link"}, content_type="application/json", **auth)
    assert r.status_code == 409 and r.json()["code"] == "pair_decided"
    denied = {"HTTP_AUTHORIZATION": f"Bearer {token_for(make_user('auditor'))}"}
    assert client.get("/api/v1/linkage/pairs", **denied).status_code == 403
