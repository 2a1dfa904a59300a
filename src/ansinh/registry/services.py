"""Registry writes. Every write validates first, collecting all field errors, then writes inside
one transaction: bad input writes nothing. Audit events are written when an actor is given.

Employment spells: the contribution ledger keeps one employer per person-month, so overlapping
spells of one person are refused; concurrent part-time contracts are out of scope for now.
"""

from __future__ import annotations

import csv
import datetime as dt
import io
import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path
from typing import IO, Any

from django.db import IntegrityError, transaction
from django.db.models import Q
from django.utils import timezone

from ansinh.core.errors import Conflict, DomainError, ErrorCollector
from ansinh.core.text import clean_name, normalise, sort_key, split_name
from ansinh.law.models import PayScale
from ansinh.registry import identifiers as ids
from ansinh.registry.cardcodes import PARTICIPANT_GROUPS
from ansinh.registry.models import (
    AddressReview,
    ContractType,
    Employer,
    EmploymentSpell,
    HealthInsuranceCard,
    IdentityCheck,
    LegacyNumber,
    NumberCounter,
    Person,
    PersonNameWord,
    PersonStatus,
    ReviewSource,
    ReviewStatus,
    SalaryPeriod,
    SensitiveAttributes,
    Sex,
)

EARLIEST_BIRTH = dt.date(1900, 1, 1)
#: System-issued 10-digit card numbers start here: "99" is no province code, so they cannot
#: collide with a BHXH number issued before 2025 (those start with a province code).
CARD_NUMBER_BASE = 9_900_000_000
_NAME_CHARS = re.compile(r"^[^\W\d_]+(?:[ '\-.][^\W\d_]+)*\.?$")
_NATIONALITY = re.compile(r"^[A-Z]{2}$")
_ETHNICITY = re.compile(r"^\d{2}$")
_UNIT_CODE = re.compile(r"^(\d{7}|\d{10}|\d{13})$")
_TAX_CODE = re.compile(r"^\d{10}(-?\d{3})?$")
_SHORT_CODE = re.compile(r"^[0-9A-Z]{1,4}$")


def _audit(actor: Any, action: str, object_type: str, object_id: str, **kw: Any) -> None:
    if actor is None:
        return
    from ansinh.access.services import audit

    audit(actor=actor, action=action, object_type=object_type, object_id=object_id, **kw)


def _next_values(name: str, count: int, start: int = 0) -> range:
    """The next ``count`` numbers of a series, as one block. Must run inside a transaction: the
    counter row is locked (SELECT … FOR UPDATE on PostgreSQL; SQLite's IMMEDIATE transactions
    hold the write lock)."""
    if count <= 0:
        return range(0)
    NumberCounter.objects.get_or_create(name=name, defaults={"last_value": start})
    counter = NumberCounter.objects.select_for_update().get(name=name)
    first = counter.last_value + 1
    counter.last_value += count
    counter.save(update_fields=["last_value"])
    return range(first, first + count)


def _next_value(name: str, start: int = 0) -> int:
    """Next number of a series (see :func:`_next_values`)."""
    return _next_values(name, 1, start)[0]


def _chunks(values: Sequence[Any], size: int = 500) -> list[Sequence[Any]]:
    """Slices for ``IN (…)`` look-ups of bulk services."""
    return [values[i : i + size] for i in range(0, len(values), size)]


def _current_commune(code: str) -> Any:
    from ansinh.places.selectors import current_commune

    return current_commune(code)


# --- Persons -----------------------------------------------------------------------------------


@dataclass
class PersonData:
    """A validated person, ready to be written."""

    personal_id: str | None
    full_name: str
    date_of_birth: dt.date
    sex: str
    nationality: str
    address_unit: Any
    ethnicity_code: str
    legacy_numbers: list[str]
    flags: list[str] = field(default_factory=list)
    #: Where the pre-2025 address commune went, if one was given.
    legacy_resolution: LegacyAddress | None = None


def _parse_date(value: Any) -> dt.date | None:
    if isinstance(value, dt.datetime):
        return value.date()
    if isinstance(value, dt.date):
        return value
    if isinstance(value, str):
        text = value.strip()
        for fmt in ("%Y-%m-%d", "%d/%m/%Y"):
            try:
                return dt.datetime.strptime(text, fmt).date()
            except ValueError:
                continue
    return None


def _check_birth_date(errs: ErrorCollector, value: Any, name: str = "date_of_birth") -> None:
    day = _parse_date(value)
    if day is None:
        errs.add(
            "date_invalid", name, "Ngày sinh không hợp lệ.", "The date of birth is not a date."
        )
    elif day > timezone.localdate():
        errs.add(
            "date_of_birth_future",
            name,
            "Ngày sinh không được ở tương lai.",
            "The date of birth cannot be in the future.",
        )
    elif day < EARLIEST_BIRTH:
        errs.add(
            "date_of_birth_too_early",
            name,
            "Ngày sinh không được trước 01/01/1900.",
            "The date of birth cannot be before 1900-01-01.",
        )


def _check_name(errs: ErrorCollector, full_name: Any) -> str:
    name = clean_name(full_name) if isinstance(full_name, str) else ""
    if not name:
        errs.add("name_required", "full_name", "Họ tên là bắt buộc.", "The full name is required.")
    elif len(name) > 120:
        errs.add(
            "name_too_long",
            "full_name",
            "Họ tên dài quá 120 ký tự.",
            "The full name is longer than 120 characters.",
        )
    elif not _NAME_CHARS.match(name):
        errs.add(
            "name_invalid",
            "full_name",
            "Họ tên chỉ gồm chữ cái, dấu cách, dấu nháy và gạch nối.",
            "The full name may contain only letters, spaces, apostrophes and hyphens.",
        )
    else:
        family, middle, given = split_name(name)
        if len(family) > 40 or len(middle) > 60 or len(given) > 40:
            errs.add(
                "name_too_long",
                "full_name",
                "Một phần của họ tên quá dài.",
                "A part of the full name is too long.",
            )
    return name


def _check_sex(errs: ErrorCollector, sex: Any) -> None:
    if sex not in Sex.values:
        errs.add("sex_invalid", "sex", "Giới tính phải là M hoặc F.", "Sex must be M or F.")


def _check_nationality(errs: ErrorCollector, nationality: Any) -> None:
    if not isinstance(nationality, str) or not _NATIONALITY.match(nationality):
        errs.add(
            "nationality_invalid",
            "nationality",
            "Quốc tịch phải là mã ISO 3166-1 gồm 2 chữ in hoa.",
            "Nationality must be a two-letter ISO 3166-1 code.",
        )


def _check_ethnicity(errs: ErrorCollector, code: Any) -> None:
    # GSO list of Vietnam's 54 ethnic groups, codes 01–54 (Decision 121-TCTK/PPCĐ).
    if code and not (isinstance(code, str) and _ETHNICITY.match(code) and 1 <= int(code) <= 54):
        errs.add(
            "ethnicity_invalid",
            "ethnicity_code",
            "Mã dân tộc phải từ 01 đến 54.",
            "The ethnicity code must be 01 to 54.",
        )


def _address_unit(errs: ErrorCollector, code: Any, name: str = "address_unit_code") -> Any:
    if not code:
        return None
    try:
        return _current_commune(str(code))
    except DomainError as exc:
        for e in exc.errors:
            errs.add(e.code, name, e.message_vi, e.message_en)
        return None


_LEGACY_FIELD = "legacy_address_unit_code"


@dataclass(frozen=True)
class LegacyAddress:
    """A pre-2025 commune and where it went in the 2025 reform (see
    ``ansinh.places.selectors.Resolution``): ``default`` is the successor recorded as the
    address; ``ambiguous`` (a split commune) means the address goes to review."""

    legacy_unit: Any
    default: Any
    candidates: list[Any]
    ambiguous: bool


def _legacy_address(
    errs: ErrorCollector, code: Any, name: str = _LEGACY_FIELD
) -> LegacyAddress | None:
    """Resolve a pre-2025 commune (5-digit code), or collect the error and return None."""
    from ansinh.places.models import UnitLevel, UnitSystem
    from ansinh.places.selectors import get_unit, successors_of

    if not code:
        return None
    code = str(code).strip()
    try:
        old = get_unit(UnitSystem.LEGACY, UnitLevel.COMMUNE, code)
    except DomainError as exc:
        for e in exc.errors:
            errs.add(e.code, name, e.message_vi, e.message_en)
        return None
    resolution = successors_of(old)
    if resolution.default is None:
        errs.add(
            "no_successor",
            name,
            f"Xã/phường cũ mã {code} không có đơn vị kế thừa đã biết; hãy nhập địa bàn hiện hành.",
            f"The old commune {code} has no known successor; give the current commune instead.",
        )
        return None
    return LegacyAddress(old, resolution.default, resolution.candidates, resolution.ambiguous)


def _check_address_fields(errs: ErrorCollector, current: Any, legacy: Any) -> None:
    if current and legacy:
        errs.add(
            "address_exclusive",
            _LEGACY_FIELD,
            "Chỉ nhập một trong hai: địa bàn hiện hành hoặc xã/phường cũ (trước 01/7/2025).",
            "Give either the current commune or the old (pre-2025) commune, not both.",
        )


def _check_review_source(errs: ErrorCollector, source: Any) -> None:
    if source not in ReviewSource.values:
        errs.add(
            "source_invalid",
            "source",
            "Nguồn dữ liệu không hợp lệ.",
            f"The source must be one of {', '.join(ReviewSource.values)}.",
        )


def validate_person(
    *,
    personal_id: str | None,
    full_name: str,
    date_of_birth: Any,
    sex: str,
    nationality: str = "VN",
    address_unit_code: str | None = None,
    ethnicity_code: str = "",
    legacy_numbers: Sequence[str] = (),
    legacy_address_unit_code: str | None = None,
) -> PersonData:
    """All field checks of a new person, without touching the database except to read units
    and duplicates. Raises DomainError with every field error; Conflict for duplicates.

    The address is a current commune (``address_unit_code``) or a pre-2025 one
    (``legacy_address_unit_code``), not both; a pre-2025 commune gives its default successor,
    and ``legacy_resolution`` says whether the address must go to review."""
    data = _person_fields(
        personal_id=personal_id,
        full_name=full_name,
        date_of_birth=date_of_birth,
        sex=sex,
        nationality=nationality,
        address_unit_code=address_unit_code,
        ethnicity_code=ethnicity_code,
        legacy_numbers=legacy_numbers,
        legacy_address_unit_code=legacy_address_unit_code,
    )
    pids = {data.personal_id} if data.personal_id else set()
    _check_duplicates(
        data,
        set(Person.objects.filter(ss_number__in=pids).values_list("ss_number", flat=True)),
        set(
            LegacyNumber.objects.filter(number__in=data.legacy_numbers).values_list(
                "number", flat=True
            )
        ),
    )
    return data


def _person_fields(
    *,
    personal_id: str | None,
    full_name: str,
    date_of_birth: Any,
    sex: str,
    nationality: str = "VN",
    address_unit_code: str | None = None,
    ethnicity_code: str = "",
    legacy_numbers: Sequence[str] = (),
    legacy_address_unit_code: str | None = None,
    communes: dict[str, Any] | None = None,
    legacy_units: dict[str, LegacyAddress] | None = None,
) -> PersonData:
    """The field checks of :func:`validate_person`, without the duplicate look-ups; communes
    already read (``communes``: code → unit) are not read again, nor pre-2025 communes already
    resolved (``legacy_units``: code → resolution, filled here; only resolved codes are kept,
    a code in error is checked again and gives the same errors)."""
    errs = ErrorCollector()
    name = _check_name(errs, full_name)
    _check_birth_date(errs, date_of_birth)
    _check_sex(errs, sex)
    _check_nationality(errs, nationality)
    _check_ethnicity(errs, ethnicity_code)
    _check_address_fields(errs, address_unit_code, legacy_address_unit_code)
    if communes is not None and address_unit_code and str(address_unit_code) in communes:
        unit = communes[str(address_unit_code)]
    else:
        unit = _address_unit(errs, address_unit_code)
    legacy_code = str(legacy_address_unit_code).strip() if legacy_address_unit_code else ""
    if legacy_units is not None and legacy_code in legacy_units:
        resolution: LegacyAddress | None = legacy_units[legacy_code]
    else:
        resolution = _legacy_address(errs, legacy_address_unit_code)
        if legacy_units is not None and resolution is not None:
            legacy_units[legacy_code] = resolution
    if resolution is not None:
        unit = resolution.default
    pid = (personal_id or "").strip() or None
    flags: list[str] = []
    day = _parse_date(date_of_birth)
    if pid is not None:
        check = ids.check_personal_id(
            pid, date_of_birth=day, sex=sex if sex in Sex.values else None
        )
        errs.errors.extend(check.errors)
        flags = check.flags
    legacy = [str(n).strip() for n in legacy_numbers]
    for i, number in enumerate(legacy):
        if not ids.is_legacy_number(number):
            errs.add(
                "legacy_number_format",
                f"legacy_numbers[{i}]",
                "Mã số BHXH cũ phải gồm đúng 10 chữ số.",
                "A legacy social insurance number must be exactly 10 digits.",
            )
    errs.raise_if_any()
    assert day is not None
    return PersonData(
        personal_id=pid,
        full_name=name,
        date_of_birth=day,
        sex=sex,
        nationality=nationality,
        address_unit=unit,
        ethnicity_code=ethnicity_code or "",
        legacy_numbers=legacy,
        flags=flags,
        legacy_resolution=resolution,
    )


def _check_duplicates(data: PersonData, taken_pids: set[str], taken_legacy: set[str]) -> None:
    """Refuse (Conflict) a personal ID or legacy number already in the registry."""
    dup = ErrorCollector()
    if data.personal_id is not None and data.personal_id in taken_pids:
        dup.add(
            "duplicate_personal_id",
            "personal_id",
            "Số định danh cá nhân đã có trong sổ đăng ký.",
            "This personal ID is already registered.",
        )
    legacy = data.legacy_numbers
    for i, number in enumerate(legacy):
        if number in taken_legacy or legacy.index(number) != i:
            dup.add(
                "duplicate_legacy_number",
                f"legacy_numbers[{i}]",
                f"Mã số BHXH {number} đã được dùng.",
                f"Legacy number {number} is already in use.",
            )
    if dup:
        raise Conflict.many(dup.errors)


def _name_fields(full_name: str) -> dict[str, str]:
    family, middle, given, normalised, key = _name_parts(full_name)
    return {
        "full_name": full_name,
        "family_name": family,
        "middle_name": middle,
        "given_name": given,
        "name_normalised": normalised,
        "sort_key": key,
    }


@lru_cache(maxsize=100_000)
def _name_parts(full_name: str) -> tuple[str, str, str, str, str]:
    """The derived name columns: pure functions of the name, so a bulk registration (an import
    of a million rows holds ~73,000 distinct names) computes them once per name."""
    family, middle, given = split_name(full_name)
    return family, middle, given, normalise(full_name), sort_key(full_name)


@lru_cache(maxsize=100_000)
def _name_words(name_normalised: str) -> tuple[str, ...]:
    """The search words of a normalised name (sorted, each cut to 40 characters)."""
    return tuple(sorted({w[:40] for w in name_normalised.split(" ") if w}))


def _write_name_words(person: Person) -> None:
    PersonNameWord.objects.filter(person=person).delete()
    words = sorted({w[:40] for w in person.name_normalised.split(" ") if w})
    PersonNameWord.objects.bulk_create([PersonNameWord(person=person, word=w) for w in words])


def _create_persons(items: list[PersonData]) -> list[Person]:
    """Insert validated persons with their legacy numbers, sensitive attributes and name words
    (bulk inserts; system numbers ``NN…`` as one block). Inside a transaction; an
    ``IntegrityError`` (a concurrent registration) leaves it to the caller."""
    system = iter(_next_values("ss_number", sum(not d.personal_id for d in items)))
    persons = []
    for data in items:
        if data.personal_id:
            ss_number = data.personal_id
            check = IdentityCheck.FLAGGED if data.flags else IdentityCheck.CONSISTENT
        else:
            ss_number = f"NN{next(system):010d}"
            check = IdentityCheck.NOT_APPLICABLE
        persons.append(
            Person(
                ss_number=ss_number,
                personal_id=data.personal_id,
                date_of_birth=data.date_of_birth,
                sex=data.sex,
                nationality=data.nationality,
                address_unit=data.address_unit,
                identity_check=check,
                identity_flags=",".join(data.flags),
                **_name_fields(data.full_name),
            )
        )
    Person.objects.bulk_create(persons)
    LegacyNumber.objects.bulk_create(
        [
            LegacyNumber(person=p, number=n)
            for p, d in zip(persons, items, strict=True)
            for n in d.legacy_numbers
        ]
    )
    SensitiveAttributes.objects.bulk_create(
        [
            SensitiveAttributes(person=p, ethnicity_code=d.ethnicity_code)
            for p, d in zip(persons, items, strict=True)
            if d.ethnicity_code
        ]
    )
    _insert_name_words([(p.pk, w) for p in persons for w in _name_words(p.name_normalised)])
    return persons


def _insert_name_words(pairs: list[tuple[int, str]]) -> None:
    """Insert ``(person_id, word)`` rows: one prepared INSERT sent with ``executemany`` per
    chunk, instead of a model instance and the ORM's per-field preparation for each of the ~3
    words of every person (the same rows as ``bulk_create``)."""
    from django.db import connection

    table = connection.ops.quote_name(PersonNameWord._meta.db_table)
    sql = f"INSERT INTO {table} (person_id, word) VALUES (%s, %s)"  # noqa: S608 - table name from the model, values bound
    with connection.cursor() as cursor:
        for start in range(0, len(pairs), 5000):
            cursor.executemany(sql, pairs[start : start + 5000])


def register_person(
    *,
    personal_id: str | None,
    full_name: str,
    date_of_birth: dt.date,
    sex: str,
    nationality: str = "VN",
    address_unit_code: str | None = None,
    ethnicity_code: str = "",
    legacy_numbers: Sequence[str] = (),
    legacy_address_unit_code: str | None = None,
    review_source: str = ReviewSource.API,
    actor: Any = None,
) -> Person:
    """Register a person (đăng ký đối tượng). A personal ID that disagrees with the birth date
    or sex is kept and flagged for verification; no personal ID → a system number ``NN…``.

    An address given as a pre-2025 commune (``legacy_address_unit_code``) becomes its successor;
    when that commune was split, the default successor is recorded provisionally and an open
    :class:`AddressReview` (with ``review_source``) lists every candidate."""
    person, _review = _register_person(
        review_source=review_source,
        actor=actor,
        personal_id=personal_id,
        full_name=full_name,
        date_of_birth=date_of_birth,
        sex=sex,
        nationality=nationality,
        address_unit_code=address_unit_code,
        ethnicity_code=ethnicity_code,
        legacy_numbers=legacy_numbers,
        legacy_address_unit_code=legacy_address_unit_code,
    )
    return person


def _register_person(
    *, review_source: str, actor: Any, **fields: Any
) -> tuple[Person, AddressReview | None]:
    """:func:`register_person`, also returning the address review opened (or None)."""
    result = _register_persons([fields], review_source=review_source, actor=actor)[0]
    if isinstance(result, DomainError):
        raise result
    return result


def register_persons(
    items: Sequence[dict[str, Any]], *, actor: Any = None, review_source: str = ReviewSource.API
) -> list[Person | DomainError]:
    """Register many persons, each on its own (PER ITEM, unlike the all-or-nothing
    :func:`register_persons_batch`): every item (the keyword arguments of
    :func:`register_person`) is answered with its person or its ``DomainError``, as
    :func:`register_person` one by one in order would — a second item with a personal ID or
    legacy number taken by an earlier item is a duplicate. In bulk: the communes, the
    duplicates and the system numbers read once, the rows inserted together."""
    return [
        r if isinstance(r, DomainError) else r[0]
        for r in _register_persons(items, review_source=review_source, actor=actor)
    ]


def _register_persons(
    items: Sequence[dict[str, Any]], *, review_source: str, actor: Any
) -> list[tuple[Person, AddressReview | None] | DomainError]:
    results: list[Any] = [None] * len(items)
    errs = ErrorCollector()
    _check_review_source(errs, review_source)
    errs.raise_if_any()
    from ansinh.places.models import AdminUnit, UnitLevel, UnitSystem

    codes = sorted({str(f["address_unit_code"]) for f in items if f.get("address_unit_code")})
    communes: dict[str, Any] = {}
    for part in _chunks(codes):
        for unit in AdminUnit.objects.filter(
            system=UnitSystem.CURRENT, level=UnitLevel.COMMUNE, code__in=part
        ):
            communes[unit.code] = unit
    checked: dict[int, PersonData] = {}
    legacy_units: dict[str, LegacyAddress] = {}
    for i, fields in enumerate(items):
        try:
            checked[i] = _person_fields(**fields, communes=communes, legacy_units=legacy_units)
        except DomainError as exc:
            results[i] = exc
    pids = sorted({d.personal_id for d in checked.values() if d.personal_id})
    numbers = sorted({n for d in checked.values() for n in d.legacy_numbers})
    taken_pids: set[str] = set()
    taken_legacy: set[str] = set()
    for part in _chunks(pids):
        taken_pids.update(
            Person.objects.filter(ss_number__in=part).values_list("ss_number", flat=True)
        )
    for part in _chunks(numbers):
        taken_legacy.update(
            LegacyNumber.objects.filter(number__in=part).values_list("number", flat=True)
        )
    valid: list[int] = []
    for i, data in checked.items():
        try:
            _check_duplicates(data, taken_pids, taken_legacy)
        except DomainError as exc:
            results[i] = exc
            continue
        if data.personal_id:
            taken_pids.add(data.personal_id)
        taken_legacy.update(data.legacy_numbers)
        valid.append(i)
    if not valid:
        return results
    try:
        with transaction.atomic():
            persons = _create_persons([checked[i] for i in valid])
            for i, person in zip(valid, persons, strict=True):
                data = checked[i]
                review = _open_review(person, data.legacy_resolution, source=review_source)
                detail = {"address_review": review.pk} if review is not None else None
                _audit(actor, "create", "person", str(person.pk), detail=detail)
                results[i] = (person, review)
    except IntegrityError as exc:  # lost a race with a concurrent registration
        if len(valid) > 1:  # find which: one by one
            for i in valid:
                results[i] = _register_persons(
                    [items[i]], review_source=review_source, actor=actor
                )[0]
            return results
        results[valid[0]] = Conflict(
            "duplicate_personal_id",
            "personal_id",
            "Số định danh cá nhân hoặc mã số BHXH đã có trong sổ đăng ký.",
            "The personal ID or a legacy number is already registered.",
        )
        results[valid[0]].__cause__ = exc
    return results


def _open_review(
    person: Person, resolution: LegacyAddress | None, *, source: str
) -> AddressReview | None:
    """Open a review when the person's pre-2025 commune was split. Inside a transaction."""
    if resolution is None or not resolution.ambiguous:
        return None
    review = AddressReview.objects.create(
        person=person,
        legacy_unit=resolution.legacy_unit,
        proposed=resolution.default,
        source=source,
    )
    review.candidates.set(resolution.candidates)
    return review


def _close_open_review(person: Person, *, actor: Any) -> int | None:
    """Close the person's open review, if any, as superseded (resolved without a choice) by an
    address given later. Inside a transaction; returns the review id."""
    review = (
        AddressReview.objects.select_for_update()
        .filter(person=person, status=ReviewStatus.OPEN)
        .first()
    )
    if review is None:
        return None
    review.status = ReviewStatus.RESOLVED
    review.resolved_at = timezone.now()
    review.resolved_by = actor if getattr(actor, "is_authenticated", False) else None
    review.save(update_fields=["status", "resolved_at", "resolved_by"])
    return review.pk


_ROW_KEYS = (
    "personal_id",
    "full_name",
    "date_of_birth",
    "sex",
    "nationality",
    "address_unit_code",
    "ethnicity_code",
    "legacy_numbers",
    "legacy_address_unit_code",
)


def register_persons_batch(
    rows: list[dict[str, Any]], *, actor: Any, review_source: str = ReviewSource.API
) -> list[Person]:
    """ALL-OR-NOTHING: every row is validated first; any error → one DomainError listing every
    row error (field ``rows[i].field``) and nothing is written. Rows whose pre-2025 commune was
    split get an open address review, as in :func:`register_person`."""
    errs = ErrorCollector()
    data: list[PersonData] = []
    seen_pids: dict[str, int] = {}
    seen_legacy: dict[str, int] = {}
    for i, row in enumerate(rows):
        unknown = set(row) - set(_ROW_KEYS)
        if unknown:
            errs.add(
                "unknown_field",
                f"rows[{i}].{sorted(unknown)[0]}",
                "Trường không được hỗ trợ.",
                "Unsupported field.",
            )
            continue
        kw = {"personal_id": None, **row}
        kw.setdefault("full_name", "")
        kw.setdefault("date_of_birth", None)
        kw.setdefault("sex", "")
        try:
            item = validate_person(**kw)
        except DomainError as exc:
            for e in exc.errors:
                errs.add(e.code, f"rows[{i}].{e.field}", e.message_vi, e.message_en)
            continue
        if item.personal_id:
            if item.personal_id in seen_pids:
                errs.add(
                    "duplicate_personal_id",
                    f"rows[{i}].personal_id",
                    f"Trùng số định danh với dòng {seen_pids[item.personal_id]}.",
                    f"Same personal ID as row {seen_pids[item.personal_id]}.",
                )
            seen_pids.setdefault(item.personal_id, i)
        for number in item.legacy_numbers:
            if number in seen_legacy:
                errs.add(
                    "duplicate_legacy_number",
                    f"rows[{i}].legacy_numbers",
                    f"Trùng mã số BHXH với dòng {seen_legacy[number]}.",
                    f"Same legacy number as row {seen_legacy[number]}.",
                )
            seen_legacy.setdefault(number, i)
        data.append(item)
    _check_review_source(errs, review_source)
    errs.raise_if_any()
    with transaction.atomic():
        try:
            with transaction.atomic():
                persons = _create_persons(data)
        except IntegrityError as exc:  # lost a race with a concurrent registration
            raise Conflict(
                "duplicate_personal_id",
                "personal_id",
                "Số định danh cá nhân hoặc mã số BHXH đã có trong sổ đăng ký.",
                "The personal ID or a legacy number is already registered.",
            ) from exc
        reviews = 0
        for person, item in zip(persons, data, strict=True):
            if _open_review(person, item.legacy_resolution, source=review_source) is not None:
                reviews += 1
        detail: dict[str, int] = {"batch": len(persons)}
        if reviews:
            detail["address_reviews"] = reviews
        _audit(actor, "create", "person", "", detail=detail)
    return persons


_UPDATABLE = {"full_name", "date_of_birth", "sex", "nationality", "address_unit_code"}


def update_person(person: Person, *, actor: Any = None, **changes: Any) -> Person:
    """Change name, date of birth, sex, nationality or address. Identifiers are not changed
    here; the identity check is recomputed when the birth date or sex changes."""
    errs = ErrorCollector()
    for key in sorted(set(changes) - _UPDATABLE):
        errs.add("not_updatable", key, "Không thể sửa trường này.", "This field cannot be changed.")
    if "full_name" in changes:
        changes["full_name"] = _check_name(errs, changes["full_name"])
    if "date_of_birth" in changes:
        _check_birth_date(errs, changes["date_of_birth"])
    if "sex" in changes:
        _check_sex(errs, changes["sex"])
    if "nationality" in changes:
        _check_nationality(errs, changes["nationality"])
    unit = _address_unit(errs, changes.get("address_unit_code"))
    errs.raise_if_any()
    with transaction.atomic():
        person = Person.objects.select_for_update().get(pk=person.pk)
        if "full_name" in changes:
            for k, v in _name_fields(changes["full_name"]).items():
                setattr(person, k, v)
        if "date_of_birth" in changes:
            person.date_of_birth = _parse_date(changes["date_of_birth"])  # type: ignore[assignment]
        for key in ("sex", "nationality"):
            if key in changes:
                setattr(person, key, changes[key])
        superseded = None
        if "address_unit_code" in changes:
            person.address_unit = unit
            superseded = _close_open_review(person, actor=actor)
        if person.personal_id:
            flags = ids.check_personal_id(
                person.personal_id, date_of_birth=person.date_of_birth, sex=person.sex
            ).flags
            person.identity_flags = ",".join(flags)
            person.identity_check = IdentityCheck.FLAGGED if flags else IdentityCheck.CONSISTENT
        person.save()
        if "full_name" in changes:
            _write_name_words(person)
        detail: dict[str, Any] = {"fields": sorted(changes)}
        if superseded is not None:
            detail["address_review_superseded"] = superseded
        _audit(actor, "update", "person", str(person.pk), detail=detail)
    return person


# --- Addresses given as a pre-2025 commune -----------------------------------------------------


def set_legacy_address(
    person: Person, legacy_code: str, *, actor: Any = None, source: str = ReviewSource.API
) -> AddressReview | None:
    """Set an existing person's address from a pre-2025 commune: its successor, or, when the
    commune was split, the default successor provisionally and an open review (returned).
    An open review of the person's earlier address is closed as superseded."""
    errs = ErrorCollector()
    _check_review_source(errs, source)
    if not legacy_code:
        errs.add(
            "unknown_unit",
            _LEGACY_FIELD,
            "Mã xã/phường cũ là bắt buộc.",
            "The old commune code is required.",
        )
    resolution = _legacy_address(errs, legacy_code)
    errs.raise_if_any()
    assert resolution is not None
    with transaction.atomic():
        person = Person.objects.select_for_update().get(pk=person.pk)
        superseded = _close_open_review(person, actor=actor)
        person.address_unit = resolution.default
        person.save(update_fields=["address_unit", "updated_at"])
        review = _open_review(person, resolution, source=source)
        detail: dict[str, Any] = {
            "fields": ["address_unit_code"],
            "legacy_address_unit_code": resolution.legacy_unit.code,
        }
        if review is not None:
            detail["address_review"] = review.pk
        if superseded is not None:
            detail["address_review_superseded"] = superseded
        _audit(actor, "update", "person", str(person.pk), detail=detail)
    return review


def resolve_address_review(review: AddressReview, *, chosen_code: str, actor: Any) -> AddressReview:
    """Close an open review: the person's address becomes ``chosen_code``, which must be one of
    the review's candidates (current 5-digit commune codes). Raises ``DomainError``
    ``not_a_candidate`` (nothing written) or ``Conflict`` ``review_closed``."""
    chosen_code = (chosen_code or "").strip() if isinstance(chosen_code, str) else ""
    chosen = review.candidates.filter(code=chosen_code).first() if chosen_code else None
    if chosen is None:
        codes = ", ".join(review.candidates.order_by("code").values_list("code", flat=True))
        raise DomainError(
            "not_a_candidate",
            "chosen",
            f"Địa bàn {chosen_code!r} không thuộc các xã/phường kế thừa ({codes}).",
            f"{chosen_code!r} is not one of the candidate communes ({codes}).",
        )

    def closed() -> Conflict:
        return Conflict(
            "review_closed",
            "status",
            "Địa chỉ này đã được xác định rồi.",
            "This address review is already resolved.",
        )

    if review.status != ReviewStatus.OPEN:
        raise closed()
    with transaction.atomic():
        locked = AddressReview.objects.select_for_update().get(pk=review.pk)
        if locked.status != ReviewStatus.OPEN:  # resolved meanwhile by someone else
            raise closed()
        person = Person.objects.select_for_update().get(pk=locked.person_id)
        person.address_unit = chosen
        person.save(update_fields=["address_unit", "updated_at"])
        locked.status = ReviewStatus.RESOLVED
        locked.chosen = chosen
        locked.resolved_by = actor if getattr(actor, "is_authenticated", False) else None
        locked.resolved_at = timezone.now()
        locked.save(update_fields=["status", "chosen", "resolved_by", "resolved_at"])
        _audit(
            actor,
            "update",
            "person",
            str(person.pk),
            detail={
                "fields": ["address_unit_code"],
                "address_review": locked.pk,
                "chosen": chosen.code,
            },
        )
    for name in ("status", "chosen", "resolved_by", "resolved_at"):
        setattr(review, name, getattr(locked, name))
    return review


def add_legacy_number(person: Person, number: str, *, actor: Any = None) -> LegacyNumber:
    """Attach a pre-2025 10-digit social insurance number as an alias."""
    number = (number or "").strip()
    if not ids.is_legacy_number(number):
        raise DomainError(
            "legacy_number_format",
            "number",
            "Mã số BHXH cũ phải gồm đúng 10 chữ số.",
            "A legacy social insurance number must be exactly 10 digits.",
        )
    existing = LegacyNumber.objects.filter(number=number).first()
    if existing is not None:
        if existing.person_id == person.pk:
            return existing
        raise Conflict(
            "duplicate_legacy_number",
            "number",
            f"Mã số BHXH {number} đã thuộc về người khác.",
            f"Legacy number {number} belongs to another person.",
        )
    with transaction.atomic():
        row = LegacyNumber.objects.create(person=person, number=number)
        _audit(actor, "update", "person", str(person.pk), detail={"legacy_number": number})
    return row


def set_ethnicity(person: Person, ethnicity_code: str, *, actor: Any = None) -> None:
    """Record the ethnicity (sensitive data, Decree 13/2023); empty clears it."""
    errs = ErrorCollector()
    _check_ethnicity(errs, ethnicity_code)
    errs.raise_if_any()
    with transaction.atomic():
        SensitiveAttributes.objects.update_or_create(
            person=person, defaults={"ethnicity_code": ethnicity_code or ""}
        )
        _audit(actor, "update", "person", str(person.pk), detail={"sensitive": True})


def mark_deceased(person: Person, *, date_of_death: dt.date, actor: Any = None) -> Person:
    """Record a death; open employment spells end on the day of death."""
    if not isinstance(date_of_death, dt.date):
        raise DomainError("date_invalid", "date_of_death", "Ngày mất không hợp lệ.", "Not a date.")
    if date_of_death > timezone.localdate() or date_of_death < person.date_of_birth:
        raise DomainError(
            "date_of_death_invalid",
            "date_of_death",
            "Ngày mất không được ở tương lai hoặc trước ngày sinh.",
            "The date of death cannot be in the future or before the date of birth.",
        )
    if person.spells.filter(start__gt=date_of_death).exists():
        raise DomainError(
            "spell_after_death",
            "date_of_death",
            "Có quá trình làm việc bắt đầu sau ngày mất.",
            "An employment spell starts after the date of death.",
        )
    with transaction.atomic():
        person.status = PersonStatus.DECEASED
        person.date_of_death = date_of_death
        person.save(update_fields=["status", "date_of_death", "updated_at"])
        person.spells.filter(end__isnull=True).update(
            end=date_of_death, termination_reason="deceased"
        )
        _audit(actor, "update", "person", str(person.pk), detail={"deceased": True})
    return person


# --- CSV import (per row) ----------------------------------------------------------------------


@dataclass(frozen=True)
class RowError:
    line: int
    field: str | None
    code: str
    message_vi: str
    message_en: str


@dataclass
class ImportReport:
    """PER-ROW import result: good rows are kept, bad rows are listed."""

    created: int = 0
    unchanged: int = 0
    #: Persons created whose pre-2025 commune was split: their address awaits review.
    sent_to_review: int = 0
    errors: list[RowError] = field(default_factory=list)

    @property
    def rejected(self) -> int:
        return len({e.line for e in self.errors})

    @property
    def ok(self) -> bool:
        return not self.errors


_SEX_WORDS = {"m": "M", "nam": "M", "male": "M", "f": "F", "nữ": "F", "nu": "F", "female": "F"}
IMPORT_COLUMNS = (
    "personal_id",
    "legacy_number",
    "full_name",
    "date_of_birth",
    "sex",
    "nationality",
    "address_unit_code",
    "legacy_address_unit_code",
)


def _existing_match(row: dict[str, Any]) -> Person | None:
    """The person this row describes if already registered, for idempotent re-imports."""
    if row["personal_id"]:
        return Person.objects.filter(ss_number=row["personal_id"]).first()
    if row["legacy_numbers"]:
        hit = LegacyNumber.objects.filter(number=row["legacy_numbers"][0]).first()
        return hit.person if hit else None
    return None


def _same_address(person: Person, row: dict[str, Any]) -> bool:
    """A pre-2025 commune matches any of its successors (the review may have picked one)."""
    unit_code = person.address_unit.code if person.address_unit_id else ""
    if row["legacy_address_unit_code"] and not row["address_unit_code"]:
        legacy = _legacy_address(ErrorCollector(), row["legacy_address_unit_code"])
        return legacy is not None and unit_code in {u.code for u in legacy.candidates}
    return unit_code == (row["address_unit_code"] or "")


def _same_data(person: Person, row: dict[str, Any]) -> bool:
    return (
        person.full_name == clean_name(row["full_name"])
        and person.date_of_birth == _parse_date(row["date_of_birth"])
        and person.sex == row["sex"]
        and person.nationality == row["nationality"]
        and _same_address(person, row)
        and set(row["legacy_numbers"])
        <= set(person.legacy_numbers.values_list("number", flat=True))
    )


def import_persons(
    path_or_file: str | Path | IO[str] | IO[bytes], *, actor: Any = None
) -> ImportReport:
    """Import persons from CSV (UTF-8, with or without BOM). PER-ROW: each good row is written
    in its own transaction and kept; each bad row is reported with its line number. A row whose
    person is already present with the same data is counted as unchanged (re-import = no-op).
    The address is ``address_unit_code`` (current commune) or ``legacy_address_unit_code``
    (pre-2025 commune); persons from a split commune are counted in ``sent_to_review``."""
    if isinstance(path_or_file, str | Path):
        text = Path(path_or_file).read_bytes().decode("utf-8-sig")
    else:
        raw = path_or_file.read()
        text = raw.decode("utf-8-sig") if isinstance(raw, bytes) else raw.lstrip("\ufeff")
    reader = csv.DictReader(io.StringIO(text))
    report = ImportReport()
    missing = [
        c for c in ("full_name", "date_of_birth", "sex") if c not in (reader.fieldnames or [])
    ]
    if missing:
        report.errors.append(
            RowError(1, missing[0], "missing_column", "Thiếu cột bắt buộc.", "Missing column.")
        )
        return report
    for raw_row in reader:
        line = reader.line_num

        def get(k: str, r: dict[str, Any] = raw_row) -> str:
            return (r.get(k) or "").strip()

        row: dict[str, Any] = {
            "personal_id": get("personal_id") or None,
            "full_name": get("full_name"),
            "date_of_birth": get("date_of_birth"),
            "sex": _SEX_WORDS.get(get("sex").lower(), get("sex")),
            "nationality": get("nationality").upper() or "VN",
            "address_unit_code": get("address_unit_code") or None,
            "legacy_address_unit_code": get("legacy_address_unit_code") or None,
            "legacy_numbers": [get("legacy_number")] if get("legacy_number") else [],
        }
        existing = _existing_match(row)
        if existing is not None:
            if _same_data(existing, row):
                report.unchanged += 1
                continue
        try:
            _person, review = _register_person(
                review_source=ReviewSource.IMPORT, actor=actor, **row
            )
        except DomainError as exc:
            for e in exc.errors:
                report.errors.append(RowError(line, e.field, e.code, e.message_vi, e.message_en))
            continue
        report.created += 1
        if review is not None:
            report.sent_to_review += 1
    return report


# --- Employers ---------------------------------------------------------------------------------


def _check_employer_fields(errs: ErrorCollector, values: dict[str, Any]) -> Any:
    """The checks of the employer fields present in ``values`` (the VSS code set and the
    employer's particulars); returns the address commune when ``address_unit_code`` is given.
    Shared by registration (every field) and :func:`update_employer` (the changed ones)."""
    for key in ("unit_type", "participant_group"):
        if key in values and (
            not isinstance(values[key], str) or not _SHORT_CODE.match(values[key])
        ):
            errs.add(
                f"{key}_invalid",
                key,
                "Mã phải gồm 1–4 chữ in hoa hoặc chữ số.",
                "The code must be 1–4 upper-case letters or digits.",
            )
    if "name" in values:
        name = values["name"]
        if not name or len(name) > 200:
            errs.add(
                "name_required",
                "name",
                "Tên đơn vị là bắt buộc (tối đa 200 ký tự).",
                "The employer name is required (at most 200 characters).",
            )
    if "wage_region" in values:
        region = values["wage_region"]
        if not isinstance(region, int) or not 1 <= region <= 4:
            errs.add(
                "wage_region_invalid",
                "wage_region",
                "Vùng lương tối thiểu phải từ 1 đến 4 (vùng I–IV).",
                "The wage region must be 1 to 4 (regions I–IV).",
            )
    tax_code = values.get("tax_code")
    if tax_code and not (isinstance(tax_code, str) and _TAX_CODE.match(tax_code)):
        errs.add(
            "tax_code_format",
            "tax_code",
            "Mã số thuế phải gồm 10 hoặc 13 chữ số.",
            "The tax code must have 10 or 13 digits.",
        )
    if "sector" in values and len(values["sector"] or "") > 60:
        errs.add("sector_too_long", "sector", "Ngành quá dài.", "The sector is too long.")
    if "pay_scale" in values and values["pay_scale"] not in PayScale.values:
        errs.add(
            "pay_scale_invalid",
            "pay_scale",
            "Thang lương phải là 'state' hoặc 'employer'.",
            "The pay scale must be 'state' or 'employer'.",
        )
    if "address_unit_code" not in values:
        return None
    if not values["address_unit_code"]:
        errs.add(
            "unknown_unit", "address_unit_code", "Địa bàn là bắt buộc.", "The address is required."
        )
    return _address_unit(errs, values["address_unit_code"])


def register_employer(
    *,
    unit_code: str,
    unit_type: str,
    participant_group: str,
    name: str,
    address_unit_code: str,
    wage_region: int,
    tax_code: str = "",
    sector: str = "",
    pay_scale: str = "employer",
    actor: Any = None,
) -> Employer:
    """Register an employer under the VSS code set: unit identifier DD (7-digit budget code,
    10-digit enterprise code, or 13 digits for a branch), type DT and group LH (1–4 letters or
    digits each; the official DT/LH lists are not published, so only the shape is checked)."""
    errs = ErrorCollector()
    unit_code = (unit_code or "").strip().replace("-", "")
    if not _UNIT_CODE.match(unit_code):
        errs.add(
            "unit_code_format",
            "unit_code",
            "Mã đơn vị phải là mã doanh nghiệp 10 (13) số hoặc mã quan hệ ngân sách 7 số.",
            "The unit code must be a 10 (or 13) digit enterprise code or a 7-digit budget code.",
        )
    name = clean_name(name or "")
    unit = _check_employer_fields(
        errs,
        {
            "unit_type": unit_type,
            "participant_group": participant_group,
            "name": name,
            "wage_region": wage_region,
            "tax_code": tax_code,
            "sector": sector,
            "pay_scale": pay_scale,
            "address_unit_code": address_unit_code,
        },
    )
    errs.raise_if_any()
    if Employer.objects.filter(unit_code=unit_code).exists():
        raise Conflict(
            "duplicate_unit_code",
            "unit_code",
            "Mã đơn vị đã được đăng ký.",
            "This unit code is already registered.",
        )
    with transaction.atomic():
        employer = Employer.objects.create(
            unit_code=unit_code,
            unit_type=unit_type,
            participant_group=participant_group,
            tax_code=tax_code,
            name=name,
            name_normalised=normalise(name),
            address_unit=unit,
            wage_region=wage_region,
            sector=sector,
            pay_scale=pay_scale,
        )
        _audit(actor, "create", "employer", str(employer.pk))
    return employer


#: Employer details a TK3-TS change may carry (the unit code DD is the employer's identity and
#: never changes: a new code is a new registration).
EMPLOYER_CHANGEABLE = (
    "unit_type",
    "participant_group",
    "name",
    "tax_code",
    "address_unit_code",
    "wage_region",
    "sector",
    "pay_scale",
)


def employer_details(employer: Employer) -> dict[str, Any]:
    """The changeable details of an employer, in the form :func:`update_employer` takes."""
    return {
        "unit_type": employer.unit_type,
        "participant_group": employer.participant_group,
        "name": employer.name,
        "tax_code": employer.tax_code,
        "address_unit_code": employer.address_unit.code if employer.address_unit_id else "",
        "wage_region": employer.wage_region,
        "sector": employer.sector,
        "pay_scale": employer.pay_scale,
    }


def check_employer_update(employer: Employer, **changes: Any) -> dict[str, Any]:
    """Validate a change of an employer's details (TK3-TS, procedure 604 "thay đổi thông tin")
    with the same rules as registration, without writing. Returns the fields that really
    change (normalised: a cleaned name, the address as a commune code); raises
    ``DomainError`` with every error, ``not_updatable`` for the unit code or unknown fields."""
    errs = ErrorCollector()
    for key in sorted(set(changes) - set(EMPLOYER_CHANGEABLE)):
        errs.add(
            "not_updatable",
            key,
            "Không thể sửa trường này (mã đơn vị thay đổi là một đăng ký mới).",
            "This field cannot be changed (a new unit code is a new registration).",
        )
    values = dict(changes)
    if "name" in values:
        values["name"] = clean_name(values["name"] or "") if isinstance(values["name"], str) else ""
    if "address_unit_code" in values and values["address_unit_code"] is not None:
        values["address_unit_code"] = str(values["address_unit_code"]).strip()
    _check_employer_fields(errs, {k: v for k, v in values.items() if k in EMPLOYER_CHANGEABLE})
    errs.raise_if_any()
    current = employer_details(employer)
    return {k: v for k, v in values.items() if v != current[k]}


def update_employer(employer: Employer, *, actor: Any = None, **changes: Any) -> Employer:
    """Change an employer's details (TK3-TS, procedure 604: thay đổi thông tin đơn vị): name,
    tax code, address commune, sector, pay scale, and the codes the agency assigns — type DT,
    group LH — and the wage region (Decree 293/2025/NĐ-CP: it follows where the employer
    operates and changes the BHTN cap). Deciding *who* may change the agency-assigned codes is
    the caller's business (the gateway queues such changes for an officer); the values are
    checked here with the registration rules. Nothing changes → nothing written; otherwise an
    audit event lists the fields changed (``update``/``employer``)."""
    changed = check_employer_update(employer, **changes)
    if not changed:
        return employer
    with transaction.atomic():
        locked = (
            Employer.objects.select_for_update(of=("self",))
            .select_related("address_unit")
            .get(pk=employer.pk)
        )
        for key, value in changed.items():
            if key == "address_unit_code":
                locked.address_unit = _current_commune(value)
            elif key == "name":
                locked.name = value
                locked.name_normalised = normalise(value)
            else:
                setattr(locked, key, value)
        locked.save()
        _audit(actor, "update", "employer", str(locked.pk), detail={"fields": sorted(changed)})
    return locked


# --- Employment spells and salaries ----------------------------------------------------------


def _check_money(errs: ErrorCollector, salary: Any, allowances: Any) -> None:
    for key, value in (("salary", salary), ("allowances", allowances)):
        if not isinstance(value, int) or isinstance(value, bool):
            errs.add(
                f"{key}_invalid", key, "Số tiền phải là số nguyên đồng.", "Must be whole đồng."
            )
        elif value < 0:
            errs.add(
                f"{key}_negative",
                key,
                "Số tiền không được âm.",
                "The amount cannot be negative.",
            )


def _overlap_error() -> DomainError:
    return Conflict(
        "spell_overlap",
        "start",
        "Quá trình làm việc trùng thời gian với một quá trình khác của người này.",
        "The employment spell overlaps another spell of this person.",
    )


@dataclass(frozen=True)
class SpellRequest:
    """One báo tăng for :func:`open_spells`: a spell of ``person`` with ``employer``."""

    person: Person
    employer: Employer
    start: dt.date
    contract_type: str
    salary: int
    allowances: int = 0
    occupation: str = ""
    reported_on: dt.date | None = None


def check_spell(request: SpellRequest) -> None:
    """The field checks of a new spell (no database access); raises ``DomainError`` with every
    error. The overlap with the person's other spells is checked when writing."""
    person, employer, start = request.person, request.employer, request.start
    errs = ErrorCollector()
    if not isinstance(start, dt.date):
        errs.add("date_invalid", "start", "Ngày bắt đầu không hợp lệ.", "The start is not a date.")
    elif start < person.date_of_birth or (person.date_of_death and start > person.date_of_death):
        errs.add(
            "start_invalid",
            "start",
            "Ngày bắt đầu phải sau ngày sinh và trước ngày mất.",
            "The start must be after birth and before death.",
        )
    if request.contract_type not in ContractType.values:
        errs.add(
            "contract_type_invalid",
            "contract_type",
            "Loại hợp đồng không hợp lệ.",
            "Unknown contract type.",
        )
    _check_money(errs, request.salary, request.allowances)
    if len(request.occupation or "") > 120:
        errs.add("occupation_too_long", "occupation", "Nghề quá dài.", "Occupation too long.")
    if not employer.active:
        errs.add(
            "employer_inactive",
            "employer",
            "Đơn vị đã ngừng hoạt động.",
            "The employer is inactive.",
        )
    errs.raise_if_any()


def _checked(requests: Sequence[Any], check: Callable[[Any], None]) -> tuple[list[Any], list[int]]:
    """Run a bulk service's per-request check: the answers so far (the refusals in place, None
    for the rest) and the indexes of the requests that passed."""
    results: list[Any] = [None] * len(requests)
    valid: list[int] = []
    for i, request in enumerate(requests):
        try:
            check(request)
        except DomainError as exc:
            results[i] = exc
            continue
        valid.append(i)
    return results, valid


def open_spells(
    requests: Sequence[SpellRequest], *, actor: Any = None
) -> list[EmploymentSpell | DomainError]:
    """Start many employment spells (a D02-LT list): each request is checked on its own and
    answered with its spell or its ``DomainError``, exactly as :func:`open_spell` one by one in
    order would (a second request for a person already given a spell here overlaps it). One
    lock on the persons, one overlap query, two bulk inserts, in one transaction."""
    results: list[EmploymentSpell | DomainError | None]
    results, valid = _checked(requests, check_spell)
    if valid:
        with transaction.atomic():
            # Lock the persons so two concurrent spells of one person cannot both pass the check.
            person_ids = sorted({requests[i].person.pk for i in valid})
            earliest = min(requests[i].start for i in valid)
            taken: dict[int, list[dt.date | None]] = {pk: [] for pk in person_ids}
            for part in _chunks(person_ids):
                list(Person.objects.select_for_update().filter(pk__in=part).values_list("pk"))
                for person_id, end in (
                    EmploymentSpell.objects.filter(
                        Q(end__isnull=True) | Q(end__gte=earliest), person_id__in=part
                    )
                    .order_by()
                    .values_list("person_id", "end")
                ):
                    taken[person_id].append(end)
            new: list[tuple[int, EmploymentSpell]] = []
            for i in valid:
                request = requests[i]
                ends = taken[request.person.pk]
                if any(end is None or end >= request.start for end in ends):
                    results[i] = _overlap_error()
                    continue
                ends.append(None)
                spell = EmploymentSpell(
                    person=request.person,
                    employer=request.employer,
                    start=request.start,
                    contract_type=request.contract_type,
                    occupation=request.occupation,
                    reported_on=request.reported_on,
                )
                new.append((i, spell))
            EmploymentSpell.objects.bulk_create([spell for _, spell in new])
            SalaryPeriod.objects.bulk_create(
                [
                    SalaryPeriod(
                        spell=spell,
                        valid_from=spell.start,
                        salary=requests[i].salary,
                        allowances=requests[i].allowances,
                    )
                    for i, spell in new
                ]
            )
            for i, spell in new:
                results[i] = spell
                _audit(actor, "create", "spell", str(spell.pk), detail={"person": spell.person_id})
    return results  # type: ignore[return-value]


def open_spell(
    *,
    person: Person,
    employer: Employer,
    start: dt.date,
    contract_type: str,
    salary: int,
    allowances: int = 0,
    occupation: str = "",
    reported_on: dt.date | None = None,
    actor: Any = None,
) -> EmploymentSpell:
    """Start an employment spell (báo tăng) with its first salary period: :func:`open_spells`
    for one request."""
    request = SpellRequest(
        person, employer, start, contract_type, salary, allowances, occupation, reported_on
    )
    result = open_spells([request], actor=actor)[0]
    if isinstance(result, DomainError):
        raise result
    return result


def close_spell(
    spell: EmploymentSpell, *, end: dt.date, reason: str = "", actor: Any = None
) -> EmploymentSpell:
    """End a spell (báo giảm) on ``end``, inclusive."""
    errs = ErrorCollector()
    if not isinstance(end, dt.date):
        errs.add("date_invalid", "end", "Ngày kết thúc không hợp lệ.", "The end is not a date.")
    elif end < spell.start:
        errs.add(
            "end_before_start",
            "end",
            "Ngày kết thúc trước ngày bắt đầu.",
            "The end is before the start.",
        )
    if spell.end is not None:
        errs.add("spell_closed", "end", "Quá trình đã kết thúc.", "The spell is already closed.")
    if len(reason or "") > 40:
        errs.add("reason_too_long", "reason", "Lý do quá dài.", "The reason is too long.")
    errs.raise_if_any()
    if spell.salaries.filter(valid_from__gt=end).exists():
        raise DomainError(
            "salary_after_end",
            "end",
            "Có mức lương bắt đầu sau ngày kết thúc.",
            "A salary period starts after the end.",
        )
    with transaction.atomic():
        spell.end = end
        spell.termination_reason = reason
        spell.save(update_fields=["end", "termination_reason"])
        _audit(actor, "update", "spell", str(spell.pk), detail={"closed": True})
    return spell


def set_salary(
    spell: EmploymentSpell,
    *,
    valid_from: dt.date,
    salary: int,
    allowances: int = 0,
    actor: Any = None,
) -> SalaryPeriod:
    """Set the insured salary from ``valid_from`` on (điều chỉnh mức lương); a period starting
    the same day is replaced."""
    errs = ErrorCollector()
    if not isinstance(valid_from, dt.date):
        errs.add("date_invalid", "valid_from", "Ngày không hợp lệ.", "Not a date.")
    elif valid_from < spell.start or (spell.end is not None and valid_from > spell.end):
        errs.add(
            "outside_spell",
            "valid_from",
            "Ngày áp dụng nằm ngoài quá trình làm việc.",
            "The date is outside the employment spell.",
        )
    _check_money(errs, salary, allowances)
    errs.raise_if_any()
    with transaction.atomic():
        period, _ = SalaryPeriod.objects.update_or_create(
            spell=spell,
            valid_from=valid_from,
            defaults={"salary": salary, "allowances": allowances},
        )
        _audit(actor, "update", "spell", str(spell.pk), detail={"salary_from": str(valid_from)})
    return period


# --- Health insurance cards --------------------------------------------------------------------


@dataclass(frozen=True)
class CardRequest:
    """One card for :func:`issue_cards`."""

    person: Person
    participant_group: str
    benefit_level: int
    province_code: str
    valid_from: dt.date
    valid_to: dt.date | None = None
    facility_code: str = ""
    facility_name: str = ""


def _check_card_facility(errs: ErrorCollector, code: Any, name: Any) -> None:
    if len(code or "") > 10 or len(name or "") > 200:
        errs.add("facility_invalid", "facility_code", "Mã cơ sở KCB quá dài.", "Too long.")


def check_card(request: CardRequest) -> None:
    """The field checks of a new card (Decision 1351/QĐ-BHXH code set); raises ``DomainError``
    with every error. No database access."""
    errs = ErrorCollector()
    if request.participant_group not in PARTICIPANT_GROUPS:
        errs.add(
            "card_group",
            "participant_group",
            "Mã đối tượng không có trong danh mục (QĐ 1351/QĐ-BHXH).",
            "Unknown participant group (Decision 1351/QĐ-BHXH).",
        )
    level = request.benefit_level
    if not isinstance(level, int) or not 1 <= level <= 5:
        errs.add(
            "card_level", "benefit_level", "Mức hưởng phải từ 1 đến 5.", "Level must be 1 to 5."
        )
    from ansinh.places.codes import LEGACY_PROVINCE_CODES

    if request.province_code not in LEGACY_PROVINCE_CODES:
        errs.add(
            "card_province", "province_code", "Mã tỉnh không tồn tại.", "Unknown province code."
        )
    if not isinstance(request.valid_from, dt.date):
        errs.add("date_invalid", "valid_from", "Ngày không hợp lệ.", "Not a date.")
    elif request.valid_to is not None and request.valid_to < request.valid_from:
        errs.add(
            "end_before_start",
            "valid_to",
            "Hạn thẻ kết thúc trước ngày bắt đầu.",
            "The card expires before it starts.",
        )
    _check_card_facility(errs, request.facility_code, request.facility_name)
    errs.raise_if_any()


def issue_cards(
    requests: Sequence[CardRequest], *, actor: Any = None
) -> list[HealthInsuranceCard | DomainError]:
    """Issue many health insurance cards: each request is checked on its own and answered with
    its card or its ``DomainError``, as :func:`issue_card` one by one in order would. A card's
    10-digit number is the person's first legacy number, else the next system number (99…,
    taken from the counter as one block). One legacy-number query, one insert."""
    results: list[HealthInsuranceCard | DomainError | None]
    results, valid = _checked(requests, check_card)
    if valid:
        with transaction.atomic():
            person_ids = sorted({requests[i].person.pk for i in valid})
            legacy: dict[int, str] = {}
            for part in _chunks(person_ids):
                for person_id, number in (
                    LegacyNumber.objects.filter(person_id__in=part)
                    .order_by("id")
                    .values_list("person_id", "number")
                ):
                    legacy.setdefault(person_id, number)
            system = iter(
                _next_values(
                    "card_number",
                    sum(requests[i].person.pk not in legacy for i in valid),
                    start=CARD_NUMBER_BASE,
                )
            )
            cards = []
            for i in valid:
                request = requests[i]
                short = legacy.get(request.person.pk) or str(next(system))
                cards.append(
                    HealthInsuranceCard(
                        person=request.person,
                        number=(
                            f"{request.participant_group}{request.benefit_level}"
                            f"{request.province_code}{short}"
                        ),
                        short_number=short,
                        participant_group=request.participant_group,
                        benefit_level=request.benefit_level,
                        province_code=request.province_code,
                        initial_facility_code=request.facility_code,
                        initial_facility_name=request.facility_name,
                        valid_from=request.valid_from,
                        valid_to=request.valid_to,
                    )
                )
            HealthInsuranceCard.objects.bulk_create(cards)
            for i, card in zip(valid, cards, strict=True):
                results[i] = card
                _audit(actor, "create", "card", str(card.pk), detail={"person": card.person_id})
    return results  # type: ignore[return-value]


def issue_card(
    person: Person,
    *,
    participant_group: str,
    benefit_level: int,
    province_code: str,
    valid_from: dt.date,
    valid_to: dt.date | None = None,
    facility_code: str = "",
    facility_name: str = "",
    actor: Any = None,
) -> HealthInsuranceCard:
    """Issue a health insurance card: :func:`issue_cards` for one request. Its 10-digit number
    is the person's legacy number when there is one, else a system-issued number (99…)."""
    request = CardRequest(
        person,
        participant_group,
        benefit_level,
        province_code,
        valid_from,
        valid_to,
        facility_code,
        facility_name,
    )
    result = issue_cards([request], actor=actor)[0]
    if isinstance(result, DomainError):
        raise result
    return result


#: Why a card is reissued (cấp lại / đổi thẻ BHYT): lost, damaged, or particulars changed.
REISSUE_REASONS = ("lost", "damaged", "changed_info")


def reissue_card(
    card: HealthInsuranceCard,
    *,
    reason: str,
    valid_from: dt.date,
    facility_code: str = "",
    facility_name: str = "",
    actor: Any = None,
) -> HealthInsuranceCard:
    """Reissue a health insurance card (cấp lại thẻ BHYT: lost, damaged, or changed
    particulars — ``REISSUE_REASONS``). The old card is revoked and a new card written: a new
    card record with the **same number** (the 10-digit number is the holder's for life and the
    15-character form keeps group, level and province, Decision 1351/QĐ-BHXH), valid from
    ``valid_from`` to the old card's end, at a new initial facility when one is given (else the
    old card's). Reissue does not prolong the card nor change its benefit (a change of group or
    level is a new issue). Refused: ``reason_invalid``, ``facility_invalid``, ``date_invalid``,
    ``card_revoked`` (409: already replaced), ``card_expired`` (the old card ended before
    ``valid_from``), ``valid_from_invalid`` (before the old card starts). The audit event
    names the card replaced and the reason. The agency's deadline for it (same day / ≤ 3 days,
    VSS Decisions 595/505/1040) is the one-stop procedure's, not checked here."""
    errs = ErrorCollector()
    if reason not in REISSUE_REASONS:
        errs.add(
            "reason_invalid",
            "reason",
            f"Lý do phải là một trong: {', '.join(REISSUE_REASONS)}.",
            f"The reason must be one of: {', '.join(REISSUE_REASONS)}.",
        )
    _check_card_facility(errs, facility_code, facility_name)
    if not isinstance(valid_from, dt.date) or isinstance(valid_from, dt.datetime):
        errs.add("date_invalid", "valid_from", "Ngày không hợp lệ.", "Not a date.")
    errs.raise_if_any()
    with transaction.atomic():
        old = HealthInsuranceCard.objects.select_for_update().get(pk=card.pk)
        if old.revoked:
            raise Conflict(
                "card_revoked",
                "card_number",
                "Thẻ này đã bị thu hồi hoặc đã được cấp lại.",
                "This card was revoked or already replaced.",
            )
        if old.valid_to is not None and old.valid_to < valid_from:
            raise DomainError(
                "card_expired",
                "card_number",
                "Thẻ đã hết hạn: cần cấp thẻ mới, không phải cấp lại.",
                "The card has expired: a new card is needed, not a reissue.",
            )
        if valid_from < old.valid_from:
            raise DomainError(
                "valid_from_invalid",
                "valid_from",
                "Thẻ cấp lại không thể có hiệu lực trước thẻ cũ.",
                "A reissued card cannot be valid before the card it replaces.",
            )
        old.revoked = True
        old.save(update_fields=["revoked"])
        same_facility = not facility_code or facility_code == old.initial_facility_code
        new = HealthInsuranceCard.objects.create(
            person_id=old.person_id,
            number=old.number,
            short_number=old.short_number,
            participant_group=old.participant_group,
            benefit_level=old.benefit_level,
            province_code=old.province_code,
            initial_facility_code=old.initial_facility_code if same_facility else facility_code,
            initial_facility_name=(
                old.initial_facility_name if same_facility else (facility_name or "")
            ),
            valid_from=valid_from,
            valid_to=old.valid_to,
        )
        _audit(
            actor,
            "create",
            "card",
            str(new.pk),
            detail={"person": old.person_id, "reissue_of": old.pk, "reason": reason},
        )
    card.revoked = True
    return new
