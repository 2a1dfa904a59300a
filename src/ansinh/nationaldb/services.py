"""Writes of the national database: e-card issuer keys, issuing and revoking e-cards (thẻ an
sinh xã hội điện tử), and verifying persons against the population registry.

Every write validates first, then writes inside one transaction, and is audited when a person
(an actor) made it. The clock is a parameter (``at``) so tests and replays are exact; a time in
the future is refused.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import logging
import secrets
import uuid
from collections.abc import Iterable
from typing import Any

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from django.conf import settings
from django.db import transaction
from django.utils import timezone

from ansinh.core.errors import Conflict, DomainError
from ansinh.nationaldb import claims as claim_sources
from ansinh.nationaldb import jws, keys
from ansinh.nationaldb.cardcheck import CARD_TYP
from ansinh.nationaldb.models import (
    CheckState,
    ECard,
    ECardKey,
    PopulationCheck,
    RevocationReason,
)
from ansinh.registry.models import Person, PersonStatus

log = logging.getLogger(__name__)

#: Crockford's base32 alphabet: no I, L, O, U, so a card id read aloud is unambiguous.
_CARD_ALPHABET = "0123456789ABCDEFGHJKMNPQRSTVWXYZ"
CARD_ID_LENGTH = 10
FUTURE_TOLERANCE = dt.timedelta(minutes=1)


def issuer() -> str:
    return str(getattr(settings, "NATIONALDB_ISSUER", "VN-ANSINH"))


def card_valid_days() -> int:
    return int(getattr(settings, "NATIONALDB_ECARD_VALID_DAYS", 365))


def _audit(actor: Any, action: str, object_type: str, object_id: str, **kw: Any) -> None:
    if actor is None:
        return
    from ansinh.access.services import audit

    audit(actor=actor, action=action, object_type=object_type, object_id=object_id, **kw)


def _moment(at: dt.datetime | None) -> dt.datetime:
    now = timezone.now()
    if at is None:
        return now
    if timezone.is_naive(at):
        raise ValueError("at must be an aware datetime")
    if at > now + FUTURE_TOLERANCE:
        raise DomainError(
            "time_in_future",
            "at",
            "Không thể ghi nhận một thời điểm trong tương lai.",
            "A time in the future cannot be recorded.",
        )
    return at


# --- issuer keys -------------------------------------------------------------------------------


@transaction.atomic
def create_signing_key(*, at: dt.datetime | None = None, actor: Any = None) -> ECardKey:
    """Tạo khóa ký mới: a new Ed25519 key signs the cards issued from now on; the key in use
    until now is retired but stays published, so the cards it signed still verify."""
    at = _moment(at)
    kid = f"k{timezone.localtime(at):%Y%m%d}{secrets.token_hex(3)}"
    private = Ed25519PrivateKey.generate()
    keys.write_private_pem(keys.ecard_key_path(kid), private)
    ECardKey.objects.filter(active=True).update(active=False, retired_at=at)
    key = ECardKey.objects.create(
        kid=kid,
        public_key=jws.b64u(jws.raw_public(private.public_key())),
        created_at=at,
        activated_at=at,
    )
    _audit(actor, "create", "ecard_key", kid)
    log.info("e-card signing key %s activated", kid)
    return key


@transaction.atomic
def withdraw_signing_key(
    kid: str, *, at: dt.datetime | None = None, actor: Any = None
) -> tuple[ECardKey, int]:
    """Rút khóa (a compromised key): no longer published, so every card it signed fails
    verification; those cards are marked revoked so officers see they need a new one.
    Returns the key and the number of cards revoked."""
    at = _moment(at)
    key = ECardKey.objects.select_for_update().filter(kid=kid).first()
    if key is None:
        raise DomainError("key_unknown", "kid", "Không có khóa này.", "No such key.", status=404)
    if key.withdrawn_at is not None:
        raise Conflict("key_withdrawn", "kid", "Khóa đã bị rút.", "The key is already withdrawn.")
    key.withdrawn_at = at
    key.retired_at = key.retired_at or at
    key.active = False
    key.save(update_fields=["withdrawn_at", "retired_at", "active"])
    count = ECard.objects.filter(key=key, revoked_at__isnull=True).update(
        revoked_at=at, revocation_reason=RevocationReason.KEY_WITHDRAWN
    )
    _audit(actor, "update", "ecard_key", kid, detail={"withdrawn": True, "cards": count})
    return key, count


def _active_key() -> ECardKey:
    key = ECardKey.objects.filter(active=True).first()
    if key is None:
        raise DomainError(
            "no_signing_key",
            None,
            "Chưa có khóa ký thẻ: chạy `ansinh ecard keygen`.",
            "No card signing key yet: run `ansinh ecard keygen`.",
            status=409,
        )
    return key


# --- e-cards -----------------------------------------------------------------------------------


def new_card_id() -> str:
    """Ten random characters of Crockford's base32: 50 bits, one random draw."""
    value = secrets.randbits(5 * CARD_ID_LENGTH)
    return "".join(_CARD_ALPHABET[(value >> (5 * i)) & 31] for i in range(CARD_ID_LENGTH))


def _check_person(person: Person) -> None:
    if person.status != PersonStatus.ACTIVE:
        raise DomainError(
            "person_not_active",
            "person",
            "Chỉ cấp thẻ cho người đang hoạt động (không cấp cho người đã chết, đã gộp hồ sơ "
            "hoặc đã ra nước ngoài định cư).",
            "Cards are issued to active persons only (not deceased, merged or emigrated).",
        )


def card_claims(
    person: Person,
    *,
    card_id: str,
    at: dt.datetime,
    coverage: Iterable[str],
    programmes: Iterable[str],
) -> dict[str, Any]:
    """The claims of a card, in the order they are serialised (docs/nationaldb.md)."""
    expires = at + dt.timedelta(days=card_valid_days())
    return {
        "iss": issuer(),
        "jti": card_id,
        "sub": person.ss_number,
        "name": person.full_name,
        "dob": person.date_of_birth.isoformat(),
        "iat": int(at.timestamp()),
        "exp": int(expires.timestamp()),
        "cov": list(coverage),
        "prg": list(programmes),
    }


def _build_card(
    person: Person,
    key: ECardKey,
    private: Ed25519PrivateKey,
    *,
    at: dt.datetime,
    coverage: tuple[str, ...],
    programmes: tuple[str, ...],
    actor: Any,
) -> ECard:
    card_id = new_card_id()
    payload = card_claims(person, card_id=card_id, at=at, coverage=coverage, programmes=programmes)
    token = jws.sign(payload, private, kid=key.kid, typ=CARD_TYP)
    return ECard(
        person=person,
        card_id=card_id,
        key=key,
        token=token,
        token_digest=hashlib.sha256(token.encode("ascii")).hexdigest(),
        coverage=",".join(coverage),
        programmes=",".join(programmes),
        issued_at=dt.datetime.fromtimestamp(payload["iat"], dt.UTC),
        expires_at=dt.datetime.fromtimestamp(payload["exp"], dt.UTC),
        issued_by=actor if getattr(actor, "is_authenticated", False) else None,
    )


@transaction.atomic
def issue_ecard(person: Person, *, actor: Any = None, at: dt.datetime | None = None) -> ECard:
    """Cấp thẻ an sinh xã hội điện tử: sign a card with the active key. A person has one card
    in force: the previous one, if any, is revoked (``reissued``) in the same transaction."""
    at = _moment(at).replace(microsecond=0)
    person = Person.objects.select_for_update().get(pk=person.pk)
    _check_person(person)
    key = _active_key()
    private = keys.load_ecard_key(key.kid)
    previous = ECard.objects.select_for_update().filter(person=person, revoked_at__isnull=True)
    for old in previous:
        old.revoked_at = at
        old.revocation_reason = RevocationReason.REISSUED
        old.revoked_by = actor if getattr(actor, "is_authenticated", False) else None
        old.save(update_fields=["revoked_at", "revocation_reason", "revoked_by"])
        _audit(actor, "update", "ecard", old.card_id, detail={"revoked": "reissued"})
    day = timezone.localtime(at).date()
    card = _build_card(
        person,
        key,
        private,
        at=at,
        coverage=claim_sources.coverage_many([person.pk], day)[person.pk],
        programmes=claim_sources.programmes_many([person.pk], day)[person.pk],
        actor=actor,
    )
    card.save()
    _audit(actor, "create", "ecard", card.card_id, detail={"person": person.pk})
    return card


def issue_ecards_bulk(
    persons: Iterable[Person], *, at: dt.datetime | None = None, batch: int = 2000
) -> int:
    """Cards for many persons at once (the demo, a first roll-out): persons that already hold a
    card in force, and persons not active, are skipped. A few queries per ``batch`` persons.
    Returns the number of cards issued."""
    at = _moment(at).replace(microsecond=0)
    day = timezone.localtime(at).date()
    key = _active_key()
    private = keys.load_ecard_key(key.kid)
    issued = 0
    chunk: list[Person] = []

    def flush() -> int:
        ids = [p.pk for p in chunk]
        holders = set(
            ECard.objects.filter(person_id__in=ids, revoked_at__isnull=True).values_list(
                "person_id", flat=True
            )
        )
        todo = [p for p in chunk if p.pk not in holders and p.status == PersonStatus.ACTIVE]
        todo_ids = [p.pk for p in todo]
        coverage = claim_sources.coverage_many(todo_ids, day)
        programmes = claim_sources.programmes_many(todo_ids, day)
        cards = [
            _build_card(
                p,
                key,
                private,
                at=at,
                coverage=coverage[p.pk],
                programmes=programmes[p.pk],
                actor=None,
            )
            for p in todo
        ]
        with transaction.atomic():
            ECard.objects.bulk_create(cards, batch_size=500)
        return len(cards)

    for person in persons:
        chunk.append(person)
        if len(chunk) >= batch:
            issued += flush()
            chunk = []
    if chunk:
        issued += flush()
    return issued


REVOCABLE = [r for r in RevocationReason.values if r != RevocationReason.KEY_WITHDRAWN]


@transaction.atomic
def revoke_ecard(
    card: ECard, *, reason: str, actor: Any = None, at: dt.datetime | None = None
) -> ECard:
    """Thu hồi thẻ: the card goes on the published revocation list and fails every check."""
    at = _moment(at).replace(microsecond=0)
    if reason not in REVOCABLE:
        raise DomainError(
            "reason_invalid",
            "reason",
            "Lý do thu hồi không hợp lệ.",
            "Choose a valid revocation reason.",
        )
    card = ECard.objects.select_for_update().get(pk=card.pk)
    if card.revoked_at is not None:
        raise Conflict(
            "card_revoked", None, "Thẻ này đã bị thu hồi.", "This card is already revoked."
        )
    card.revoked_at = at
    card.revocation_reason = reason
    card.revoked_by = actor if getattr(actor, "is_authenticated", False) else None
    card.save(update_fields=["revoked_at", "revocation_reason", "revoked_by"])
    _audit(actor, "update", "ecard", card.card_id, detail={"revoked": reason})
    return card


# --- population registry -----------------------------------------------------------------------


def verify_person(
    person: Person, *, actor: Any = None, at: dt.datetime | None = None, client: Any = None
) -> PopulationCheck:
    """Xác thực với Cơ sở dữ liệu quốc gia về dân cư: send the person's personal ID, full name
    and date of birth; store the answer per field. When no valid answer comes (service down,
    timeout, bad signature, refusal) the check is stored as pending with the error code, for
    ``ansinh popreg verify --pending`` to retry. Never raises for a transport failure."""
    from ansinh.nationaldb.client import PopregError, default_client

    clock_given = at is not None
    at = _moment(at)
    if not person.personal_id:
        raise DomainError(
            "no_personal_id",
            "personal_id",
            "Người không có số định danh cá nhân không thể xác thực với cơ sở dữ liệu dân cư.",
            "A person without a personal ID cannot be verified against the population registry.",
        )
    client = client or default_client()
    request_id = str(uuid.uuid4())
    check = PopulationCheck(person=person, request_id=request_id, requested_at=at)
    check.requested_by = actor if getattr(actor, "is_authenticated", False) else None
    try:
        answer = client.verify(
            request_id=request_id,
            personal_id=person.personal_id,
            full_name=person.full_name,
            date_of_birth=person.date_of_birth,
        )
    except PopregError as exc:
        check.state = CheckState.PENDING
        check.error = exc.code
        log.warning("population registry check %s pending: %s", request_id, exc.code)
    else:
        check.state = CheckState.ANSWERED
        check.answered_at = at if clock_given else timezone.now()
        check.outcome = answer.outcome
        check.id_result = answer.fields.get("personal_id", "")
        check.name_result = answer.fields.get("full_name", "")
        check.dob_result = answer.fields.get("date_of_birth", "")
    with transaction.atomic():
        check.save()
        _audit(
            actor,
            "create",
            "population_check",
            str(check.pk),
            detail={"person": person.pk, "state": check.state, "outcome": check.outcome},
        )
    return check
