"""Writes of the centre side: claim intake, the history fetch, assessment, proposal, decisions,
job-search reports, suspension, resumption and termination, the re-employment feed and the
cases the insurance side sends us.

Each step is one transaction that re-reads the claim, fires its lifecycle transition
(``illegal_transition`` when it may not), writes one :class:`ClaimEvent` and moves the one-stop
dossier with ``onestop.services``. Calls to the insurance side go through the exchange layer
only: ``outbox.call_now`` (outside any transaction — the peer may be this very process) for the
history, ``outbox.send`` inside the decision's transaction for ``notifyDecision``.
"""

from __future__ import annotations

import datetime as dt
import logging
import re
from dataclasses import dataclass
from typing import Any

from django.conf import settings
from django.db import IntegrityError, transaction
from django.db.models import F
from django.utils import timezone
from django_fsm import can_proceed

from ansinh.access.models import AuditAction
from ansinh.access.services import audit
from ansinh.core.errors import Conflict, DomainError, ErrorCollector, Forbidden, NotFound
from ansinh.exchange import outbox
from ansinh.exchange import selectors as xselectors
from ansinh.exchange.ids import MemberId
from ansinh.exchange.models import Outbox
from ansinh.law.calendar import add_working_days
from ansinh.onestop import services as onestop
from ansinh.onestop.models import DossierState, Office
from ansinh.unemployment import documents, entitlement, selectors
from ansinh.unemployment.models import (
    BEFORE_DECISION,
    Assessment,
    CaseNotice,
    CentreProfile,
    Channel,
    Claim,
    ClaimEvent,
    ClaimState,
    Decision,
    DecisionKind,
    FeedCursor,
    JobSearchReport,
    SuspendReason,
    TerminateReason,
)

log = logging.getLogger(__name__)

PROCEDURE_CODE = "TCTN"
_PID = re.compile(r"^\d{12}$")
_FUTURE = dt.timedelta(minutes=5)


# --- helpers -----------------------------------------------------------------------------------


def _now(at: dt.datetime | None) -> dt.datetime:
    now = timezone.now()
    when = at or now
    if when > now + _FUTURE:
        raise DomainError(
            "in_the_future", "at", "Thời điểm ở tương lai.", "The step is dated in the future."
        )
    return when


def _today(when: dt.datetime) -> dt.date:
    return timezone.localtime(when).date()


def insurance_peer() -> Any:
    return xselectors.get_peer(settings.UNEMPLOYMENT_INSURANCE_PEER)


def _load(claim: Claim | int | str, *, lock: bool = True) -> Claim:
    key = claim.pk if isinstance(claim, Claim) else claim
    qs = Claim.objects.select_related("office__organisation", "dossier")
    if lock:
        qs = qs.select_for_update(of=("self",))
    found = qs.filter(pk=key).first() if isinstance(key, int) else qs.filter(code=key).first()
    if found is None:
        raise NotFound("unknown_claim", "code", "Không tìm thấy hồ sơ.", "Claim not found.")
    return found


def _check(actor: Any, claim: Claim, perm: str = "unemployment.change_claim") -> None:
    if actor is None:
        return  # a system step (task, exchange handler)
    if not actor.has_perm(perm):
        raise Forbidden(
            "permission_denied",
            None,
            "Vai trò của bạn không được phép thực hiện bước này.",
            "Your role may not take this step.",
        )
    if not (actor.is_superuser or claim.office.organisation_id in selectors.org_ids(actor)):
        raise Forbidden(
            "not_your_centre",
            None,
            "Hồ sơ thuộc trung tâm khác.",
            "The claim belongs to another centre.",
        )


def _illegal(claim: Claim, action: str) -> DomainError:
    return DomainError(
        "illegal_transition",
        "action",
        f"Không thể thực hiện '{action}' khi hồ sơ ở trạng thái '{ClaimState(claim.state).label}'.",
        f"Cannot do '{action}' while the claim is '{claim.state}'.",
        status=409,
    )


def _move(
    claim: Claim,
    method: str,
    *,
    action: str,
    actor: Any,
    when: dt.datetime,
    note: str = "",
    detail: dict[str, Any] | None = None,
    extra: dict[str, Any] | None = None,
) -> Claim:
    """Fire ``method`` on a claim loaded under lock, save it and append the timeline row."""
    before = claim.state
    bound = getattr(claim, method)
    if not can_proceed(bound):
        raise _illegal(claim, action)
    bound()
    fields = {"state": claim.state, **(extra or {})}
    Claim.objects.filter(pk=claim.pk).update(version=F("version") + 1, **fields)
    for k, v in (extra or {}).items():
        setattr(claim, k, v)
    claim.version += 1
    ClaimEvent.objects.create(
        claim=claim,
        at=when,
        action=action,
        from_state=before,
        to_state=claim.state,
        actor=actor,
        note=note,
        detail=detail or {},
    )
    if actor is not None:
        audit(
            actor=actor,
            action=AuditAction.UPDATE,
            object_type="bhtn_claim",
            object_id=str(claim.pk),
            detail={"action": action, "to_state": claim.state},
            channel="web",
        )
    return claim


def _event(claim: Claim, action: str, when: dt.datetime, actor: Any = None, **kw: Any) -> None:
    ClaimEvent.objects.create(
        claim=claim,
        at=when,
        action=action,
        from_state=claim.state,
        to_state=claim.state,
        actor=actor,
        **kw,
    )


def profile_of(office: Office) -> CentreProfile:
    found = CentreProfile.objects.filter(office=office).first()
    return found or CentreProfile.objects.create(office=office)


# --- intake ------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Applicant:
    personal_id: str
    full_name: str
    birth_date: dt.date | None = None
    phone: str = ""
    email: str = ""
    address: str = ""


def file_claim(
    *,
    office: Office,
    applicant: Applicant,
    termination_date: dt.date,
    termination_reason: str,
    channel: str = Channel.COUNTER,
    contract_type: str = "",
    actor: Any = None,
    at: dt.datetime | None = None,
    fetch: bool = True,
) -> Claim:
    """Tiếp nhận hồ sơ đề nghị hưởng: open the one-stop dossier (procedure TCTN) and the claim,
    then fetch the history (unless ``fetch`` is off). The same person and termination twice →
    Conflict ``claim_exists``."""
    when = _now(at)
    filed_on = _today(when)
    errors = ErrorCollector()
    if not _PID.match(applicant.personal_id or ""):
        errors.add(
            "personal_id_invalid",
            "personal_id",
            "Số định danh cá nhân phải gồm 12 chữ số.",
            "The personal id must have 12 digits.",
        )
    if not applicant.full_name.strip():
        errors.add("required", "full_name", "Thiếu họ tên.", "The name is missing.")
    if termination_date > filed_on:
        errors.add(
            "termination_in_future",
            "termination_date",
            "Ngày chấm dứt hợp đồng sau ngày nộp hồ sơ.",
            "The termination date is after the filing date.",
        )
    if channel not in Channel.values:
        errors.add("unknown_channel", "channel", "Kênh không hợp lệ.", "Unknown channel.")
    errors.raise_if_any()
    if actor is not None and not actor.has_perm("unemployment.add_claim"):
        raise Forbidden(
            "permission_denied", None, "Không có quyền tiếp nhận.", "You may not receive claims."
        )
    known = [r.code for r in selectors.termination_reasons(termination_date)]
    reason = entitlement.normalise_reason(termination_reason, known)
    rules = selectors.law_rules(termination_date)
    with transaction.atomic():
        if (
            Claim.objects.filter(
                personal_id=applicant.personal_id, termination_date=termination_date
            )
            .exclude(state=ClaimState.WITHDRAWN)
            .exists()
        ):
            raise _claim_exists()
        dossier = onestop.receive_dossier(
            office=office,
            procedure_code=PROCEDURE_CODE,
            channel="online" if channel == Channel.ONLINE else "counter",
            applicant=onestop.Applicant(
                name=applicant.full_name,
                id_number=applicant.personal_id,
                address=applicant.address,
                phone=applicant.phone,
                email=applicant.email,
            ),
            documents=[onestop.DocumentReceived("Đề nghị hưởng trợ cấp thất nghiệp")],
            actor=actor,
            at=when,
        )
        try:
            with transaction.atomic():
                claim = Claim.objects.create(
                    code=dossier.code,
                    dossier=dossier,
                    office=office,
                    province_code=office.province_code,
                    channel=channel,
                    personal_id=applicant.personal_id,
                    full_name=applicant.full_name.strip(),
                    birth_date=applicant.birth_date,
                    phone=applicant.phone,
                    email=applicant.email,
                    address=applicant.address,
                    termination_date=termination_date,
                    termination_reason=reason,
                    termination_reason_given=termination_reason[:40],
                    contract_type=contract_type,
                    filed_on=filed_on,
                    decision_due=add_working_days(filed_on, rules.decision_working_days),
                    created_by=actor,
                    created_at=when,
                )
        except IntegrityError as exc:  # a concurrent twin won the unique constraint
            raise _claim_exists() from exc
        _event(claim, "receive", when, actor, note=f"law {rules.law}")
        if actor is not None:
            audit(
                actor=actor,
                action=AuditAction.CREATE,
                object_type="bhtn_claim",
                object_id=str(claim.pk),
                detail={"channel": channel, "reason": reason},
                channel="web",
            )
    if fetch and transaction.get_connection().in_atomic_block:
        pk = claim.pk
        transaction.on_commit(lambda: fetch_history(pk))  # the caller's transaction first
    elif fetch:
        claim = fetch_history(claim, at=when)
    return claim


def _claim_exists() -> Conflict:
    return Conflict(
        "claim_exists",
        "termination_date",
        "Đã có hồ sơ đề nghị hưởng cho lần chấm dứt hợp đồng này.",
        "A claim for this termination has already been filed.",
    )


# --- the history from the insurance side -------------------------------------------------------


def _message_id(claim: Claim, service: str) -> str:
    return f"{claim.code}:{service}:{claim.history_attempt}"


def _call(claim: Claim, service: str, body: dict[str, Any]) -> tuple[Outbox, Any]:
    peer = insurance_peer()
    return outbox.call_now(peer, service, body, message_id=_message_id(claim, service))


def fetch_history(
    claim: Claim | int | str,
    *,
    actor: Any = None,
    at: dt.datetime | None = None,
    refresh: bool = False,
) -> Claim:
    """Ask the insurance side for ``bhtnHistory`` and ``benefitHistory``. Must run outside a
    transaction (the HTTP call). Peer down → ``history_pending`` (the retry task tries again
    with the same message ids); a refusal (unknown person…) is kept in ``history_error``."""
    if transaction.get_connection().in_atomic_block:
        raise RuntimeError("fetch_history must run outside a transaction")
    claim = _load(claim, lock=False)
    if actor is not None:
        _check(actor, claim)
    if refresh and claim.state in (ClaimState.HISTORY_FETCHED, ClaimState.ASSESSED):
        Claim.objects.filter(pk=claim.pk).update(history_attempt=F("history_attempt") + 1)
        claim.refresh_from_db()
    when = _now(at)
    outcome: dict[str, Any] = {}
    try:
        row_h, res_h = _call(
            claim,
            "bhtnHistory",
            {"personal_id": claim.personal_id, "until": claim.termination_date.isoformat()},
        )
        outcome["history"] = (row_h, res_h)
        if res_h.ok:
            row_a, res_a = _call(claim, "benefitHistory", {"personal_id": claim.personal_id})
            outcome["awards"] = (row_a, res_a)
    except DomainError as exc:  # peer not registered
        outcome["error"] = exc.code
    return _apply_fetch(claim.pk, outcome, actor, when)


def _apply_fetch(pk: int, outcome: dict[str, Any], actor: Any, when: dt.datetime) -> Claim:
    hist = outcome.get("history")
    awards = outcome.get("awards")
    transient = outcome.get("error", "")  # a local problem (peer not registered): retried
    final = ""  # a signed refusal by the insurance side (unknown person…): not retried
    for part in (hist, awards):
        if part is not None and not part[1].ok:
            if part[1].reached:
                final = part[1].outcome or "refused"
            else:
                transient = part[1].outcome or "peer_down"
    if hist and awards and hist[1].ok and awards[1].ok:
        try:
            return store_history(
                pk,
                hist[1].json(),
                awards[1].json(),
                history_message_id=hist[0].message_id,
                awards_message_id=awards[0].message_id,
                actor=actor,
                at=when,
            )
        except DomainError as exc:
            final = exc.code
    with transaction.atomic():
        claim = _load(pk)
        if claim.state in (ClaimState.HISTORY_FETCHED, ClaimState.ASSESSED):
            Claim.objects.filter(pk=claim.pk).update(history_error=final or transient)
            claim.history_error = final or transient
            return claim
        if claim.state not in (ClaimState.RECEIVED, ClaimState.HISTORY_PENDING):
            return claim
        return _move(
            claim,
            "history_wait",
            action="history_pending",
            actor=actor,
            when=when,
            note=final or transient or "peer_down",
            extra={"history_error": final},
        )


def store_history(
    claim: Claim | int | str,
    history: Any,
    awards: Any,
    *,
    history_message_id: str = "",
    awards_message_id: str = "",
    actor: Any = None,
    at: dt.datetime | None = None,
) -> Claim:
    """Keep the insurance side's answers on the claim (checked against the contract shape)."""
    try:
        entitlement.parse_history(history)
        entitlement.parse_awards(awards)
    except ValueError as exc:
        log.warning("bhtnHistory answer malformed: %s", exc)
        raise DomainError(
            "history_malformed",
            "history",
            "Dữ liệu quá trình đóng không hợp lệ.",
            f"The history is malformed: {exc}",
            status=502,
        ) from exc
    with transaction.atomic():
        claim = _load(claim)
        when = _now(at)
        return _move(
            claim,
            "history_received",
            action="history_fetched",
            actor=actor,
            when=when,
            detail={"history": history_message_id, "awards": awards_message_id},
            extra={
                "history": history,
                "history_message_id": history_message_id,
                "awards": awards,
                "awards_message_id": awards_message_id,
                "history_fetched_at": when,
                "history_error": "",
            },
        )


def retry_pending_histories(*, now: dt.datetime | None = None, limit: int = 200) -> int:
    """The periodic task: fetch again for claims still waiting (not for final refusals)."""
    done = 0
    pending = Claim.objects.filter(
        state__in=(ClaimState.HISTORY_PENDING, ClaimState.RECEIVED), history_error=""
    ).values_list("pk", flat=True)[:limit]
    for pk in list(pending):
        try:
            fetch_history(pk, at=now)
            done += 1
        except DomainError as exc:
            log.warning("history retry for claim %s failed: %s", pk, exc.code)
    return done


# --- assessment and proposal -------------------------------------------------------------------


def assess(
    claim: Claim | int | str,
    *,
    actor: Any,
    at: dt.datetime | None = None,
    termination_reason: str = "",
    expected_version: int | None = None,
) -> Assessment:
    """Run the calculation on the fetched history (the officer may recode the termination
    reason from the paper first)."""
    with transaction.atomic():
        claim = _load(claim)
        _check(actor, claim)
        if expected_version is not None and claim.version != expected_version:
            raise _stale()
        when = _now(at)
        if termination_reason:
            known = [r.code for r in selectors.termination_reasons(claim.termination_date)]
            if termination_reason not in known:
                raise DomainError(
                    "unknown_termination_reason",
                    "termination_reason",
                    "Lý do chấm dứt hợp đồng không có trong danh mục.",
                    "Unknown termination reason.",
                )
            claim.termination_reason = termination_reason
            Claim.objects.filter(pk=claim.pk).update(termination_reason=termination_reason)
        if not can_proceed(claim.assess):
            raise _illegal(claim, "assess")
        ent = compute_for(claim)
        _move(
            claim,
            "assess",
            action="assess",
            actor=actor,
            when=when,
            detail={"eligible": ent.eligible, "reasons": ent.reason_codes},
        )
        if claim.dossier.state == DossierState.RECEIVED:
            onestop.start_processing(
                claim.dossier_id, actor=actor, expected_version=claim.dossier.version, at=when
            )
        return Assessment.objects.create(
            claim=claim,
            at=when,
            actor=actor,
            law=ent.law,
            eligible=ent.eligible,
            monthly_amount=ent.monthly_amount,
            duration_months=ent.duration_months,
            result=ent.as_dict(),
        )


def compute_for(claim: Claim) -> entitlement.Entitlement:
    """The entitlement of a claim from its stored history and the rules in the database."""
    if not claim.history:
        raise DomainError(
            "history_missing",
            "history",
            "Chưa có quá trình đóng BHTN từ cơ quan BHXH.",
            "The contribution history has not been received yet.",
            status=409,
        )
    history = entitlement.parse_history(claim.history)
    awards = entitlement.parse_awards(claim.awards)
    rules = selectors.law_rules(claim.termination_date)
    term_period = entitlement.period_of(claim.termination_date)
    before = [m for m in history.months if m.period <= term_period]
    region = before[-1].wage_region if before else 1
    minimum, base = selectors.reference_amounts(claim.termination_date, region)
    facts = entitlement.ClaimFacts(
        termination_date=claim.termination_date,
        termination_reason=claim.termination_reason,
        filed_on=claim.filed_on,
        regional_min_wage=minimum,
        base_salary=base,
        contract_type=claim.contract_type,
    )
    return entitlement.compute(history, facts, rules, awards=awards)


def propose(
    claim: Claim | int | str,
    *,
    actor: Any,
    at: dt.datetime | None = None,
    payment_method: str = "bank",
    note: str = "",
) -> Claim:
    """Đề xuất: the centre proposes the grant to the department director."""
    if payment_method not in ("bank", "cash"):
        raise DomainError(
            "payment_method_invalid",
            "payment_method",
            "Sai hình thức chi trả.",
            "Payment method must be bank or cash.",
        )
    with transaction.atomic():
        claim = _load(claim)
        _check(actor, claim)
        latest = selectors.latest_assessment(claim)
        if claim.state == ClaimState.ASSESSED and (latest is None or not latest.eligible):
            raise DomainError(
                "not_eligible",
                "claim",
                "Kết quả xét duyệt là không đủ điều kiện: hãy ra quyết định từ chối.",
                "The assessment says not eligible: refuse the claim instead.",
                status=409,
            )
        return _move(
            claim,
            "propose",
            action="propose",
            actor=actor,
            when=_now(at),
            note=note,
            extra={"payment_method": payment_method},
        )


def _stale() -> Conflict:
    return Conflict(
        "stale_version",
        "version",
        "Hồ sơ vừa được người khác cập nhật; hãy tải lại.",
        "Someone else has just updated the claim; reload.",
    )


# --- decisions ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class Signature:
    number: str
    signed_on: dt.date
    signer_name: str
    signer_title: str = ""


def _bases(law: str) -> list[str]:
    if law == "74/2025":
        return [
            "Căn cứ Luật Việc làm số 74/2025/QH15",
            "Căn cứ các văn bản quy định chi tiết và hướng dẫn thi hành Luật Việc làm",
        ]
    return [
        "Căn cứ Luật Việc làm số 38/2013/QH13 (Điều 49, 50, 52, 53)",
        "Căn cứ Nghị định số 28/2015/NĐ-CP ngày 12/3/2015 của Chính phủ quy định chi tiết "
        "thi hành Luật Việc làm về bảo hiểm thất nghiệp",
    ]


def _new_decision(
    claim: Claim,
    kind: str,
    sig: Signature,
    *,
    actor: Any,
    when: dt.datetime,
    effective_on: dt.date,
    reason: str,
    articles: list[str],
    content: dict[str, Any],
) -> Decision:
    number = sig.number.strip()
    if not number:
        raise DomainError("required", "number", "Thiếu số quyết định.", "The number is missing.")
    if not sig.signer_name.strip():
        raise DomainError("required", "signer_name", "Thiếu người ký.", "The signer is missing.")
    if sig.signed_on > _today(timezone.now()):
        raise DomainError(
            "signed_in_future",
            "signed_on",
            "Ngày ký ở tương lai.",
            "The signing date is in the future.",
        )
    if Decision.objects.filter(number=number).exists():
        raise Conflict(
            "decision_number_used",
            "number",
            f"Số quyết định {number} đã được dùng.",
            f"Decision number {number} is already used.",
        )
    prof = profile_of(claim.office)
    title = sig.signer_title.strip() or prof.signer_title
    law = (claim.assessments.order_by("-at", "-id").first() or Assessment(law="")).law
    data = documents.DecisionData(
        kind=kind,
        number=number,
        issuer_superior=prof.issuer_superior,
        issuer_name=prof.issuer_name,
        place=claim.office.place,
        signed_on=sig.signed_on,
        signer_title=title,
        signer_name=sig.signer_name.strip(),
        legal_bases=_bases(law),
        proposal=f"Xét đề nghị của Giám đốc {claim.office.organisation.name}",
        articles=articles,
        recipients=["Như Điều 3", prof.insurance_office_name, "Lưu: VT, " + claim.code],
    )
    try:
        with transaction.atomic():
            return Decision.objects.create(
                claim=claim,
                number=number,
                kind=kind,
                reason=reason,
                issuer_name=prof.issuer_name,
                signer_title=title,
                signer_name=sig.signer_name.strip(),
                signed_on=sig.signed_on,
                effective_on=effective_on,
                content=content,
                pdf=documents.decision_pdf(data),
                created_by=actor,
                created_at=when,
            )
    except IntegrityError as exc:
        raise Conflict(
            "decision_conflict",
            "number",
            "Quyết định trùng số hoặc hồ sơ đã có quyết định hưởng.",
            "The number is used or the claim already has a grant decision.",
        ) from exc


def _notify(claim: Claim, decision: Decision, payload: dict[str, Any]) -> None:
    # Message ids are ASCII (decision numbers are not): one per decision row.
    row = outbox.send(
        insurance_peer(), "notifyDecision", payload, message_id=f"bhtn-decision-{decision.pk}"
    )
    Decision.objects.filter(pk=decision.pk).update(message_id=row.message_id)
    decision.message_id = row.message_id


def decide(
    claim: Claim | int | str, sig: Signature, *, actor: Any, at: dt.datetime | None = None
) -> Decision:
    """Quyết định hưởng, signed by the department director on the centre's proposal: stored
    with its PDF, the dossier's result recorded and ``notifyDecision`` queued in the same
    transaction (delivered after commit, retried while the insurance side is down)."""
    with transaction.atomic():
        claim = _load(claim)
        _check(actor, claim, "unemployment.decide_claim")
        when = _now(at)
        if claim.state != ClaimState.PROPOSED:
            raise _illegal(claim, "decide")
        ent = compute_for(claim)
        if not ent.eligible or ent.start is None or ent.end is None:
            raise DomainError(
                "not_eligible",
                "claim",
                "Không đủ điều kiện hưởng.",
                "The claim is not eligible.",
                status=409,
            )
        prof = profile_of(claim.office)
        articles = [
            f"Ông/Bà {claim.full_name}, số định danh cá nhân {claim.personal_id}, được hưởng "
            f"trợ cấp thất nghiệp {ent.duration_months} tháng, mức hưởng hằng tháng "
            f"{documents.vnd(ent.monthly_amount)} (60% bình quân tiền lương tháng đóng bảo "
            f"hiểm thất nghiệp {documents.vnd(ent.average_salary)}), từ ngày "
            f"{documents.vn_date(ent.start)} đến ngày {documents.vn_date(ent.end)}; được hưởng "
            f"bảo hiểm y tế trong thời gian hưởng trợ cấp. Thời gian đóng bảo hiểm thất nghiệp "
            f"được bảo lưu: {ent.reserved_out} tháng.",
            f"{prof.insurance_office_name} có trách nhiệm chi trả trợ cấp thất nghiệp và cấp "
            "thẻ bảo hiểm y tế cho người lao động; người lao động thông báo tìm kiếm việc làm "
            "hằng tháng với Trung tâm dịch vụ việc làm.",
            "Quyết định có hiệu lực kể từ ngày ký. Giám đốc Trung tâm dịch vụ việc làm, "
            f"{prof.insurance_office_name} và Ông/Bà {claim.full_name} chịu trách nhiệm thi "
            "hành Quyết định này.",
        ]
        decision = _new_decision(
            claim,
            DecisionKind.GRANT,
            sig,
            actor=actor,
            when=when,
            effective_on=ent.start,
            reason="",
            articles=articles,
            content=ent.as_dict(),
        )
        payload = {
            "kind": "grant",
            "decision_no": decision.number,
            "personal_id": claim.personal_id,
            "province_code": claim.province_code,
            "law": ent.law,
            "signed_on": sig.signed_on.isoformat(),
            "signer": decision.signer_name,
            "termination_date": claim.termination_date.isoformat(),
            "filed_on": claim.filed_on.isoformat(),
            "start": ent.start.isoformat(),
            "end": ent.end.isoformat(),
            "months": ent.duration_months,
            "monthly_amount": ent.monthly_amount,
            "average_salary": ent.average_salary,
            "contribution_months": ent.months_counted,
            "reserved_months": ent.reserved_out,
            "last_period_used": ent.last_period_used,
            "payment_method": claim.payment_method,
            "paying_office": prof.paying_office,
        }
        _notify(claim, decision, payload)
        _move(
            claim,
            "grant",
            action="decide",
            actor=actor,
            when=when,
            detail={"decision": decision.number},
        )
        _dossier_result(claim, actor, when, refuse_reason="")
        _schedule_reports(claim, ent.start, ent.duration_months)
        return decision


def _dossier_result(claim: Claim, actor: Any, when: dt.datetime, *, refuse_reason: str) -> None:
    d = claim.dossier
    d.refresh_from_db()
    if refuse_reason:
        if d.state in (
            DossierState.RECEIVED,
            DossierState.PROCESSING,
            DossierState.TRANSFERRED,
            DossierState.SUPPLEMENT,
        ):
            onestop.reject(
                d.pk, actor=actor, expected_version=d.version, reason=refuse_reason, at=when
            )
        return
    if d.state == DossierState.RECEIVED:
        d = onestop.start_processing(d.pk, actor=actor, expected_version=d.version, at=when)
    if d.state == DossierState.PROCESSING:
        onestop.record_result(
            d.pk,
            actor=actor,
            expected_version=d.version,
            at=when,
            note="Quyết định hưởng trợ cấp thất nghiệp",
        )


def refuse(
    claim: Claim | int | str,
    sig: Signature,
    *,
    actor: Any,
    reason: str,
    at: dt.datetime | None = None,
) -> Decision:
    """Không giải quyết: a written refusal with the reason (the dossier is rejected)."""
    reason = reason.strip()
    if not reason:
        raise DomainError("reason_required", "reason", "Cần ghi rõ lý do.", "A reason is needed.")
    with transaction.atomic():
        claim = _load(claim)
        _check(actor, claim, "unemployment.decide_claim")
        when = _now(at)
        if claim.state not in BEFORE_DECISION:
            raise _illegal(claim, "refuse")
        latest = selectors.latest_assessment(claim)
        codes = [r["code"] for r in (latest.result["reasons"] if latest else [])]
        decision = _new_decision(
            claim,
            DecisionKind.REFUSE,
            sig,
            actor=actor,
            when=when,
            effective_on=sig.signed_on,
            reason=(codes[0] if codes else "other")[:40],
            articles=[
                f"Không giải quyết hưởng trợ cấp thất nghiệp đối với Ông/Bà {claim.full_name}, "
                f"số định danh cá nhân {claim.personal_id}. Lý do: {reason}.",
                "Người lao động có quyền khiếu nại, khởi kiện theo quy định của pháp luật.",
                "Quyết định có hiệu lực kể từ ngày ký.",
            ],
            content={"reason": reason, "codes": codes},
        )
        _move(
            claim,
            "refuse",
            action="refuse",
            actor=actor,
            when=when,
            note=reason,
            detail={"decision": decision.number, "codes": codes},
        )
        _dossier_result(claim, actor, when, refuse_reason=reason)
        return decision


def _grant_of(claim: Claim) -> Decision:
    grant = claim.decisions.filter(kind=DecisionKind.GRANT).first()
    if grant is None:
        raise DomainError(
            "no_grant",
            "claim",
            "Hồ sơ chưa có quyết định hưởng.",
            "The claim has no grant decision.",
            status=409,
        )
    return grant


def _status_decision(
    claim_ref: Claim | int | str,
    kind: str,
    method: str,
    sig: Signature,
    *,
    actor: Any,
    reason: str,
    effective_on: dt.date,
    allowed: list[str],
    title_vi: str,
    at: dt.datetime | None,
    note: str = "",
) -> Decision:
    if reason not in allowed:
        raise DomainError(
            "reason_invalid",
            "reason",
            "Lý do không có trong danh mục.",
            f"Reason must be one of {', '.join(allowed)}.",
        )
    with transaction.atomic():
        claim = _load(claim_ref)
        _check(actor, claim, "unemployment.decide_claim")
        when = _now(at)
        bound = getattr(claim, method)
        if not can_proceed(bound):
            raise _illegal(claim, kind)
        grant = _grant_of(claim)
        decision = _new_decision(
            claim,
            kind,
            sig,
            actor=actor,
            when=when,
            effective_on=effective_on,
            reason=reason,
            articles=[
                f"{title_vi} trợ cấp thất nghiệp đối với Ông/Bà {claim.full_name} (quyết định "
                f"hưởng số {grant.number}) kể từ ngày {documents.vn_date(effective_on)}. "
                f"Lý do: {reason}{'; ' + note if note else ''}.",
                "Cơ quan bảo hiểm xã hội thực hiện theo Quyết định này.",
                "Quyết định có hiệu lực kể từ ngày ký.",
            ],
            content={"grant": grant.number, "reason": reason, "note": note},
        )
        _notify(
            claim,
            decision,
            {
                "kind": kind,
                "decision_no": grant.number,
                "personal_id": claim.personal_id,
                "effective_on": effective_on.isoformat(),
                "reason": reason,
                "signed_on": sig.signed_on.isoformat(),
                "signer": decision.signer_name,
            },
        )
        extra = {"reemployment": None} if kind == DecisionKind.TERMINATE else None
        _move(
            claim,
            method,
            action=kind,
            actor=actor,
            when=when,
            note=note,
            detail={"decision": decision.number, "reason": reason},
            extra=extra,
        )
        return decision


def suspend(
    claim: Claim | int | str,
    sig: Signature,
    *,
    actor: Any,
    reason: str,
    effective_on: dt.date,
    at: dt.datetime | None = None,
    note: str = "",
) -> Decision:
    """Tạm dừng hưởng (Law 38/2013 Art. 53 cl. 1; Decree 28/2015 Art. 20)."""
    return _status_decision(
        claim,
        DecisionKind.SUSPEND,
        "suspend",
        sig,
        actor=actor,
        reason=reason,
        effective_on=effective_on,
        allowed=list(SuspendReason.values),
        title_vi="Tạm dừng hưởng",
        at=at,
        note=note,
    )


def resume(
    claim: Claim | int | str,
    sig: Signature,
    *,
    actor: Any,
    effective_on: dt.date,
    reason: str = "job_search_report_made",
    at: dt.datetime | None = None,
) -> Decision:
    """Tiếp tục hưởng (Decree 28/2015 Art. 20 cl. 2)."""
    return _status_decision(
        claim,
        DecisionKind.RESUME,
        "activate",
        sig,
        actor=actor,
        reason=reason,
        effective_on=effective_on,
        allowed=["job_search_report_made", "other"],
        title_vi="Tiếp tục hưởng",
        at=at,
    )


def terminate(
    claim: Claim | int | str,
    sig: Signature,
    *,
    actor: Any,
    reason: str,
    effective_on: dt.date,
    at: dt.datetime | None = None,
    note: str = "",
) -> Decision:
    """Chấm dứt hưởng (Law 38/2013 Art. 53 cl. 1; Law 74/2025 Art. 41)."""
    return _status_decision(
        claim,
        DecisionKind.TERMINATE,
        "terminate",
        sig,
        actor=actor,
        reason=reason,
        effective_on=effective_on,
        allowed=list(TerminateReason.values),
        title_vi="Chấm dứt hưởng",
        at=at,
        note=note,
    )


def withdraw(
    claim: Claim | int | str, *, actor: Any, note: str, at: dt.datetime | None = None
) -> Claim:
    """Rút hồ sơ at the applicant's request, before a decision."""
    if not note.strip():
        raise DomainError("note_required", "note", "Cần ghi rõ lý do.", "A reason is needed.")
    with transaction.atomic():
        claim = _load(claim)
        _check(actor, claim)
        when = _now(at)
        _move(claim, "withdraw", action="withdraw", actor=actor, when=when, note=note)
        d = claim.dossier
        d.refresh_from_db()
        if d.is_open:
            onestop.withdraw(d.pk, actor=actor, expected_version=d.version, note=note, at=when)
        return claim


# --- the benefit period: start, reports, end ---------------------------------------------------


def report_due(start: dt.date, month_no: int) -> dt.date:
    """Month n's report is due within the window after the n-th monthly start day (the window
    is ``UNEMPLOYMENT_REPORT_WINDOW_DAYS`` working days: an assumption, see the docs)."""
    first = entitlement.add_months(start, month_no - 1)
    return add_working_days(first - dt.timedelta(days=1), settings.UNEMPLOYMENT_REPORT_WINDOW_DAYS)


def _schedule_reports(claim: Claim, start: dt.date, months: int) -> None:
    # Month 1's report is the claim itself (Decree 28/2015 Art. 22): schedule months 2…n.
    JobSearchReport.objects.bulk_create(
        [
            JobSearchReport(claim=claim, month_no=n, due_on=report_due(start, n))
            for n in range(2, months + 1)
        ],
        ignore_conflicts=True,
    )


def report_job_search(
    claim: Claim | int | str, *, month_no: int, received_on: dt.date, actor: Any, note: str = ""
) -> JobSearchReport:
    """Thông báo tìm kiếm việc làm received for month ``month_no`` (once per month)."""
    with transaction.atomic():
        claim = _load(claim)
        _check(actor, claim)
        if claim.state not in (ClaimState.DECIDED, ClaimState.ACTIVE, ClaimState.SUSPENDED):
            raise _illegal(claim, "report")
        report = JobSearchReport.objects.filter(claim=claim, month_no=month_no).first()
        if report is None:
            raise NotFound(
                "unknown_report_month",
                "month_no",
                "Không có tháng báo cáo này.",
                "No report is scheduled for this month.",
            )
        if report.received_on is not None:
            raise Conflict(
                "report_already_received",
                "month_no",
                "Tháng này đã thông báo.",
                "This month's report was already received.",
            )
        if received_on > _today(timezone.now()):
            raise DomainError(
                "received_in_future",
                "received_on",
                "Ngày nhận ở tương lai.",
                "The date is in the future.",
            )
        report.received_on = received_on
        report.late = received_on > report.due_on
        report.note = note[:300]
        report.actor = actor
        report.save(update_fields=["received_on", "late", "note", "actor"])
        _event(
            claim,
            "job_search_report",
            timezone.now(),
            actor,
            detail={"month_no": month_no, "late": report.late},
        )
        return report


def _auto_sig(claim: Claim, kind: str, day: dt.date) -> Signature:
    """Number and signer of a decision the system prepares (the signer is the profile's)."""
    prof = profile_of(claim.office)
    n = claim.decisions.count() + 1
    return Signature(
        number=f"{claim.code}/{kind.upper()}-{n}",
        signed_on=day,
        signer_name=prof.signer_name or "(chờ ký)",
        signer_title=prof.signer_title,
    )


def check_reports(today: dt.date | None = None) -> int:
    """Missed monthly reports suspend the benefit; three in a row end it (Law 38/2013 Art. 53
    cl. 1; Decree 28/2015 Art. 20, 21). Returns the number of decisions made."""
    today = today or timezone.localdate()
    made = 0
    missed = JobSearchReport.objects.filter(
        received_on__isnull=True,
        due_on__lt=today,
        claim__state__in=(ClaimState.ACTIVE, ClaimState.DECIDED),
    ).values_list("claim_id", flat=True)
    for claim_id in sorted(set(missed)):
        claim = Claim.objects.get(pk=claim_id)
        rules = selectors.law_rules(claim.termination_date)
        late = claim.reports.filter(received_on__isnull=True, due_on__lt=today).count()
        if late >= rules.report_missed_terminate:
            terminate(
                claim,
                _auto_sig(claim, "terminate", today),
                actor=None,
                reason=TerminateReason.REPORTS_MISSED,
                effective_on=today,
            )
        else:
            suspend(
                claim,
                _auto_sig(claim, "suspend", today),
                actor=None,
                reason=SuspendReason.REPORT_MISSED,
                effective_on=today,
            )
        made += 1
    return made


def advance_claims(today: dt.date | None = None) -> int:
    """Decided claims become active on their start day; active ones complete after their end."""
    today = today or timezone.localdate()
    moved = 0
    for claim in Claim.objects.filter(state__in=(ClaimState.DECIDED, ClaimState.ACTIVE)):
        grant = claim.decisions.filter(kind=DecisionKind.GRANT).first()
        if grant is None:
            continue
        end = dt.date.fromisoformat(grant.content["end"])
        with transaction.atomic():
            c = _load(claim.pk)
            when = timezone.now()
            if c.state == ClaimState.DECIDED and grant.effective_on <= today:
                _move(c, "activate", action="start", actor=None, when=when)
                moved += 1
            if c.state == ClaimState.ACTIVE and end < today:
                _move(c, "complete", action="complete", actor=None, when=when)
                moved += 1
    return moved


# --- re-employment feed and cases --------------------------------------------------------------


def poll_reemployment(*, now: dt.datetime | None = None) -> int:
    """Read the insurance side's ``reemploymentFeed`` from our cursor and flag the claims
    (an officer confirms and terminates with reason ``new_employment``)."""
    if xselectors.find_peer(MemberId.parse(settings.UNEMPLOYMENT_INSURANCE_PEER)) is None:
        return 0  # not paired with an insurance agency (e.g. the insurance side itself)
    if transaction.get_connection().in_atomic_block:
        raise RuntimeError("poll_reemployment must run outside a transaction")
    peer = insurance_peer()
    cursor, _ = FeedCursor.objects.get_or_create(peer=settings.UNEMPLOYMENT_INSURANCE_PEER)
    flagged = 0
    while True:
        _row, result = outbox.call_now(peer, "reemploymentFeed", {"after": cursor.last})
        if not result.ok:
            return flagged
        data = result.json() or {}
        events = data.get("events") or []
        with transaction.atomic():
            for ev in events:
                grant = (
                    Decision.objects.filter(
                        number=ev.get("decision_no", ""), kind=DecisionKind.GRANT
                    )
                    .select_related("claim")
                    .first()
                )
                if grant is None or grant.claim.personal_id != ev.get("personal_id"):
                    continue
                claim = grant.claim
                if claim.state in (ClaimState.DECIDED, ClaimState.ACTIVE, ClaimState.SUSPENDED):
                    Claim.objects.filter(pk=claim.pk).update(reemployment=ev)
                    _event(
                        claim,
                        "reemployment_reported",
                        now or timezone.now(),
                        None,
                        detail={"seq": ev.get("seq"), "kind": ev.get("kind")},
                    )
                    flagged += 1
            cursor.last = int(data.get("last") or cursor.last)
            cursor.polled_at = now or timezone.now()
            cursor.save(update_fields=["last", "polled_at"])
        if len(events) < 500:
            return flagged


def confirm_reemployment(
    claim: Claim | int | str,
    sig: Signature,
    *,
    actor: Any,
    effective_on: dt.date | None = None,
    at: dt.datetime | None = None,
) -> Decision:
    """The officer confirms a flagged re-employment: terminate with ``new_employment``."""
    c = _load(claim, lock=False)
    ev = c.reemployment or {}
    if not ev:
        raise DomainError(
            "no_reemployment_flag",
            "claim",
            "Không có thông tin có việc làm.",
            "No re-employment was reported for this claim.",
            status=409,
        )
    day = effective_on
    if day is None:
        start = ev.get("start") or (ev.get("period") and ev["period"] + "-01")
        day = dt.date.fromisoformat(start) if start else _today(timezone.now())
    return terminate(
        c,
        sig,
        actor=actor,
        reason=TerminateReason.NEW_EMPLOYMENT,
        effective_on=day,
        at=at,
        note=f"feed seq {ev.get('seq')}",
    )


def record_case(data: Any, *, client: str, message_id: str) -> dict[str, Any]:
    """``benefitCase``: store or update a case; idempotent per case_no + status."""
    if not isinstance(data, dict) or not data.get("case_no"):
        raise DomainError("case_no_required", "case_no", "Thiếu số vụ việc.", "case_no missing.")
    status = data.get("status")
    if status not in ("open", "resolved"):
        raise DomainError(
            "status_invalid",
            "status",
            "Trạng thái không hợp lệ.",
            "status must be open or resolved.",
        )
    grant = Decision.objects.filter(number=data.get("decision_no", ""), kind="grant").first()

    def _dt(name: str) -> dt.datetime | None:
        v = data.get(name)
        return dt.datetime.fromisoformat(v) if v else None

    fields = {
        "decision_no": str(data.get("decision_no", ""))[:60],
        "personal_id": str(data.get("personal_id", ""))[:12],
        "kind": str(data.get("kind", ""))[:30],
        "status": status,
        "payments_held": bool(data.get("payments_held")),
        "evidence": data.get("evidence") or {},
        "opened_at": _dt("opened_at"),
        "resolved_at": _dt("resolved_at"),
        "resolution": str(data.get("resolution") or ""),
        "claim": grant.claim if grant else None,
        "client": client,
        "message_id": message_id,
        "received_at": timezone.now(),
    }
    case = CaseNotice.objects.filter(case_no=data["case_no"]).first()
    if case is not None and case.status == status:
        return {"case_no": case.case_no, "status": "recorded"}  # a repeat: nothing applied
    if case is None:
        case = CaseNotice.objects.create(case_no=data["case_no"], **fields)
    else:
        for k, v in fields.items():
            setattr(case, k, v)
        case.save()
    if case.claim_id:
        _event(
            case.claim,
            f"case_{status}",
            timezone.now(),
            None,
            detail={"case_no": case.case_no, "kind": case.kind},
        )
    return {"case_no": case.case_no, "status": "recorded"}
