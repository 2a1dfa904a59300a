"""Registry API, mounted at /api/v1/registry. Thin: validation and writes are in services,
reads in selectors; every read of one person is authorised and audited by ``access``."""

import datetime as dt
from typing import Any

from django.db import transaction
from django.http import HttpRequest
from ninja import Field, Router, Schema
from ninja.pagination import PageNumberPagination, paginate
from ninja.responses import Status

from ansinh.core.api_utils import request_purpose
from ansinh.core.errors import DomainError, Forbidden, NotFound
from ansinh.registry import selectors, services
from ansinh.registry.models import (
    AddressReview,
    Employer,
    EmploymentSpell,
    HealthInsuranceCard,
    Person,
    SalaryPeriod,
    SensitiveAttributes,
)

router = Router(tags=["registry"])


# --- Schemas -----------------------------------------------------------------------------------


class PersonOut(Schema):
    ss_number: str
    personal_id: str | None
    legacy_numbers: list[str]
    full_name: str
    date_of_birth: dt.date
    sex: str
    nationality: str
    address_unit_code: str | None
    status: str
    date_of_death: dt.date | None
    identity_check: str
    identity_flags: list[str]
    ethnicity_code: str | None = Field(None, description="Only with registry.view_sensitive")


class PersonIn(Schema):
    personal_id: str | None = None
    full_name: str
    date_of_birth: dt.date
    sex: str
    nationality: str = "VN"
    address_unit_code: str | None = None
    ethnicity_code: str = ""
    legacy_numbers: list[str] = []
    legacy_address_unit_code: str | None = Field(
        None,
        description="The address as a pre-2025 commune (5-digit code), instead of "
        "address_unit_code. A split commune gives its default successor provisionally and "
        "an open address review.",
    )


class PersonPatch(Schema):
    full_name: str | None = None
    date_of_birth: dt.date | None = None
    sex: str | None = None
    nationality: str | None = None
    address_unit_code: str | None = None
    legacy_address_unit_code: str | None = None


class BatchIn(Schema):
    rows: list[PersonIn]


class LegacyIn(Schema):
    number: str


class CardIn(Schema):
    participant_group: str
    benefit_level: int
    province_code: str
    valid_from: dt.date
    valid_to: dt.date | None = None
    facility_code: str = ""
    facility_name: str = ""


class CardOut(Schema):
    number: str
    short_number: str
    participant_group: str
    benefit_level: int
    province_code: str
    initial_facility_code: str
    initial_facility_name: str
    valid_from: dt.date
    valid_to: dt.date | None


class SalaryOut(Schema):
    valid_from: dt.date
    salary: int
    allowances: int


class SpellOut(Schema):
    id: int
    person: str
    employer: str
    contract_type: str
    start: dt.date
    end: dt.date | None
    occupation: str
    termination_reason: str
    salaries: list[SalaryOut]


class SpellIn(Schema):
    person: str = Field(description="Personal ID, system or legacy number")
    employer: str = Field(description="Employer unit code")
    start: dt.date
    contract_type: str
    salary: int
    allowances: int = 0
    occupation: str = ""
    reported_on: dt.date | None = None


class CloseIn(Schema):
    end: dt.date
    reason: str = ""


class SalaryIn(Schema):
    valid_from: dt.date
    salary: int
    allowances: int = 0


class EmployerOut(Schema):
    unit_code: str
    unit_type: str
    participant_group: str
    tax_code: str
    name: str
    address_unit_code: str
    wage_region: int
    sector: str
    pay_scale: str
    active: bool


class EmployerIn(Schema):
    unit_code: str
    unit_type: str
    participant_group: str
    name: str
    address_unit_code: str
    wage_region: int
    tax_code: str = ""
    sector: str = ""
    pay_scale: str = "employer"


class UnitRef(Schema):
    code: str
    name: str


class LegacyUnitOut(Schema):
    code: str
    name: str
    district: str | None
    province: str | None


class CandidateOut(Schema):
    code: str
    name: str
    default: bool


class AddressReviewOut(Schema):
    id: int
    person: str = Field(description="Social security number")
    full_name: str
    legacy_unit: LegacyUnitOut
    proposed: str = Field(description="Code of the default successor (the provisional address)")
    candidates: list[CandidateOut]
    status: str
    chosen: str | None
    source: str
    created_at: dt.datetime
    resolved_at: dt.datetime | None
    resolved_by: str | None


class ResolveIn(Schema):
    chosen: str = Field(description="Code of the current commune chosen among the candidates")


# --- Helpers -----------------------------------------------------------------------------------


def _person_out(person: Person, *, ethnicity: str | None = None) -> dict[str, Any]:
    return {
        "ss_number": person.ss_number,
        "personal_id": person.personal_id,
        "legacy_numbers": [n.number for n in person.legacy_numbers.all()],
        "full_name": person.full_name,
        "date_of_birth": person.date_of_birth,
        "sex": person.sex,
        "nationality": person.nationality,
        "address_unit_code": person.address_unit.code if person.address_unit_id else None,
        "status": person.status,
        "date_of_death": person.date_of_death,
        "identity_check": person.identity_check,
        "identity_flags": [f for f in person.identity_flags.split(",") if f],
        "ethnicity_code": ethnicity,
    }


def _employer_out(e: Employer) -> dict[str, Any]:
    return {
        "unit_code": e.unit_code,
        "unit_type": e.unit_type,
        "participant_group": e.participant_group,
        "tax_code": e.tax_code,
        "name": e.name,
        "address_unit_code": e.address_unit.code,
        "wage_region": e.wage_region,
        "sector": e.sector,
        "pay_scale": e.pay_scale,
        "active": e.active,
    }


def _spell_out(s: EmploymentSpell) -> dict[str, Any]:
    return {
        "id": s.pk,
        "person": s.person.ss_number,
        "employer": s.employer.unit_code,
        "contract_type": s.contract_type,
        "start": s.start,
        "end": s.end,
        "occupation": s.occupation,
        "termination_reason": s.termination_reason,
        "salaries": [
            {"valid_from": p.valid_from, "salary": p.salary, "allowances": p.allowances}
            for p in s.salaries.all()
        ],
    }


def _review_out(r: AddressReview) -> dict[str, Any]:
    old = r.legacy_unit
    district = old.parent
    province = district.parent if district is not None else None
    return {
        "id": r.pk,
        "person": r.person.ss_number,
        "full_name": r.person.full_name,
        "legacy_unit": {
            "code": old.code,
            "name": old.name,
            "district": district.name if district is not None else None,
            "province": province.name if province is not None else None,
        },
        "proposed": r.proposed.code,
        "candidates": [
            {"code": u.code, "name": u.name, "default": u.pk == r.proposed_id}
            for u in selectors.review_candidates(r)
        ],
        "status": r.status,
        "chosen": r.chosen.code if r.chosen_id else None,
        "source": r.source,
        "created_at": r.created_at,
        "resolved_at": r.resolved_at,
        "resolved_by": r.resolved_by.get_username() if r.resolved_by_id else None,
    }


def _require_review_permission(user: Any) -> None:
    if not user.has_perm("registry.change_person"):
        raise Forbidden(
            "permission_denied",
            None,
            "Vai trò của bạn không được phép xác định địa chỉ.",
            "Your role is not allowed to resolve addresses.",
        )


def _person_or_404(number: str) -> Person:
    person = selectors.find_person(number)
    if person is None:
        raise NotFound(
            "person_not_found",
            "number",
            "Không tìm thấy người có số này.",
            "No person with this number.",
        )
    return person


def _read_person(request: HttpRequest, number: str) -> Person:
    """Find, authorise and audit one person's read."""
    from ansinh.access.services import authorize_person_read

    purpose = request_purpose(request)
    person = _person_or_404(number)
    authorize_person_read(request.auth, person, purpose=purpose, request=request)
    return person


def _write_person(request: HttpRequest, number: str) -> Person:
    """Persons changed through the API must be in the user's scope too."""
    from ansinh.access.services import authorize_person_read

    person = _person_or_404(number)
    authorize_person_read(
        request.auth, person, purpose=request.headers.get("X-Purpose", "update"), request=request
    )
    return person


def _spell_or_404(spell_id: int) -> EmploymentSpell:
    spell = EmploymentSpell.objects.select_related("person", "employer").filter(pk=spell_id).first()
    if spell is None:
        raise NotFound("spell_not_found", "id", "Không tìm thấy quá trình.", "No such spell.")
    return spell


# --- Persons -----------------------------------------------------------------------------------


@router.get("/persons", response=list[PersonOut])
@paginate(PageNumberPagination, page_size=50)
def search_persons(
    request: HttpRequest,
    q: str = "",
    date_of_birth: dt.date | None = None,
    unit_code: str = "",
) -> Any:
    from ansinh.access.services import audit

    qs = selectors.search_persons(
        q=q, date_of_birth=date_of_birth, unit_code=unit_code, user=request.auth
    ).prefetch_related("legacy_numbers")
    audit(
        actor=request.auth,
        action="search",
        object_type="person",
        purpose=request.headers.get("X-Purpose", ""),
        request=request,
        detail={"has_q": bool(q), "unit_code": unit_code},
    )
    return [_person_out(p) for p in qs[:1000]]


@router.post("/persons/batch", response={201: list[PersonOut]})
def create_batch(request: HttpRequest, payload: BatchIn) -> Any:
    """All-or-nothing: any row error → 400 listing every error (``rows[i].field``)."""
    rows = [r.dict() for r in payload.rows]
    persons = services.register_persons_batch(rows, actor=request.auth)
    return Status(201, [_person_out(p) for p in persons])


@router.get("/persons/{number}", response=PersonOut)
def get_person(request: HttpRequest, number: str) -> Any:
    person = _read_person(request, number)
    ethnicity = None
    if request.auth.has_perm("registry.view_sensitive"):
        from ansinh.access.services import audit

        row = SensitiveAttributes.objects.filter(person=person).first()
        ethnicity = row.ethnicity_code if row else ""
        audit(
            actor=request.auth,
            action="read",
            object_type="person",
            object_id=str(person.pk),
            purpose=request_purpose(request),
            request=request,
            detail={"sensitive": True},
        )
    return _person_out(person, ethnicity=ethnicity)


@router.post("/persons", response={201: PersonOut})
def create_person(request: HttpRequest, payload: PersonIn) -> Any:
    person = services.register_person(**payload.dict(), actor=request.auth)
    return Status(201, _person_out(person))


@router.patch("/persons/{number}", response=PersonOut)
def update_person(request: HttpRequest, number: str, payload: PersonPatch) -> Any:
    person = _write_person(request, number)
    changes = payload.dict(exclude_unset=True)
    legacy_code = changes.pop("legacy_address_unit_code", None)
    if legacy_code and changes.get("address_unit_code"):
        raise DomainError(
            "address_exclusive",
            "legacy_address_unit_code",
            "Chỉ nêu một trong hai: mã xã hiện hành hoặc mã xã cũ.",
            "Give either the current or the legacy commune code, not both.",
        )
    # One transaction: a bad legacy code leaves the other changes unwritten too.
    with transaction.atomic():
        if changes:
            person = services.update_person(person, actor=request.auth, **changes)
        if legacy_code:
            services.set_legacy_address(person, legacy_code, actor=request.auth)
            person.refresh_from_db()
    return _person_out(person)


@router.post("/persons/{number}/legacy-numbers", response={201: PersonOut})
def add_legacy_number(request: HttpRequest, number: str, payload: LegacyIn) -> Any:
    person = _write_person(request, number)
    services.add_legacy_number(person, payload.number, actor=request.auth)
    return Status(201, _person_out(person))


@router.post("/persons/{number}/cards", response={201: CardOut})
def issue_card(request: HttpRequest, number: str, payload: CardIn) -> Any:
    person = _write_person(request, number)
    card: HealthInsuranceCard = services.issue_card(person, **payload.dict(), actor=request.auth)
    return Status(201, card)


@router.get("/persons/{number}/spells", response=list[SpellOut])
def person_spells(request: HttpRequest, number: str) -> Any:
    person = _read_person(request, number)
    return [_spell_out(s) for s in selectors.person_spells(person)]


# --- Address reviews ---------------------------------------------------------------------------


@router.get("/address-reviews", response=list[AddressReviewOut])
@paginate(PageNumberPagination, page_size=50)
def address_reviews(request: HttpRequest, status: str = "open") -> Any:
    """Persons whose pre-2025 commune was split, in the user's scope (``status``: open,
    resolved or all). Needs ``registry.change_person``; the listing is audited as a search."""
    from ansinh.access.services import audit

    _require_review_permission(request.auth)
    qs = selectors.address_reviews(user=request.auth, status=None if status == "all" else status)
    audit(
        actor=request.auth,
        action="search",
        object_type="address_review",
        purpose=request.headers.get("X-Purpose", ""),
        request=request,
        detail={"status": status},
    )
    return [_review_out(r) for r in qs[:1000]]


@router.post("/address-reviews/{review_id}/resolve", response=AddressReviewOut)
def resolve_address_review(request: HttpRequest, review_id: int, payload: ResolveIn) -> Any:
    """Choose the person's current commune among the candidates: 400 ``not_a_candidate``,
    409 ``review_closed``; the person must be in the user's scope."""
    _require_review_permission(request.auth)
    review = selectors.get_address_review(review_id)
    if review is None:
        raise NotFound(
            "review_not_found", "id", "Không tìm thấy yêu cầu xác định địa chỉ.", "No such review."
        )
    _write_person(request, review.person.ss_number)
    services.resolve_address_review(review, chosen_code=payload.chosen, actor=request.auth)
    return _review_out(selectors.get_address_review(review_id))


# --- Employers ---------------------------------------------------------------------------------


@router.get("/employers", response=list[EmployerOut])
@paginate(PageNumberPagination, page_size=50)
def search_employers(request: HttpRequest, q: str = "", unit_code: str = "") -> Any:
    qs = selectors.search_employers(q=q, unit_code=unit_code)
    from ansinh.access.selectors import filter_employers_in_scope

    qs = filter_employers_in_scope(qs, request.auth)
    return [_employer_out(e) for e in qs[:1000]]


@router.get("/employers/{unit_code}", response=EmployerOut)
def get_employer(request: HttpRequest, unit_code: str) -> Any:
    from ansinh.access.services import authorize_employer_read

    employer = selectors.get_employer(unit_code)
    if employer is None:
        raise NotFound(
            "employer_not_found", "unit_code", "Không tìm thấy đơn vị.", "No such employer."
        )
    authorize_employer_read(
        request.auth, employer, purpose=request.headers.get("X-Purpose", ""), request=request
    )
    return _employer_out(employer)


@router.post("/employers", response={201: EmployerOut})
def create_employer(request: HttpRequest, payload: EmployerIn) -> Any:
    employer = services.register_employer(**payload.dict(), actor=request.auth)
    return Status(201, _employer_out(employer))


# --- Spells ------------------------------------------------------------------------------------


@router.post("/spells", response={201: SpellOut})
def open_spell(request: HttpRequest, payload: SpellIn) -> Any:
    data = payload.dict()
    person = _write_person(request, data.pop("person"))
    employer = selectors.get_employer(data.pop("employer"))
    if employer is None:
        raise NotFound(
            "employer_not_found", "employer", "Không tìm thấy đơn vị.", "No such employer."
        )
    spell = services.open_spell(person=person, employer=employer, **data, actor=request.auth)
    return Status(201, _spell_out(_spell_or_404(spell.pk)))


@router.post("/spells/{spell_id}/close", response=SpellOut)
def close_spell(request: HttpRequest, spell_id: int, payload: CloseIn) -> Any:
    spell = _spell_or_404(spell_id)
    _write_person(request, spell.person.ss_number)
    services.close_spell(spell, end=payload.end, reason=payload.reason, actor=request.auth)
    return _spell_out(_spell_or_404(spell_id))


@router.post("/spells/{spell_id}/salaries", response={201: SalaryOut})
def set_salary(request: HttpRequest, spell_id: int, payload: SalaryIn) -> Any:
    spell = _spell_or_404(spell_id)
    _write_person(request, spell.person.ss_number)
    period: SalaryPeriod = services.set_salary(spell, **payload.dict(), actor=request.auth)
    return Status(201, period)
