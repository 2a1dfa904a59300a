"""Intake of electronic dossiers (tiếp nhận hồ sơ điện tử) and their answers.

``submit`` is the whole synchronous path of one submission: hardened parse → signature →
schema → who may submit what → store → one-stop dossier → signed receipt. It either accepts
(one Submission, its rows, a dossier, a receipt, all or nothing) or refuses with one precise
error, and in both cases keeps the raw bytes and the verdict as evidence.

``process_submission`` runs later (a task): it moves the dossier into processing, lets
``processing`` decide each row, and ``finalise`` writes the signed result and closes the
dossier once no row waits for an officer.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import logging
import re
from dataclasses import dataclass
from typing import Any

from django.conf import settings
from django.db import IntegrityError, connection, transaction
from django.utils import timezone
from lxml import etree

from ansinh.access.models import Organisation, OrganisationKind
from ansinh.core import sqlscript
from ansinh.core.errors import Conflict, DomainError, Forbidden
from ansinh.core.fastinsert import insert, insert_many, mark_saved, reserve_ids, statement
from ansinh.core.memo import Memo
from ansinh.gateway import callbacks, formats, signing, submitters, xmlsafe
from ansinh.gateway.models import (
    Attachment,
    Channel,
    EtransRegistration,
    IvanProvider,
    RowStatus,
    SignerCertificate,
    Step,
    Submission,
    SubmissionEvent,
    SubmissionRow,
    Verdict,
)
from ansinh.onestop import services as onestop
from ansinh.onestop.models import Dossier, DossierState, DossierTransition, Office
from ansinh.registry.models import Employer

log = logging.getLogger(__name__)

RECEIPT_NS = "urn:ansinh:gateway:receipt:1.0"
RESULT_NS = "urn:ansinh:gateway:result:1.0"
_TX_ID = re.compile(r"^[A-Za-z0-9._:-]{1,64}$")

#: The paper forms each procedure's electronic dossier stands for, listed on the dossier.
FORMS = {
    "600": ("Danh sách lao động tham gia BHXH, BHYT, BHTN (D02-LT)",),
    "604": ("Tờ khai đơn vị tham gia, điều chỉnh thông tin BHXH, BHYT (TK3-TS)",),
    "THE-CAPLAI": ("Tờ khai tham gia, điều chỉnh thông tin BHXH, BHYT (TK1-TS)",),
}


@dataclass(frozen=True)
class Intake:
    """What ``submit`` answers: the submission, and whether it was a replay of one already
    accepted (same submitter, transaction id and bytes)."""

    submission: Submission
    replayed: bool = False


class Refused(DomainError):
    """A refused submission: the error, plus the id under which its evidence is kept."""

    def __init__(self, exc: DomainError, evidence_id: int) -> None:
        first = exc.first
        super().__init__(
            first.code, first.field, first.message_vi, first.message_en, status=exc.status
        )
        self.errors = list(exc.errors)
        self.evidence_id = evidence_id

    def as_dict(self) -> dict[str, object]:
        return {**super().as_dict(), "evidence_id": self.evidence_id}


@dataclass
class _Facts:
    """What is known about a submission so far, kept with a refusal as evidence."""

    procedure_code: str = ""
    schema_version: str = ""
    transaction_id: str = ""
    signer: signing.Verified | None = None
    employer: Employer | None = None
    ivan: IvanProvider | None = None
    signed_at: dt.datetime | None = None
    ivan_received_at: dt.datetime | None = None


def _err(code: str, field: str | None, vi: str, en: str, status: int = 422) -> DomainError:
    return DomainError(code, field, vi, en, status=status)


# --- reference look-ups, remembered a second per process (ansinh.core.memo) --------------------
# Intake repeats them for every dossier; saving one of the models named clears them at once,
# a change made elsewhere shows within settings.LOOKUP_CACHE_SECONDS (docs/gateway.md).

_ivans = Memo("gateway.ivan-of-organisation", models=(IvanProvider, Organisation))
_employers = Memo("gateway.employer-by-unit-code", models=(Employer,))
_signers = Memo("gateway.signer-certificate", models=(SignerCertificate,))
_registrations = Memo("gateway.etrans-registration", models=(EtransRegistration,))
_offices = Memo("gateway.receiving-office", models=(Office, Organisation))


@dataclass(frozen=True)
class _Signer:
    """A registered signer certificate (unique per fingerprint), as intake needs it."""

    ivan_id: int | None
    employer_id: int | None
    active: bool


def _registered_signer(fingerprint: str) -> _Signer | None:
    def load() -> _Signer | None:
        row = (
            SignerCertificate.objects.filter(fingerprint=fingerprint)
            .values_list("ivan_id", "employer_id", "active")
            .first()
        )
        return _Signer(*row) if row is not None else None

    return _signers.get(fingerprint, load)


def _employer(unit_code: str) -> Employer | None:
    return _employers.get(
        unit_code,
        lambda: Employer.objects.select_related("address_unit").filter(unit_code=unit_code).first(),
    )


def _registered_with(employer: Employer, ivan: IvanProvider) -> bool:
    """Form 01/ĐK-GD: the employer transacts through this I-VAN (an open registration)."""
    return _registrations.get(
        (employer.pk, ivan.pk),
        lambda: EtransRegistration.objects.filter(
            employer=employer, ivan=ivan, channel=Channel.IVAN, ended_on__isnull=True
        ).exists(),
    )


# --- who may submit ------------------------------------------------------------------------


def _channel_of(submitter: Organisation, channel: str | None, at: dt.datetime) -> tuple[str, Any]:
    if submitter.kind == OrganisationKind.IVAN_PROVIDER:
        ivan = _ivans.get(
            submitter.pk, lambda: IvanProvider.objects.filter(organisation=submitter).first()
        )
        if ivan is None:
            raise Forbidden(
                "ivan_not_registered",
                None,
                "Tổ chức này chưa được đăng ký là nhà cung cấp dịch vụ I-VAN.",
                "This organisation is not registered as an I-VAN provider.",
            )
        submitters.check_ivan_may_submit(ivan, at)
        return Channel.IVAN, ivan
    if submitter.kind == OrganisationKind.EMPLOYER:
        return (Channel.WEB if channel == Channel.WEB else Channel.DIRECT), None
    raise Forbidden(
        "not_a_submitter",
        None,
        "Chỉ đơn vị sử dụng lao động và tổ chức I-VAN được nộp hồ sơ điện tử.",
        "Only employers and I-VAN providers submit electronic dossiers.",
    )


def _authorise(package: formats.Package, facts: _Facts, submitter: Organisation) -> None:
    """The signer must be the employer the dossier speaks for, or the I-VAN submitting it for
    an employer registered with that I-VAN (Decree 166/2016 Art. 9–11)."""
    signer = facts.signer
    assert signer is not None
    employer = facts.employer
    registered = _registered_signer(signer.fingerprint)
    known = registered if registered is not None and registered.active else None
    new_employer = employer is None and package.procedure_code == "604"
    if employer is None and not new_employer:
        raise _err(
            "employer_unknown",
            "employer.unit_code",
            f"Không tìm thấy đơn vị mã {package.employer.unit_code}.",
            f"No employer with unit code {package.employer.unit_code} is registered.",
            status=422,
        )
    declared_tax = employer.tax_code if employer is not None else package.employer.tax_code
    signed_by_employer = (
        known is not None and employer is not None and known.employer_id == employer.pk
    ) or (bool(signer.tax_code) and signer.tax_code == declared_tax)
    if facts.ivan is not None:
        ivan = facts.ivan
        signed_by_ivan = known is not None and known.ivan_id == ivan.pk
        if not (signed_by_ivan or signed_by_employer):
            raise _not_authorised()
        if employer is not None and not _registered_with(employer, ivan):
            raise Forbidden(
                "employer_not_with_this_ivan",
                "employer.unit_code",
                "Đơn vị chưa đăng ký giao dịch điện tử qua tổ chức I-VAN này (mẫu 01/ĐK-GD).",
                "The employer has not registered to transact through this I-VAN (form 01/ĐK-GD).",
            )
        return
    # An employer submitting for itself: its organisation code is its unit code.
    unit_code = employer.unit_code if employer is not None else package.employer.unit_code
    if submitter.code != unit_code:
        raise Forbidden(
            "not_your_employer",
            "employer.unit_code",
            "Đơn vị chỉ được nộp hồ sơ của chính mình.",
            "An employer may only submit its own dossiers.",
        )
    if not signed_by_employer:
        raise _not_authorised()


def _not_authorised() -> Forbidden:
    return Forbidden(
        "signer_not_authorised",
        "signature",
        "Chứng thư ký số không thuộc đơn vị hoặc tổ chức I-VAN được phép nộp hồ sơ này.",
        "The signing certificate belongs neither to the employer nor to an I-VAN acting for it.",
    )


def _employer_province(package: formats.Package, employer: Employer | None) -> str:
    if employer is not None:
        return employer.address_unit.province_code
    from ansinh.places.models import AdminUnit, UnitSystem

    code = next((r.data.get("address_unit_code", "") for r in package.rows), "")
    unit = AdminUnit.objects.filter(code=code, system=UnitSystem.CURRENT).first() if code else None
    return unit.province_code if unit is not None else ""


def receiving_office(province_code: str) -> Office:
    """The provincial office of the employer's province receives its dossiers; a configured
    fallback office (``GATEWAY_FALLBACK_OFFICE``, an agency code) takes the rest."""
    fallback = getattr(settings, "GATEWAY_FALLBACK_OFFICE", "")

    def load() -> Office | None:
        offices = Office.objects.select_related("organisation")
        found = (
            offices.filter(province_code=province_code, organisation__kind="province_office")
            .order_by("pk")
            .first()
        )
        if found is None and fallback:
            found = offices.filter(agency_code=fallback).first()
        return found

    office = _offices.get((province_code, fallback), load)
    if office is None:
        raise _err(
            "no_receiving_office",
            None,
            "Chưa có cơ quan tiếp nhận cho tỉnh của đơn vị; xin liên hệ cơ quan BHXH.",
            "No office receives dossiers for the employer's province yet; contact the agency.",
            status=503,
        )
    return office


# --- intake --------------------------------------------------------------------------------------


def _digest(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def submit(
    data: bytes,
    *,
    submitter: Organisation,
    user: Any = None,
    channel: str | None = None,
    callback_url: str = "",
    at: dt.datetime | None = None,
) -> Intake:
    """Receive one dossier package. Raises ``Refused`` (a DomainError carrying the evidence
    id) when it cannot be accepted; replays of an accepted one return it unchanged."""
    callback_url = callbacks.check_url(callback_url)
    received = at or timezone.now()
    digest = _digest(data)
    facts = _Facts()
    try:
        kind, facts.ivan = _channel_of(submitter, channel, received)
    except DomainError as exc:
        raise _refuse(data, digest, submitter, user, channel or "", received, exc, facts) from None
    try:
        root = xmlsafe.parse(data)
        facts.signer = signing.verify(root, at=received)
        signed_root = facts.signer.root
        facts.procedure_code, facts.schema_version = formats.identify(signed_root, at=received)
        formats.validate(signed_root)
        package = formats.read(signed_root)
        facts.transaction_id = package.transaction_id
        facts.signed_at, facts.ivan_received_at = package.signed_at, package.ivan_received_at
        _check_transaction_id(package.transaction_id)
    except DomainError as exc:
        raise _refuse(data, digest, submitter, user, kind, received, exc, facts) from None
    # The replay check is folded into the INSERT (the partial unique constraint on submitter
    # and transaction id): no look-up for a new dossier, which is nearly every one.
    try:
        facts.employer = _employer(package.employer.unit_code)
        _authorise(package, facts, submitter)
        office = receiving_office(_employer_province(package, facts.employer))
        submission = _accept(
            data, digest, package, facts, submitter, user, kind, office, received, callback_url
        )
    except IntegrityError:
        # Already accepted (a replay, or a concurrent twin that won the race), or the id is
        # reused for different bytes (Conflict, refused with evidence below).
        try:
            replay = _replay(submitter, package.transaction_id, digest)
        except DomainError as exc:
            raise _refuse(data, digest, submitter, user, kind, received, exc, facts) from None
        if replay is None:
            raise
        return Intake(replay, replayed=True)
    except DomainError as exc:
        # A replay answers as before even if it would now be refused (it was checked first).
        refusal: DomainError = exc
        try:
            replay = _replay(submitter, package.transaction_id, digest)
        except DomainError as conflict:
            refusal, replay = conflict, None
        if replay is not None:
            return Intake(replay, replayed=True)
        raise _refuse(data, digest, submitter, user, kind, received, refusal, facts) from None
    transaction.on_commit(lambda: _after_accept(submission.pk, submission.callback_url))
    return Intake(submission)


def _check_transaction_id(value: str) -> None:
    if not _TX_ID.match(value or ""):
        raise _err(
            "transaction_id_invalid",
            "header.transaction_id",
            "Mã giao dịch gồm 1–64 ký tự chữ, số, dấu chấm, gạch, gạch dưới hoặc hai chấm.",
            "The transaction id is 1–64 letters, digits, dots, dashes, underscores or colons.",
        )


def _replay(submitter: Organisation, transaction_id: str, digest: str) -> Submission | None:
    existing = Submission.objects.filter(
        submitter=submitter, transaction_id=transaction_id, verdict=Verdict.ACCEPTED
    ).first()
    if existing is None:
        return None
    if existing.digest != digest:
        raise Conflict(
            "transaction_id_reused",
            "header.transaction_id",
            "Mã giao dịch này đã được dùng cho một hồ sơ khác.",
            "This transaction id was already used for a different dossier.",
        )
    return existing


def _signer_fields(signer: signing.Verified | None) -> dict[str, Any]:
    if signer is None:
        return {}
    return {
        "signer_subject": signer.subject[:500],
        "signer_serial": signer.serial[:64],
        "signer_fingerprint": signer.fingerprint,
        "verify_ms": signer.elapsed_ms,
    }


def _refuse(
    data: bytes,
    digest: str,
    submitter: Organisation,
    user: Any,
    channel: str,
    received: dt.datetime,
    exc: DomainError,
    facts: _Facts,
) -> Refused:
    """Keep the bytes and the verdict. The API calls ``submit`` outside any transaction, so
    the evidence commits even though the request fails."""
    with transaction.atomic():
        evidence = Submission.objects.create(
            submitter=submitter,
            submitted_by=user if getattr(user, "pk", None) else None,
            ivan=facts.ivan,
            employer=facts.employer,
            channel=channel or Channel.DIRECT,
            transaction_id=(facts.transaction_id or "")[:64],
            received_at=received,
            raw=data,
            size=len(data),
            digest=digest,
            procedure_code=facts.procedure_code[:20],
            schema_version=facts.schema_version[:10],
            signed_at=facts.signed_at,
            ivan_received_at=facts.ivan_received_at,
            signer_kind=_signer_kind(facts),
            verdict=Verdict.REFUSED,
            error_code=exc.code[:60],
            errors=[e.as_dict() for e in exc.errors],
            **_signer_fields(facts.signer),
        )
        SubmissionEvent.objects.bulk_create(
            [
                SubmissionEvent(submission=evidence, at=received, step=Step.RECEIVED),
                SubmissionEvent(
                    submission=evidence, at=timezone.now(), step=Step.REFUSED, detail=exc.code
                ),
            ]
        )
    log.info("gateway submission %s refused: %s", evidence.pk, exc.code)
    return Refused(exc, evidence.pk)


def _signer_kind(facts: _Facts) -> str:
    if facts.signer is None:
        return ""
    if facts.ivan is not None:
        registered = _registered_signer(facts.signer.fingerprint)
        if registered is not None and registered.ivan_id == facts.ivan.pk:
            return "ivan"
    return "employer"


def _accept(
    data: bytes,
    digest: str,
    package: formats.Package,
    facts: _Facts,
    submitter: Organisation,
    user: Any,
    channel: str,
    office: Office,
    received: dt.datetime,
    callback_url: str,
) -> Submission:
    submission = Submission(
        submitter=submitter,
        submitted_by=user if getattr(user, "pk", None) else None,
        ivan=facts.ivan,
        employer=facts.employer,
        channel=channel,
        transaction_id=package.transaction_id,
        received_at=received,
        raw=data,
        size=len(data),
        digest=digest,
        procedure_code=package.procedure_code,
        schema_version=package.version,
        signed_at=package.signed_at,
        ivan_received_at=package.ivan_received_at,
        signer_kind=_signer_kind(facts),
        verdict=Verdict.ACCEPTED,
        rows_total=len(package.rows),
        callback_url=callback_url,
        **_signer_fields(facts.signer),
    )
    if sqlscript.combines():
        return _store_in_two_messages(submission, package, facts, submitter, office)
    # Plain INSERTs built once per model (core.fastinsert): the ORM's query compilation was
    # most of intake's CPU time.
    with transaction.atomic():
        insert(submission)
        dossier = onestop.receive_dossier(
            **_reception(package, facts, submitter, office, submission.received_at),
            external_ref=f"gw:{submission.pk}",
            fresh_ref=True,  # made from the submission inserted just above
        )
        submission.dossier = dossier  # saved with the receipt below: one UPDATE, not two
        insert_many(_rows(submission, package), batch_size=500)
        insert_many(_attachments(submission, package))
        now = timezone.now()
        submission.receipt_xml = signing.sign_as_agency(receipt_xml(submission, dossier))
        _save_receipt(submission, dossier)
        insert_many(_events(submission, dossier, facts, now))
    return submission


def _store_in_two_messages(
    submission: Submission,
    package: formats.Package,
    facts: _Facts,
    submitter: Organisation,
    office: Office,
) -> Submission:
    """The same rows as ``_accept``'s other path, in two messages to PostgreSQL
    (``core.sqlscript``): the day's dossier number and three reserved ids, then — once the
    receipt is signed — every INSERT and the COMMIT. Ten round trips become two; a replay's
    unique violation or any error rolls the whole reception back, number included."""
    reception = onestop.prepare_reception(
        **_reception(package, facts, submitter, office, submission.received_at)
    )
    dossier, step = reception.dossier, reception.step
    with sqlscript.transaction_script() as script:
        numbered, reserved = script.run(
            [
                onestop.sequence_statement(office, reception.day),
                reserve_ids([Submission, Dossier, DossierTransition]),
            ]
        )
        submission.pk, dossier.pk, step.pk = reserved[0]
        onestop.number(reception, numbered[0][0])
        dossier.external_ref = f"gw:{submission.pk}"
        submission.dossier = step.dossier = dossier
        rows = _rows(submission, package)
        attachments = _attachments(submission, package)
        now = timezone.now()
        submission.receipt_xml = signing.sign_as_agency(receipt_xml(submission, dossier))
        events = _events(submission, dossier, facts, now)
        script.run(
            [
                statement([dossier]),
                statement([step], trust_save=True),
                statement([submission]),
                *([statement(rows)] if rows else []),
                *([statement(attachments)] if attachments else []),
                statement(events),
            ],
            commit=True,
        )
    mark_saved([submission, dossier, step, *rows, *attachments, *events])
    onestop.announce(reception)  # committed: its listeners run now
    return submission


def _reception(
    package: formats.Package,
    facts: _Facts,
    submitter: Organisation,
    office: Office,
    received: dt.datetime,
) -> dict[str, Any]:
    """``onestop.receive_dossier``'s arguments for the dossier this package stands for."""
    employer = facts.employer
    name = employer.name if employer is not None else package.employer.name
    tax_code = employer.tax_code if employer is not None else package.employer.tax_code
    documents = [
        onestop.DocumentReceived(name=form) for form in FORMS.get(package.procedure_code, ())
    ]
    documents += [onestop.DocumentReceived(name=a.name[:200]) for a in package.attachments]
    return {
        "office": office,
        "procedure_code": package.procedure_code,
        "channel": "gateway",
        "applicant": onestop.Applicant(
            name=name[:200], id_number=tax_code or package.employer.unit_code
        ),
        "documents": documents,
        "at": received,
        "note": f"{submitter.code}/{package.transaction_id}"[:300],
    }


def _rows(submission: Submission, package: formats.Package) -> list[SubmissionRow]:
    return [
        SubmissionRow(
            submission=submission,
            number=row.number,
            kind=row.kind,
            personal_id=(row.personal_id or "")[:12],
            data=row.data,
        )
        for row in package.rows
    ]


def _attachments(submission: Submission, package: formats.Package) -> list[Attachment]:
    return [
        Attachment(
            submission=submission,
            name=a.name[:200],
            media_type=a.media_type[:100],
            size=len(a.content),
            digest=a.digest,
        )
        for a in package.attachments
    ]


def _events(
    submission: Submission, dossier: Dossier, facts: _Facts, now: dt.datetime
) -> list[SubmissionEvent]:
    return [
        SubmissionEvent(submission=submission, at=submission.received_at, step=Step.RECEIVED),
        SubmissionEvent(
            submission=submission,
            at=now,
            step=Step.VERIFIED,
            detail=f"{facts.signer.serial if facts.signer else ''}"[:500],
        ),
        SubmissionEvent(submission=submission, at=now, step=Step.RECEIPT, detail=dossier.code),
    ]


def _save_receipt(submission: Submission, dossier: Dossier) -> None:
    """The dossier and the signed receipt on the submission: one plain UPDATE (prepared by
    the fields themselves, as ``save(update_fields=…)`` would)."""
    meta = Submission._meta
    qn = connection.ops.quote_name
    receipt = meta.get_field("receipt_xml").get_db_prep_save(
        submission.receipt_xml, connection=connection
    )
    with connection.cursor() as cursor:
        cursor.execute(
            f"UPDATE {qn(meta.db_table)} SET {qn('dossier_id')} = %s, "  # noqa: S608
            f"{qn('receipt_xml')} = %s WHERE {qn('id')} = %s",
            [dossier.pk, receipt, submission.pk],
        )


def _after_accept(submission_id: int, callback_url: str | None = None) -> None:
    from ansinh.gateway import tasks

    tasks.process_submission(submission_id)  # a huey task: calling it enqueues it
    if callback_url is None or callback_url:  # read only when there may be one to push
        sub = Submission.objects.only("callback_url").get(pk=submission_id)
        if sub.callback_url:
            callbacks.schedule(sub, "receipt")


# --- receipt and result documents --------------------------------------------------------------


def _iso(value: dt.datetime | None) -> str:
    return timezone.localtime(value).isoformat(timespec="seconds") if value else ""


def _el(parent: etree._Element, ns: str, tag: str, text: str | None = None) -> etree._Element:
    node = etree.SubElement(parent, f"{{{ns}}}{tag}")
    if text is not None:
        node.text = text
    return node


def receipt_xml(submission: Submission, dossier: Dossier) -> etree._Element:
    """Thông báo tiếp nhận: what we received, when, under which dossier code and by when the
    result is due. Signed by the agency before it leaves (schema receipt-1.0.xsd)."""
    ns = RECEIPT_NS
    root = etree.Element(f"{{{ns}}}Receipt", nsmap={None: ns}, version="1.0")
    _el(root, ns, "DossierCode", dossier.code)
    _el(root, ns, "TransactionId", submission.transaction_id)
    _el(root, ns, "Procedure", submission.procedure_code)
    _el(root, ns, "ReceivedAt", _iso(submission.received_at))
    _el(root, ns, "DueAt", _iso(dossier.due_at))
    digest = _el(root, ns, "Digest", submission.digest)
    digest.set("algorithm", "sha256")
    _el(root, ns, "Rows", str(submission.rows_total))
    _el(root, ns, "Status", "waiting")
    agency = _el(root, ns, "Agency")
    _el(agency, ns, "Code", dossier.receiving_office.agency_code)
    _el(agency, ns, "Name", dossier.receiving_office.organisation.name)
    return root


def result_xml(submission: Submission, status: str, decided_at: dt.datetime) -> etree._Element:
    """Kết quả: every row with its verdict — accepted rows with what was issued (social security
    number, card), rejected rows with the reason in Vietnamese and English."""
    ns = RESULT_NS
    root = etree.Element(f"{{{ns}}}Result", nsmap={None: ns}, version="1.0")
    dossier = submission.dossier
    _el(root, ns, "DossierCode", dossier.code if dossier else "")
    _el(root, ns, "TransactionId", submission.transaction_id)
    _el(root, ns, "Procedure", submission.procedure_code)
    _el(root, ns, "Status", status)
    _el(root, ns, "DecidedAt", _iso(decided_at))
    totals = _el(root, ns, "Totals")
    totals.set("rows", str(submission.rows_total))
    totals.set("accepted", str(submission.rows_accepted))
    totals.set("rejected", str(submission.rows_rejected))
    rows = _el(root, ns, "Rows")
    for row in submission.rows.order_by("number"):
        node = _el(rows, ns, "Row")
        node.set("number", str(row.number))
        node.set("status", row.status)
        if row.personal_id:
            node.set("personalId", row.personal_id)
        if row.status == RowStatus.REJECTED:
            error = _el(node, ns, "Error")
            error.set("code", row.error_code)
            if row.error_field:
                error.set("field", row.error_field)
            _el(error, ns, "MessageVi", row.message_vi)
            _el(error, ns, "MessageEn", row.message_en)
        for key, value in sorted((row.result or {}).items()):
            item = _el(node, ns, "Issued")
            item.set("name", str(key))
            item.text = str(value)
    return root


# --- processing and the answer ------------------------------------------------------------


def process_submission(submission_id: int, *, at: dt.datetime | None = None) -> Submission:
    """Decide the rows of an accepted submission, then answer if nothing waits for an officer.
    Safe to run twice: decided rows stay decided and a finished dossier is left alone."""
    from ansinh.gateway import processing

    submission = Submission.objects.select_related("dossier").get(pk=submission_id)
    if submission.verdict != Verdict.ACCEPTED or submission.result_xml:
        return submission
    dossier = submission.dossier
    assert dossier is not None
    if dossier.state in (DossierState.RECEIVED, DossierState.TRANSFERRED):
        onestop.start_processing(
            dossier.pk,
            actor=None,
            expected_version=dossier.version,
            at=at,
            note="Xử lý tự động trên cổng giao dịch điện tử",
        )
    submission = processing.process(submission, at=at)
    return finalise(submission, at=at)


def finalise(submission: Submission, *, at: dt.datetime | None = None) -> Submission:
    """Answer once every row is decided: sign the result, close the one-stop dossier (result
    ready and returned online, or rejected when no row could be accepted) and push it."""
    submission.refresh_from_db()
    if (
        submission.result_xml
        or submission.rows.filter(status__in=(RowStatus.PENDING, RowStatus.QUEUED)).exists()
    ):
        return submission
    when = at or timezone.now()
    dossier = Dossier.objects.get(pk=submission.dossier_id)
    all_rejected = submission.rows_total > 0 and submission.rows_accepted == 0
    status = "rejected" if all_rejected else "result_ready"
    with transaction.atomic():
        if dossier.state == DossierState.PROCESSING:
            if all_rejected:
                onestop.reject(
                    dossier.pk,
                    actor=None,
                    expected_version=dossier.version,
                    at=at,
                    reason="Không dòng nào của hồ sơ hợp lệ; xem lý do từng dòng trong kết quả.",
                )
            else:
                dossier = onestop.record_result(
                    dossier.pk, actor=None, expected_version=dossier.version, at=at
                )
                onestop.return_result(
                    dossier.pk,
                    actor=None,
                    expected_version=dossier.version,
                    at=at,
                    note="Trả kết quả điện tử qua cổng giao dịch",
                )
        signed = signing.sign_as_agency(result_xml(submission, status, when))
        updated = Submission.objects.filter(pk=submission.pk, result_xml__isnull=True).update(
            result_xml=signed
        )
        if not updated:
            return Submission.objects.get(pk=submission.pk)
        SubmissionEvent.objects.create(
            submission=submission, at=timezone.now(), step=Step.RESULT, detail=status
        )
    submission.refresh_from_db()
    if submission.callback_url:
        transaction.on_commit(lambda: callbacks.schedule(submission, "result"))
    return submission


def decide_row(
    row: SubmissionRow,
    *,
    actor: Any,
    accept: bool,
    note: str = "",
    at: dt.datetime | None = None,
) -> SubmissionRow:
    """An officer decides a row that waited for them; the last decision answers the dossier
    (signed result, one-stop dossier closed, callback) like automatic processing does."""
    from ansinh.gateway import processing

    decided = processing.decide_queued_row(row, actor=actor, accept=accept, note=note, at=at)
    finalise(Submission.objects.get(pk=decided.submission_id), at=at)
    return decided
