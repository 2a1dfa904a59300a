"""Writes of the insurance side of unemployment benefit: decisions received from the centre
(hưởng, tạm dừng, tiếp tục, chấm dứt, hủy), the payment schedule and payment run, the health
insurance card for the benefit period, and fraud cases (open, hold, resolve, notify).

Every decision message is applied once: ``(decision_no, kind)`` is unique, a repeat with the
same content answers as before, another content is ``decision_conflict``."""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import logging
import re
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

from django.db import transaction
from django.db.models import Q
from django.utils import timezone

from ansinh.benefits import rules
from ansinh.benefits.models import (
    OPEN_STATUSES,
    Award,
    AwardEvent,
    AwardStatus,
    BenefitPayment,
    CaseKind,
    CaseStatus,
    EventKind,
    FraudCase,
    PaymentStatus,
)
from ansinh.core.errors import Conflict, DomainError, ErrorCollector, Forbidden, NotFound
from ansinh.law.calendar import add_working_days

log = logging.getLogger(__name__)

LAWS = ("38/2013", "74/2025")
PAYMENT_METHODS = ("bank", "cash")
_PID = re.compile(r"^\d{12}$")
_MONTH = re.compile(r"^\d{4}-(0[1-9]|1[0-2])$")
_CASE_ABBR = {
    CaseKind.REEMPLOYED: "VL",
    CaseKind.OVERLAPPING: "TR",
    CaseKind.AFTER_DEATH: "CH",
    CaseKind.ABOVE_ENTITLEMENT: "MH",
}


# --- small helpers ------------------------------------------------------------------------------


def period_of(day: dt.date) -> int:
    return day.year * 100 + day.month


def period_text(period: int | None) -> str | None:
    return None if period is None else f"{period // 100:04d}-{period % 100:02d}"


def add_months(day: dt.date, n: int) -> dt.date:
    """Same day ``n`` months later, on the month's last day when it has fewer days."""
    month = day.month - 1 + n
    year, month = day.year + month // 12, month % 12 + 1
    for d in (day.day, 30, 29, 28):
        try:
            return dt.date(year, month, min(d, day.day))
        except ValueError:
            continue
    raise AssertionError("unreachable")


def digest(payload: dict[str, Any]) -> str:
    canonical = json.dumps(payload, sort_keys=True, ensure_ascii=False, separators=(",", ":"))
    return hashlib.sha256(canonical.encode()).hexdigest()


def check_personal_id(value: Any) -> str:
    if not isinstance(value, str) or not _PID.match(value):
        raise DomainError(
            "personal_id_invalid",
            "personal_id",
            "Số định danh cá nhân phải gồm 12 chữ số.",
            "The personal ID must be 12 digits.",
        )
    return value


def find_person(personal_id: str) -> Any:
    from ansinh.registry.models import Person

    return Person.objects.filter(Q(personal_id=personal_id) | Q(ss_number=personal_id)).first()


def unknown_person() -> NotFound:
    return NotFound(
        "unknown_person",
        "personal_id",
        "Không có người này trong cơ sở dữ liệu BHXH.",
        "No such person in the insurance registry.",
    )


class _Fields:
    """Field checks of a decision message, every error at once with its field."""

    def __init__(self, data: dict[str, Any]) -> None:
        self.data = data
        self.errs = ErrorCollector()

    def text(self, name: str, max_len: int, *, required: bool = True) -> str:
        value = self.data.get(name, "")
        if value is None:
            value = ""
        if not isinstance(value, str) or len(value) > max_len or (required and not value.strip()):
            self.errs.add(
                f"{name}_invalid",
                name,
                f"Trường {name} thiếu hoặc không hợp lệ (tối đa {max_len} ký tự).",
                f"{name} is missing or invalid (at most {max_len} characters).",
            )
            return ""
        return value.strip()

    def date(self, name: str) -> dt.date | None:
        value = self.data.get(name)
        if isinstance(value, str) and len(value) == 10:
            try:
                return dt.date.fromisoformat(value)
            except ValueError:
                return None
        return None

    def need_date(self, name: str) -> dt.date | None:
        day = self.date(name)
        if day is None:
            self.errs.add(
                "date_invalid",
                name,
                f"{name}: ngày không hợp lệ (YYYY-MM-DD).",
                f"{name}: not a date (YYYY-MM-DD).",
            )
        return day

    def integer(self, name: str, low: int, high: int) -> int:
        value = self.data.get(name)
        if not isinstance(value, int) or isinstance(value, bool) or not low <= value <= high:
            self.errs.add(
                f"{name}_invalid",
                name,
                f"{name} phải là số nguyên từ {low} đến {high}.",
                f"{name} must be an integer from {low} to {high}.",
            )
            return 0
        return value

    def choice(self, name: str, allowed: Iterable[str]) -> str:
        value = self.data.get(name)
        allowed = tuple(allowed)
        if value not in allowed:
            self.errs.add(
                f"{name}_invalid",
                name,
                f"{name} phải là một trong {', '.join(allowed)}.",
                f"{name} must be one of {', '.join(allowed)}.",
            )
            return ""
        return str(value)


# --- decisions ----------------------------------------------------------------------------------


@dataclass
class DecisionResult:
    award: Award
    kind: str
    repeated: bool
    refusal: DomainError | None = None
    case: FraudCase | None = None
    payments: list[BenefitPayment] = field(default_factory=list)


@dataclass(frozen=True)
class Grant:
    decision_no: str
    personal_id: str
    province_code: str
    law: str
    signed_on: dt.date
    signer: str
    termination_date: dt.date
    filed_on: dt.date
    start: dt.date
    end: dt.date
    months: int
    monthly_amount: int
    average_salary: int
    contribution_months: int
    reserved_months: int
    last_period_used: str
    payment_method: str
    paying_office: str


def parse_grant(data: dict[str, Any]) -> Grant:
    """Check a ``grant`` message field by field (all errors at once)."""
    from ansinh.places.codes import LEGACY_PROVINCE_CODES

    f = _Fields(data)
    decision_no = f.text("decision_no", 60)
    pid = data.get("personal_id")
    if not isinstance(pid, str) or not _PID.match(pid):
        f.errs.add(
            "personal_id_invalid",
            "personal_id",
            "Số định danh phải gồm 12 chữ số.",
            "The personal ID must be 12 digits.",
        )
    province = data.get("province_code")
    if province not in LEGACY_PROVINCE_CODES:
        f.errs.add(
            "province_code_invalid",
            "province_code",
            "Mã tỉnh không tồn tại.",
            "Unknown province code.",
        )
    law = f.choice("law", LAWS)
    signed_on = f.need_date("signed_on")
    signer = f.text("signer", 120)
    termination = f.need_date("termination_date")
    filed_on = f.need_date("filed_on")
    start = f.need_date("start")
    end = f.need_date("end")
    months = f.integer("months", 1, 12)
    amount = f.integer("monthly_amount", 1, 10**11)
    average = f.integer("average_salary", 1, 10**11)
    contribution_months = f.integer("contribution_months", 0, 1200)
    reserved = f.integer("reserved_months", 0, 1200)
    last_used = data.get("last_period_used") or ""
    if not isinstance(last_used, str) or (last_used and not _MONTH.match(last_used)):
        f.errs.add(
            "month_invalid",
            "last_period_used",
            "Tháng phải có dạng YYYY-MM.",
            "A month is YYYY-MM.",
        )
        last_used = ""
    method = f.choice("payment_method", PAYMENT_METHODS)
    office = f.text("paying_office", 20, required=False)
    if start and end and end < start:
        f.errs.add(
            "end_before_start", "end", "Ngày kết thúc trước ngày bắt đầu.", "end is before start."
        )
    if start and termination and start <= termination:
        f.errs.add(
            "start_not_after_termination",
            "start",
            "Ngày bắt đầu hưởng phải sau ngày chấm dứt hợp đồng.",
            "The benefit starts after the termination date.",
        )
    f.errs.raise_if_any()
    return Grant(
        decision_no,
        pid,
        province,
        law,
        signed_on,
        signer,
        termination,
        filed_on,
        start,
        end,  # type: ignore[arg-type]
        months,
        amount,
        average,
        contribution_months,
        reserved,
        last_used,
        method,
        office,
    )


def _repeat_or_conflict(decision_no: str, kind: str, content_digest: str) -> AwardEvent | None:
    event = (
        AwardEvent.objects.select_related("award")
        .filter(decision_no=decision_no, kind=kind)
        .first()
    )
    if event is None:
        return None
    if event.digest != content_digest:
        raise Conflict(
            "decision_conflict",
            "decision_no",
            "Quyết định này đã được nhận với nội dung khác.",
            "This decision was already received with different content.",
        )
    return event


def grant(
    data: dict[str, Any], *, client: str, message_id: str = "", at: dt.datetime | None = None
) -> DecisionResult:
    """Record a benefit decision and schedule its months. A second award of the same person
    whose period overlaps an open one is refused (``overlapping_award``) and opens a case on the
    open award, whose further payments are then held."""
    at = at or timezone.now()
    g = parse_grant(data)
    content = digest(data)
    with transaction.atomic():
        earlier = _repeat_or_conflict(g.decision_no, EventKind.GRANT, content)
        if earlier is not None:
            return DecisionResult(
                earlier.award, EventKind.GRANT, True, payments=_payments(earlier.award)
            )
        if Award.objects.filter(decision_no=g.decision_no).exists():
            raise Conflict(
                "decision_conflict",
                "decision_no",
                "Số quyết định đã được dùng.",
                "Decision number already used.",
            )
        person = find_person(g.personal_id)
        if person is None:
            raise unknown_person()
        other = (
            Award.objects.select_for_update()
            .filter(
                personal_id=g.personal_id,
                status__in=OPEN_STATUSES,
                start__lte=g.end,
                end__gte=g.start,
            )
            .order_by("id")
            .first()
        )
        if other is not None:
            evidence = {
                "other": award_summary(other),
                "incoming": {
                    "decision_no": g.decision_no,
                    "centre": client,
                    "province_code": g.province_code,
                    "start": g.start.isoformat(),
                    "end": g.end.isoformat(),
                    "monthly_amount": g.monthly_amount,
                    "message_id": message_id,
                },
            }
            case, _new = open_case(other, CaseKind.OVERLAPPING, g.decision_no, evidence, at=at)
            refusal = Conflict(
                "overlapping_award",
                "start",
                f"Người này đang hưởng theo quyết định {other.decision_no} trong cùng thời gian.",
                f"The person already has award {other.decision_no} covering this period.",
            )
            return DecisionResult(other, EventKind.GRANT, False, refusal=refusal, case=case)
        award = Award.objects.create(
            decision_no=g.decision_no,
            centre=client,
            province_code=g.province_code,
            law=g.law,
            personal_id=g.personal_id,
            person=person,
            signed_on=g.signed_on,
            signer=g.signer,
            termination_date=g.termination_date,
            termination_period=period_of(g.termination_date),
            filed_on=g.filed_on,
            start=g.start,
            end=g.end,
            start_period=period_of(g.start),
            end_period=period_of(g.end),
            months=g.months,
            monthly_amount=g.monthly_amount,
            average_salary=g.average_salary,
            contribution_months=g.contribution_months,
            reserved_months=g.reserved_months,
            last_period_used=g.last_period_used,
            payment_method=g.payment_method,
            paying_office=g.paying_office,
            received_at=at,
        )
        AwardEvent.objects.create(
            award=award,
            kind=EventKind.GRANT,
            decision_no=g.decision_no,
            message_id=message_id,
            client=client,
            effective_on=g.start,
            payload=data,
            digest=content,
            applied_at=at,
        )
        schedule_payments(award, received_on=timezone.localtime(at).date())
    return DecisionResult(award, EventKind.GRANT, False, payments=_payments(award))


def schedule_payments(award: Award, *, received_on: dt.date) -> list[BenefitPayment]:
    """One row per benefit month. The first is due within the first-payment deadline of the
    day the decision was received; each later month within the monthly deadline counted from
    the set day of that month (Decree 28/2015 Art. 18 cl. 2–3), on the working-day calendar."""
    first_days = rules.whole("benefits_first_payment_working_days", received_on)
    monthly_days = rules.whole("benefits_monthly_payment_working_days", received_on)
    from_day = rules.whole("benefits_monthly_payment_from_day", received_on)
    first_due = add_working_days(received_on, first_days)
    rows = []
    for i in range(award.months):
        start = add_months(award.start, i)
        end = (
            award.end
            if i == award.months - 1
            else add_months(award.start, i + 1) - dt.timedelta(days=1)
        )
        if i == 0:
            due = first_due
        else:
            due = max(
                first_due, add_working_days(start + dt.timedelta(days=from_day - 1), monthly_days)
            )
        rows.append(
            BenefitPayment(
                award=award,
                month_no=i + 1,
                period_start=start,
                period_end=min(end, award.end),
                amount=award.monthly_amount,
                due_on=due,
            )
        )
    return BenefitPayment.objects.bulk_create(rows)


_TRANSITIONS: dict[str, tuple[tuple[str, ...], str]] = {
    EventKind.SUSPEND: ((AwardStatus.ACTIVE,), AwardStatus.SUSPENDED),
    EventKind.RESUME: ((AwardStatus.SUSPENDED,), AwardStatus.ACTIVE),
    EventKind.TERMINATE: ((AwardStatus.ACTIVE, AwardStatus.SUSPENDED), AwardStatus.TERMINATED),
    EventKind.CANCEL: ((AwardStatus.ACTIVE, AwardStatus.SUSPENDED), AwardStatus.CANCELLED),
}


def change(
    data: dict[str, Any], *, client: str, message_id: str = "", at: dt.datetime | None = None
) -> DecisionResult:
    """Apply a suspension (tạm dừng), resumption (tiếp tục), termination (chấm dứt) or
    cancellation (hủy) decision to an award made by the same centre."""
    at = at or timezone.now()
    f = _Fields(data)
    kind = f.choice("kind", list(_TRANSITIONS))
    decision_no = f.text("decision_no", 60)
    pid = data.get("personal_id")
    if not isinstance(pid, str) or not _PID.match(pid):
        f.errs.add(
            "personal_id_invalid",
            "personal_id",
            "Số định danh phải gồm 12 chữ số.",
            "The personal ID must be 12 digits.",
        )
    effective = f.need_date("effective_on")
    reason = f.text("reason", 60)
    f.need_date("signed_on")
    f.text("signer", 120)
    f.errs.raise_if_any()
    assert effective is not None
    content = digest(data)
    with transaction.atomic():
        award = Award.objects.select_for_update().filter(decision_no=decision_no).first()
        if award is None:
            raise NotFound(
                "unknown_decision",
                "decision_no",
                "Không có quyết định hưởng này.",
                "No such benefit decision.",
            )
        if award.personal_id != pid:
            raise DomainError(
                "personal_id_mismatch",
                "personal_id",
                "Số định danh không khớp với quyết định.",
                "The personal ID does not match the decision.",
            )
        if award.centre != client:
            raise Forbidden(
                "not_award_centre",
                "decision_no",
                "Quyết định do trung tâm khác ban hành.",
                "The decision was made by another centre.",
            )
        earlier = _repeat_or_conflict(decision_no, kind, content)
        if earlier is not None:
            return DecisionResult(award, kind, True, payments=_payments(award))
        allowed, target = _TRANSITIONS[kind]
        if award.status not in allowed:
            raise Conflict(
                "invalid_transition",
                "kind",
                f"Không thể {kind} quyết định đang ở trạng thái {award.status}.",
                f"Cannot {kind} an award that is {award.status}.",
            )
        AwardEvent.objects.create(
            award=award,
            kind=kind,
            decision_no=decision_no,
            message_id=message_id,
            client=client,
            effective_on=effective,
            reason=reason,
            payload=data,
            digest=content,
            applied_at=at,
        )
        award.status = target
        award.status_from = effective
        award.save(update_fields=["status", "status_from", "updated_at"])
        unpaid = award.payments.exclude(status__in=(PaymentStatus.PAID, PaymentStatus.CANCELLED))
        if kind == EventKind.CANCEL:
            unpaid.update(status=PaymentStatus.CANCELLED)
        elif kind == EventKind.TERMINATE:
            unpaid.filter(period_start__gte=effective).update(status=PaymentStatus.CANCELLED)
        elif kind == EventKind.RESUME:
            received = timezone.localtime(at).date()
            first = add_working_days(
                received, rules.whole("benefits_first_payment_working_days", received)
            )
            unpaid.filter(due_on__lt=first).update(due_on=first)
        refresh_rows(award)
    return DecisionResult(award, kind, False, payments=_payments(award))


def refresh_rows(award: Award) -> None:
    """Hold or release the unpaid months: held while a case is open or from the day the award
    is suspended; scheduled otherwise."""
    unpaid = award.payments.filter(status__in=(PaymentStatus.SCHEDULED, PaymentStatus.HELD))
    if award.held:
        unpaid.update(status=PaymentStatus.HELD)
        return
    if award.status == AwardStatus.SUSPENDED and award.status_from:
        unpaid.filter(period_start__gte=award.status_from).update(status=PaymentStatus.HELD)
        unpaid.filter(period_start__lt=award.status_from).update(status=PaymentStatus.SCHEDULED)
        return
    unpaid.update(status=PaymentStatus.SCHEDULED)


def _payments(award: Award) -> list[BenefitPayment]:
    return list(award.payments.order_by("month_no"))


def award_summary(award: Award) -> dict[str, Any]:
    return {
        "decision_no": award.decision_no,
        "centre": award.centre,
        "province_code": award.province_code,
        "start": award.start.isoformat(),
        "end": award.end.isoformat(),
        "status": award.status,
        "monthly_amount": award.monthly_amount,
    }


# --- payment run and health card ------------------------------------------------------------------


@dataclass
class PayRun:
    paid: int = 0
    held: int = 0
    amount: int = 0
    cards: int = 0
    completed: int = 0
    card_errors: list[str] = field(default_factory=list)


def pay_due(on: dt.date, *, actor: Any = None, detect: bool = True) -> PayRun:
    """Chi trả: pay every scheduled month due by ``on`` of an active award with no open case,
    after an incremental detector run over those awards (so a re-employment or death recorded
    since the last run stops the payment now). Issues the health insurance card for the
    benefit period at the first payment of an award. Paying twice pays nothing new."""
    result = PayRun()
    due = BenefitPayment.objects.filter(
        due_on__lte=on, status=PaymentStatus.SCHEDULED, award__status=AwardStatus.ACTIVE
    )
    if detect:
        from ansinh.benefits import detector

        award_ids = sorted(set(due.values_list("award_id", flat=True)))
        if award_ids:
            detector.run(award_ids=award_ids)
    with transaction.atomic():
        result.held = BenefitPayment.objects.filter(
            due_on__lte=on, status=PaymentStatus.HELD
        ).count()
        rows = list(
            due.filter(award__held=False)
            .select_for_update()
            .values_list("id", "award_id", "amount")
        )
        ids = [r[0] for r in rows]
        for at in range(0, len(ids), 500):
            BenefitPayment.objects.filter(id__in=ids[at : at + 500]).update(
                status=PaymentStatus.PAID, paid_on=on
            )
        result.paid, result.amount = len(rows), sum(r[2] for r in rows)
        award_ids = sorted({r[1] for r in rows})
        for award in Award.objects.filter(
            id__in=award_ids, health_card__isnull=True, person__isnull=False
        ).select_related("person"):
            try:
                issue_health_card(award, actor=actor)
                result.cards += 1
            except DomainError as exc:
                result.card_errors.append(f"{award.decision_no}: {exc.code}")
        done = Award.objects.filter(id__in=award_ids, status=AwardStatus.ACTIVE).exclude(
            payments__status__in=(PaymentStatus.SCHEDULED, PaymentStatus.HELD)
        )
        result.completed = done.update(status=AwardStatus.COMPLETED, status_from=on)
    return result


def issue_health_card(award: Award, *, actor: Any = None) -> Any:
    """Thẻ BHYT for the benefit period (participant group and benefit level from the rules),
    through the registry's card service."""
    from ansinh.registry.services import issue_card

    card = issue_card(
        award.person,
        participant_group=rules.code("benefits_card_group", award.start),
        benefit_level=rules.whole("benefits_card_benefit_level", award.start),
        province_code=award.province_code,
        valid_from=award.start,
        valid_to=award.end,
        actor=actor,
    )
    award.health_card = card
    award.save(update_fields=["health_card", "updated_at"])
    return card


# --- cases ----------------------------------------------------------------------------------------


def case_number(award_id: int, kind: str, subject: str) -> str:
    """Deterministic from the finding, so two runs name the same case the same."""
    tail = hashlib.sha256(subject.encode()).hexdigest()[:6].upper() if subject else "000000"
    return f"VP-{award_id}-{_CASE_ABBR[CaseKind(kind)]}-{tail}"


def open_case(
    award: Award,
    kind: str,
    subject: str,
    evidence: dict[str, Any],
    *,
    at: dt.datetime | None = None,
) -> tuple[FraudCase, bool]:
    """Open a case (or find the one already opened for the same finding); a new case holds the
    award's payments and is pushed to the centre that made the award."""
    at = at or timezone.now()
    with transaction.atomic():
        case, created = FraudCase.objects.get_or_create(
            award=award,
            kind=kind,
            subject=subject,
            defaults={
                "case_no": case_number(award.pk, kind, subject),
                "evidence": evidence,
                "opened_at": at,
            },
        )
        if created:
            Award.objects.filter(pk=award.pk).update(held=True)
            award.held = True
            refresh_rows(award)
            notify_centre([case])
    return case, created


def resolve_case(
    case: FraudCase, *, note: str, actor: Any, at: dt.datetime | None = None
) -> FraudCase:
    """Close a case with the officer's finding; when no other case of the award is open, its
    unpaid months are released (or stay held by a suspension)."""
    at = at or timezone.now()
    note = (note or "").strip()
    if not note:
        raise DomainError(
            "resolution_required",
            "resolution",
            "Cần ghi kết luận xử lý.",
            "A resolution note is required.",
        )
    if len(note) > 2000:
        raise DomainError(
            "resolution_too_long", "resolution", "Kết luận quá dài.", "The note is too long."
        )
    with transaction.atomic():
        case = FraudCase.objects.select_for_update().select_related("award").get(pk=case.pk)
        if case.status != CaseStatus.OPEN:
            raise Conflict(
                "case_closed", "case_no", "Vụ việc đã được xử lý.", "The case is already resolved."
            )
        case.status = CaseStatus.RESOLVED
        case.resolved_at = at
        case.resolution = note
        case.resolved_by = actor if getattr(actor, "is_authenticated", False) else None
        case.save(update_fields=["status", "resolved_at", "resolution", "resolved_by"])
        award = case.award
        if not award.cases.filter(status=CaseStatus.OPEN).exists():
            award.held = False
            award.save(update_fields=["held", "updated_at"])
            refresh_rows(award)
        if actor is not None:
            from ansinh.access.services import audit

            audit(
                actor=actor,
                action="update",
                object_type="benefit_case",
                object_id=str(case.pk),
                detail={"resolved": True},
            )
        notify_centre([case])
    return case


def case_message(case: FraudCase, award: Award) -> dict[str, Any]:
    return {
        "case_no": case.case_no,
        "decision_no": award.decision_no,
        "personal_id": award.personal_id,
        "kind": case.kind,
        "status": case.status,
        "payments_held": bool(award.held),
        "evidence": case.evidence,
        "opened_at": case.opened_at.isoformat(),
        "resolved_at": case.resolved_at.isoformat() if case.resolved_at else None,
        "resolution": case.resolution,
    }


def notify_centre(cases: list[FraudCase]) -> int:
    """Queue ``benefitCase`` to each award's centre (delivered after commit, retried). The
    message id is the case number and status, so a repeat is one message."""
    from ansinh.exchange import outbox
    from ansinh.exchange.selectors import get_peer

    sent = 0
    peers: dict[str, Any] = {}
    for case in cases:
        award = case.award
        if award.centre not in peers:
            try:
                peers[award.centre] = get_peer(award.centre)
            except DomainError:
                peers[award.centre] = None
                log.warning("benefits: no exchange peer for the awarding centre; case not pushed")
        peer = peers[award.centre]
        if peer is None:
            continue
        outbox.send(
            peer,
            "benefitCase",
            case_message(case, award),
            message_id=f"benefitCase-{case.case_no}-{case.status}",
        )
        sent += 1
    return sent
