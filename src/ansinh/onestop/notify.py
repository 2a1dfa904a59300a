"""Notices about dossiers: status notices to applicants and the staff's in-app notifications.

**Applicant notices** (thông báo tình trạng hồ sơ, Decree 224/2026/NĐ-CP Art. 15): each status
change is notified at once and states the agency, the officer and the reception, processing and
result times. :func:`on_dossier_changed` listens to ``onestop.signals.dossier_changed`` (sent
after the step's transaction committed) and enqueues the task ``send_status_notices``, which
calls :func:`send_status_notices`: one :class:`~ansinh.onestop.models.ApplicantNotice` per
channel the applicant gave (e-mail in full Vietnamese; SMS short and without diacritics, which
gateways accept in one 160-character segment far more often), each with ``sent_at`` or
``error``. A failed send, or a failure to enqueue, never undoes or fails the step itself.

Sending is idempotent per step and channel: the step row is locked while the notices are
written, a notice already sent is never sent again, and a notice that failed is retried by
the next run for that step. Reassignment is internal (the state does not change) and is not
notified. Notices address the applicant without their name or ID, so a mistyped address
discloses nothing but the dossier code.

**Staff notifications** (thông báo nội bộ) are created by ``onestop.warnings``; here are their
reads and the mark-read write used by the notifications page and the navigation badge.
"""

from __future__ import annotations

import datetime as dt
import logging
import unicodedata
from dataclasses import dataclass
from typing import Any

from django.conf import settings
from django.core.mail import EmailMessage
from django.db import transaction
from django.db.models import QuerySet
from django.utils import timezone, translation

from ansinh.onestop.models import (
    RESOLVED_STATES,
    Action,
    ApplicantNotice,
    DossierState,
    DossierTransition,
    Notification,
)
from ansinh.onestop.sms import get_backend

logger = logging.getLogger(__name__)

EMAIL = "email"
SMS = "sms"

#: What the applicant reads for each step, in plain Vietnamese.
STEP_TEXT: dict[str, str] = {
    Action.RECEIVE: "Hồ sơ đã được tiếp nhận",
    Action.TRANSFER: "Hồ sơ đã được chuyển để giải quyết",
    Action.START: "Hồ sơ đang được giải quyết",
    Action.REQUEST_SUPPLEMENT: "Hồ sơ cần bổ sung giấy tờ",
    Action.SUPPLEMENT_RECEIVED: "Đã nhận giấy tờ bổ sung, hồ sơ tiếp tục được giải quyết",
    Action.RESULT_READY: "Đã có kết quả giải quyết",
    Action.REJECT: "Hồ sơ bị từ chối giải quyết",
    Action.RETURN: "Đã trả kết quả",
    Action.WITHDRAW: "Hồ sơ đã được rút theo đề nghị của người nộp",
    Action.APOLOGY: "Hồ sơ giải quyết chậm so với hạn; cơ quan xin lỗi và hẹn lại ngày trả kết quả",
}
#: The label of the step's note, when the applicant must read it.
NOTE_LABEL: dict[str, str] = {
    Action.REQUEST_SUPPLEMENT: "Nội dung cần bổ sung",
    Action.REJECT: "Lý do từ chối",
    Action.WITHDRAW: "Ghi chú",
    Action.APOLOGY: "Lý do chậm",
}
SYSTEM_ACTOR = "hệ thống"
SILENT_ACTIONS = frozenset({Action.REASSIGN})


# --- text ---------------------------------------------------------------------------------------


def unaccent(text: str) -> str:
    """Vietnamese without diacritics, case kept: 'Đã tiếp nhận' → 'Da tiep nhan' (the form SMS
    gateways send as plain GSM characters)."""
    text = text.replace("Đ", "D").replace("đ", "d")
    decomposed = unicodedata.normalize("NFD", text)
    return unicodedata.normalize(
        "NFC", "".join(ch for ch in decomposed if not unicodedata.combining(ch))
    )


def _when(moment: dt.datetime | None) -> str:
    if moment is None:
        return ""
    local = timezone.localtime(moment)
    return f"{local:%H:%M} ngày {local:%d/%m/%Y}"


def _short(moment: dt.datetime) -> str:
    local = timezone.localtime(moment)
    return f"{local:%H:%M %d/%m/%Y}"


def _state_label(state: str) -> str:
    with translation.override("vi"):
        return str(DossierState(state).label)


def status_url(code: str) -> str:
    base = str(getattr(settings, "PUBLIC_BASE_URL", "")).rstrip("/")
    return f"{base}/tra-cuu/{code}/"


@dataclass(frozen=True)
class NoticeText:
    """The facts of one notice, shared by the e-mail and the SMS."""

    agency: str
    agency_contact: str
    code: str
    procedure: str
    step: str
    step_at: dt.datetime
    officer: str
    state: str
    received_at: dt.datetime
    due_label: str
    due_at: dt.datetime | None
    paused: bool
    result_at: dt.datetime | None
    returned_at: dt.datetime | None
    destination: str
    note_label: str
    note: str
    url: str

    @classmethod
    def of(cls, step: DossierTransition) -> NoticeText:
        dossier = step.dossier
        office = step.to_office or dossier.office
        # After an apology slip the applicant holds a new date, later than the legal one.
        promised = dossier.promised_at
        if promised is not None and promised <= step.due_at:
            promised = None
        destination = ""
        if step.action == Action.TRANSFER:
            parts = [step.to_department.name if step.to_department else ""]
            if step.to_office_id and step.to_office_id != step.from_office_id:
                parts.append(office.organisation.name)
            destination = ", ".join(p for p in parts if p)
        resolved = step.to_state in RESOLVED_STATES
        contact = ", ".join(p for p in (office.address, office.phone) if p)
        return cls(
            agency=office.organisation.name,
            agency_contact=contact,
            code=dossier.code,
            procedure=f"{dossier.procedure.code} – {dossier.procedure.name_vi}",
            step=STEP_TEXT.get(step.action, str(step.action)),
            step_at=step.at,
            officer=step.actor_name or SYSTEM_ACTOR,
            state=_state_label(step.to_state),
            received_at=dossier.received_at,
            due_label="Ngày hẹn trả kết quả (mới)" if promised else "Hạn trả kết quả",
            due_at=promised or step.due_at,
            paused=step.to_state == DossierState.SUPPLEMENT,
            result_at=dossier.resolved_at if resolved else None,
            returned_at=dossier.returned_at if step.to_state == DossierState.RETURNED else None,
            destination=destination,
            note_label=NOTE_LABEL.get(step.action, ""),
            note=step.note if step.action in NOTE_LABEL else "",
            url=status_url(dossier.code),
        )

    def email(self) -> tuple[str, str]:
        """Subject and body in full Vietnamese."""
        subject = f"Hồ sơ {self.code}: {self.state}"
        lines = [
            "Kính gửi Quý ông/bà,",
            "",
            f"{self.agency} thông báo tình trạng hồ sơ của Quý ông/bà:",
            "",
            f"Mã hồ sơ: {self.code}",
            f"Thủ tục: {self.procedure}",
            f"Nội dung: {self.step}" + (f" ({self.destination})" if self.destination else ""),
            f"Thời điểm xử lý: {_when(self.step_at)}",
            f"Cán bộ xử lý: {self.officer}",
            f"Cơ quan giải quyết: {self.agency}",
            f"Trạng thái hiện tại: {self.state}",
            f"Thời điểm tiếp nhận: {_when(self.received_at)}",
        ]
        if self.paused:
            lines.append(
                "Thời hạn giải quyết tạm dừng trong thời gian chờ bổ sung và được tính tiếp "
                "khi cơ quan nhận đủ giấy tờ."
            )
        elif self.result_at is None and self.due_at is not None:
            lines.append(f"{self.due_label}: {_when(self.due_at)}")
        if self.result_at is not None:
            lines.append(f"Thời điểm có kết quả: {_when(self.result_at)}")
        if self.returned_at is not None:
            lines.append(f"Thời điểm trả kết quả: {_when(self.returned_at)}")
        if self.note:
            lines.append(f"{self.note_label}: {self.note}")
        lines += [
            "",
            f"Tra cứu tình trạng hồ sơ: {self.url}",
            "",
            self.agency,
        ]
        if self.agency_contact:
            lines.append(self.agency_contact)
        lines.append("Thư này được gửi tự động; vui lòng không trả lời.")
        return subject, "\n".join(lines)

    def sms(self) -> str:
        """A short text without diacritics: the step, the officer and the times, the link."""
        parts = [f"{self.agency}: HS {self.code} - {self.step} luc {_short(self.step_at)}"]
        parts.append(f"CB: {self.officer}")
        if self.received_at != self.step_at:
            parts.append(f"Nhan {_short(self.received_at)}")
        if self.result_at is not None:
            parts.append(f"Co KQ {_short(self.result_at)}")
        elif not self.paused and self.due_at is not None:
            parts.append(f"Hen tra {_short(self.due_at)}")
        if self.note:
            note = self.note if len(self.note) <= 80 else self.note[:79] + "…"
            parts.append(f"{self.note_label}: {note}")
        parts.append(f"Tra cuu: {self.url}")
        return unaccent(". ".join(parts)).replace("…", "...")


# --- sending ------------------------------------------------------------------------------------


def on_dossier_changed(sender: Any, *, dossier_id: int, step_id: int, **kwargs: Any) -> None:
    """Receiver of ``dossier_changed``: queue the notices. The step has committed already, so a
    queue failure is logged (without personal data) and the officer's step still succeeds."""
    if kwargs.get("contacts") is False:  # no e-mail or phone to notify: no task to queue
        return
    try:
        from ansinh.onestop.tasks import send_status_notices as task

        task.enqueue(step_id)
    except Exception:
        logger.exception("status notices for step %s could not be queued", step_id)


def _claim(step: DossierTransition) -> list[ApplicantNotice]:
    """The notices of this step still to send, created if missing, under a lock on the step so
    that two runs for one step cannot both send."""
    dossier = step.dossier
    contacts = []
    if dossier.applicant_email:
        contacts.append((EMAIL, dossier.applicant_email))
    if dossier.applicant_phone:
        contacts.append((SMS, dossier.applicant_phone))
    if not contacts:
        return []
    text = NoticeText.of(step)
    todo: list[ApplicantNotice] = []
    with transaction.atomic():
        DossierTransition.objects.select_for_update().filter(pk=step.pk).values_list("pk").first()
        existing = {n.channel: n for n in ApplicantNotice.objects.filter(transition=step)}
        for channel, recipient in contacts:
            notice = existing.get(channel)
            if notice is not None:
                if notice.sent_at is None and notice.error:
                    todo.append(notice)  # failed before: try again
                continue
            if channel == EMAIL:
                subject, body = text.email()
                body = f"{subject}\n\n{body}"
            else:
                body = text.sms()
            todo.append(
                ApplicantNotice.objects.create(
                    dossier=dossier,
                    transition=step,
                    channel=channel,
                    recipient=recipient,
                    body=body,
                    created_at=timezone.now(),
                )
            )
    return todo


def _deliver(notice: ApplicantNotice) -> None:
    """Send one notice; raises :class:`~ansinh.onestop.sms.SmsError` or a mail error. An
    e-mail notice's body holds the subject on its first line, as it was composed."""
    if notice.channel == EMAIL:
        subject, _, body = notice.body.partition("\n\n")
        EmailMessage(subject, body, settings.DEFAULT_FROM_EMAIL, [notice.recipient]).send()
    else:
        get_backend().send(notice.recipient, notice.body)


def send_status_notices(step_id: int) -> dict[str, int]:
    """Send the notices of one step; returns counts of notices sent, failed and skipped."""
    step = (
        DossierTransition.objects.select_related(
            "dossier__procedure",
            "dossier__office__organisation",
            "to_office__organisation",
            "to_department",
        )
        .filter(pk=step_id)
        .first()
    )
    if step is None or step.action in SILENT_ACTIONS:
        return {"sent": 0, "failed": 0}
    sent = failed = 0
    for notice in _claim(step):
        try:
            _deliver(notice)
        except Exception as exc:  # SmsError, SMTP and socket errors: recorded on the notice
            failed += 1
            notice.error = f"{type(exc).__name__}: {exc}"[:200]
            ApplicantNotice.objects.filter(pk=notice.pk).update(error=notice.error)
            logger.warning(
                "status notice %s (%s) not sent: %s", notice.pk, notice.channel, type(exc).__name__
            )
            continue
        sent += 1
        ApplicantNotice.objects.filter(pk=notice.pk).update(sent_at=timezone.now(), error="")
    return {"sent": sent, "failed": failed}


# --- staff notifications: reads and mark-read ---------------------------------------------------


def notifications_for(user: Any) -> QuerySet[Notification]:
    """The user's notifications, newest first, with the dossier code for the link."""
    return (
        Notification.objects.filter(recipient=user)
        .select_related("dossier")
        .only(
            "pk",
            "kind",
            "level",
            "message",
            "created_at",
            "read_at",
            "dossier__code",
            "recipient_id",
        )
        .order_by("-created_at", "-pk")
    )


def unread_count(user: Any) -> int:
    """Unread notifications: one COUNT on the (recipient, read_at) index."""
    return Notification.objects.filter(recipient=user, read_at__isnull=True).count()


def mark_read(user: Any, pk: int | None = None, *, at: dt.datetime | None = None) -> int:
    """Mark one of the user's notifications (or, with no ``pk``, all of them) read. Someone
    else's notification is simply not found, which the caller reports as 404."""
    qs = Notification.objects.filter(recipient=user, read_at__isnull=True)
    if pk is not None:
        qs = qs.filter(pk=pk)
    return qs.update(read_at=at or timezone.now())
