"""Registry writes: each bad input names the field and writes nothing."""

from __future__ import annotations

import datetime as dt
import io

import pytest

from ansinh.core.errors import Conflict, DomainError
from ansinh.registry import selectors, services
from ansinh.registry.models import (
    EmploymentSpell,
    HealthInsuranceCard,
    IdentityCheck,
    LegacyNumber,
    Person,
    SalaryPeriod,
)
from ansinh.registry.testing import (
    default_commune_code,
    make_employer,
    make_person,
    personal_id_for,
)

pytestmark = pytest.mark.django_db

DOB = dt.date(1990, 5, 17)


def _fields(exc: pytest.ExceptionInfo[DomainError]) -> dict[str, str]:
    return {e.field: e.code for e in exc.value.errors}


def test_register_consistent_person() -> None:
    person = make_person(full_name="  Đặng  Thị Ánh ", legacy_numbers=["0112345678"])
    assert person.ss_number == person.personal_id
    assert person.identity_check == IdentityCheck.CONSISTENT
    assert (person.family_name, person.middle_name, person.given_name) == ("Đặng", "Thị", "Ánh")
    assert person.name_normalised == "dang thi anh"
    assert selectors.find_person("0112345678") == person


def test_inconsistent_id_is_flagged_not_refused() -> None:
    """Decree 137/2015 Art. 13: a real ID keeps its digits; disagreement is flagged."""
    pid = personal_id_for(dt.date(1991, 1, 1), "F")
    person = make_person(personal_id=pid, date_of_birth=DOB, sex="M")
    assert person.identity_check == IdentityCheck.FLAGGED
    assert set(person.identity_flags.split(",")) == {"birth_year_mismatch", "sex_mismatch"}


def test_bad_person_reports_every_field_and_writes_nothing() -> None:
    with pytest.raises(DomainError) as exc:
        services.register_person(
            personal_id="12345",
            full_name="",
            date_of_birth=dt.date.today() + dt.timedelta(days=1),
            sex="X",
            nationality="vn",
            address_unit_code="99999",
            legacy_numbers=["123"],
        )
    assert _fields(exc) == {
        "personal_id": "personal_id_format",
        "full_name": "name_required",
        "date_of_birth": "date_of_birth_future",
        "sex": "sex_invalid",
        "nationality": "nationality_invalid",
        "address_unit_code": "unknown_unit",
        "legacy_numbers[0]": "legacy_number_format",
    }
    assert Person.objects.count() == 0


def test_birth_before_1900_refused() -> None:
    with pytest.raises(DomainError) as exc:
        make_person(personal_id=None, date_of_birth=dt.date(1899, 12, 31))
    assert _fields(exc) == {"date_of_birth": "date_of_birth_too_early"}


def test_duplicate_personal_id_is_conflict() -> None:
    first = make_person()
    with pytest.raises(Conflict) as exc:
        make_person(personal_id=first.personal_id, full_name="Lê Văn Khác")
    assert exc.value.first.code == "duplicate_personal_id"
    assert exc.value.first.field == "personal_id"
    assert Person.objects.count() == 1


def test_system_numbers_are_sequential() -> None:
    a = make_person(personal_id=None, nationality="KR", full_name="Kim Min Jun")
    b = make_person(personal_id=None, nationality="JP", full_name="Sato Yuki")
    assert a.ss_number.startswith("NN") and len(a.ss_number) == 12
    assert int(b.ss_number[2:]) == int(a.ss_number[2:]) + 1
    assert a.identity_check == IdentityCheck.NOT_APPLICABLE
    assert selectors.find_person(b.ss_number) == b


def test_update_person_rechecks_identity_and_name_index() -> None:
    person = make_person()
    services.update_person(person, full_name="Trần Văn Bình", sex="F")
    person.refresh_from_db()
    assert person.identity_check == IdentityCheck.FLAGGED
    assert list(selectors.search_persons(q="binh")) == [person]
    assert list(selectors.search_persons(q="an")) == []
    with pytest.raises(DomainError) as exc:
        services.update_person(person, personal_id="001090000001")
    assert _fields(exc) == {"personal_id": "not_updatable"}


def test_legacy_number_alias_rules() -> None:
    a = make_person()
    b = make_person(full_name="Lê Thị Hoa", sex="F")
    services.add_legacy_number(a, "0198765432")
    with pytest.raises(Conflict):
        services.add_legacy_number(b, "0198765432")
    with pytest.raises(DomainError) as exc:
        services.add_legacy_number(b, "12")
    assert _fields(exc) == {"number": "legacy_number_format"}
    assert LegacyNumber.objects.count() == 1


def test_ethnicity_validated_and_kept_apart() -> None:
    person = make_person(ethnicity_code="01")
    assert person.sensitive.ethnicity_code == "01"
    with pytest.raises(DomainError) as exc:
        services.set_ethnicity(person, "77")
    assert _fields(exc) == {"ethnicity_code": "ethnicity_invalid"}


def test_spells_refuse_overlap_negative_salary_and_bad_dates() -> None:
    person = make_person()
    employer = make_employer()
    spell = services.open_spell(
        person=person,
        employer=employer,
        start=dt.date(2024, 1, 1),
        contract_type="indefinite",
        salary=10_000_000,
    )
    with pytest.raises(Conflict) as exc:
        services.open_spell(
            person=person,
            employer=make_employer(),
            start=dt.date(2025, 1, 1),
            contract_type="fixed",
            salary=5_000_000,
        )
    assert exc.value.first.code == "spell_overlap"
    with pytest.raises(DomainError) as exc2:
        services.open_spell(
            person=make_person(full_name="Phạm Văn Cường"),
            employer=employer,
            start=dt.date(2024, 1, 1),
            contract_type="nonsense",
            salary=-1,
            allowances=-5,
        )
    assert _fields(exc2) == {
        "contract_type": "contract_type_invalid",
        "salary": "salary_negative",
        "allowances": "allowances_negative",
    }
    with pytest.raises(DomainError) as exc3:
        services.close_spell(spell, end=dt.date(2023, 12, 31))
    assert _fields(exc3) == {"end": "end_before_start"}
    assert EmploymentSpell.objects.count() == 1

    services.set_salary(spell, valid_from=dt.date(2024, 7, 1), salary=12_000_000, allowances=1)
    with pytest.raises(DomainError) as exc4:
        services.set_salary(spell, valid_from=dt.date(2023, 7, 1), salary=-3)
    assert _fields(exc4) == {"valid_from": "outside_spell", "salary": "salary_negative"}
    assert selectors.salary_on(spell, dt.date(2024, 6, 30)).salary == 10_000_000
    assert selectors.salary_on(spell, dt.date(2024, 8, 1)).insured_salary == 12_000_001
    assert selectors.salary_on(spell, dt.date(2023, 8, 1)) is None
    assert SalaryPeriod.objects.count() == 2

    services.close_spell(spell, end=dt.date(2024, 12, 31), reason="contract_end")
    assert list(selectors.employer_workers(employer, on=dt.date(2024, 12, 31))) == [spell]
    assert list(selectors.employer_workers(employer, on=dt.date(2025, 1, 1))) == []
    # A later spell after the closed one is fine; one reaching back into it is not.
    services.open_spell(
        person=person, employer=employer, start=dt.date(2025, 1, 1),
        contract_type="fixed", salary=1,
    )  # fmt: skip


def test_mark_deceased_closes_open_spells() -> None:
    person = make_person()
    spell = services.open_spell(
        person=person, employer=make_employer(), start=dt.date(2020, 1, 1),
        contract_type="fixed", salary=5_000_000,
    )  # fmt: skip
    with pytest.raises(DomainError):
        services.mark_deceased(person, date_of_death=dt.date(1980, 1, 1))
    services.mark_deceased(person, date_of_death=dt.date(2024, 3, 2))
    spell.refresh_from_db()
    assert spell.end == dt.date(2024, 3, 2)
    assert person.status == "deceased"


def test_employer_bad_input_names_fields() -> None:
    with pytest.raises(DomainError) as exc:
        services.register_employer(
            unit_code="12AB",
            unit_type="",
            participant_group="toolong",
            name="",
            address_unit_code="00000",
            wage_region=5,
            tax_code="12",
        )
    assert _fields(exc) == {
        "unit_code": "unit_code_format",
        "unit_type": "unit_type_invalid",
        "participant_group": "participant_group_invalid",
        "name": "name_required",
        "wage_region": "wage_region_invalid",
        "tax_code": "tax_code_format",
        "address_unit_code": "unknown_unit",
    }
    employer = make_employer(unit_code="0101234567")
    with pytest.raises(Conflict):
        make_employer(unit_code="0101234567")
    assert list(selectors.search_employers(q="thu nghiem")) == [employer]


def test_card_numbers_both_formats_decision_1351_1666() -> None:
    with_legacy = make_person(legacy_numbers=["7912345678"])
    card = services.issue_card(
        with_legacy, participant_group="DN", benefit_level=4, province_code="79",
        valid_from=dt.date(2026, 1, 1),
    )  # fmt: skip
    assert card.number == "DN4797912345678"
    without = make_person(full_name="Hồ Thị Lan", sex="F")
    card2 = services.issue_card(
        without, participant_group="HT", benefit_level=2, province_code="01",
        valid_from=dt.date(2026, 1, 1),
    )  # fmt: skip
    assert card2.short_number.startswith("99") and len(card2.number) == 15
    for q in ("DN4797912345678", "7912345678"):
        assert list(selectors.search_persons(q=q)) == [with_legacy]
    assert list(selectors.search_persons(q=card2.short_number)) == [without]
    with pytest.raises(DomainError) as exc:
        services.issue_card(
            without, participant_group="ZZ", benefit_level=9, province_code="03",
            valid_from=dt.date(2026, 1, 1), valid_to=dt.date(2025, 1, 1),
        )  # fmt: skip
    assert _fields(exc) == {
        "participant_group": "card_group",
        "benefit_level": "card_level",
        "province_code": "card_province",
        "valid_to": "end_before_start",
    }
    assert HealthInsuranceCard.objects.count() == 2


def test_search_by_words_number_dob_and_unit_in_vietnamese_order() -> None:
    unit = default_commune_code()
    an = make_person(full_name="Nguyễn Văn An")
    binh = make_person(full_name="Trần Thị Bình", sex="F", date_of_birth=dt.date(1985, 2, 3))
    anh = make_person(full_name="Đặng Ánh", sex="F")
    assert list(selectors.search_persons()) == [an, anh, binh]
    assert list(selectors.search_persons(q="an")) == [an, anh]
    assert list(selectors.search_persons(q="ANH dang")) == [anh]
    assert list(selectors.search_persons(q="văn nguy")) == [an]
    assert list(selectors.search_persons(q="tran an")) == []
    assert list(selectors.search_persons(q=binh.personal_id)) == [binh]
    assert list(selectors.search_persons(date_of_birth=dt.date(1985, 2, 3))) == [binh]
    assert selectors.search_persons(unit_code=unit).count() == 3
    with pytest.raises(DomainError) as exc:
        selectors.search_persons(unit_code="98765")
    assert _fields(exc) == {"unit_code": "unknown_unit"}


def test_batch_is_all_or_nothing() -> None:
    good = {"personal_id": personal_id_for(DOB, "M"), "full_name": "Lý Văn Tài",
            "date_of_birth": DOB, "sex": "M"}  # fmt: skip
    bad = {"personal_id": "1", "full_name": "Lý Thị Mai", "date_of_birth": "1990-13-01",
           "sex": "F"}  # fmt: skip
    with pytest.raises(DomainError) as exc:
        services.register_persons_batch([good, bad, dict(good)], actor=None)
    assert _fields(exc) == {
        "rows[1].personal_id": "personal_id_format",
        "rows[1].date_of_birth": "date_invalid",
        "rows[2].personal_id": "duplicate_personal_id",
    }
    assert Person.objects.count() == 0
    persons = services.register_persons_batch([good], actor=None)
    assert [p.full_name for p in persons] == ["Lý Văn Tài"]


def test_import_is_per_row_and_idempotent(tmp_path) -> None:
    unit = default_commune_code()
    pid = personal_id_for(DOB, "M")
    text = (
        "\ufeffpersonal_id,legacy_number,full_name,date_of_birth,sex,nationality,address_unit_code\n"
        f"{pid},0112223334,Nguyễn Văn An,1990-05-17,Nam,VN,{unit}\n"
        ",,Bad Date,31/02/1990,M,VN,\n"
        ",0155556666,Kim Min Jun,17/05/1990,M,KR,\n"
        "001,,Lê Văn Sai,1990-01-01,X,VN,\n"
    )
    path = tmp_path / "persons.csv"
    path.write_bytes(text.encode("utf-8"))
    report = services.import_persons(path)
    assert (report.created, report.unchanged, report.rejected) == (2, 0, 2)
    assert {(e.line, e.field, e.code) for e in report.errors} == {
        (3, "date_of_birth", "date_invalid"),
        (5, "personal_id", "personal_id_format"),
        (5, "sex", "sex_invalid"),
    }
    again = services.import_persons(io.BytesIO(text.encode("utf-8")))
    assert (again.created, again.unchanged, again.rejected) == (0, 2, 2)
    assert Person.objects.count() == 2
    changed = text.replace("Nguyễn Văn An", "Nguyễn Văn Ân")
    third = services.import_persons(io.StringIO(changed))
    assert (2, "personal_id", "duplicate_personal_id") in {
        (e.line, e.field, e.code) for e in third.errors
    }


def test_import_command_exit_code(tmp_path) -> None:
    from django.core.management import call_command

    path = tmp_path / "p.csv"
    path.write_text("full_name,date_of_birth,sex\nLê Văn Tư,1990-01-01,Q\n", encoding="utf-8")
    out = io.StringIO()
    with pytest.raises(SystemExit) as exc:
        call_command("import_persons", str(path), stdout=out)
    assert exc.value.code == 1
    assert "line 2: sex: sex_invalid" in out.getvalue()


def test_spell_salary_and_card_writes_are_audited() -> None:
    """Every write is recorded in the audit log (who, what, when), not only reads."""
    from ansinh.access.models import AuditEvent
    from ansinh.access.testing import make_user
    from ansinh.registry.testing import make_employer, make_person

    officer = make_user("officer")
    person, employer = make_person(), make_employer()
    spell = services.open_spell(
        person=person,
        employer=employer,
        start=dt.date(2026, 1, 5),
        contract_type="indefinite",
        salary=8_000_000,
        actor=officer,
    )
    services.set_salary(spell, valid_from=dt.date(2026, 3, 1), salary=9_000_000, actor=officer)
    services.close_spell(spell, end=dt.date(2026, 6, 30), actor=officer)
    card = services.issue_card(
        person,
        participant_group="DN",
        benefit_level=4,
        province_code="01",
        valid_from=dt.date(2026, 1, 5),
        actor=officer,
    )
    events = AuditEvent.objects.filter(actor=officer).order_by("id")
    assert [(e.action, e.object_type) for e in events] == [
        ("create", "spell"),
        ("update", "spell"),
        ("update", "spell"),
        ("create", "card"),
    ]
    assert events.last().object_id == str(card.pk)
