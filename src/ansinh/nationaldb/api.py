"""National database API, mounted at /api/v1/nationaldb. Thin: writes in services, reads in
selectors; a person's card is read or changed only after the registry's role and scope check,
and audited. ``POST /ecards/check`` is public (as the check page): it answers for the token it is
given and nothing else."""

import datetime as dt
from typing import Any

from django.http import HttpRequest
from ninja import Router, Schema
from ninja.responses import Status

from ansinh.core.api_utils import request_purpose
from ansinh.core.errors import Conflict, Forbidden, NotFound
from ansinh.nationaldb import selectors, services
from ansinh.nationaldb.models import ECard, PopulationCheck
from ansinh.registry.models import Person

router = Router(tags=["nationaldb"])
CHANGE_PERMISSION = "registry.change_person"


class ECardOut(Schema):
    card_id: str
    kid: str
    token: str
    issued_at: dt.datetime
    expires_at: dt.datetime
    coverage: list[str]
    programmes: list[str]
    revoked_at: dt.datetime | None
    revocation_reason: str


class RevokeIn(Schema):
    reason: str


class CheckIn(Schema):
    token: str


class CheckOut(Schema):
    status: str
    reason: str
    card_id: str | None = None
    name: str | None = None
    ss_number_masked: str | None = None
    date_of_birth: dt.date | None = None
    coverage: list[str] = []
    programmes: list[str] = []
    issued_at: dt.datetime | None = None
    expires_at: dt.datetime | None = None


class PopulationCheckOut(Schema):
    request_id: str
    requested_at: dt.datetime
    state: str
    outcome: str
    personal_id: str
    full_name: str
    date_of_birth: str
    error: str


def _card_out(card: ECard) -> dict[str, Any]:
    return {
        "card_id": card.card_id,
        "kid": card.key.kid,
        "token": card.token,
        "issued_at": card.issued_at,
        "expires_at": card.expires_at,
        "coverage": [c for c in card.coverage.split(",") if c],
        "programmes": [p for p in card.programmes.split(",") if p],
        "revoked_at": card.revoked_at,
        "revocation_reason": card.revocation_reason,
    }


def _check_out(check: PopulationCheck) -> dict[str, Any]:
    return {
        "request_id": check.request_id,
        "requested_at": check.requested_at,
        "state": check.state,
        "outcome": check.outcome,
        "personal_id": check.id_result,
        "full_name": check.name_result,
        "date_of_birth": check.dob_result,
        "error": check.error,
    }


def _person(request: HttpRequest, number: str, *, write: bool) -> Person:
    from ansinh.access.services import authorize_person_read
    from ansinh.registry.selectors import find_person

    person = find_person(number)
    if person is None:
        raise NotFound(
            "person_not_found", "number", "Không tìm thấy người có số này.", "No such person."
        )
    purpose = request.headers.get("X-Purpose", "ecard") if write else request_purpose(request)
    authorize_person_read(request.auth, person, purpose=purpose, request=request)
    if write and not request.auth.has_perm(CHANGE_PERMISSION):
        raise Forbidden(
            "permission_denied",
            None,
            "Vai trò của bạn không được phép cấp hoặc thu hồi thẻ.",
            "Your role is not allowed to issue or revoke cards.",
        )
    return person


@router.get("/persons/{number}/ecard", response=ECardOut)
def get_ecard(request: HttpRequest, number: str) -> Any:
    """The person's card in force (needs ``X-Purpose``)."""
    card = selectors.active_card(_person(request, number, write=False))
    if card is None:
        raise NotFound("no_card", None, "Người này chưa có thẻ.", "This person has no card.")
    return _card_out(card)


@router.post("/persons/{number}/ecard", response={201: ECardOut})
def issue_ecard(request: HttpRequest, number: str) -> Any:
    """Issue (or reissue) the person's card; the previous one is revoked."""
    card = services.issue_ecard(_person(request, number, write=True), actor=request.auth)
    return Status(201, _card_out(card))


@router.post("/persons/{number}/ecard/revoke", response=ECardOut)
def revoke_ecard(request: HttpRequest, number: str, payload: RevokeIn) -> Any:
    card = selectors.active_card(_person(request, number, write=True))
    if card is None:
        raise Conflict("no_card", None, "Người này chưa có thẻ.", "This person has no card.")
    return _card_out(services.revoke_ecard(card, reason=payload.reason, actor=request.auth))


@router.post("/persons/{number}/population-checks", response={201: PopulationCheckOut})
def verify_population(request: HttpRequest, number: str) -> Any:
    """Verify the person with the population registry; a pending answer is stored too."""
    check = services.verify_person(_person(request, number, write=True), actor=request.auth)
    return Status(201, _check_out(check))


@router.post("/ecards/check", response=CheckOut, auth=None)
def check_ecard(request: HttpRequest, payload: CheckIn) -> Any:
    """Check a card token: valid, revoked, expired or forged, with the card's claims (the number
    masked) unless forged. Public; rate-limited like the check page."""
    from ansinh.nationaldb.views import _rate_limited

    if _rate_limited(request):
        raise Conflict(
            "rate_limited",
            None,
            "Quá nhiều lượt kiểm tra; thử lại sau một phút.",
            "Too many checks; try again in a minute.",
            status=429,
        )
    result = selectors.check_card_online(payload.token[:5000])
    out: dict[str, Any] = {"status": result.status, "reason": result.reason}
    if result.claims is not None and result.status != "forged":
        c = result.claims
        out.update(
            card_id=c.card_id,
            name=c.name,
            ss_number_masked=c.masked_number,
            date_of_birth=c.date_of_birth,
            coverage=list(c.coverage),
            programmes=list(c.programmes),
            issued_at=c.issued_at,
            expires_at=c.expires_at,
        )
    return out
