"""Addresses given as a pre-2025 commune: a commune merged whole gives its successor; one that
was split gives the default successor provisionally and an open review, resolved by an officer
who picks the right candidate.

Real units: Phường Phúc Xá (00001, Ba Đình, Hà Nội) became part of Phường Hồng Hà (00097);
Phường Cống Vị (00007) was split between Phường Ngọc Hà (00008, default) and Phường Giảng Võ
(00025)."""

from __future__ import annotations

import datetime as dt
import io

import pytest
from django.db import IntegrityError, connection, transaction
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from ansinh.access.models import AuditEvent
from ansinh.access.testing import login_verified, make_org, make_user, token_for
from ansinh.core.errors import Conflict, DomainError
from ansinh.registry import selectors, services
from ansinh.registry.models import AddressReview, Person, ReviewStatus
from ansinh.registry.testing import make_person

pytestmark = pytest.mark.django_db

PHUC_XA, HONG_HA = "00001", "00097"
CONG_VI, NGOC_HA, GIANG_VO = "00007", "00008", "00025"
BASE = "/api/v1/registry"


def _legacy_person(code: str = CONG_VI, **kw) -> Person:
    return make_person(address_unit_code=None, legacy_address_unit_code=code, **kw)


def _review(person: Person) -> AddressReview:
    return AddressReview.objects.get(person=person, status=ReviewStatus.OPEN)


def _officer(scope: str = "01", role: str = "officer"):
    return make_user(role, org=make_org(scope_codes=(scope,)))


# --- services ----------------------------------------------------------------------------------


def test_unambiguous_legacy_address_becomes_its_successor() -> None:
    person = _legacy_person(PHUC_XA)
    assert person.address_unit.code == HONG_HA and person.address_unit.system == "2025"
    assert not AddressReview.objects.exists()


def test_split_commune_gives_provisional_default_and_an_open_review() -> None:
    person = _legacy_person(CONG_VI)
    assert person.address_unit.code == NGOC_HA
    review = _review(person)
    assert review.legacy_unit.code == CONG_VI and review.legacy_unit.system == "legacy"
    assert review.proposed.code == NGOC_HA
    assert sorted(review.candidates.values_list("code", flat=True)) == [NGOC_HA, GIANG_VO]
    assert review.source == "api" and review.chosen is None and review.resolved_at is None
    assert [u.code for u in selectors.review_candidates(review)] == [NGOC_HA, GIANG_VO]


def test_bad_legacy_address_names_the_field_and_writes_nothing() -> None:
    with pytest.raises(DomainError) as exc:
        make_person(address_unit_code=HONG_HA, legacy_address_unit_code=CONG_VI)
    assert exc.value.first.field == "legacy_address_unit_code"
    assert exc.value.first.code == "address_exclusive"
    with pytest.raises(DomainError) as exc:
        _legacy_person("99999")
    assert exc.value.status == 400
    assert (exc.value.first.code, exc.value.first.field) == (
        "unknown_unit",
        "legacy_address_unit_code",
    )
    assert not Person.objects.exists() and not AddressReview.objects.exists()


def test_resolve_with_a_candidate_sets_the_address_and_is_audited() -> None:
    officer = _officer()
    person = _legacy_person()
    review = services.resolve_address_review(_review(person), chosen_code=GIANG_VO, actor=officer)
    person.refresh_from_db()
    assert person.address_unit.code == GIANG_VO
    review.refresh_from_db()
    assert review.status == ReviewStatus.RESOLVED and review.chosen.code == GIANG_VO
    assert review.resolved_by == officer and review.resolved_at is not None
    event = AuditEvent.objects.get(actor=officer, action="update", object_type="person")
    assert event.object_id == str(person.pk)
    assert event.detail["address_review"] == review.pk and event.detail["chosen"] == GIANG_VO
    assert not selectors.address_reviews(user=officer).exists()


def test_resolve_with_a_non_candidate_is_refused_and_writes_nothing() -> None:
    officer = _officer()
    person = _legacy_person()
    review = _review(person)
    for code in (HONG_HA, "", "99999"):
        with pytest.raises(DomainError) as exc:
            services.resolve_address_review(review, chosen_code=code, actor=officer)
        assert (exc.value.first.code, exc.value.first.field) == ("not_a_candidate", "chosen")
    person.refresh_from_db()
    review.refresh_from_db()
    assert person.address_unit.code == NGOC_HA and review.status == ReviewStatus.OPEN
    assert not AuditEvent.objects.filter(action="update").exists()


def test_double_resolve_is_a_conflict() -> None:
    officer = _officer()
    review = _review(_legacy_person())
    stale = AddressReview.objects.get(pk=review.pk)  # a second officer's copy, still open
    services.resolve_address_review(review, chosen_code=NGOC_HA, actor=officer)
    for copy in (review, stale):
        with pytest.raises(Conflict) as exc:
            services.resolve_address_review(copy, chosen_code=GIANG_VO, actor=officer)
        assert exc.value.first.code == "review_closed" and exc.value.status == 409
    assert Person.objects.get().address_unit.code == NGOC_HA


def test_one_open_review_per_person() -> None:
    person = _legacy_person()
    review = _review(person)
    with pytest.raises(IntegrityError), transaction.atomic():
        AddressReview.objects.create(
            person=person, legacy_unit=review.legacy_unit, proposed=review.proposed, source="api"
        )


def test_set_legacy_address_on_an_existing_person_supersedes_the_open_review() -> None:
    officer = _officer()
    person = make_person()
    review = services.set_legacy_address(person, CONG_VI, actor=officer, source="form")
    assert review is not None and review.source == "form"
    person.refresh_from_db()
    assert person.address_unit.code == NGOC_HA
    assert services.set_legacy_address(person, PHUC_XA, actor=officer) is None
    person.refresh_from_db()
    assert person.address_unit.code == HONG_HA
    review.refresh_from_db()
    assert review.status == ReviewStatus.RESOLVED and review.chosen is None
    assert not AddressReview.objects.filter(status="open").exists()
    with pytest.raises(DomainError) as exc:
        services.set_legacy_address(person, "99999", actor=officer)
    assert exc.value.first.field == "legacy_address_unit_code"


def test_a_current_address_given_later_closes_the_open_review() -> None:
    person = _legacy_person()
    services.update_person(person, address_unit_code=GIANG_VO)
    assert not AddressReview.objects.filter(status="open").exists()
    assert Person.objects.get().address_unit.code == GIANG_VO


def test_batch_opens_reviews_for_split_communes() -> None:
    rows = [
        {"full_name": "Kim Min Jun", "date_of_birth": "1990-01-01", "sex": "M",
         "nationality": "KR", "legacy_address_unit_code": CONG_VI},
        {"full_name": "Lê Thị Hoa", "date_of_birth": "1991-01-01", "sex": "F",
         "legacy_address_unit_code": PHUC_XA},
    ]  # fmt: skip
    persons = services.register_persons_batch(rows, actor=None)
    assert [p.address_unit.code for p in persons] == [NGOC_HA, HONG_HA]
    assert AddressReview.objects.get().person == persons[0]


CSV = (
    "personal_id,full_name,date_of_birth,sex,address_unit_code,legacy_address_unit_code\n"
    ",Nguyễn Văn An,1990-05-17,M,,00001\n"
    ",Trần Thị Bình,1985-02-03,F,,00007\n"
    "001085000123,Lê Văn Cường,1985-02-03,M,,00007\n"
    ",Phạm Văn Dũng,1980-01-01,M,00097,00007\n"
    ",Hoàng Thị Én,1980-01-01,F,,99999\n"
)


def test_import_counts_persons_sent_to_review(tmp_path) -> None:
    from django.core.management import call_command

    report = services.import_persons(io.StringIO(CSV))
    assert (report.created, report.sent_to_review, report.rejected) == (3, 2, 2)
    assert {(e.line, e.field, e.code) for e in report.errors} == {
        (5, "legacy_address_unit_code", "address_exclusive"),
        (6, "legacy_address_unit_code", "unknown_unit"),
    }
    assert set(AddressReview.objects.values_list("source", flat=True)) == {"import"}
    cuong = Person.objects.get(ss_number="001085000123")
    services.resolve_address_review(_review(cuong), chosen_code=GIANG_VO, actor=None)
    path = tmp_path / "persons.csv"
    path.write_text(CSV.replace(",Nguyễn Văn An", "001090000777,Nguyễn Văn An"), encoding="utf-8")
    out = io.StringIO()
    with pytest.raises(SystemExit):  # rows 5 and 6 are still bad
        call_command("import_persons", str(path), stdout=out)
    # Cường (resolved to a candidate) is unchanged; An (now with a personal ID) and Bình
    # (still without one) are registered again, Bình's address going to review again.
    assert "created=2 unchanged=1 rejected=2 sent_to_review=1" in out.getvalue()
    assert AddressReview.objects.filter(status="open").count() == 2


# --- API ---------------------------------------------------------------------------------------


def _api(user) -> Client:
    return Client(HTTP_AUTHORIZATION=f"Bearer {token_for(user)}", HTTP_X_PURPOSE="test")


def test_api_create_list_and_resolve() -> None:
    officer = _officer()
    api = _api(officer)
    r = api.post(
        f"{BASE}/persons",
        {"full_name": "Nguyễn Văn An", "date_of_birth": "1990-05-17", "sex": "M",
         "legacy_address_unit_code": CONG_VI},
        content_type="application/json",
    )  # fmt: skip
    assert r.status_code == 201, r.content
    assert r.json()["address_unit_code"] == NGOC_HA
    body = api.get(f"{BASE}/address-reviews").json()
    assert body["count"] == 1
    item = body["items"][0]
    assert item["person"] == r.json()["ss_number"] and item["status"] == "open"
    assert item["legacy_unit"] == {
        "code": CONG_VI,
        "name": "Phường Cống Vị",
        "district": "Quận Ba Đình",
        "province": "Thành phố Hà Nội",
    }
    assert [(c["code"], c["default"]) for c in item["candidates"]] == [
        (NGOC_HA, True),
        (GIANG_VO, False),
    ]
    url = f"{BASE}/address-reviews/{item['id']}/resolve"
    bad = api.post(url, {"chosen": HONG_HA}, content_type="application/json")
    assert bad.status_code == 400 and bad.json()["code"] == "not_a_candidate"
    ok = api.post(url, {"chosen": GIANG_VO}, content_type="application/json")
    assert ok.status_code == 200, ok.content
    assert ok.json()["status"] == "resolved" and ok.json()["chosen"] == GIANG_VO
    assert ok.json()["resolved_by"] == officer.username
    again = api.post(url, {"chosen": GIANG_VO}, content_type="application/json")
    assert again.status_code == 409 and again.json()["code"] == "review_closed"
    assert api.get(f"{BASE}/address-reviews").json()["count"] == 0
    assert api.get(f"{BASE}/address-reviews", {"status": "all"}).json()["count"] == 1
    assert api.get(f"{BASE}/address-reviews", {"status": "x"}).status_code == 400
    missing = api.post(f"{BASE}/address-reviews/999999/resolve", {"chosen": NGOC_HA},
                       content_type="application/json")  # fmt: skip
    assert missing.status_code == 404


def test_api_scope_and_permission() -> None:
    review = _review(_legacy_person())
    other = _api(_officer(scope="79"))
    assert other.get(f"{BASE}/address-reviews").json()["count"] == 0
    r = other.post(
        f"{BASE}/address-reviews/{review.pk}/resolve",
        {"chosen": NGOC_HA},
        content_type="application/json",
    )
    assert r.status_code == 403 and r.json()["code"] == "out_of_scope"
    auditor = _api(_officer(role="auditor"))
    assert auditor.get(f"{BASE}/address-reviews").status_code == 403
    review.refresh_from_db()
    assert review.status == ReviewStatus.OPEN


def test_nav_count_is_one_query() -> None:
    """Once the user's permissions and scope are known (cached for the request, and already
    needed by the page), the navigation count costs one query."""
    from ansinh.access.selectors import scope_commune_ids

    _legacy_person()
    for officer in (
        _officer(),
        make_user("officer", org=make_org(scope_codes=(), nationwide=True)),
    ):
        scope_commune_ids(officer)
        with CaptureQueriesContext(connection) as ctx:
            assert selectors.open_address_review_count(officer) == 1
        assert len(ctx.captured_queries) == 1


# --- page --------------------------------------------------------------------------------------


def test_page_shows_the_queue_and_resolves_with_htmx(client: Client) -> None:
    officer = _officer()
    login_verified(client, officer)
    person = _legacy_person(full_name="Trần Thị Bình", date_of_birth=dt.date(1985, 2, 3), sex="F")
    url = reverse("registry:address_reviews")
    assert url == "/registry/address-reviews/"
    html = client.get(url).content.decode()
    assert person.ss_number in html and "Trần Thị Bình" in html
    assert "Phường Cống Vị" in html and "Quận Ba Đình" in html and "Thành phố Hà Nội" in html
    assert "Phường Ngọc Hà" in html and "Phường Giảng Võ" in html
    assert 'class="badge due">1<' in html  # the navigation count
    assert "Xác định địa chỉ" in html and "mặc định" in html  # Vietnamese by default
    review = _review(person)
    resolve = reverse("registry:address_review_resolve", args=[review.pk])
    r = client.post(resolve, {"chosen": GIANG_VO}, HTTP_HX_REQUEST="true")
    assert r.status_code == 200
    row = r.content.decode()
    assert f'id="review-{review.pk}"' in row and "Phường Giảng Võ" in row
    assert "<form" not in row and 'class="badge ok"' in row
    person.refresh_from_db()
    assert person.address_unit.code == GIANG_VO
    assert AuditEvent.objects.filter(actor=officer, action="update", object_type="person").exists()
    again = client.post(resolve, {"chosen": NGOC_HA}, HTTP_HX_REQUEST="true")
    assert again.status_code == 200 and 'role="alert"' not in again.content.decode()
    assert "field-error" in again.content.decode()
    assert person.ss_number not in client.get(url).content.decode()


def test_page_plain_post_scope_and_permission(client: Client) -> None:
    person = _legacy_person()
    review = _review(person)
    resolve = reverse("registry:address_review_resolve", args=[review.pk])
    url = reverse("registry:address_reviews")
    assert client.get(url).status_code == 302  # login required
    login_verified(client, _officer(role="auditor"))
    assert client.get(url).status_code == 403
    assert url not in client.get(reverse("portal:home")).content.decode()
    login_verified(client, _officer(scope="79"))
    assert person.ss_number not in client.get(url).content.decode()
    assert client.post(resolve, {"chosen": NGOC_HA}).status_code == 403
    assert AuditEvent.objects.filter(action="denied", object_id=str(person.pk)).exists()
    login_verified(client, _officer())
    bad = client.post(resolve, {"chosen": HONG_HA})
    assert bad.status_code == 302
    assert _review(person)  # still open
    ok = client.post(resolve, {"chosen": NGOC_HA}, follow=True)
    assert ok.status_code == 200 and "Phường Ngọc Hà" in ok.content.decode()
    review.refresh_from_db()
    assert review.status == ReviewStatus.RESOLVED and review.chosen.code == NGOC_HA


def test_patch_person_with_a_legacy_address_opens_a_review_and_bad_codes_write_nothing(
    client: Client,
) -> None:
    officer = _officer()
    person = make_person(address_unit_code=HONG_HA)
    auth = {"HTTP_AUTHORIZATION": f"Bearer {token_for(officer)}", "HTTP_X_PURPOSE": "update"}
    url = f"{BASE}/persons/{person.ss_number}"
    bad = client.patch(
        url,
        {"full_name": "Lê Văn Mới", "legacy_address_unit_code": "99999"},
        content_type="application/json",
        **auth,
    )
    assert bad.status_code == 400 and bad.json()["field"] == "legacy_address_unit_code"
    person.refresh_from_db()
    assert person.full_name != "Lê Văn Mới"  # the name change was rolled back with it
    both = client.patch(
        url,
        {"address_unit_code": HONG_HA, "legacy_address_unit_code": CONG_VI},
        content_type="application/json",
        **auth,
    )
    assert both.status_code == 400 and both.json()["code"] == "address_exclusive"
    ok = client.patch(
        url, {"legacy_address_unit_code": CONG_VI}, content_type="application/json", **auth
    )
    assert ok.status_code == 200
    assert ok.json()["address_unit_code"] == NGOC_HA
    assert _review(Person.objects.get(pk=person.pk)).status == ReviewStatus.OPEN
