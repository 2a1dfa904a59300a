"""Reads of the national database: a person's e-cards and population checks, the published
keys (JWKS), the signed revocation list, and the online check of a card token."""

from __future__ import annotations

import datetime as dt
import hashlib
from typing import Any

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey
from django.db.models import QuerySet
from django.utils import timezone

from ansinh.nationaldb import cardcheck, jws, keys
from ansinh.nationaldb.cardcheck import LEEWAY, REVOCATION_TYP, CardCheck
from ansinh.nationaldb.models import ECard, ECardKey, PopulationCheck
from ansinh.registry.models import Person


def active_card(person: Person) -> ECard | None:
    """The person's card in force (not revoked; it may have expired)."""
    return (
        ECard.objects.filter(person=person, revoked_at__isnull=True).select_related("key").first()
    )


def person_cards(person: Person, *, limit: int = 10) -> list[ECard]:
    return list(ECard.objects.filter(person=person).order_by("-issued_at", "-id")[:limit])


def get_card(card_id: str) -> ECard | None:
    return ECard.objects.select_related("person", "key").filter(card_id=card_id).first()


def last_population_check(person: Person) -> PopulationCheck | None:
    return PopulationCheck.objects.filter(person=person).order_by("-requested_at", "-id").first()


def published_keys() -> QuerySet[ECardKey]:
    """Keys a verifier must know: the active one and the retired ones, not withdrawn ones."""
    return ECardKey.objects.filter(withdrawn_at__isnull=True).order_by("activated_at", "id")


def public_keys() -> dict[str, Ed25519PublicKey]:
    return {
        k.kid: Ed25519PublicKey.from_public_bytes(jws.b64u_decode(k.public_key))
        for k in published_keys()
    }


def jwks() -> dict[str, Any]:
    """The JSON Web Key Set published at ``/the-an-sinh/jwks.json``."""
    return {
        "keys": [jws.public_jwk(jws.b64u_decode(k.public_key), k.kid) for k in published_keys()]
    }


def revoked_card_ids(*, now: dt.datetime | None = None) -> list[str]:
    """Ids of revoked cards that have not expired yet (an expired card fails anyway)."""
    now = now or timezone.now()
    cutoff = now - dt.timedelta(seconds=LEEWAY)
    return list(
        ECard.objects.filter(revoked_at__isnull=False, expires_at__gt=cutoff)
        .order_by("card_id")
        .values_list("card_id", flat=True)
    )


def revocation_list(*, now: dt.datetime | None = None) -> str:
    """Danh sách thẻ bị thu hồi, as a compact JWS signed by the active key, so an offline
    verifier can cache it and still detect an altered copy. Empty when no key is active."""
    from ansinh.nationaldb.services import issuer

    now = now or timezone.now()
    key = ECardKey.objects.filter(active=True).first()
    if key is None:
        return ""
    payload = {"iss": issuer(), "iat": int(now.timestamp()), "rev": revoked_card_ids(now=now)}
    return jws.sign(payload, keys.load_ecard_key(key.kid), kid=key.kid, typ=REVOCATION_TYP)


def check_card_online(token: str, *, now: dt.datetime | None = None) -> CardCheck:
    """The verdict on a token with what the server knows: the published keys, and the card's
    own row (revoked? issued exactly this token?). A well-signed token we never issued is
    reported as forged."""
    from ansinh.nationaldb.services import issuer

    now = now or timezone.now()
    token = cardcheck.find_token(token)
    if not token:
        return CardCheck(cardcheck.FORGED, reason="malformed")
    result = cardcheck.check_token(token, public_keys(), now=now, issuer=issuer())
    if result.claims is None:
        return result
    card = ECard.objects.filter(card_id=result.claims.card_id).first()
    digest = hashlib.sha256(token.encode("ascii")).hexdigest()
    if card is None or card.token_digest != digest:
        return CardCheck(cardcheck.FORGED, reason="not_issued")
    if card.revoked_at is not None and card.revoked_at <= now:
        return CardCheck(
            cardcheck.REVOKED,
            reason=card.revocation_reason,
            claims=result.claims,
            kid=result.kid,
            detail={"revoked_at": card.revoked_at},
        )
    return result
