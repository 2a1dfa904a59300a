"""The e-card pages: the panel on the staff person page with issue and revoke under the
registry's role and scope rules (Decree 13/2023/NĐ-CP Art. 27: every access logged), the card
files, and the public check page, keys and revocation list (no login, no search, rate-limited,
no more than the card shows)."""

from __future__ import annotations

import datetime as dt
import re
from zoneinfo import ZoneInfo

import pytest
from django.test import Client
from django.urls import reverse

from ansinh.access.models import AuditEvent
from ansinh.access.testing import login_verified, make_org, make_user
from ansinh.nationaldb import cardcheck, jws, render, selectors, services
from ansinh.nationaldb.models import ECard
from ansinh.places.models import AdminUnit, UnitLevel, UnitSystem
from ansinh.registry.testing import make_person

pytestmark = pytest.mark.django_db
VN = ZoneInfo("Asia/Ho_Chi_Minh")
T0 = dt.datetime(2026, 10, 1, 9, 0, tzinfo=VN)


@pytest.fixture(autouse=True)
def _key() -> None:
    services.create_signing_key(at=T0)


@pytest.fixture
def officer():
    return make_user("officer", org=make_org(scope_codes=("01",)))


@pytest.fixture
def staff(client: Client, officer) -> Client:
    return login_verified(client, officer)


def _person_page(client: Client, person) -> str:
    url = reverse("registry:person_detail", args=[person.ss_number])
    client.post(url, {"purpose": "verification"})
    response = client.get(url)
    assert response.status_code == 200
    return response.content.decode()


def test_officer_issues_reissues_and_revokes_from_the_person_page(staff: Client) -> None:
    person = make_person()
    html = _person_page(staff, person)
    assert 'id="ecard"' in html and "ecard-issue" in html and "ecard-revoke" not in html
    response = staff.post(reverse("nationaldb:issue", args=[person.ss_number]))
    assert response.status_code == 302 and response["Location"].endswith("#ecard")
    card = selectors.active_card(person)
    assert card is not None and card.issued_by is not None
    html = _person_page(staff, person)
    assert card.card_id in html and "ecard-revoke" in html
    staff.post(reverse("nationaldb:issue", args=[person.ss_number]))
    second = selectors.active_card(person)
    assert second.pk != card.pk
    staff.post(reverse("nationaldb:revoke", args=[person.ss_number]), {"reason": "lost"})
    second.refresh_from_db()
    assert second.revocation_reason == "lost"
    assert selectors.active_card(person) is None
    assert AuditEvent.objects.filter(object_type="ecard").count() == 4  # 2 created, 2 revoked


def test_card_files_need_a_purpose_and_are_audited_reads(staff: Client) -> None:
    person = make_person()
    card = services.issue_ecard(person)
    url = reverse("nationaldb:card_file", args=[card.card_id, "card.pdf"])
    assert staff.get(url).status_code == 302  # asks for the purpose on the person page first
    _person_page(staff, person)
    reads = AuditEvent.objects.filter(object_type="person", action="read").count()
    response = staff.get(url)
    assert response.status_code == 200 and response["Content-Type"] == "application/pdf"
    assert render.token_from_bytes(response.content) == card.token
    assert AuditEvent.objects.filter(object_type="person", action="read").count() == reads + 1
    png = staff.get(reverse("nationaldb:card_file", args=[card.card_id, "qr.png"]))
    assert render.token_from_bytes(png.content) == card.token
    svg = staff.get(reverse("nationaldb:card_file", args=[card.card_id, "qr.svg"]))
    assert svg.status_code == 200 and b"<svg" in svg.content
    assert (
        staff.get(reverse("nationaldb:card_file", args=[card.card_id, "x.txt"])).status_code == 404
    )


def test_scope_and_role_are_enforced_and_denials_audited(client: Client) -> None:
    other = (
        AdminUnit.objects.filter(system=UnitSystem.CURRENT, level=UnitLevel.COMMUNE)
        .exclude(province_code="01")
        .order_by("code")
        .first()
    )
    far = make_person(address_unit_code=other.code)
    login_verified(client, make_user("officer", org=make_org(scope_codes=("01",))))
    response = client.post(reverse("nationaldb:issue", args=[far.ss_number]))
    assert response.status_code == 403 and not ECard.objects.exists()
    assert AuditEvent.objects.filter(action="denied", object_id=str(far.pk)).exists()
    auditor = Client()
    login_verified(auditor, make_user("auditor"))
    near = make_person()
    assert auditor.post(reverse("nationaldb:issue", args=[near.ss_number])).status_code == 403
    assert Client().post(reverse("nationaldb:issue", args=[near.ss_number])).status_code == 302


def test_public_check_shows_the_card_with_the_number_masked(client: Client) -> None:
    person = make_person(full_name="Trần Thị Bình")
    card = services.issue_ecard(person)
    page = client.get(reverse("ecard:check"))
    assert page.status_code == 200 and page["X-Robots-Tag"] == "noindex, nofollow"
    url = render.check_url("http://testserver", reverse("ecard:check"), card.token)
    response = client.post(reverse("ecard:check"), {"token": url})
    html = response.content.decode()
    assert response.status_code == 200 and "st-valid" in html
    assert "Trần Thị Bình" in html and person.ss_number[-4:] in html
    assert person.ss_number not in html  # masked
    assert "address" not in html.lower() or person.address_unit.name not in html


def test_public_check_of_altered_revoked_and_expired_cards(client: Client, settings) -> None:
    person = make_person(full_name="Lê Văn Cường")
    card = services.issue_ecard(person)
    i = len(card.token) // 2
    altered = card.token[:i] + ("A" if card.token[i] != "A" else "B") + card.token[i + 1 :]
    response = client.post(reverse("ecard:check"), {"token": altered})
    html = response.content.decode()
    assert response.status_code == 422 and "st-forged" in html and "Lê Văn Cường" not in html
    services.revoke_ecard(card, reason="deceased")
    html = client.post(reverse("ecard:check"), {"token": card.token}).content.decode()
    assert "st-revoked" in html
    assert "deceased" not in html.lower() and "đã chết" not in html  # the reason stays private
    settings.NATIONALDB_ECARD_VALID_DAYS = 1
    old = services.issue_ecard(make_person(), at=T0)
    assert (
        "st-expired" in client.post(reverse("ecard:check"), {"token": old.token}).content.decode()
    )
    assert client.post(reverse("ecard:check"), {"token": "nonsense"}).status_code == 422


def test_public_check_is_rate_limited(client: Client, settings) -> None:
    settings.NATIONALDB_CHECK_RATE_PER_MINUTE = 3
    for _ in range(3):
        assert client.post(reverse("ecard:check"), {"token": "x"}).status_code == 422
    response = client.post(reverse("ecard:check"), {"token": "x"})
    assert response.status_code == 429 and response["Retry-After"] == "60"


def test_published_keys_and_revocation_list(client: Client) -> None:
    card = services.issue_ecard(make_person())
    services.revoke_ecard(card, reason="lost")
    keys_doc = client.get(reverse("ecard:jwks"))
    assert keys_doc.status_code == 200 and keys_doc["Content-Type"] == "application/jwk-set+json"
    body = keys_doc.json()
    assert all(set(k) == {"kty", "crv", "x", "kid", "alg", "use"} for k in body["keys"])
    keys = jws.keys_from_jwks(body)
    listed = client.get(reverse("ecard:revocations"))
    assert listed.status_code == 200
    ids, _at = cardcheck.revoked_ids(listed.content.decode(), keys)
    assert ids == {card.card_id}
    assert re.fullmatch(r"[A-Z0-9]{10}", card.card_id)
