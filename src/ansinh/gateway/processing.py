"""Processing of the rows of an accepted electronic dossier (xử lý hồ sơ điện tử).

Each row (a worker on D02-LT, the employer on TK3-TS, a card request) ends in one of three
states, decided by the rules documented in ``docs/gateway-processing.md``:

- ACCEPTED — written to the registry and the ledger through the services that own them
  (``registry.services``, ``contributions.services``), possibly with notices (late enrolment,
  salary above the cap);
- REJECTED — invalid, with the code, the field and the reason in Vietnamese and English;
- QUEUED — valid in form but a case an officer must look at (identity disagreements, an overlapping
  employment elsewhere, changes dated far back, code changes of an employer); the officer
  decides with :func:`decide_queued_row`.

Validation belongs to the services: this module only parses the row, classifies what needs an
officer, and turns the services' ``DomainError`` into row errors. Increase rows — most of a
D02-LT list — are planned one by one and written in waves through the bulk services
(``registry.register_persons``, ``contributions.report_increases``, ``registry.issue_cards``),
one savepoint per wave: a row a service refuses is dropped and the wave redone without it, an
unexpected error redoes the wave row by row, each row in its own savepoint, as the other kinds
of row always are. Either way a failing row leaves nothing behind, and the decisions are those
of one-by-one processing. Rows are committed in chunks, with their status written in the same
transaction as their effects, so re-running skips every row already decided and never writes
anything twice (the ledger reports also carry the idempotency key ``gw:<submission>:<row>``).
"""

from __future__ import annotations

import datetime as dt
import logging
import re
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Any

from django.conf import settings
from django.db import InterfaceError, OperationalError, connection, transaction
from django.db.models import Case, Count, IntegerField, Value, When
from django.utils import timezone

from ansinh.contributions import services as contributions
from ansinh.contributions.calc import period_of
from ansinh.contributions.models import ChangeReport
from ansinh.core.errors import Conflict, DomainError, ErrorCollector, ErrorDetail, Forbidden
from ansinh.core.text import clean_name, normalise
from ansinh.gateway.models import (
    RowKind,
    RowStatus,
    Step,
    Submission,
    SubmissionEvent,
    SubmissionRow,
    Verdict,
)
from ansinh.law.selectors import ContributionRules, parameter_row
from ansinh.registry import identifiers as ids
from ansinh.registry import services as registry
from ansinh.registry.cardcodes import PARTICIPANT_GROUPS
from ansinh.registry.models import (
    ContractType,
    Employer,
    EmploymentSpell,
    HealthInsuranceCard,
    LegacyNumber,
    Person,
    PersonStatus,
)

log = logging.getLogger(__name__)

#: Rows decided per transaction: big enough to amortise the commit, small enough not to hold
#: SQLite's write lock for long.
CHUNK_ROWS = 250
#: A start, end or salary change dated more than this many months before the month of
#: reception goes to an officer (agency practice, not law: back-payment and refund need the
#: contract and payroll checked). Setting ``GATEWAY_RETROACTIVE_REVIEW_MONTHS``.
DEFAULT_RETROACTIVE_MONTHS = 3
#: Benefit level printed on a worker's card: level 4, 80% (Law on Health Insurance 25/2008
#: Art. 22 cl. 1 d; the level digit of Decision 1351/QĐ-BHXH).
WORKER_BENEFIT_LEVEL = 4
DECREASE_REASONS = ("contract_end", "resigned", "dismissed", "retired", "deceased", "other")
CARD_REASONS = registry.REISSUE_REASONS
_FACILITY = re.compile(r"^[0-9A-Z]{1,10}$")
_PHONE = re.compile(r"^\+?\d{8,15}$")
_EMAIL = re.compile(r"^[^@\s]{1,64}@[^@\s]+\.[^@\s]+$")
_IN_CHUNK = 500  # keys per IN (...) look-up
_ROW_FIELDS = [
    "status",
    "error_code",
    "error_field",
    "message_vi",
    "message_en",
    "result",
    "processed_at",
    "decided_by",
]


def retroactive_months() -> int:
    return int(getattr(settings, "GATEWAY_RETROACTIVE_REVIEW_MONTHS", DEFAULT_RETROACTIVE_MONTHS))


# --- outcomes ------------------------------------------------------------------------------------


class _Queue(Exception):
    """Raised by a row handler before it writes anything: the row waits for an officer."""

    def __init__(self, code: str, field_name: str | None, message_vi: str, message_en: str):
        super().__init__(code)
        self.detail = ErrorDetail(code, field_name, message_vi, message_en)


@dataclass
class _Outcome:
    status: str
    errors: list[ErrorDetail] = field(default_factory=list)
    result: dict[str, Any] = field(default_factory=dict)
    notices: list[ErrorDetail] = field(default_factory=list)
    #: What the row changed, to refresh the batch's look-ups once the row is committed.
    person: Person | None = None
    employer: Employer | None = None


@dataclass
class _Batch:
    """Everything the rows of one chunk share, looked up once: the employer, the persons by
    social security number and legacy number, their spells and cards, the rules per month."""

    submission: Submission
    employer: Employer | None
    received_on: dt.date
    actor: Any
    review: bool
    persons: dict[str, Person] = field(default_factory=dict)
    legacy: dict[str, Person] = field(default_factory=dict)
    spells: dict[int, list[EmploymentSpell]] = field(default_factory=dict)
    cards: dict[int, list[HealthInsuranceCard]] = field(default_factory=dict)
    rules: dict[tuple[int, int, int], ContributionRules] = field(default_factory=dict)
    parameters: dict[tuple[str, dt.date], Any] = field(default_factory=dict)
    #: Idempotency keys of rows whose ledger report already exists (a replay after a lost
    #: status write): the service answers them with the earlier report, so no rule re-runs.
    replayed: set[str] = field(default_factory=set)

    @classmethod
    def load(
        cls, submission: Submission, rows: list[SubmissionRow], *, actor: Any, review: bool
    ) -> _Batch:
        employer = (
            Employer.objects.select_related("address_unit").get(pk=submission.employer_id)
            if submission.employer_id
            else None
        )
        batch = cls(
            submission=submission,
            employer=employer,
            received_on=timezone.localtime(submission.received_at).date(),
            actor=actor,
            review=review,
        )
        keys = {_key(r) for r in rows} - {""}
        legacy = {_text(r.data, "ss_number") for r in rows if r.kind == RowKind.INCREASE} - {""}
        for part in _chunks(keys):
            for person in Person.objects.filter(ss_number__in=part).order_by():
                batch.persons[person.ss_number] = person
        for part in _chunks(legacy):
            for alias in LegacyNumber.objects.filter(number__in=part).select_related("person"):
                batch.legacy[alias.number] = alias.person
        found = {p.pk for p in batch.persons.values()} | {p.pk for p in batch.legacy.values()}
        batch._load_person_data(found)
        for part in _chunks(_idempotency_key(r) for r in rows if r.kind in _REPORT_KINDS):
            batch.replayed.update(
                ChangeReport.objects.filter(idempotency_key__in=part).values_list(
                    "idempotency_key", flat=True
                )
            )
        return batch

    def reviews(self, row: SubmissionRow) -> bool:
        """Whether the rules that queue a row apply to it (not for an officer, not on replay)."""
        return self.review and _idempotency_key(row) not in self.replayed

    def _load_person_data(self, person_ids: Iterable[int]) -> None:
        wanted = set(person_ids)
        for pk in wanted:
            self.spells[pk] = []
            self.cards[pk] = []
        for part in _chunks(wanted):
            for spell in EmploymentSpell.objects.filter(person_id__in=part).order_by("start"):
                self.spells[spell.person_id].append(spell)
            for card in HealthInsuranceCard.objects.filter(
                person_id__in=part, revoked=False
            ).order_by("valid_from", "id"):
                self.cards[card.person_id].append(card)

    def spells_of(self, person: Person) -> list[EmploymentSpell]:
        if person.pk not in self.spells:
            self._load_person_data([person.pk])
        return self.spells[person.pk]

    def cards_of(self, person: Person) -> list[HealthInsuranceCard]:
        if person.pk not in self.cards:
            self._load_person_data([person.pk])
        return self.cards[person.pk]

    def changed(self, outcome: _Outcome) -> None:
        """A row was committed: forget what it may have changed."""
        if outcome.person is not None:
            person = outcome.person
            self.persons[person.ss_number] = person
            self.spells.pop(person.pk, None)
            self.cards.pop(person.pk, None)
        if outcome.employer is not None and (
            self.employer is None or self.employer.pk == outcome.employer.pk
        ):
            self.employer = outcome.employer

    def parameter_row(self, key: str, day: dt.date) -> Any:
        """The legal parameter row in force on ``day`` (to cite its source), read once."""
        if (key, day) not in self.parameters:
            self.parameters[key, day] = parameter_row(key, day)
        return self.parameters[key, day]

    def rules_for(self, employer: Employer, day: dt.date) -> ContributionRules:
        period = period_of(day)
        key = (employer.pk, employer.wage_region, period)
        if key not in self.rules:
            self.rules[key] = contributions.rules_for(employer, period)
        return self.rules[key]


def _chunks(values: Iterable[Any]) -> Iterable[list[Any]]:
    items = list(values)
    for i in range(0, len(items), _IN_CHUNK):
        yield items[i : i + _IN_CHUNK]


# --- small parsers (the gateway's JSON row format; checks of meaning stay in the services) ----


def _text(data: dict[str, Any], key: str) -> str:
    value = data.get(key)
    return value.strip() if isinstance(value, str) else ("" if value is None else str(value))


def _key(row: SubmissionRow) -> str:
    return (row.personal_id or _text(row.data, "personal_id")).strip()


def _required(errs: ErrorCollector, data: dict[str, Any], key: str) -> None:
    if data.get(key) in (None, ""):
        errs.add(
            "field_required", key, f"Thiếu trường bắt buộc {key}.", f"The field {key} is required."
        )


def _date(
    errs: ErrorCollector, data: dict[str, Any], key: str, *, required: bool
) -> dt.date | None:
    value = data.get(key)
    if value in (None, ""):
        if required:
            _required(errs, data, key)
        return None
    if isinstance(value, dt.date) and not isinstance(value, dt.datetime):
        return value
    try:
        return dt.date.fromisoformat(str(value))
    except ValueError:
        errs.add(
            "date_invalid",
            key,
            "Ngày không hợp lệ (định dạng YYYY-MM-DD).",
            "Not a valid date (YYYY-MM-DD).",
        )
        return None


def _months_back(day: dt.date, reference: dt.date) -> int:
    return (reference.year * 12 + reference.month) - (day.year * 12 + day.month)


def _money_vi(amount: int) -> str:
    return f"{amount:,}".replace(",", ".")


#: Service field names → the row field the submitter knows.
_FIELD_NAMES = {
    "address_unit": "address_unit_code",
    "legacy_numbers[0]": "ss_number",
    "number": "ss_number",
    "person": "personal_id",
    "insured_salary": "salary",
}


def _row_errors(exc: DomainError, extra: dict[str, str] | None = None) -> list[ErrorDetail]:
    names = {**_FIELD_NAMES, **(extra or {})}
    return [
        ErrorDetail(e.code, names.get(e.field or "", e.field), e.message_vi, e.message_en)
        for e in exc.errors
    ]


# --- rules that send a row to an officer --------------------------------------------------------


def _check_retroactive(
    review: bool, received_on: dt.date, day: dt.date, field_name: str, code: str
) -> None:
    months = retroactive_months()
    if review and _months_back(day, received_on) > months:
        raise _Queue(
            code,
            field_name,
            f"Ngày {day:%d/%m/%Y} lùi quá {months} tháng so với tháng nộp hồ sơ: cần cán bộ "
            "kiểm tra hồ sơ truy thu, thoái thu.",
            f"The date {day.isoformat()} is more than {months} months before the month of "
            "submission: an officer checks the back-payment or refund.",
        )


def _same_name(declared: str, registered: str) -> bool:
    """Case does not matter (D02-LT lists are often in capitals); a name typed without any
    diacritics matches the registry's accented spelling of the same letters."""
    name = clean_name(declared)
    if name.casefold() == registered.casefold():
        return True
    return name.isascii() and normalise(name) == normalise(registered)


def _check_identity(review: bool, person: Person, data: dict[str, Any], dob: Any) -> None:
    """A known person declared with other particulars than the registry's: an officer checks
    (the personal ID is the key; either the list or the registry is wrong)."""
    if not review:
        return
    if person.status != PersonStatus.ACTIVE:
        raise _Queue(
            "person_status",
            "personal_id",
            "Người này trong sổ đăng ký không còn ở trạng thái hoạt động (đã mất, định cư ở "
            "nước ngoài hoặc đã gộp hồ sơ); cần cán bộ xác minh.",
            "The registry no longer holds this person as active (deceased, emigrated or "
            "merged); an officer verifies.",
        )
    if isinstance(dob, dt.date) and dob != person.date_of_birth:
        raise _Queue(
            "identity_mismatch",
            "date_of_birth",
            "Ngày sinh kê khai khác với sổ đăng ký; cần cán bộ xác minh.",
            "The declared date of birth differs from the registry's; an officer verifies.",
        )
    sex = data.get("sex")
    if sex and sex != person.sex:
        raise _Queue(
            "identity_mismatch",
            "sex",
            "Giới tính kê khai khác với sổ đăng ký; cần cán bộ xác minh.",
            "The declared sex differs from the registry's; an officer verifies.",
        )
    name = data.get("full_name")
    if isinstance(name, str) and name.strip() and not _same_name(name, person.full_name):
        raise _Queue(
            "name_mismatch",
            "full_name",
            "Họ tên kê khai khác với họ tên trong sổ đăng ký; cần cán bộ xác minh.",
            "The declared name differs from the registry's; an officer verifies.",
        )


# --- row handlers ------------------------------------------------------------------------------


def _employer_of(batch: _Batch) -> Employer:
    if batch.employer is None:
        raise DomainError(
            "employer_unknown",
            "employer",
            "Không xác định được đơn vị sử dụng lao động của hồ sơ trong sổ đăng ký.",
            "The dossier's employer is not registered.",
        )
    return batch.employer


def _person_of(batch: _Batch, row: SubmissionRow) -> Person:
    key = _key(row)
    if not key:
        raise DomainError(
            "field_required",
            "personal_id",
            "Thiếu số định danh cá nhân.",
            "The personal ID is required.",
        )
    if not ids.is_system_number(key):
        check = ids.check_personal_id(key)
        if check.errors:
            raise DomainError.many(check.errors)
    person = batch.persons.get(key)
    if person is None:
        raise DomainError(
            "person_unknown",
            "personal_id",
            "Không tìm thấy người có số định danh này trong sổ đăng ký.",
            "No person with this personal ID is registered.",
            status=404,
        )
    return person


@dataclass
class _IncreasePlan:
    """An increase row checked and classified, before anything is written: the person (or
    what to register), the legacy number to attach, the report, the card's facility."""

    row: SubmissionRow
    employer: Employer
    person: Person | None
    register: dict[str, Any] | None
    legacy: str
    start: dt.date
    contract_type: str
    salary: Any
    allowances: Any
    occupation: str
    facility: str


def _plan_increase(batch: _Batch, row: SubmissionRow) -> _IncreasePlan:
    """Báo tăng (D02-LT), with the TK1-TS declaration for a first-time participant: the row's
    parsing and queue rules; raises ``DomainError`` (reject) or ``_Queue``. Writes nothing."""
    data = row.data
    errs = ErrorCollector()
    pid = _key(row)
    ss_number = _text(data, "ss_number")
    start = _date(errs, data, "start", required=True)
    dob = _date(errs, data, "date_of_birth", required=False)
    sex = data.get("sex")
    nationality = _text(data, "nationality") or "VN"
    if ss_number and not ids.is_legacy_number(ss_number):
        errs.add(
            "legacy_number_format",
            "ss_number",
            "Mã số BHXH phải gồm đúng 10 chữ số.",
            "The social insurance number must be exactly 10 digits.",
        )
    flags: list[str] = []
    if pid:
        check = ids.check_personal_id(
            pid, date_of_birth=dob, sex=sex if sex in ("M", "F") else None
        )
        errs.errors.extend(check.errors)
        flags = check.flags
    errs.raise_if_any()
    assert start is not None
    employer = _employer_of(batch)
    review = batch.reviews(row)

    person = batch.persons.get(pid) if pid else None
    alias_owner = batch.legacy.get(ss_number) if ss_number else None
    if review and alias_owner is not None and (person is None or alias_owner != person):
        raise _Queue(
            "ss_number_mismatch",
            "ss_number",
            "Mã số BHXH kê khai thuộc về một hồ sơ khác trong sổ đăng ký; cần cán bộ kiểm tra "
            "trùng hồ sơ.",
            "The declared social insurance number belongs to another registry record; an "
            "officer checks for a duplicate record.",
        )
    if person is None and not pid:
        person = alias_owner
        if person is None and nationality == "VN":
            raise DomainError(
                "personal_id_required",
                "personal_id",
                "Công dân Việt Nam phải được kê khai bằng số định danh cá nhân.",
                "A Vietnamese citizen must be declared with the personal ID.",
            )

    participant = data.get("participant")
    participant = participant if isinstance(participant, dict) else None
    facility = _facility(participant, required=person is None)
    register: dict[str, Any] | None = None
    legacy = ""
    if person is None:
        if review and flags:
            raise _Queue(
                "identity_flagged",
                "personal_id",
                f"Số định danh cá nhân không khớp với ngày sinh hoặc giới tính ({', '.join(flags)})"
                "; cần xác minh với Cơ sở dữ liệu quốc gia về dân cư.",
                f"The personal ID disagrees with the date of birth or sex ({', '.join(flags)}); "
                "to be verified against the national population database.",
            )
        _check_retroactive(review, batch.received_on, start, "start", "retroactive_start")
        register = {
            "personal_id": pid or None,
            "full_name": data.get("full_name") or "",
            "date_of_birth": dob or data.get("date_of_birth"),
            "sex": sex or "",
            "nationality": nationality,
            "address_unit_code": _text(data, "address_unit_code") or None,
            "legacy_numbers": [ss_number] if ss_number and alias_owner is None else [],
        }
    else:
        _check_identity(review, person, data, dob)
        overlapping = [s for s in batch.spells_of(person) if s.end is None or s.end >= start]
        if review and any(s.employer_id == employer.pk for s in overlapping):
            raise DomainError(
                "already_employed",
                "start",
                "Người lao động đã được báo tham gia tại đơn vị này vào thời gian đó.",
                "The worker is already reported as employed by this employer at that date.",
                status=409,
            )
        if review and overlapping:
            raise _Queue(
                "employed_elsewhere",
                "start",
                "Người lao động đang có quá trình tham gia tại đơn vị khác trùng thời gian; chờ "
                "đơn vị cũ báo giảm hoặc cán bộ xác minh.",
                "The worker has an overlapping employment with another employer; waiting for "
                "that employer's decrease report or an officer's check.",
            )
        _check_retroactive(review, batch.received_on, start, "start", "retroactive_start")
        if ss_number and alias_owner is None:
            legacy = ss_number
    return _IncreasePlan(
        row=row,
        employer=employer,
        person=person,
        register=register,
        legacy=legacy,
        start=start,
        contract_type=data.get("contract_type") or "",
        salary=data.get("salary"),
        allowances=data.get("allowances", 0),
        occupation=_text(data, "occupation"),
        facility=facility,
    )


def _write_increases(batch: _Batch, plans: list[_IncreasePlan]) -> list[_Outcome | DomainError]:
    """The writes of planned increase rows, in bulk and in row order: persons registered,
    legacy numbers attached, ``contributions.report_increases`` (spells, reports, ledger),
    notices, ``registry.issue_cards`` for workers without a valid card. Each plan is answered
    with its outcome or the ``DomainError`` that refuses it; the caller holds a savepoint and
    rolls everything back when any plan failed (a failed row must leave nothing)."""
    out: list[_Outcome | DomainError | None] = [None] * len(plans)
    persons: dict[int, Person] = {}
    new = [i for i, plan in enumerate(plans) if plan.person is None]
    for i, plan in enumerate(plans):
        if plan.person is not None:
            persons[i] = plan.person
    registered = registry.register_persons(
        [plans[i].register or {} for i in new], actor=batch.actor
    )
    for i, person in zip(new, registered, strict=True):
        if isinstance(person, DomainError):
            out[i] = person
        else:
            persons[i] = person
    for i, plan in enumerate(plans):
        if out[i] is None and plan.legacy:
            try:
                registry.add_legacy_number(persons[i], plan.legacy, actor=batch.actor)
            except DomainError as exc:
                out[i] = exc
    live = [i for i in range(len(plans)) if out[i] is None]
    reports = contributions.report_increases(
        batch.employer,  # type: ignore[arg-type]
        [
            contributions.Increase(
                person=persons[i],
                start=plans[i].start,
                contract_type=plans[i].contract_type,
                salary=plans[i].salary,
                allowances=plans[i].allowances,
                occupation=plans[i].occupation,
                idempotency_key=_idempotency_key(plans[i].row),
            )
            for i in live
        ],
        actor=batch.actor,
        reported_on=batch.received_on,
    )
    notices: dict[int, list[ErrorDetail]] = {}
    reported: dict[int, contributions.ReportResult] = {}
    for i, report in zip(live, reports, strict=True):
        if isinstance(report, DomainError):
            out[i] = report
            continue
        plan = plans[i]
        try:
            found = _cap_notices(batch, plan.employer, plan.start, plan.salary + plan.allowances)
            if report.report.data.get("late_enrolment"):
                found.append(_late_notice(batch, plan.start))
        except DomainError as exc:
            out[i] = exc
            continue
        notices[i], reported[i] = found, report
    cards = _cards_for_workers(batch, plans, persons, reported)
    for i, report in reported.items():
        card, issued = cards.get(i, (None, False))
        if isinstance(card, DomainError):
            out[i] = card
            continue
        late = bool(report.report.data.get("late_enrolment"))
        result: dict[str, Any] = {
            "ss_number": persons[i].ss_number,
            "person_registered": plans[i].person is None,
            "report_id": report.report.pk,
            "late_enrolment": late,
            "card_number": card.number if card else "",
            "card_issued": issued,
        }
        out[i] = _Outcome(RowStatus.ACCEPTED, result=result, notices=notices[i], person=persons[i])
    return out  # type: ignore[return-value]


def _increase(batch: _Batch, row: SubmissionRow) -> _Outcome:
    """One increase row (an officer's decision, or the row-by-row fallback): the bulk path
    for one plan. The caller's savepoint undoes the row's writes when it is refused."""
    outcome = _write_increases(batch, [_plan_increase(batch, row)])[0]
    if isinstance(outcome, DomainError):
        raise outcome
    return outcome


def _facility(participant: dict[str, Any] | None, *, required: bool) -> str:
    """The TK1-TS declaration: initial health-care facility (needed for a first card), phone
    and e-mail (checked for shape; the registry keeps no contact data — data minimisation)."""
    errs = ErrorCollector()
    if participant is None:
        if required:
            errs.add(
                "declaration_missing",
                "participant",
                "Người tham gia lần đầu cần tờ khai TK1-TS (nơi đăng ký khám chữa bệnh ban đầu).",
                "A first-time participant needs the TK1-TS declaration (initial health-care "
                "facility).",
            )
        errs.raise_if_any()
        return ""
    code = _text(participant, "hospital_code").upper()
    if (code or required) and not _FACILITY.match(code):
        errs.add(
            "hospital_code_invalid",
            "participant.hospital_code",
            "Mã cơ sở khám chữa bệnh ban đầu gồm 1–10 chữ hoặc số.",
            "The initial health-care facility code is 1–10 letters or digits.",
        )
    phone = _text(participant, "phone").replace(" ", "")
    if phone and not _PHONE.match(phone):
        errs.add(
            "phone_invalid",
            "participant.phone",
            "Số điện thoại gồm 8–15 chữ số.",
            "The phone number is 8–15 digits.",
        )
    email = _text(participant, "email")
    if email and not _EMAIL.match(email):
        errs.add(
            "email_invalid", "participant.email", "Thư điện tử không hợp lệ.", "Invalid e-mail."
        )
    errs.raise_if_any()
    return code


def _card_group(employer: Employer, contract_type: str) -> str:
    """The card's participant group: the employer's LH code when it is a card group (DN, HX, CH,
    NN, TK, HC… of Decision 1351/QĐ-BHXH), else HC for civil servants and DN otherwise."""
    if employer.participant_group in PARTICIPANT_GROUPS:
        return employer.participant_group
    return "HC" if contract_type == ContractType.CIVIL_SERVANT else "DN"


def _current_card(cards: list[HealthInsuranceCard], day: dt.date) -> HealthInsuranceCard | None:
    valid = [c for c in cards if not c.revoked and (c.valid_to is None or c.valid_to >= day)]
    return valid[-1] if valid else None


def _cards_for_workers(
    batch: _Batch,
    plans: list[_IncreasePlan],
    persons: dict[int, Person],
    reported: dict[int, contributions.ReportResult],
) -> dict[int, tuple[HealthInsuranceCard | DomainError | None, bool]]:
    """A worker without a valid card gets one (valid from the start of the employment, open
    ended, at the declared facility, else the last card's); a valid card is kept."""
    out: dict[int, tuple[HealthInsuranceCard | DomainError | None, bool]] = {}
    need: list[int] = []
    for i in reported:
        plan = plans[i]
        current = None
        if plan.person is not None:
            current = _current_card(batch.cards_of(plan.person), plan.start)
        if current is not None:
            out[i] = (current, False)
        else:
            need.append(i)
    if not need:
        return out
    last_facility: dict[int, str] = {}
    without = [persons[i].pk for i in need if plans[i].person is not None and not plans[i].facility]
    for part in _chunks(without):
        for person_id, code in (
            HealthInsuranceCard.objects.filter(person_id__in=part)
            .order_by("person_id", "-valid_from", "-id")
            .values_list("person_id", "initial_facility_code")
        ):
            last_facility.setdefault(person_id, code)
    requests = []
    for i in need:
        plan, person, spell = plans[i], persons[i], reported[i].spell
        requests.append(
            registry.CardRequest(
                person=person,
                participant_group=_card_group(plan.employer, spell.contract_type if spell else ""),
                benefit_level=WORKER_BENEFIT_LEVEL,
                province_code=plan.employer.address_unit.province_code,
                valid_from=plan.start,
                facility_code=plan.facility or last_facility.get(person.pk, ""),
            )
        )
    for i, card in zip(need, registry.issue_cards(requests, actor=batch.actor), strict=True):
        out[i] = (card, True)
    return out


def _cap_notices(
    batch: _Batch, employer: Employer, day: dt.date, insured: int
) -> list[ErrorDetail]:
    """Salary above a cap is lawful: contributions are computed on the cap. Say so, citing the
    cap rows in force (law/rules/caps.toml)."""
    rules = batch.rules_for(employer, day)
    caps = {"bhxh": rules.bhxh_cap, "bhyt": rules.bhyt_cap, "bhtn": rules.bhtn_cap}
    over = [scheme for scheme, cap in caps.items() if insured > cap]
    if not over:
        return []
    sources = "; ".join(
        dict.fromkeys(s.legal_source for s in rules.sources if s.table == "cap" and s.key in over)
    )
    parts_vi = ", ".join(f"{s.upper()} {_money_vi(caps[s])} đồng" for s in over)
    parts_en = ", ".join(f"{s.upper()} {caps[s]:,} VND" for s in over)
    return [
        ErrorDetail(
            "salary_capped",
            "salary",
            f"Tiền lương đóng {_money_vi(insured)} đồng vượt mức trần; số phải đóng tính trên mức "
            f"trần: {parts_vi} ({sources}).",
            f"The insured salary {insured:,} VND is above the cap; contributions are computed on "
            f"the cap: {parts_en} ({sources}).",
        )
    ]


def _late_notice(batch: _Batch, start: dt.date) -> ErrorDetail:
    reported_on = batch.received_on
    row = batch.parameter_row("enrolment_deadline_days", start)
    days = (reported_on - start).days
    deadline = int(row.value)
    return ErrorDetail(
        "late_enrolment",
        "start",
        f"Báo tăng sau {days} ngày kể từ ngày bắt đầu, quá thời hạn {deadline} ngày "
        f"({row.legal_source}); các tháng từ ngày bắt đầu được tính truy thu.",
        f"Enrolled {days} days after the start, past the {deadline}-day deadline "
        f"({row.legal_source}); the months since the start are charged retroactively.",
    )


_REPORT_KINDS = (RowKind.INCREASE, RowKind.DECREASE, RowKind.ADJUSTMENT)


def _idempotency_key(row: SubmissionRow) -> str:
    return f"gw:{row.submission_id}:{row.number}"


def _decrease(batch: _Batch, row: SubmissionRow) -> _Outcome:
    """Báo giảm: the worker's last day with the employer."""
    data = row.data
    errs = ErrorCollector()
    end = _date(errs, data, "end", required=True)
    reason = _text(data, "reason")
    if reason not in DECREASE_REASONS:
        errs.add(
            "reason_invalid",
            "reason",
            f"Lý do phải là một trong: {', '.join(DECREASE_REASONS)}.",
            f"The reason must be one of: {', '.join(DECREASE_REASONS)}.",
        )
    errs.raise_if_any()
    assert end is not None
    employer = _employer_of(batch)
    person = _person_of(batch, row)
    _check_retroactive(batch.reviews(row), batch.received_on, end, "end", "retroactive_end")
    report = contributions.report_decrease(
        employer=employer,
        person=person,
        end=end,
        reason=reason,
        idempotency_key=_idempotency_key(row),
        actor=batch.actor,
    )
    result = {"ss_number": person.ss_number, "report_id": report.report.pk}
    return _Outcome(RowStatus.ACCEPTED, result=result, person=person)


def _adjustment(batch: _Batch, row: SubmissionRow) -> _Outcome:
    """Điều chỉnh: a new insured salary from a day on."""
    data = row.data
    errs = ErrorCollector()
    valid_from = _date(errs, data, "valid_from", required=True)
    errs.raise_if_any()
    assert valid_from is not None
    employer = _employer_of(batch)
    person = _person_of(batch, row)
    _check_retroactive(
        batch.reviews(row), batch.received_on, valid_from, "valid_from", "retroactive_change"
    )
    salary, allowances = data.get("salary"), data.get("allowances", 0)
    report = contributions.report_adjustment(
        employer=employer,
        person=person,
        valid_from=valid_from,
        salary=salary,  # type: ignore[arg-type]
        allowances=allowances,  # type: ignore[arg-type]
        idempotency_key=_idempotency_key(row),
        actor=batch.actor,
    )
    notices = _cap_notices(batch, employer, valid_from, salary + allowances)
    result = {"ss_number": person.ss_number, "report_id": report.report.pk}
    return _Outcome(RowStatus.ACCEPTED, result=result, notices=notices, person=person)


def _card(batch: _Batch, row: SubmissionRow) -> _Outcome:
    """Cấp lại thẻ BHYT: the worker's current card is replaced by a new one with the same
    number (lost, damaged, or changed particulars), optionally at another initial facility."""
    data = row.data
    errs = ErrorCollector()
    reason = _text(data, "reason")
    if reason not in CARD_REASONS:
        errs.add(
            "reason_invalid",
            "reason",
            f"Lý do phải là một trong: {', '.join(CARD_REASONS)}.",
            f"The reason must be one of: {', '.join(CARD_REASONS)}.",
        )
    facility = _text(data, "hospital_code").upper()
    if facility and not _FACILITY.match(facility):
        errs.add(
            "hospital_code_invalid",
            "hospital_code",
            "Mã cơ sở khám chữa bệnh ban đầu gồm 1–10 chữ hoặc số.",
            "The initial health-care facility code is 1–10 letters or digits.",
        )
    wanted = None
    if _text(data, "card_number"):
        try:
            wanted = ids.parse_card_number(_text(data, "card_number"))
        except DomainError as exc:
            errs.extend(exc)
    errs.raise_if_any()
    employer = _employer_of(batch)
    person = _person_of(batch, row)
    day = batch.received_on
    if not any(
        s.employer_id == employer.pk and (s.end is None or s.end >= day)
        for s in batch.spells_of(person)
    ):
        raise DomainError(
            "not_employee",
            "personal_id",
            "Người này không phải là người lao động đang làm việc tại đơn vị.",
            "This person is not currently a worker of the employer.",
        )
    cards = [c for c in batch.cards_of(person) if c.valid_to is None or c.valid_to >= day]
    if wanted is not None:
        cards = [c for c in cards if wanted.short_number == c.short_number]
    old = cards[-1] if cards else None
    if old is None:
        raise DomainError(
            "card_not_found",
            "card_number",
            "Không tìm thấy thẻ BHYT còn giá trị của người này.",
            "No valid health insurance card of this person was found.",
            status=404,
        )
    card = registry.reissue_card(
        old, reason=reason, valid_from=day, facility_code=facility, actor=batch.actor
    )
    result = {"ss_number": person.ss_number, "card_number": card.number, "card_issued": True}
    return _Outcome(RowStatus.ACCEPTED, result=result, person=person)


#: TK3-TS fields of an employer row (the employer changes name, tax code, address and sector
#: itself; unit type, participant group and wage region changes go to an officer).
_EMPLOYER_ROW_FIELDS = (
    "unit_type",
    "participant_group",
    "name",
    "tax_code",
    "address_unit_code",
    "wage_region",
    "sector",
)


def _employer_row(batch: _Batch, row: SubmissionRow) -> _Outcome:
    """TK3-TS: an employer registers (604) or changes its details."""
    data = row.data
    change = _text(data, "change")
    unit_code = _text(data, "unit_code").replace("-", "")
    submission = batch.submission
    if change == "register":
        # Its own code: the dossier's employer if already known, else the submitting
        # employer's organisation code (an I-VAN's signer was matched to the header at intake).
        if submission.employer is not None:
            own = submission.employer.unit_code
        else:
            own = submission.submitter.code if submission.ivan_id is None else unit_code
        if unit_code != own:
            raise _mismatch()
        employer = registry.register_employer(
            unit_code=unit_code,
            unit_type=_text(data, "unit_type"),
            participant_group=_text(data, "participant_group"),
            name=_text(data, "name"),
            address_unit_code=_text(data, "address_unit_code"),
            wage_region=data.get("wage_region"),  # type: ignore[arg-type]
            tax_code=_text(data, "tax_code"),
            sector=_text(data, "sector"),
            actor=batch.actor,
        )
        Submission.objects.filter(pk=submission.pk, employer__isnull=True).update(employer=employer)
        submission.employer = employer
        result = {"unit_code": employer.unit_code, "employer_registered": True}
        return _Outcome(RowStatus.ACCEPTED, result=result, employer=employer)
    if change != "change":
        raise DomainError(
            "change_invalid",
            "change",
            "Loại kê khai đơn vị phải là register (đăng ký) hoặc change (thay đổi).",
            "The employer row must be 'register' or 'change'.",
        )
    employer = Employer.objects.select_related("address_unit").filter(unit_code=unit_code).first()
    if employer is None:
        raise DomainError(
            "employer_unknown",
            "unit_code",
            "Không tìm thấy đơn vị có mã này trong sổ đăng ký.",
            "No employer with this unit code is registered.",
            status=404,
        )
    if submission.employer_id != employer.pk:
        raise _mismatch()
    declared = {k: data[k] for k in _EMPLOYER_ROW_FIELDS if k in data and data[k] not in (None, "")}
    # The registry's own rules (those of registration); only fields that really change remain.
    changed = registry.check_employer_update(employer, **declared)
    if not changed:
        return _Outcome(RowStatus.ACCEPTED, result={"unit_code": unit_code, "changed": ""})
    if batch.review and "wage_region" in changed:
        raise _Queue(
            "wage_region_change",
            "wage_region",
            "Thay đổi vùng lương tối thiểu làm thay đổi mức đóng; cần cán bộ đối chiếu địa bàn "
            "hoạt động (Nghị định 293/2025/NĐ-CP).",
            "A change of wage region changes the contributions; an officer checks where the "
            "employer operates (Decree 293/2025/NĐ-CP).",
        )
    if batch.review and set(changed) & {"unit_type", "participant_group"}:
        field_name = "unit_type" if "unit_type" in changed else "participant_group"
        raise _Queue(
            "employer_code_change",
            field_name,
            "Thay đổi loại hình (DT) hoặc nhóm đối tượng (LH) của đơn vị do cơ quan BHXH xét "
            "duyệt.",
            "A change of the unit type (DT) or participant group (LH) is decided by the agency.",
        )
    employer = registry.update_employer(employer, actor=batch.actor, **changed)
    result = {"unit_code": unit_code, "changed": ",".join(sorted(changed))}
    return _Outcome(RowStatus.ACCEPTED, result=result, employer=employer)


def _mismatch() -> DomainError:
    return DomainError(
        "employer_mismatch",
        "unit_code",
        "Đơn vị chỉ được đăng ký hoặc thay đổi thông tin của chính mình.",
        "An employer may only register or change its own details.",
        status=403,
    )


_HANDLERS: dict[str, Callable[[_Batch, SubmissionRow], _Outcome]] = {
    RowKind.INCREASE: _increase,
    RowKind.DECREASE: _decrease,
    RowKind.ADJUSTMENT: _adjustment,
    RowKind.CARD_REISSUE: _card,
    RowKind.EMPLOYER: _employer_row,
}
#: Service fields renamed per row kind (the card's facility is the TK1-TS hospital code).
_KIND_FIELDS = {
    RowKind.INCREASE: {"facility_code": "participant.hospital_code", "employer": "employer"},
    RowKind.CARD_REISSUE: {"facility_code": "hospital_code"},
}


def _handle(batch: _Batch, row: SubmissionRow) -> _Outcome:
    handler = _HANDLERS.get(row.kind)
    if handler is None:
        raise DomainError(
            "row_kind_unsupported",
            "kind",
            "Loại dòng không được hỗ trợ.",
            "Unsupported row kind.",
        )
    return handler(batch, row)


def _failed(row: SubmissionRow, exc: Exception) -> _Outcome:
    """The outcome of a row whose handling raised: queued, rejected, or — a defect, not bad
    input — queued for an officer with ``processing_failed``."""
    if isinstance(exc, _Queue):
        return _Outcome(RowStatus.QUEUED, errors=[exc.detail])
    if isinstance(exc, DomainError):
        return _Outcome(RowStatus.REJECTED, errors=_row_errors(exc, _KIND_FIELDS.get(row.kind)))
    log.error("gateway row %s of submission %s failed", row.pk, row.submission_id, exc_info=exc)
    return _Outcome(
        RowStatus.QUEUED,
        errors=[
            ErrorDetail(
                "processing_failed",
                None,
                "Lỗi hệ thống khi xử lý dòng này; dòng chờ cán bộ xử lý lại.",
                "A system error occurred while processing this row; it waits for an "
                "officer to retry.",
            )
        ],
    )


def _run(batch: _Batch, row: SubmissionRow) -> _Outcome:
    """One row in its own savepoint: whatever fails, nothing of the row stays written."""
    try:
        with transaction.atomic():
            outcome = _handle(batch, row)
    except (OperationalError, InterfaceError):
        raise  # the database is unwell: the whole chunk rolls back and the task retries
    except Exception as exc:
        return _failed(row, exc)
    batch.changed(outcome)
    return outcome


class _Refused(Exception):
    """Some planned increase rows were refused while writing: undo the bulk, drop them, redo."""

    def __init__(self, refused: dict[int, DomainError]) -> None:
        super().__init__(f"{len(refused)} rows refused")
        self.refused = refused


def _run_increases(batch: _Batch, wave: list[tuple[int, _IncreasePlan]]) -> dict[int, _Outcome]:
    """Write a wave of planned increase rows (distinct persons) in bulk, in one savepoint. A row
    a service refuses is rejected and the savepoint redone without it, so a refused row leaves
    nothing and the others are written as one by one. An unexpected error undoes the bulk and
    the wave is redone row by row, each in its own savepoint (``_run``)."""
    decided: dict[int, _Outcome] = {}
    pending = list(wave)
    while pending:
        try:
            with transaction.atomic():
                written = _write_increases(batch, [plan for _, plan in pending])
                refused = {
                    pending[k][0]: r for k, r in enumerate(written) if isinstance(r, DomainError)
                }
                if refused:
                    raise _Refused(refused)
        except _Refused as exc:
            for idx, error in exc.refused.items():
                decided[idx] = _failed(_wave_row(wave, idx), error)
            pending = [(idx, plan) for idx, plan in pending if idx not in exc.refused]
            continue
        except (OperationalError, InterfaceError):
            raise
        except Exception:
            log.warning(
                "bulk write of %s rows of submission %s failed; retried row by row",
                len(pending),
                batch.submission.pk,
                exc_info=True,
            )
            for idx, plan in pending:
                decided[idx] = _run(batch, plan.row)
            return decided
        for (idx, _), outcome in zip(pending, written, strict=True):
            assert isinstance(outcome, _Outcome)
            decided[idx] = outcome
            batch.changed(outcome)
        break
    return decided


def _wave_row(wave: list[tuple[int, _IncreasePlan]], idx: int) -> SubmissionRow:
    return next(plan.row for i, plan in wave if i == idx)


def _decide(batch: _Batch, rows: list[SubmissionRow]) -> list[_Outcome]:
    """The outcome of each row of a chunk, in order. Increase rows are planned one by one (their
    checks and queue rules) and written in waves through the bulk services; a wave holds one
    row per person and ends before any other kind of row, so every row sees the registry as
    one-by-one processing would. Other rows run one by one (``_run``)."""
    outcomes: list[_Outcome | None] = [None] * len(rows)
    wave: list[tuple[int, _IncreasePlan]] = []
    keys: set[str] = set()
    persons: set[int] = set()

    def flush() -> None:
        if wave:
            for idx, outcome in _run_increases(batch, wave).items():
                outcomes[idx] = outcome
        wave.clear()
        keys.clear()
        persons.clear()

    for idx, row in enumerate(rows):
        if row.kind != RowKind.INCREASE:
            flush()
            outcomes[idx] = _run(batch, row)
            continue
        row_keys = {_key(row), _text(row.data, "ss_number")} - {""}
        if row_keys & keys:
            flush()
        try:
            plan = _plan_increase(batch, row)
            if plan.person is not None and plan.person.pk in persons:
                flush()  # the same person under another identifier: see the earlier write
                plan = _plan_increase(batch, row)
        except (OperationalError, InterfaceError):
            raise
        except Exception as exc:
            outcomes[idx] = _failed(row, exc)
            continue
        wave.append((idx, plan))
        keys.update(row_keys)
        if plan.person is not None:
            persons.add(plan.person.pk)
    flush()
    return outcomes  # type: ignore[return-value]


def _apply(row: SubmissionRow, outcome: _Outcome, at: dt.datetime, actor: Any) -> None:
    """Copy an outcome onto the row (saved by the caller). Several errors: the first gives the
    code and field, the messages are joined."""
    details = outcome.errors or outcome.notices
    row.status = outcome.status
    row.error_code = outcome.errors[0].code[:60] if outcome.errors else ""
    row.error_field = (outcome.errors[0].field or "")[:60] if outcome.errors else ""
    row.message_vi = " ".join(d.message_vi for d in details)[:500]
    row.message_en = " ".join(d.message_en for d in details)[:500]
    result = dict(outcome.result)
    if outcome.notices:
        result["notices"] = ",".join(n.code for n in outcome.notices)
    row.result = result
    row.processed_at = None if outcome.status == RowStatus.QUEUED else at
    row.decided_by = actor if getattr(actor, "is_authenticated", False) else None


# --- the dossier -------------------------------------------------------------------------------


def _save_rows(rows: list[SubmissionRow]) -> None:
    """Write the decided rows in one statement run many times: ``bulk_update``'s CASE … WHEN
    expressions cost more to build than the whole rest of a 1,000-row dossier's bookkeeping."""
    fields = [SubmissionRow._meta.get_field(name) for name in _ROW_FIELDS]
    quote = connection.ops.quote_name
    sets = ", ".join(f"{quote(f.column)} = %s" for f in fields)
    table = quote(SubmissionRow._meta.db_table)
    sql = f"UPDATE {table} SET {sets} WHERE id = %s"  # noqa: S608 - names from the model
    params = [
        [f.get_db_prep_save(getattr(row, f.attname), connection) for f in fields] + [row.pk]
        for row in rows
    ]
    with connection.cursor() as cursor:
        cursor.executemany(sql, params)


def _pending_rows(submission: Submission) -> list[SubmissionRow]:
    """The next chunk of undecided rows, employer rows first (a dossier may register the
    employer its other rows need), then in row order."""
    order = Case(
        When(kind=RowKind.EMPLOYER, then=Value(0)), default=Value(1), output_field=IntegerField()
    )
    return list(
        SubmissionRow.objects.filter(submission=submission, status=RowStatus.PENDING)
        .annotate(_first=order)
        .order_by("_first", "number")[:CHUNK_ROWS]
    )


def _count(submission: Submission) -> dict[str, int]:
    counts = dict(
        SubmissionRow.objects.filter(submission=submission)
        .values_list("status")
        .annotate(n=Count("id"))
        .order_by()
    )
    Submission.objects.filter(pk=submission.pk).update(
        rows_total=sum(counts.values()),
        rows_accepted=counts.get(RowStatus.ACCEPTED, 0),
        rows_rejected=counts.get(RowStatus.REJECTED, 0),
        rows_queued=counts.get(RowStatus.QUEUED, 0),
    )
    return counts


def _not_accepted() -> DomainError:
    return Conflict(
        "submission_not_accepted",
        "verdict",
        "Hồ sơ không được tiếp nhận nên không được xử lý.",
        "The submission was refused, so it is not processed.",
    )


def process(submission: Submission, *, at: dt.datetime | None = None) -> Submission:
    """Decide every PENDING row of an accepted submission (see the module docstring) and
    update its totals and trace. Re-running skips decided rows; with nothing pending it writes
    nothing and returns the submission as it is."""
    if submission.verdict != Verdict.ACCEPTED:
        raise _not_accepted()
    now = at or timezone.now()
    pending = SubmissionRow.objects.filter(submission=submission, status=RowStatus.PENDING)
    if not pending.exists():
        submission.refresh_from_db()
        return submission
    newly_queued = decided = 0
    while True:
        with transaction.atomic():
            locked = Submission.objects.select_for_update().get(pk=submission.pk)
            rows = _pending_rows(locked)
            if not rows:
                break
            if not decided:
                # Under the lock: a second worker that started at the same time finds the rows
                # decided and leaves no trace of its own.
                SubmissionEvent.objects.create(
                    submission=submission,
                    at=now,
                    step=Step.PROCESSING,
                    detail=f"{pending.count()} rows",
                )
            decided += len(rows)
            batch = _Batch.load(locked, rows, actor=None, review=True)
            for row, outcome in zip(rows, _decide(batch, rows), strict=True):
                _apply(row, outcome, now, None)
                newly_queued += row.status == RowStatus.QUEUED
            _save_rows(rows)
            _count(locked)
    if not decided:
        submission.refresh_from_db()
        return submission
    with transaction.atomic():
        counts = _count(submission)
        Submission.objects.filter(pk=submission.pk).update(processed_at=now)
        done = at or timezone.now()
        events = [
            SubmissionEvent(
                submission=submission,
                at=done,
                step=Step.ROWS_DONE,
                detail=(
                    f"accepted {counts.get(RowStatus.ACCEPTED, 0)}, "
                    f"rejected {counts.get(RowStatus.REJECTED, 0)}, "
                    f"queued {counts.get(RowStatus.QUEUED, 0)}"
                ),
            )
        ]
        if newly_queued:
            events.append(
                SubmissionEvent(
                    submission=submission,
                    at=done,
                    step=Step.QUEUED,
                    detail=f"{newly_queued} rows wait for an officer",
                )
            )
        SubmissionEvent.objects.bulk_create(events)
    submission.refresh_from_db()
    return submission


# --- the officer's decision ----------------------------------------------------------------------


def _authorise_officer(actor: Any, submission: Submission) -> None:
    """An officer (``onestop.change_dossier``) of an office handling the dossier, or, for a
    submission without a dossier, one whose scope covers the employer."""
    from ansinh.access.selectors import employer_in_scope
    from ansinh.onestop.selectors import can_view_dossier

    if not getattr(actor, "is_authenticated", False) or not actor.has_perm(
        "onestop.change_dossier"
    ):
        raise Forbidden(
            "permission_denied",
            None,
            "Vai trò của bạn không được phép xử lý hồ sơ này.",
            "Your role is not allowed to process this dossier.",
        )
    dossier = submission.dossier
    if dossier is not None:
        allowed = can_view_dossier(actor, dossier)
    else:
        allowed = submission.employer is None or employer_in_scope(actor, submission.employer)
    if not allowed:
        raise Forbidden(
            "out_of_scope",
            None,
            "Hồ sơ này nằm ngoài phạm vi xử lý của đơn vị bạn.",
            "This dossier is outside your organisation's remit.",
        )


def decide_queued_row(
    row: SubmissionRow,
    *,
    actor: Any,
    accept: bool,
    note: str = "",
    at: dt.datetime | None = None,
) -> SubmissionRow:
    """An officer decides a QUEUED row. Accepting processes the row as the rules would without
    the checks that queued it, with the officer as actor; when a service still refuses (e.g. the
    overlapping employment was not ended meanwhile) its ``DomainError`` is raised and the row
    stays queued. Rejecting needs a note: it is the reason the submitter reads."""
    note = (note or "").strip()
    submission = Submission.objects.select_related("dossier", "employer", "submitter").get(
        pk=row.submission_id
    )
    _authorise_officer(actor, submission)
    if not accept and not note:
        raise DomainError(
            "note_required",
            "note",
            "Cần ghi lý do không chấp nhận để trả cho đơn vị.",
            "A reason is required to reject a row; the submitter reads it.",
        )
    now = at or timezone.now()
    with transaction.atomic():
        locked_submission = Submission.objects.select_for_update().get(pk=submission.pk)
        locked_submission.submitter = submission.submitter
        locked = SubmissionRow.objects.select_for_update().get(pk=row.pk)
        if locked.status != RowStatus.QUEUED:
            raise Conflict(
                "row_not_queued",
                "status",
                "Dòng này không ở trạng thái chờ cán bộ xử lý.",
                "This row is not waiting for an officer.",
            )
        reason = locked.error_code
        if accept:
            batch = _Batch.load(locked_submission, [locked], actor=actor, review=False)
            with transaction.atomic():
                outcome = _handle(batch, locked)
        else:
            outcome = _Outcome(
                RowStatus.REJECTED,
                errors=[
                    ErrorDetail(
                        "rejected_by_officer",
                        locked.error_field or None,
                        f"Cán bộ không chấp nhận: {note}",
                        f"Rejected by an officer: {note}",
                    )
                ],
            )
        _apply(locked, outcome, now, actor)
        locked.result = {**locked.result, "queue_reason": reason}
        if note:
            locked.result["officer_note"] = note[:300]
        locked.save(update_fields=_ROW_FIELDS)
        counts = _count(locked_submission)
        left = counts.get(RowStatus.QUEUED, 0)
        SubmissionEvent.objects.create(
            submission=locked_submission,
            at=now,
            step=Step.ROWS_DONE,
            detail=(
                f"row {locked.number} {'accepted' if accept else 'rejected'} by an officer; "
                f"{left} still queued"
            ),
        )
        from ansinh.access.services import audit

        audit(
            actor=actor,
            action="update",
            object_type="gateway_row",
            object_id=str(locked.pk),
            detail={"submission": submission.pk, "decision": "accept" if accept else "reject"},
        )
    for name in (*_ROW_FIELDS, "result"):
        setattr(row, name, getattr(locked, name))
    return row


__all__ = [
    "CARD_REASONS",
    "DECREASE_REASONS",
    "decide_queued_row",
    "process",
    "retroactive_months",
]
