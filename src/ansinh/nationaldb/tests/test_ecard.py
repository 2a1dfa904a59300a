"""Issuing, reissuing, revoking and checking e-cards (thẻ an sinh xã hội điện tử) with the
database: one card in force per person, revocation list, key rotation and withdrawal, the
coverage and programme claims, and the QR code and PDF renderings read back."""

from __future__ import annotations

import datetime as dt
import hashlib
from collections.abc import Sequence
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
from django.db import IntegrityError, transaction

from ansinh.access.models import AuditEvent
from ansinh.access.testing import make_user
from ansinh.core.errors import Conflict, DomainError
from ansinh.nationaldb import cardcheck, jws, render, selectors, services
from ansinh.nationaldb.models import ECard, ECardKey
from ansinh.registry.testing import make_employer, make_person

pytestmark = pytest.mark.django_db
VN = ZoneInfo("Asia/Ho_Chi_Minh")
T0 = dt.datetime(2026, 10, 1, 9, 0, tzinfo=VN)
T1 = dt.datetime(2026, 11, 2, 10, 0, tzinfo=VN)


@pytest.fixture
def key() -> ECardKey:
    return services.create_signing_key(at=T0)


def test_issue_signs_the_minimal_claims_and_is_audited(key: ECardKey) -> None:
    officer = make_user("officer")
    person = make_person(full_name="Nguyễn Văn An", date_of_birth=dt.date(1985, 4, 12))
    card = services.issue_ecard(person, actor=officer, at=T1)
    header, payload = jws.verify(card.token, selectors.public_keys(), typ=cardcheck.CARD_TYP)
    assert header == {"alg": "EdDSA", "kid": key.kid, "typ": "ecard+jwt"}
    assert set(payload) == {"iss", "jti", "sub", "name", "dob", "iat", "exp", "cov", "prg"}
    assert payload["sub"] == person.ss_number and payload["dob"] == "1985-04-12"
    assert payload["jti"] == card.card_id and payload["cov"] == [] and payload["prg"] == []
    assert card.expires_at - card.issued_at == dt.timedelta(days=365)
    assert card.token_digest == hashlib.sha256(card.token.encode()).hexdigest()
    assert selectors.check_card_online(card.token).status == "valid"
    event = AuditEvent.objects.get(object_type="ecard", action="create")
    assert event.object_id == card.card_id and "Nguyễn" not in str(event.detail)


def test_reissue_revokes_the_previous_card(key: ECardKey) -> None:
    person = make_person()
    first = services.issue_ecard(person, at=T0)
    second = services.issue_ecard(person, at=T1)
    first.refresh_from_db()
    assert first.revoked_at == T1 and first.revocation_reason == "reissued"
    assert selectors.active_card(person) == second
    assert selectors.check_card_online(first.token).status == "revoked"
    assert selectors.check_card_online(second.token).status == "valid"
    with pytest.raises(IntegrityError), transaction.atomic():
        ECard.objects.filter(pk=first.pk).update(revoked_at=None, revocation_reason="")


def test_revoke_publishes_the_card_on_the_signed_list(key: ECardKey) -> None:
    person = make_person()
    card = services.issue_ecard(person, at=T0)
    services.revoke_ecard(card, reason="lost", at=T1)
    with pytest.raises(Conflict):
        services.revoke_ecard(card, reason="lost", at=T1)
    with pytest.raises(DomainError) as err:
        services.revoke_ecard(services.issue_ecard(person, at=T1), reason="bogus")
    assert err.value.code == "reason_invalid"
    listed, _issued = cardcheck.revoked_ids(selectors.revocation_list(), selectors.public_keys())
    assert card.card_id in listed
    # Offline: the token with the list says revoked; without it, valid (the list matters).
    keys = jws.keys_from_jwks(selectors.jwks())
    now = dt.datetime(2026, 11, 3, tzinfo=dt.UTC)
    assert cardcheck.check_token(card.token, keys, now=now, revoked=listed).status == "revoked"
    assert cardcheck.check_token(card.token, keys, now=now).status == "valid"
    # An altered list does not verify.
    token = selectors.revocation_list()
    with pytest.raises(jws.JwsError):
        cardcheck.revoked_ids(token[:-3] + ("AAA" if token[-3:] != "AAA" else "BBB"), keys)


def test_expired_card(key: ECardKey, settings) -> None:
    settings.NATIONALDB_ECARD_VALID_DAYS = 10
    card = services.issue_ecard(make_person(), at=T0)
    assert selectors.check_card_online(card.token).status == "expired"
    # A revoked card past its expiry leaves the revocation list (it fails on expiry anyway).
    services.revoke_ecard(card, reason="error")
    assert card.card_id not in selectors.revoked_card_ids()


def test_key_rotation_keeps_old_cards_valid_and_withdrawal_kills_them(key: ECardKey) -> None:
    old_card = services.issue_ecard(make_person(), at=T0)
    new_key = services.create_signing_key(at=T1)
    key.refresh_from_db()
    assert not key.active and key.retired_at == T1 and new_key.active
    new_card = services.issue_ecard(make_person(), at=T1)
    assert new_card.key == new_key and old_card.key == key
    kids = [k["kid"] for k in selectors.jwks()["keys"]]
    assert kids == [key.kid, new_key.kid]
    keys = jws.keys_from_jwks(selectors.jwks())
    now = dt.datetime(2026, 11, 3, tzinfo=dt.UTC)
    assert cardcheck.check_token(old_card.token, keys, now=now).status == "valid"
    assert cardcheck.check_token(new_card.token, keys, now=now).status == "valid"
    assert selectors.check_card_online(old_card.token).status == "valid"
    # The revocation list is signed by the active key.
    assert jws.split(selectors.revocation_list())[0]["kid"] == new_key.kid

    _key, count = services.withdraw_signing_key(key.kid, at=T1)
    assert count == 1
    assert [k["kid"] for k in selectors.jwks()["keys"]] == [new_key.kid]
    result = selectors.check_card_online(old_card.token)
    assert result.status == "forged" and result.reason == "unknown_key"
    old_card.refresh_from_db()
    assert old_card.revocation_reason == "key_withdrawn"


def test_a_token_we_never_issued_is_forged_even_with_our_key(key: ECardKey) -> None:
    from ansinh.nationaldb import keys as key_files

    person = make_person()
    claims = services.card_claims(person, card_id="ZZZZZZZZZZ", at=T1, coverage=[], programmes=[])
    token = jws.sign(claims, key_files.load_ecard_key(key.kid), kid=key.kid, typ="ecard+jwt")
    assert selectors.check_card_online(token).reason == "not_issued"


def test_refusals(key: ECardKey) -> None:
    from ansinh.registry.services import mark_deceased

    person = make_person()
    with pytest.raises(DomainError) as err:
        services.issue_ecard(person, at=dt.datetime(2030, 1, 1, tzinfo=VN))
    assert err.value.code == "time_in_future"
    mark_deceased(person, date_of_death=dt.date(2026, 9, 1))
    with pytest.raises(DomainError) as err:
        services.issue_ecard(person, at=T1)
    assert err.value.code == "person_not_active"
    ECardKey.objects.update(active=False)
    with pytest.raises(DomainError) as err:
        services.issue_ecard(make_person(), at=T1)
    assert err.value.code == "no_signing_key"


def test_missing_private_key_file_is_a_clear_error(key: ECardKey, _key_dir: Path) -> None:
    (_key_dir / "ecard-keys" / f"{key.kid}.pem").unlink()
    with pytest.raises(DomainError) as err:
        services.issue_ecard(make_person(), at=T1)
    assert err.value.code == "signing_key_missing"


def test_coverage_from_the_ledger_and_a_health_insurance_card(key: ECardKey) -> None:
    from ansinh.contributions import services as ledger
    from ansinh.law.services import sync_rules
    from ansinh.registry.services import issue_card

    sync_rules()
    employer = make_employer()
    worker, insured_only, nobody = make_person(), make_person(), make_person()
    ledger.report_increase(
        employer=employer,
        person=worker,
        start=dt.date(2026, 9, 1),
        salary=12_000_000,
        contract_type="indefinite",
    )
    ledger.build_month(employer, 202610)
    issue_card(
        insured_only,
        participant_group="HT",
        benefit_level=1,
        province_code="01",
        valid_from=dt.date(2026, 1, 1),
        valid_to=dt.date(2026, 12, 31),
    )
    cards = {p.pk: services.issue_ecard(p, at=T1) for p in (worker, insured_only, nobody)}
    assert cards[worker.pk].coverage == "bhxh,bhyt,bhtn"
    assert cards[insured_only.pk].coverage == "bhyt"
    assert cards[nobody.pk].coverage == ""
    assert jws.split(cards[worker.pk].token)[1]["cov"] == ["bhxh", "bhyt", "bhtn"]


def fake_programmes(person_ids: Sequence[int], on: dt.date) -> dict[int, list[str]]:
    """A programme provider as the programmes work will add one."""
    return {pk: ["TGXH", "HN"] for pk in person_ids}


def test_programmes_come_from_the_configured_providers(key: ECardKey, settings) -> None:
    settings.NATIONALDB_PROGRAMME_PROVIDERS = [f"{__name__}.fake_programmes"]
    card = services.issue_ecard(make_person(), at=T1)
    assert jws.split(card.token)[1]["prg"] == ["HN", "TGXH"]
    assert card.programmes == "HN,TGXH"


def test_bulk_issue_skips_holders_and_inactive_persons(key: ECardKey) -> None:
    from ansinh.registry.models import Person
    from ansinh.registry.services import mark_deceased

    holder = make_person()
    services.issue_ecard(holder, at=T0)
    others = [make_person() for _ in range(3)]
    mark_deceased(others[0], date_of_death=dt.date(2026, 9, 1))
    count = services.issue_ecards_bulk(Person.objects.order_by("id"), at=T1, batch=2)
    assert count == 2
    assert ECard.objects.filter(revoked_at__isnull=True).count() == 3
    for card in ECard.objects.all():
        assert selectors.check_card_online(card.token).status == "valid"


def test_qr_png_and_pdf_give_the_token_back(key: ECardKey) -> None:
    card = services.issue_ecard(make_person(full_name="Đặng Thị Ánh"), at=T1)
    url = render.check_url("https://ansinh.example.vn", "/the-an-sinh/kiem-tra/", card.token)
    png = render.qr_png(url)
    assert render.token_from_bytes(png) == card.token
    svg = render.qr_svg(url)
    assert svg.lstrip().startswith("<?xml") or "<svg" in svg
    claims = cardcheck.parse_claims(jws.split(card.token)[1])
    pdf = render.card_pdf(render.CardFace(claims=claims, url=url))
    assert pdf.startswith(b"%PDF") and render.token_from_bytes(pdf) == card.token
    from io import BytesIO

    from pypdf import PdfReader

    text = PdfReader(BytesIO(pdf)).pages[0].extract_text()
    assert "ĐẶNG THỊ ÁNH" in text and card.card_id in text
    assert render.card_pdf(render.CardFace(claims=claims, url=url)) == pdf


def test_the_card_is_revoked_when_the_registry_records_a_death(key: ECardKey) -> None:
    from ansinh.registry.services import mark_deceased

    person = make_person()
    card = services.issue_ecard(person, at=T0)
    mark_deceased(person, date_of_death=dt.date(2026, 10, 20))
    card.refresh_from_db()
    assert card.revocation_reason == "deceased" and card.revoked_at is not None
    assert selectors.check_card_online(card.token).status == "revoked"
