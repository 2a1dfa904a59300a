"""Registry services for D02-LT lists and TK3-TS / card procedures: persons registered and cards
issued in bulk (each item on its own, as one by one), an employer's change of details, and the
reissue of a health insurance card."""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest
from django.db import transaction

from ansinh.access.models import AuditEvent
from ansinh.access.testing import make_user
from ansinh.core.errors import Conflict, DomainError
from ansinh.places.models import AdminUnit, UnitLevel, UnitSystem
from ansinh.registry import services
from ansinh.registry.models import (
    Employer,
    HealthInsuranceCard,
    LegacyNumber,
    NumberCounter,
    Person,
    PersonNameWord,
)
from ansinh.registry.testing import (
    default_commune_code,
    make_employer,
    make_person,
    personal_id_for,
)

pytestmark = pytest.mark.django_db


# --- persons in bulk ---------------------------------------------------------------------------


def _items() -> list[dict[str, Any]]:
    commune = default_commune_code()
    ok = dt.date(1990, 1, 2)
    taken = make_person()
    return [
        {
            "personal_id": personal_id_for(ok, "M"),
            "full_name": "Nguyễn Văn An",
            "date_of_birth": ok,
            "sex": "M",
            "address_unit_code": commune,
            "legacy_numbers": ["0100000010"],
        },
        # the same personal ID again: a duplicate of the item before
        {
            "personal_id": None,
            "full_name": "Nguyễn Văn An",
            "date_of_birth": ok,
            "sex": "M",
            "address_unit_code": commune,
            "legacy_numbers": ["0100000010"],
        },
        {
            "personal_id": taken.personal_id,
            "full_name": "Lê Thị Bình",
            "date_of_birth": taken.date_of_birth,
            "sex": taken.sex,
            "address_unit_code": commune,
        },
        {
            "personal_id": None,
            "full_name": "John Smith",
            "date_of_birth": dt.date(1980, 5, 6),
            "sex": "M",
            "nationality": "GB",
            "address_unit_code": commune,
        },
        {"personal_id": "123", "full_name": "A1", "date_of_birth": "hôm qua", "sex": "X"},
        {
            "personal_id": personal_id_for(dt.date(2001, 2, 3), "F"),
            "full_name": "Trần Thị Cúc",
            "date_of_birth": dt.date(2001, 2, 3),
            "sex": "F",
            "address_unit_code": "99999",
        },
        {
            "personal_id": None,
            "full_name": "Maria Garcia",
            "date_of_birth": dt.date(1985, 7, 8),
            "sex": "F",
            "nationality": "ES",
            "address_unit_code": commune,
            "ethnicity_code": "01",
        },
    ]


def _shape(result: Person | DomainError) -> Any:
    if isinstance(result, DomainError):
        return ("error", type(result).__name__, [e.as_dict() for e in result.errors])
    return (
        result.ss_number,
        result.full_name,
        result.identity_check,
        sorted(result.legacy_numbers.values_list("number", flat=True)),
        sorted(PersonNameWord.objects.filter(person=result).values_list("word", flat=True)),
        getattr(getattr(result, "sensitive", None), "ethnicity_code", ""),
    )


def test_register_persons_answers_each_item_as_one_by_one() -> None:
    """Each item gets its person or its errors; a personal ID or legacy number taken by an
    earlier item of the list is a duplicate; system numbers (NN…) follow the list order."""
    items = _items()
    with transaction.atomic():
        expected = []
        for item in items:
            try:
                expected.append(_shape(services.register_person(**item)))
            except DomainError as exc:
                expected.append(_shape(exc))
        transaction.set_rollback(True)
    got = [_shape(r) for r in services.register_persons(items)]
    assert got == expected
    codes = [g[2][0]["code"] if g[0] == "error" else "ok" for g in got]
    assert codes == [
        "ok",
        "duplicate_legacy_number",
        "duplicate_personal_id",
        "ok",
        "name_invalid",
        "unknown_unit",
        "ok",
    ]


def test_register_persons_with_actor_audits_each_person() -> None:
    actor = make_user("officer")
    items = [i for i in _items() if i.get("nationality") == "GB"]
    (person,) = services.register_persons(items, actor=actor)
    assert isinstance(person, Person)
    assert AuditEvent.objects.filter(object_type="person", object_id=str(person.pk)).exists()


# --- cards in bulk -----------------------------------------------------------------------------


def test_issue_cards_numbers_as_one_by_one() -> None:
    """Decision 1351/QĐ-BHXH: the 10-digit part is the person's legacy BHXH number, else a
    system number (99…) taken in list order; an invalid request fails alone."""
    with_legacy = make_person(legacy_numbers=["0100000020"])
    without = [make_person(), make_person()]
    start = dt.date(2026, 11, 2)
    requests = [
        services.CardRequest(without[0], "DN", 4, "01", start, facility_code="01001"),
        services.CardRequest(with_legacy, "HC", 4, "79", start),
        services.CardRequest(without[1], "ZZ", 9, "00", start),
        services.CardRequest(without[1], "DN", 4, "01", start, valid_to=start),
    ]
    with transaction.atomic():
        expected = []
        for r in requests:
            try:
                card = services.issue_card(
                    r.person,
                    participant_group=r.participant_group,
                    benefit_level=r.benefit_level,
                    province_code=r.province_code,
                    valid_from=r.valid_from,
                    valid_to=r.valid_to,
                    facility_code=r.facility_code,
                )
                expected.append((card.number, card.initial_facility_code, card.valid_to))
            except DomainError as exc:
                expected.append([e.code for e in exc.errors])
        transaction.set_rollback(True)
    got = []
    for result in services.issue_cards(requests):
        if isinstance(result, DomainError):
            got.append([e.code for e in result.errors])
        else:
            got.append((result.number, result.initial_facility_code, result.valid_to))
    assert got == expected
    assert got[1][0] == "HC479" + "0100000020"
    assert got[0][0][5:7] == "99" and int(got[3][0][5:]) == int(got[0][0][5:]) + 1
    assert got[2] == ["card_group", "card_level", "card_province"]
    assert NumberCounter.objects.get(name="card_number").last_value == int(got[3][0][5:])


# --- employer details (TK3-TS) -----------------------------------------------------------------


def test_update_employer_changes_details_with_an_audit_event() -> None:
    """TK3-TS change (procedure 604): checked with the registration rules, written with an
    audit event naming the fields; the address becomes another current commune."""
    employer = make_employer(tax_code="0101234567")
    other_commune = (
        AdminUnit.objects.filter(system=UnitSystem.CURRENT, level=UnitLevel.COMMUNE)
        .exclude(pk=employer.address_unit_id)
        .order_by("code")
        .first()
    )
    assert other_commune is not None
    actor = make_user("officer")
    updated = services.update_employer(
        employer,
        actor=actor,
        name="  Công ty  TNHH Mới ",
        address_unit_code=other_commune.code,
        wage_region=2,
        tax_code="0101234567",  # unchanged: not listed
    )
    employer.refresh_from_db()
    assert updated.pk == employer.pk
    assert (employer.name, employer.address_unit_id, employer.wage_region) == (
        "Công ty TNHH Mới",
        other_commune.pk,
        2,
    )
    assert employer.name_normalised == "cong ty tnhh moi"
    event = AuditEvent.objects.get(object_type="employer", object_id=str(employer.pk))
    assert event.action == "update"
    assert event.detail["fields"] == ["address_unit_code", "name", "wage_region"]


def test_update_employer_refuses_invalid_values_and_writes_nothing() -> None:
    employer = make_employer()
    before = Employer.objects.filter(pk=employer.pk).values().get()
    with pytest.raises(DomainError) as exc:
        services.update_employer(
            employer,
            unit_code="0109999999",
            unit_type="doanh nghiệp",
            wage_region=5,
            tax_code="12",
            name="",
            address_unit_code="00000",
        )
    codes = {(e.code, e.field) for e in exc.value.errors}
    assert codes == {
        ("not_updatable", "unit_code"),
        ("unit_type_invalid", "unit_type"),
        ("wage_region_invalid", "wage_region"),
        ("tax_code_format", "tax_code"),
        ("name_required", "name"),
        ("unknown_unit", "address_unit_code"),
    }
    assert Employer.objects.filter(pk=employer.pk).values().get() == before


def test_update_employer_without_a_change_writes_nothing() -> None:
    employer = make_employer()
    services.update_employer(
        employer, actor=make_user("officer"), name=employer.name, wage_region=employer.wage_region
    )
    assert not AuditEvent.objects.filter(object_type="employer").exists()
    assert services.check_employer_update(employer, sector="Dệt may") == {"sector": "Dệt may"}


# --- card reissue ------------------------------------------------------------------------------


def _card(**kw: Any) -> HealthInsuranceCard:
    person = make_person(legacy_numbers=["0100000030"])
    return services.issue_card(
        person,
        participant_group="DN",
        benefit_level=4,
        province_code="01",
        valid_from=dt.date(2026, 1, 1),
        valid_to=kw.pop("valid_to", dt.date(2026, 12, 31)),
        facility_code="01001",
        facility_name="Bệnh viện A",
    )


def test_reissue_keeps_the_number_and_revokes_the_old_card() -> None:
    """Cấp lại thẻ BHYT (lost): a new card record with the same number (Decision
    1351/QĐ-BHXH: the number is the holder's), same group, level, province and end; the old
    card revoked; a new initial facility when one is asked for; an audit event naming both."""
    old = _card()
    actor = make_user("officer")
    new = services.reissue_card(
        old, reason="lost", valid_from=dt.date(2026, 11, 10), facility_code="01002", actor=actor
    )
    old.refresh_from_db()
    assert old.revoked and not new.revoked and new.pk != old.pk
    assert (new.number, new.participant_group, new.benefit_level, new.province_code) == (
        old.number,
        "DN",
        4,
        "01",
    )
    assert (new.valid_from, new.valid_to) == (dt.date(2026, 11, 10), old.valid_to)
    assert (new.initial_facility_code, new.initial_facility_name) == ("01002", "")
    event = AuditEvent.objects.get(object_type="card", object_id=str(new.pk))
    assert event.detail == {"person": old.person_id, "reissue_of": old.pk, "reason": "lost"}


def test_reissue_same_facility_keeps_its_name() -> None:
    old = _card()
    new = services.reissue_card(old, reason="damaged", valid_from=dt.date(2026, 11, 10))
    assert (new.initial_facility_code, new.initial_facility_name) == ("01001", "Bệnh viện A")


@pytest.mark.parametrize(
    ("kw", "code"),
    [
        ({"reason": "stolen?"}, "reason_invalid"),
        ({"facility_code": "X" * 11}, "facility_invalid"),
        ({"valid_from": "2026-11-10"}, "date_invalid"),
        ({"valid_from": dt.date(2025, 12, 1)}, "valid_from_invalid"),
    ],
)
def test_reissue_refusals(kw: dict[str, Any], code: str) -> None:
    old = _card()
    args: dict[str, Any] = {"reason": "lost", "valid_from": dt.date(2026, 11, 10), **kw}
    with pytest.raises(DomainError) as exc:
        services.reissue_card(old, **args)
    assert exc.value.code == code
    assert HealthInsuranceCard.objects.filter(person_id=old.person_id).count() == 1


def test_reissue_of_a_replaced_or_expired_card_is_refused() -> None:
    old = _card()
    services.reissue_card(old, reason="lost", valid_from=dt.date(2026, 11, 10))
    with pytest.raises(Conflict) as exc:
        services.reissue_card(old, reason="lost", valid_from=dt.date(2026, 11, 11))
    assert exc.value.code == "card_revoked"
    expired = _card_for_other(valid_to=dt.date(2026, 6, 30))
    with pytest.raises(DomainError) as exc2:
        services.reissue_card(expired, reason="damaged", valid_from=dt.date(2026, 11, 10))
    assert exc2.value.code == "card_expired"
    assert LegacyNumber.objects.count() >= 1


def _card_for_other(**kw: Any) -> HealthInsuranceCard:
    return services.issue_card(
        make_person(),
        participant_group="DN",
        benefit_level=4,
        province_code="01",
        valid_from=dt.date(2026, 1, 1),
        **kw,
    )
