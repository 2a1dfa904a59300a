"""Writes of the one-stop app: the procedure catalogue, offices, and every move of a dossier.

Other apps (the e-transaction gateway, unemployment claims) open and move their dossiers with
these functions, so they take plain values and an ``actor`` (``None`` for a system step such
as a gateway reception) and raise :class:`~ansinh.core.errors.DomainError` with a code.

Each move is one transaction: it re-reads the dossier, checks the caller's ``expected_version``
(optimistic locking: of two officers acting at once one wins, the other gets ``stale_version``),
the lifecycle graph (``illegal_transition``), the actor's role and office, then writes the
dossier with ``version + 1`` and appends one path entry. Status notices go out after commit
through the ``dossier_changed`` signal.
"""

from __future__ import annotations

import datetime as dt
import tomllib
from collections.abc import Callable, Iterable
from contextlib import nullcontext
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from django.db import IntegrityError, connection, transaction
from django.db.models import F
from django.utils import timezone
from django_fsm import can_proceed

from ansinh.access.models import AuditAction, Organisation
from ansinh.access.services import audit
from ansinh.core.errors import Conflict, DomainError, ErrorCollector, Forbidden, NotFound
from ansinh.core.fastinsert import insert
from ansinh.core.memo import Memo
from ansinh.law.deadlines import counting_start, office_minutes_between, resume_due, time_left
from ansinh.law.deadlines import due_at as compute_due
from ansinh.law.models import Confidence
from ansinh.onestop import signals
from ansinh.onestop.clock import classify
from ansinh.onestop.models import (
    OPEN_STATES,
    Action,
    ApologySlip,
    Channel,
    DailySequence,
    Department,
    Dossier,
    DossierState,
    DossierTransition,
    Office,
    Outcome,
    Procedure,
    ProcedureVersion,
    Warning,
)

CATALOGUE_FILE = Path(__file__).resolve().parent / "catalogue" / "procedures.toml"
#: Steps may be back-dated by this much at most in the future (clock skew between servers).
_FUTURE_TOLERANCE = dt.timedelta(minutes=5)


# --- catalogue ---------------------------------------------------------------------------------


class CatalogueError(ValueError):
    """The catalogue file is malformed: the message names the procedure and the field."""


def read_catalogue(path: Path = CATALOGUE_FILE) -> list[dict[str, Any]]:
    with path.open("rb") as fh:
        data = tomllib.load(fh)
    rows = data.get("procedure", [])
    for row in rows:
        where = f"{path.name}: procedure {row.get('code', '?')}"
        for key in ("code", "name_vi", "name_en", "versions"):
            if key not in row:
                raise CatalogueError(f"{where}: missing {key}")
        for version in row["versions"]:
            if ("days" in version) == ("hours" in version):
                raise CatalogueError(f"{where}: each version has either days or hours")
            for key in ("valid_from", "legal_source"):
                if key not in version:
                    raise CatalogueError(f"{where}: version missing {key}")
            if version.get("confidence", "high") not in Confidence.values:
                raise CatalogueError(f"{where}: unknown confidence {version['confidence']!r}")
    return rows


@transaction.atomic
def sync_catalogue(path: Path = CATALOGUE_FILE) -> int:
    """Add the procedures and versions of the catalogue file that are missing. Rows already
    there are left alone, so an administrator's edits in the admin site survive upgrades.
    Returns the number of rows written (0 = up to date)."""
    written = 0
    for row in read_catalogue(path):
        procedure, created = Procedure.objects.get_or_create(
            code=row["code"],
            defaults={
                "name_vi": row["name_vi"],
                "name_en": row["name_en"],
                "domain": row.get("domain", ""),
            },
        )
        written += created
        for version in row["versions"]:
            _, created = ProcedureVersion.objects.get_or_create(
                procedure=procedure,
                valid_from=version["valid_from"],
                defaults={
                    "valid_to": version.get("valid_to"),
                    "deadline_days": version.get("days"),
                    "deadline_hours": version.get("hours"),
                    "documents": version.get("documents", []),
                    "departments": version.get("departments", []),
                    "legal_source": version["legal_source"],
                    "confidence": version.get("confidence", Confidence.HIGH),
                    "note": version.get("note", ""),
                },
            )
            written += created
    return written


def procedure_version_on(procedure: Procedure, day: dt.date) -> ProcedureVersion:
    version = ProcedureVersion.objects.on(day).filter(procedure=procedure).last()
    if version is None:
        raise DomainError(
            "procedure_not_in_force",
            "procedure_code",
            f"Thủ tục {procedure.code} không có quy định hiệu lực vào ngày {day:%d/%m/%Y}.",
            f"Procedure {procedure.code} has no rules in force on {day:%Y-%m-%d}.",
        )
    return version


# --- offices -----------------------------------------------------------------------------------


@transaction.atomic
def create_office(
    *,
    organisation: Organisation,
    agency_code: str,
    province_code: str,
    place: str,
    departments: Iterable[tuple[str, str]] = (),
    **fields: Any,
) -> Office:
    """An organisation's one-stop desk with its departments ((code, name) pairs)."""
    errors = ErrorCollector()
    if len(agency_code) != 13:
        errors.add(
            "invalid_agency_code",
            "agency_code",
            "Mã định danh cơ quan phải có đúng 13 ký tự (ví dụ 000.00.01.H26).",
            "The agency identity code must be exactly 13 characters (e.g. 000.00.01.H26).",
        )
    if Office.objects.filter(agency_code=agency_code).exists():
        errors.add(
            "duplicate_agency_code",
            "agency_code",
            "Mã định danh cơ quan đã được dùng.",
            "This agency identity code is already used.",
        )
    errors.raise_if_any()
    office = Office.objects.create(
        organisation=organisation,
        agency_code=agency_code,
        province_code=province_code,
        place=place,
        **fields,
    )
    for code, name in departments:
        Department.objects.create(office=office, code=code, name=name)
    return office


# --- reception ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class Applicant:
    """Người nộp hồ sơ: a citizen or an employer (then ``id_number`` is its tax code)."""

    name: str
    id_number: str = ""
    address: str = ""
    phone: str = ""
    email: str = ""


@dataclass(frozen=True)
class DocumentReceived:
    name: str
    copies: int = 1
    original: bool = True


def _now(at: dt.datetime | None) -> dt.datetime:
    now = timezone.now()
    if at is None:
        return now
    if timezone.is_naive(at):
        raise DomainError(
            "naive_datetime",
            "at",
            "Thời điểm phải kèm múi giờ.",
            "The time must carry a time zone.",
        )
    if at > now + _FUTURE_TOLERANCE:
        raise DomainError(
            "time_in_future",
            "at",
            "Không ghi nhận thao tác vào thời điểm trong tương lai.",
            "A step cannot be recorded in the future.",
        )
    return at


def _next_sequence(office: Office, day: dt.date) -> int:
    """That day's next number for the office, safe under concurrent receptions: the row is
    created once (a racing creator hits the unique constraint and retries) and incremented by
    one ``UPDATE … RETURNING`` (SQLite ≥ 3.35, PostgreSQL), which both databases serialise —
    one statement instead of an UPDATE and a SELECT."""
    table = connection.ops.quote_name(DailySequence._meta.db_table)
    sql = f"UPDATE {table} SET last = last + 1 WHERE office_id = %s AND day = %s RETURNING last"  # noqa: S608
    for _ in range(3):
        with connection.cursor() as cursor:
            cursor.execute(sql, [office.pk, connection.ops.adapt_datefield_value(day)])
            row = cursor.fetchone()
        if row is not None:
            return int(row[0])
        try:
            with transaction.atomic():
                DailySequence.objects.create(office=office, day=day, last=1)
            return 1
        except IntegrityError:
            continue
    raise RuntimeError("could not allocate a dossier sequence number")


def dossier_code(office: Office, day: dt.date, sequence: int) -> str:
    """Mã hồ sơ (Decree 61/2018 Art. 26, kept by Decree 118/2025): the receiving agency's
    13-character identity code, the reception date as YYMMDD and the day's 4-digit sequence
    number, joined by hyphens: ``000.00.01.H26-261123-0001`` (25 characters)."""
    if not 1 <= sequence <= 9999:
        raise DomainError(
            "daily_sequence_exhausted",
            None,
            "Đơn vị đã tiếp nhận đủ 9.999 hồ sơ trong ngày; dùng mã định danh của bộ phận khác.",
            "The office has received 9,999 dossiers today; use another desk's agency code.",
        )
    return f"{office.agency_code}-{day:%y%m%d}-{sequence:04d}"


def _check_actor(actor: Any, office: Office, perm: str = "onestop.add_dossier") -> None:
    if actor is None:
        return  # a system step (gateway, scheduled task): the caller is trusted code
    if not actor.has_perm(perm):
        raise Forbidden(
            "permission_denied",
            None,
            "Vai trò của bạn không được phép thao tác trên hồ sơ này.",
            "Your role is not allowed to act on this dossier.",
        )
    if actor.organisation_id != office.organisation_id and not actor.is_superuser:
        raise Forbidden(
            "not_your_office",
            None,
            "Hồ sơ đang do đơn vị khác xử lý.",
            "The dossier is held by another office.",
        )


def _department(office: Office, code: str | None, field_name: str) -> Department | None:
    if not code:
        return None
    found = Department.objects.filter(office=office, code=code).first()
    if found is None:
        raise DomainError(
            "unknown_department",
            field_name,
            f"Đơn vị không có phòng/bộ phận mã {code}.",
            f"The office has no department with code {code}.",
        )
    return found


def _validate_applicant(applicant: Applicant, documents: list[DocumentReceived]) -> None:
    errors = ErrorCollector()
    if not applicant.name.strip():
        errors.add(
            "required", "applicant.name", "Thiếu tên người nộp.", "The applicant's name is missing."
        )
    if len(applicant.name) > 200:
        errors.add("too_long", "applicant.name", "Tên quá dài.", "The name is too long.")
    if applicant.email and "@" not in applicant.email:
        errors.add(
            "invalid_email",
            "applicant.email",
            "Địa chỉ thư điện tử không hợp lệ.",
            "The e-mail address is not valid.",
        )
    for i, doc in enumerate(documents):
        if not doc.name.strip():
            errors.add(
                "required",
                f"documents[{i}].name",
                "Thiếu tên giấy tờ.",
                "A document has no name.",
            )
        if not 1 <= doc.copies <= 99:
            errors.add(
                "invalid_copies",
                f"documents[{i}].copies",
                "Số bản phải từ 1 đến 99.",
                "Copies must be between 1 and 99.",
            )
    errors.raise_if_any()


@dataclass
class Reception:
    """A dossier and its first step, checked and built but not yet numbered or stored:
    what :func:`receive_dossier` writes, for a caller that stores them with its own rows
    (the gateway's one-message intake on PostgreSQL, ``gateway.services``)."""

    dossier: Dossier
    step: DossierTransition
    day: dt.date
    actor: Any = None


def prepare_reception(
    *,
    office: Office,
    procedure_code: str,
    channel: str,
    applicant: Applicant,
    documents: Iterable[DocumentReceived] = (),
    actor: Any = None,
    at: dt.datetime | None = None,
    external_ref: str = "",
    department_code: str | None = None,
    note: str = "",
) -> Reception:
    """Every check of a reception and the rows it will write, without writing (reads only
    the memoised catalogue and the office's departments). Number it with :func:`number`."""
    if channel not in Channel.values:
        raise DomainError(
            "unknown_channel",
            "channel",
            f"Kênh tiếp nhận không hợp lệ: {channel}.",
            f"Unknown reception channel: {channel}.",
        )
    procedure = _procedures.get(
        procedure_code, lambda: Procedure.objects.filter(code=procedure_code, active=True).first()
    )
    if procedure is None:
        raise NotFound(
            "unknown_procedure",
            "procedure_code",
            f"Không có thủ tục mã {procedure_code}.",
            f"There is no procedure with code {procedure_code}.",
        )
    docs = list(documents)
    _validate_applicant(applicant, docs)
    _check_actor(actor, office)
    received = _now(at)
    hours = office.hours
    day = timezone.localtime(received).date()
    version = _procedures.get((procedure.pk, day), lambda: procedure_version_on(procedure, day))
    department = _department(office, department_code, "department_code")
    due = compute_due(received, version.deadline, hours)
    dossier = Dossier(
        procedure=procedure,
        procedure_version=version,
        channel=channel,
        receiving_office=office,
        office=office,
        province_code=office.province_code,
        department=department,
        applicant_name=applicant.name.strip(),
        applicant_id=applicant.id_number,
        applicant_address=applicant.address,
        applicant_phone=applicant.phone,
        applicant_email=applicant.email,
        documents=[{"name": d.name, "copies": d.copies, "original": d.original} for d in docs],
        external_ref=external_ref,
        received_at=received,
        counted_from=counting_start(received, hours),
        due_at=due,
        warning=classify(due, timezone.now()),
        created_by=actor,
    )
    step = DossierTransition(
        dossier=dossier,
        at=received,
        action=Action.RECEIVE,
        from_state="",
        to_state=DossierState.RECEIVED,
        actor=actor,
        actor_name=_actor_name(actor),
        to_office=office,
        to_department=department,
        note=note,
        due_at=due,
    )
    return Reception(dossier, step, day, actor)


def number(reception: Reception, sequence: int) -> None:
    """Give the prepared dossier its code from the office's number of the day."""
    dossier = reception.dossier
    dossier.code = dossier_code(dossier.receiving_office, reception.day, sequence)


def sequence_statement(office: Office, day: dt.date) -> tuple[str, list[Any]]:
    """The day's next number for the office in one statement (PostgreSQL: created on the day's
    first reception, incremented after — the row lock serialises concurrent receptions until
    their transactions end, as :func:`_next_sequence` does)."""
    table = connection.ops.quote_name(DailySequence._meta.db_table)
    sql = (
        f"INSERT INTO {table} (office_id, day, last) VALUES (%s, %s, 1) "  # noqa: S608
        f"ON CONFLICT (office_id, day) DO UPDATE SET last = {table}.last + 1 RETURNING last"
    )
    return sql, [office.pk, connection.ops.adapt_datefield_value(day)]


def announce(reception: Reception) -> None:
    """What a reception does once stored: the audit entry of a staff member's reception and,
    after commit, the listeners (:func:`_announce`). Call it within the storing transaction,
    or right after it committed."""
    dossier, step, actor = reception.dossier, reception.step, reception.actor
    if actor is not None:
        audit(
            actor=actor,
            action=AuditAction.CREATE,
            object_type="dossier",
            object_id=str(dossier.pk),
            detail={"procedure": dossier.procedure.code, "channel": dossier.channel},
            channel="web",
        )
    _announce(dossier, step)


def receive_dossier(
    *,
    office: Office,
    procedure_code: str,
    channel: str,
    applicant: Applicant,
    documents: Iterable[DocumentReceived] = (),
    actor: Any = None,
    at: dt.datetime | None = None,
    external_ref: str = "",
    department_code: str | None = None,
    note: str = "",
    fresh_ref: bool = False,
) -> Dossier:
    """Tiếp nhận hồ sơ: give it a code and a due time and open its path.

    Idempotent on ``external_ref`` (a submitter's own reference): the same reference at the
    same office returns the dossier already received instead of a second one. ``fresh_ref``:
    the caller vouches that the reference cannot exist yet (the gateway's ``gw:<submission
    id>``, made in the same transaction), so the look-up is skipped; the unique constraint
    still refuses a duplicate.
    """
    if external_ref and not fresh_ref:
        existing = Dossier.objects.filter(receiving_office=office, external_ref=external_ref)
        found = existing.first()
        if found is not None:
            if found.procedure.code != procedure_code or found.applicant_id != applicant.id_number:
                raise Conflict(
                    "external_ref_reused",
                    "external_ref",
                    "Mã tham chiếu này đã được dùng cho một hồ sơ khác.",
                    "This reference was already used for a different dossier.",
                )
            return found
    reception = prepare_reception(
        office=office,
        procedure_code=procedure_code,
        channel=channel,
        applicant=applicant,
        documents=documents,
        actor=actor,
        at=at,
        external_ref=external_ref,
        department_code=department_code,
        note=note,
    )
    # ``fresh_ref``: the caller's own transaction holds the whole reception (the gateway's
    # submission and its dossier stand or fall together), so no savepoint of our own — two
    # round trips fewer; any error here still rolls the caller's transaction back.
    with transaction.atomic(savepoint=not fresh_ref):
        number(reception, _next_sequence(office, reception.day))
        try:
            # A savepoint only when a racing twin may hold the same reference.
            with transaction.atomic() if external_ref and not fresh_ref else nullcontext():
                dossier = insert(reception.dossier)
        except IntegrityError:
            if external_ref and not fresh_ref:  # a concurrent twin with this reference won
                return Dossier.objects.get(receiving_office=office, external_ref=external_ref)
            raise
        reception.step.dossier = dossier  # its id, now known
        insert(reception.step, trust_save=True)  # its save() only refuses updates
        announce(reception)
    return dossier


#: Procedures by code and their versions by (procedure, day): the catalogue changes rarely.
_procedures = Memo("onestop.procedures", models=(Procedure, ProcedureVersion))


def _actor_name(actor: Any) -> str:
    if actor is None:
        return ""
    return (actor.get_full_name() or actor.get_username())[:150]


def _announce(dossier: Dossier, step: DossierTransition) -> None:
    """After commit, tell the listeners (the applicant's status notices). ``contacts`` says
    whether the applicant left an e-mail or phone: without one (every gateway dossier) the
    notice sender has nothing to send and skips queueing a task."""
    contacts = bool(dossier.applicant_email or dossier.applicant_phone)
    transaction.on_commit(
        lambda: signals.dossier_changed.send(
            sender=Dossier, dossier_id=dossier.pk, step_id=step.pk, contacts=contacts
        )
    )


# --- moves -------------------------------------------------------------------------------------


def _refuse_role() -> Forbidden:
    return Forbidden(
        "permission_denied",
        None,
        "Vai trò của bạn không được phép thực hiện thao tác này.",
        "Your role is not allowed to do this.",
    )


def can_reassign(actor: Any, dossier: Dossier) -> bool:
    """Lãnh đạo: a manager of the dossier's office or of an organisation above it."""
    if actor is None:
        return True
    if not actor.has_perm("onestop.reassign_dossier"):
        return False
    org = dossier.office.organisation
    while org is not None:
        if org.pk == actor.organisation_id:
            return True
        org = org.parent
    return actor.is_superuser


def _check_processor(actor: Any, dossier: Dossier) -> None:
    """Processing steps belong to the assigned officer; when nobody is assigned, to the members
    of the department holding the dossier (or, with no department, the office's officers);
    a manager may always step in."""
    if actor is None or can_reassign(actor, dossier):
        return
    if dossier.assignee_id is not None:
        if dossier.assignee_id != actor.pk:
            raise Forbidden(
                "not_assignee",
                None,
                "Hồ sơ đã được giao cho cán bộ khác.",
                "The dossier is assigned to another officer.",
            )
        return
    if (
        dossier.department_id is not None
        and not dossier.department.members.filter(pk=actor.pk).exists()
    ):
        raise Forbidden(
            "not_in_department",
            None,
            "Bạn không thuộc phòng/bộ phận đang giữ hồ sơ.",
            "You are not a member of the department holding the dossier.",
        )


@dataclass
class _Move:
    action: str
    method: str | None  # the lifecycle transition to fire; None keeps the state
    note: str = ""
    changes: dict[str, Any] = field(default_factory=dict)
    processor: bool = False  # processing step (assignee/department) vs desk step (any officer)


def _load(dossier: Dossier | int | str) -> Dossier:
    key = dossier.pk if isinstance(dossier, Dossier) else dossier
    qs = Dossier.objects.select_related(
        "office__organisation", "procedure_version", "department", "assignee"
    )
    found = qs.filter(pk=key).first() if isinstance(key, int) else qs.filter(code=key).first()
    if found is None:
        raise NotFound(
            "unknown_dossier", "code", "Không tìm thấy hồ sơ.", "The dossier was not found."
        )
    return found


def _illegal(dossier: Dossier, action: str) -> DomainError:
    return DomainError(
        "illegal_transition",
        "action",
        f"Không thể thực hiện '{Action(action).label}' khi hồ sơ ở trạng thái "
        f"'{DossierState(dossier.state).label}'.",
        f"Cannot do '{action}' while the dossier is '{dossier.state}'.",
        status=409,
    )


def _apply(
    dossier_ref: Dossier | int | str,
    *,
    actor: Any,
    expected_version: int,
    at: dt.datetime | None,
    build: Callable[[Dossier, dt.datetime], _Move],
) -> Dossier:
    with transaction.atomic():
        dossier = _load(dossier_ref)
        if dossier.version != expected_version:
            raise _stale(dossier)
        when = _now(at)
        # The previous step in path order (at, id): the new row records the time since it.
        last = DossierTransition.objects.filter(dossier=dossier).order_by("-at", "-id").first()
        if last is not None and when < last.at:
            raise DomainError(
                "before_previous_step",
                "at",
                "Thời điểm thao tác sớm hơn bước trước của hồ sơ.",
                "The step is dated before the dossier's previous step.",
            )
        move = build(dossier, when)
        manager = can_reassign(actor, dossier)
        if not manager:
            _check_actor(actor, dossier.office, "onestop.change_dossier")
        if move.action == Action.REASSIGN and not manager:
            raise _refuse_role()
        if move.processor:
            _check_processor(actor, dossier)
        before = {
            "state": dossier.state,
            "office": dossier.office,
            "department": dossier.department,
            "assignee": dossier.assignee,
        }
        if move.method is not None:
            bound = getattr(dossier, move.method)
            if not can_proceed(bound):
                raise _illegal(dossier, move.action)
            bound()
        for name, value in move.changes.items():
            setattr(dossier, name, value)
        fields = {
            name: getattr(dossier, name)
            for name in (
                "state",
                "office",
                "province_code",
                "department",
                "assignee",
                "due_at",
                "promised_at",
                "paused_at",
                "paused_left",
                "paused_minutes",
                "resolved_at",
                "outcome",
                "processing_minutes",
                "returned_at",
                "closed_at",
                "warning",
                "escalation",
            )
        }
        updated = Dossier.objects.filter(pk=dossier.pk, version=expected_version).update(
            version=F("version") + 1, **fields
        )
        if not updated:
            raise _stale(dossier)
        dossier.refresh_from_db(fields=["version"])
        step = DossierTransition.objects.create(
            dossier=dossier,
            at=when,
            action=move.action,
            from_state=before["state"],
            to_state=dossier.state,
            actor=actor,
            actor_name=_actor_name(actor),
            from_office=before["office"],
            to_office=dossier.office,
            from_department=before["department"],
            to_department=dossier.department,
            from_assignee=before["assignee"],
            to_assignee=dossier.assignee,
            note=move.note,
            due_at=dossier.due_at,
            since_previous=when - last.at if last is not None else None,
        )
        if actor is not None:
            audit(
                actor=actor,
                action=AuditAction.UPDATE,
                object_type="dossier",
                object_id=str(dossier.pk),
                detail={"action": move.action, "to_state": dossier.state},
                channel="web",
            )
        _announce(dossier, step)
    return dossier


def _stale(dossier: Dossier) -> Conflict:
    return Conflict(
        "stale_version",
        "version",
        "Hồ sơ vừa được người khác cập nhật; hãy tải lại và thử lại.",
        "Someone else has just updated the dossier; reload and try again.",
    )


def _require_note(note: str, code: str = "note_required") -> str:
    note = note.strip()
    if not note:
        raise DomainError(
            code,
            "note",
            "Cần ghi rõ lý do/nội dung.",
            "A reason or description is required.",
        )
    return note


def _resolved(dossier: Dossier, when: dt.datetime, **extra: Any) -> dict[str, Any]:
    """Fields of a dossier whose processing ends at ``when`` (result or refusal)."""
    hours = dossier.office.hours
    local_when, local_due = timezone.localtime(when), timezone.localtime(dossier.due_at)
    if when > dossier.due_at:
        outcome = Outcome.LATE
    elif local_when.date() < local_due.date():
        outcome = Outcome.EARLY
    else:
        outcome = Outcome.ON_TIME
    spent = office_minutes_between(dossier.counted_from, when, hours) - dossier.paused_minutes
    return {
        "resolved_at": when,
        "outcome": outcome,
        "processing_minutes": max(spent, 0),
        "warning": Warning.NONE,
        **extra,
    }


def transfer(
    dossier: Dossier | int | str,
    *,
    actor: Any,
    expected_version: int,
    to_department: str | None = None,
    to_office: Office | None = None,
    to_assignee: Any = None,
    note: str = "",
    at: dt.datetime | None = None,
) -> Dossier:
    """Chuyển hồ sơ: to a department of the same office, or to another office (commune →
    province), optionally to a named officer there."""

    def build(d: Dossier, when: dt.datetime) -> _Move:
        office = to_office or d.office
        department = _department(office, to_department, "to_department")
        if office == d.office and department is None:
            raise DomainError(
                "destination_required",
                "to_department",
                "Chọn phòng/bộ phận hoặc đơn vị nhận hồ sơ.",
                "Choose the department or office that receives the dossier.",
            )
        if office == d.office and department == d.department and to_assignee is None:
            raise DomainError(
                "same_department",
                "to_department",
                "Hồ sơ đã ở phòng/bộ phận này.",
                "The dossier is already in this department.",
            )
        if to_assignee is not None and to_assignee.organisation_id != office.organisation_id:
            raise DomainError(
                "assignee_not_in_office",
                "to_assignee",
                "Cán bộ được giao không thuộc đơn vị nhận hồ sơ.",
                "The officer does not belong to the receiving office.",
            )
        return _Move(
            Action.TRANSFER,
            "transfer",
            note.strip(),
            {
                "office": office,
                "province_code": office.province_code,
                "department": department,
                "assignee": to_assignee,
            },
        )

    return _apply(dossier, actor=actor, expected_version=expected_version, at=at, build=build)


def start_processing(
    dossier: Dossier | int | str,
    *,
    actor: Any,
    expected_version: int,
    note: str = "",
    at: dt.datetime | None = None,
) -> Dossier:
    """Thụ lý: the officer takes the dossier (and becomes its assignee if nobody is)."""

    def build(d: Dossier, when: dt.datetime) -> _Move:
        changes = {"assignee": d.assignee or actor}
        return _Move(Action.START, "start", note.strip(), changes, processor=True)

    return _apply(dossier, actor=actor, expected_version=expected_version, at=at, build=build)


def request_supplement(
    dossier: Dossier | int | str,
    *,
    actor: Any,
    expected_version: int,
    note: str,
    at: dt.datetime | None = None,
) -> Dossier:
    """Yêu cầu bổ sung: ask for what is missing (``note``); the clock stops."""

    def build(d: Dossier, when: dt.datetime) -> _Move:
        left = time_left(when, d.due_at, d.deadline, d.office.hours)
        changes = {"paused_at": when, "paused_left": left, "warning": Warning.PAUSED}
        return _Move(
            Action.REQUEST_SUPPLEMENT, "request_supplement", _require_note(note), changes, True
        )

    return _apply(dossier, actor=actor, expected_version=expected_version, at=at, build=build)


def receive_supplement(
    dossier: Dossier | int | str,
    *,
    actor: Any,
    expected_version: int,
    note: str = "",
    at: dt.datetime | None = None,
) -> Dossier:
    """Nhận bổ sung: the clock restarts with the time that was left."""

    def build(d: Dossier, when: dt.datetime) -> _Move:
        hours = d.office.hours
        paused_at = d.paused_at or when
        due = resume_due(when, d.paused_left, d.deadline, d.due_at, hours)
        changes = {
            "due_at": due,
            "paused_at": None,
            "paused_left": None,
            "paused_minutes": d.paused_minutes + office_minutes_between(paused_at, when, hours),
            "warning": classify(due, timezone.now()),
            "escalation": 0,
        }
        return _Move(Action.SUPPLEMENT_RECEIVED, "supplement_received", note.strip(), changes)

    return _apply(dossier, actor=actor, expected_version=expected_version, at=at, build=build)


def record_result(
    dossier: Dossier | int | str,
    *,
    actor: Any,
    expected_version: int,
    note: str = "",
    at: dt.datetime | None = None,
) -> Dossier:
    """Có kết quả: processing is done; timeliness is decided now."""

    def build(d: Dossier, when: dt.datetime) -> _Move:
        return _Move(Action.RESULT_READY, "result_ready", note.strip(), _resolved(d, when), True)

    return _apply(dossier, actor=actor, expected_version=expected_version, at=at, build=build)


def reject(
    dossier: Dossier | int | str,
    *,
    actor: Any,
    expected_version: int,
    reason: str,
    at: dt.datetime | None = None,
) -> Dossier:
    """Từ chối giải quyết, with the reason given to the applicant."""

    def build(d: Dossier, when: dt.datetime) -> _Move:
        changes = _resolved(d, when, closed_at=when, paused_at=None, paused_left=None)
        if d.paused_at is not None:
            hours = d.office.hours
            spent = office_minutes_between(d.paused_at, when, hours)
            changes["paused_minutes"] = d.paused_minutes + spent
            changes["processing_minutes"] = max(changes["processing_minutes"] - spent, 0)
        text = _require_note(reason, "reason_required")
        return _Move(Action.REJECT, "reject", text, changes, processor=True)

    return _apply(dossier, actor=actor, expected_version=expected_version, at=at, build=build)


def return_result(
    dossier: Dossier | int | str,
    *,
    actor: Any,
    expected_version: int,
    note: str = "",
    at: dt.datetime | None = None,
) -> Dossier:
    """Trả kết quả to the applicant (at the counter, by post or online)."""

    def build(d: Dossier, when: dt.datetime) -> _Move:
        return _Move(
            Action.RETURN, "return_result", note.strip(), {"returned_at": when, "closed_at": when}
        )

    return _apply(dossier, actor=actor, expected_version=expected_version, at=at, build=build)


def withdraw(
    dossier: Dossier | int | str,
    *,
    actor: Any,
    expected_version: int,
    note: str,
    at: dt.datetime | None = None,
) -> Dossier:
    """Rút hồ sơ at the applicant's written request (``note``); no timeliness is counted."""

    def build(d: Dossier, when: dt.datetime) -> _Move:
        changes = {"closed_at": when, "warning": Warning.NONE, "paused_at": None}
        return _Move(Action.WITHDRAW, "withdraw", _require_note(note), changes)

    return _apply(dossier, actor=actor, expected_version=expected_version, at=at, build=build)


def reassign(
    dossier: Dossier | int | str,
    *,
    actor: Any,
    expected_version: int,
    to_assignee: Any,
    note: str = "",
    at: dt.datetime | None = None,
) -> Dossier:
    """Giao lại: a manager hands an open dossier to another officer of the same office."""

    def build(d: Dossier, when: dt.datetime) -> _Move:
        if d.state not in OPEN_STATES:
            raise _illegal(d, Action.REASSIGN)
        if to_assignee is None or to_assignee.organisation_id != d.office.organisation_id:
            raise DomainError(
                "assignee_not_in_office",
                "to_assignee",
                "Cán bộ được giao không thuộc đơn vị đang giữ hồ sơ.",
                "The officer does not belong to the office holding the dossier.",
            )
        if to_assignee.pk == d.assignee_id:
            raise DomainError(
                "same_assignee",
                "to_assignee",
                "Hồ sơ đã được giao cho cán bộ này.",
                "The dossier is already assigned to this officer.",
            )
        changes = {"assignee": to_assignee, "escalation": 0}
        return _Move(Action.REASSIGN, None, note.strip(), changes)

    return _apply(dossier, actor=actor, expected_version=expected_version, at=at, build=build)


def issue_apology(
    dossier: Dossier | int | str,
    *,
    actor: Any,
    expected_version: int,
    reason: str,
    new_due_at: dt.datetime,
    delivered_via: str = "counter",
    at: dt.datetime | None = None,
) -> ApologySlip:
    """Phiếu xin lỗi và hẹn lại ngày trả kết quả: recorded with its reason and the new date.
    The legal due time does not move (the dossier still counts as late); the applicant is
    promised ``new_due_at``."""
    if delivered_via not in ("counter", "email", "sms"):
        raise DomainError(
            "unknown_delivery",
            "delivered_via",
            "Cách gửi phiếu phải là tại quầy, thư điện tử hoặc tin nhắn.",
            "Delivery must be counter, email or sms.",
        )
    slip: dict[str, ApologySlip] = {}

    def build(d: Dossier, when: dt.datetime) -> _Move:
        if d.state not in OPEN_STATES:
            raise _illegal(d, Action.APOLOGY)
        current = d.promised_at or d.due_at
        if timezone.is_naive(new_due_at) or new_due_at <= max(current, when):
            raise DomainError(
                "new_date_too_early",
                "new_due_at",
                "Ngày hẹn mới phải sau ngày hẹn hiện tại.",
                "The new date must be after the current appointment.",
            )
        text = _require_note(reason, "reason_required")
        slip["row"] = ApologySlip(
            dossier=d,
            number=d.apologies.count() + 1,
            issued_at=when,
            issued_by=actor,
            reason=text,
            old_due_at=current,
            new_due_at=new_due_at,
            delivered_via=delivered_via,
        )
        return _Move(Action.APOLOGY, None, text, {"promised_at": new_due_at}, processor=True)

    if actor is None:
        raise _refuse_role()
    with transaction.atomic():
        _apply(dossier, actor=actor, expected_version=expected_version, at=at, build=build)
        slip["row"].save()
    return slip["row"]
