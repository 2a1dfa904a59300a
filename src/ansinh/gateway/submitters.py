"""Writes about who may submit: I-VAN providers (tổ chức I-VAN) and their contracts, employers'
registrations for e-transactions (đăng ký giao dịch điện tử, form 01/ĐK-GD equivalent), and the
availability probes of the I-VANs' health URLs.

Decree 166/2016/NĐ-CP Art. 11: an I-VAN forwards an employer's dossier to the agency within
2 hours of receiving it and is available 24/7; the agency may suspend or end its contract. The
intake asks :func:`ivan_may_submit` (or :func:`check_ivan_may_submit` for the precise error)
before accepting anything an I-VAN sends: a suspended I-VAN, or one whose contract has not
started or has ended, is refused.

Every write validates all fields first, then writes inside one transaction and leaves an audit
event (codes and ids only — a status reason is kept on the row, not in the audit log).
"""

from __future__ import annotations

import datetime as dt
import logging
import re
import time
import urllib.error
import urllib.request
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import Any

from django.core.exceptions import ValidationError
from django.core.validators import URLValidator, validate_email
from django.db import transaction
from django.utils import timezone

from ansinh.access.models import AuditAction, Organisation, OrganisationKind
from ansinh.access.services import audit, create_organisation
from ansinh.core.errors import Conflict, DomainError, ErrorCollector, Forbidden
from ansinh.gateway.models import (
    Channel,
    EtransRegistration,
    IvanProbe,
    IvanProvider,
    IvanStatus,
)
from ansinh.registry.models import Employer

log = logging.getLogger(__name__)

_CODE = re.compile(r"^[A-Z0-9][A-Z0-9_-]{1,14}$")
_TAX_CODE = re.compile(r"^\d{10}(-?\d{3})?$")
_PHONE = re.compile(r"^(\+84|0)\d{8,10}$")
#: Seconds a health probe may take before the I-VAN counts as down for that probe.
PROBE_TIMEOUT = 5.0
#: Probes running at once (an I-VAN that hangs must not delay the others by its timeout).
PROBE_WORKERS = 8
PROBE_USER_AGENT = "ansinh-gateway-probe/1"
IVAN_FIELDS = (
    "name",
    "tax_code",
    "contract_number",
    "contract_start",
    "contract_end",
    "contact_email",
    "health_url",
)


# --- validation helpers --------------------------------------------------------------------------


def _today() -> dt.date:
    return timezone.localdate()


def _check_ivan_fields(errs: ErrorCollector, values: dict[str, Any]) -> dict[str, Any]:
    """Cleaned values of the I-VAN fields present in ``values``; problems go to ``errs``."""
    clean: dict[str, Any] = {}
    if "name" in values:
        name = " ".join(str(values["name"] or "").split())
        if not name or len(name) > 200:
            errs.add(
                "name_required",
                "name",
                "Tên tổ chức I-VAN là bắt buộc (tối đa 200 ký tự).",
                "The I-VAN's name is required (at most 200 characters).",
            )
        clean["name"] = name
    if "tax_code" in values:
        tax = str(values["tax_code"] or "").strip()
        if tax and not _TAX_CODE.match(tax):
            errs.add(
                "tax_code_format",
                "tax_code",
                "Mã số thuế gồm 10 chữ số (13 chữ số với chi nhánh).",
                "A tax code has 10 digits (13 for a branch).",
            )
        clean["tax_code"] = tax
    if "contract_number" in values:
        number = str(values["contract_number"] or "").strip()
        if len(number) > 60:
            errs.add(
                "contract_number_too_long",
                "contract_number",
                "Số hợp đồng tối đa 60 ký tự.",
                "The contract number has at most 60 characters.",
            )
        clean["contract_number"] = number
    for key in ("contract_start", "contract_end"):
        if key in values:
            day = values[key]
            if day is not None and (not isinstance(day, dt.date) or isinstance(day, dt.datetime)):
                errs.add(
                    "invalid_date",
                    key,
                    "Ngày không hợp lệ.",
                    "Not a valid date.",
                )
                day = None
            clean[key] = day
    if "contract_start" in clean and clean["contract_start"] is None:
        errs.add(
            "contract_start_required",
            "contract_start",
            "Ngày bắt đầu hợp đồng là bắt buộc.",
            "The contract's start date is required.",
        )
    if "contact_email" in values:
        email = str(values["contact_email"] or "").strip()
        if email:
            try:
                validate_email(email)
            except ValidationError:
                errs.add(
                    "email_invalid",
                    "contact_email",
                    "Địa chỉ thư điện tử không hợp lệ.",
                    "Not a valid e-mail address.",
                )
        clean["contact_email"] = email
    if "health_url" in values:
        url = str(values["health_url"] or "").strip()
        if url:
            try:
                URLValidator(schemes=["http", "https"])(url)
                if len(url) > 500:
                    raise ValidationError("too long")
            except ValidationError:
                errs.add(
                    "health_url_invalid",
                    "health_url",
                    "Địa chỉ kiểm tra hoạt động phải là URL http(s) hợp lệ (tối đa 500 ký tự).",
                    "The health URL must be a valid http(s) URL (at most 500 characters).",
                )
        clean["health_url"] = url
    return clean


def _check_contract_dates(errs: ErrorCollector, start: dt.date | None, end: dt.date | None) -> None:
    if start is not None and end is not None and end < start:
        errs.add(
            "contract_end_before_start",
            "contract_end",
            "Ngày kết thúc hợp đồng trước ngày bắt đầu.",
            "The contract ends before it starts.",
        )


def _reason(errs: ErrorCollector, reason: str) -> str:
    text = " ".join((reason or "").split())
    if not text:
        errs.add(
            "reason_required",
            "reason",
            "Phải nêu lý do.",
            "A reason is required.",
        )
    elif len(text) > 300:
        errs.add(
            "reason_too_long",
            "reason",
            "Lý do tối đa 300 ký tự.",
            "The reason has at most 300 characters.",
        )
    return text


def _not_future(errs: ErrorCollector, day: dt.date, field: str) -> None:
    if day > _today():
        errs.add(
            "date_in_future",
            field,
            "Ngày này chưa đến.",
            "This date is in the future.",
        )


def _ivan_audit(ivan: IvanProvider, action: str, actor: Any, **detail: Any) -> None:
    audit(
        actor=actor,
        action=action,
        object_type="ivan",
        object_id=str(ivan.pk),
        detail={"code": ivan.code, **detail},
    )


# --- I-VAN providers -----------------------------------------------------------------------------


def validate_ivan(
    values: dict[str, Any],
    *,
    ivan: IvanProvider | None = None,
    code: str | None = None,
    organisation: Organisation | None = None,
) -> dict[str, Any]:
    """Check the I-VAN fields given (all problems at once, ``DomainError``) and return them
    cleaned. ``ivan`` None: a new I-VAN (``code`` and ``contract_start`` required); else the
    fields are changes to that I-VAN and the contract dates are checked against its others.
    The services call it first; forms (the admin) call it to show the errors on the fields."""
    errs = ErrorCollector()
    clean = _check_ivan_fields(errs, values)
    if ivan is None:
        code = (code or "").strip().upper()
        if not _CODE.match(code):
            errs.add(
                "code_format",
                "code",
                "Mã I-VAN gồm 2–15 chữ in hoa, chữ số, '-' hoặc '_'.",
                "An I-VAN code has 2–15 upper-case letters, digits, '-' or '_'.",
            )
        clean["code"] = code
        if "contract_start" not in clean:
            errs.add(
                "contract_start_required",
                "contract_start",
                "Ngày bắt đầu hợp đồng là bắt buộc.",
                "The contract's start date is required.",
            )
        if "name" not in clean:
            _check_ivan_fields(errs, {"name": ""})
        if organisation is not None:
            if organisation.kind != OrganisationKind.IVAN_PROVIDER:
                errs.add(
                    "organisation_kind",
                    "organisation",
                    "Đơn vị truy cập phải thuộc loại tổ chức I-VAN.",
                    "The access organisation must be of the I-VAN kind.",
                )
            elif IvanProvider.objects.filter(organisation=organisation).exists():
                errs.add(
                    "organisation_taken",
                    "organisation",
                    "Đơn vị truy cập này đã gắn với một tổ chức I-VAN khác.",
                    "This access organisation already belongs to another I-VAN.",
                )
        start, end = clean.get("contract_start"), clean.get("contract_end")
    else:
        start = clean.get("contract_start", ivan.contract_start)
        end = clean["contract_end"] if "contract_end" in clean else ivan.contract_end
    _check_contract_dates(errs, start, end)
    errs.raise_if_any()
    return clean


@transaction.atomic
def create_ivan(
    *,
    code: str,
    name: str,
    contract_start: dt.date,
    contract_end: dt.date | None = None,
    contract_number: str = "",
    tax_code: str = "",
    contact_email: str = "",
    health_url: str = "",
    organisation: Organisation | None = None,
    actor: Any = None,
) -> IvanProvider:
    """Register an I-VAN provider under its contract with the agency. Its access organisation
    (kind ``ivan``, code ``IVAN-<code>``, no administrative scope) is created too, unless an
    existing one of that kind is given; its staff and machines sign in as users of it."""
    clean = validate_ivan(
        {
            "name": name,
            "tax_code": tax_code,
            "contract_number": contract_number,
            "contract_start": contract_start,
            "contract_end": contract_end,
            "contact_email": contact_email,
            "health_url": health_url,
        },
        code=code,
        organisation=organisation,
    )
    code = clean.pop("code")
    if IvanProvider.objects.filter(code=code).exists():
        raise Conflict(
            "ivan_code_taken",
            "code",
            f"Mã I-VAN {code} đã được dùng.",
            f"The I-VAN code {code} is already used.",
        )
    if organisation is None:
        organisation = create_organisation(
            code=f"IVAN-{code}",
            name=clean["name"],
            kind=OrganisationKind.IVAN_PROVIDER,
            actor=actor,
        )
    status = IvanStatus.ACTIVE
    if clean["contract_end"] is not None and clean["contract_end"] < _today():
        status = IvanStatus.ENDED
    ivan = IvanProvider.objects.create(code=code, organisation=organisation, status=status, **clean)
    _ivan_audit(ivan, AuditAction.CREATE, actor)
    return ivan


@transaction.atomic
def update_ivan(ivan: IvanProvider, *, actor: Any = None, **fields: Any) -> IvanProvider:
    """Change the I-VAN's details or contract (name, tax_code, contract_number, contract_start,
    contract_end, contact_email, health_url). The status changes only through
    :func:`suspend_ivan`, :func:`reactivate_ivan` and :func:`end_contract`, with a reason."""
    unknown = sorted(set(fields) - set(IVAN_FIELDS))
    if unknown:
        raise DomainError(
            "field_not_updatable",
            unknown[0],
            f"Không sửa được trường {unknown[0]} ở đây.",
            f"The field {unknown[0]} cannot be changed here.",
        )
    ivan = IvanProvider.objects.select_for_update().get(pk=ivan.pk)
    clean = validate_ivan(fields, ivan=ivan)
    changed = [k for k, v in clean.items() if getattr(ivan, k) != v]
    for key in changed:
        setattr(ivan, key, clean[key])
    if changed:
        ivan.save(update_fields=changed)
        if "name" in changed and ivan.organisation.name != ivan.name:
            ivan.organisation.name = ivan.name
            ivan.organisation.save(update_fields=["name"])
        _ivan_audit(ivan, AuditAction.UPDATE, actor, fields=changed)
    return ivan


#: Status changes: suspend (tạm dừng), reactivate (cho hoạt động lại), end (chấm dứt hợp đồng).
STATUS_ACTIONS = ("suspend", "reactivate", "end")


def validate_status_change(
    ivan: IvanProvider,
    action: str,
    *,
    reason: str,
    on: dt.date | None = None,
    contract_start: dt.date | None = None,
    contract_end: dt.date | None = None,
    contract_number: str | None = None,
) -> dict[str, Any]:
    """Check a status change of ``ivan`` (all problems at once, ``DomainError``); returns the
    cleaned reason (``reason``) and the contract fields to write. See the three services."""
    errs = ErrorCollector()
    out: dict[str, Any] = {"reason": _reason(errs, reason)}
    if action not in STATUS_ACTIONS:
        errs.add(
            "status_action_invalid", "action", "Thao tác không hợp lệ.", "Unknown status change."
        )
    elif action == "suspend":
        if ivan.status != IvanStatus.ACTIVE:
            errs.add(
                "ivan_not_active",
                "status",
                "Chỉ tạm dừng được tổ chức I-VAN đang hoạt động.",
                "Only an active I-VAN can be suspended.",
            )
    elif action == "reactivate":
        _reactivation_errors(errs, ivan, out, contract_start, contract_end, contract_number)
    else:
        if ivan.status == IvanStatus.ENDED:
            errs.add(
                "contract_already_ended",
                "status",
                "Hợp đồng đã chấm dứt.",
                "The contract has already ended.",
            )
        if not isinstance(on, dt.date) or isinstance(on, dt.datetime):
            errs.add("invalid_date", "on", "Ngày không hợp lệ.", "Not a valid date.")
        elif on < ivan.contract_start:
            errs.add(
                "contract_end_before_start",
                "on",
                "Ngày kết thúc hợp đồng trước ngày bắt đầu.",
                "The contract ends before it starts.",
            )
        else:
            out["contract_end"] = on
    errs.raise_if_any()
    return out


def _reactivation_errors(
    errs: ErrorCollector,
    ivan: IvanProvider,
    out: dict[str, Any],
    contract_start: dt.date | None,
    contract_end: dt.date | None,
    contract_number: str | None,
) -> None:
    if ivan.status == IvanStatus.ACTIVE:
        errs.add(
            "ivan_already_active",
            "status",
            "Tổ chức I-VAN đang hoạt động.",
            "The I-VAN is already active.",
        )
        return
    new_contract = ivan.status == IvanStatus.ENDED or contract_start is not None
    if new_contract:
        values: dict[str, Any] = {"contract_start": contract_start, "contract_end": contract_end}
        if contract_number is not None:
            values["contract_number"] = contract_number
        fields = _check_ivan_fields(errs, values)
        start = fields.get("contract_start")  # None: contract_start_required was added
        _check_contract_dates(errs, start, fields.get("contract_end"))
        if start is not None and ivan.contract_end is not None and start <= ivan.contract_end:
            errs.add(
                "contract_start_overlaps",
                "contract_start",
                "Hợp đồng mới phải bắt đầu sau ngày kết thúc hợp đồng cũ.",
                "The new contract must start after the old one ended.",
            )
        out.update(fields)
    elif ivan.contract_end is not None and ivan.contract_end < _today():
        errs.add(
            "contract_ended",
            "contract_end",
            "Hợp đồng đã hết hạn: cần ngày hợp đồng mới.",
            "The contract has ended: the new contract's dates are required.",
        )


def _set_status(ivan: IvanProvider, status: str, reason: str, actor: Any, **extra: Any) -> None:
    previous = ivan.status
    ivan.status = status
    ivan.status_reason = reason
    for key, value in extra.items():
        setattr(ivan, key, value)
    ivan.save(update_fields=["status", "status_reason", *extra])
    _ivan_audit(ivan, AuditAction.UPDATE, actor, status_from=previous, status_to=status)


@transaction.atomic
def suspend_ivan(ivan: IvanProvider, *, reason: str, actor: Any = None) -> IvanProvider:
    """Tạm dừng: the I-VAN may submit nothing until reactivated (e.g. it broke the 2-hour rule
    or its availability duty). Its earlier dossiers keep going through processing."""
    ivan = IvanProvider.objects.select_for_update().get(pk=ivan.pk)
    clean = validate_status_change(ivan, "suspend", reason=reason)
    _set_status(ivan, IvanStatus.SUSPENDED, clean["reason"], actor)
    return ivan


@transaction.atomic
def reactivate_ivan(
    ivan: IvanProvider,
    *,
    reason: str,
    actor: Any = None,
    contract_start: dt.date | None = None,
    contract_end: dt.date | None = None,
    contract_number: str | None = None,
) -> IvanProvider:
    """Cho hoạt động lại: a suspended I-VAN resumes under its contract. An I-VAN whose contract
    ended resumes only under a new contract: ``contract_start`` (after the old end) is then
    required, and the new dates and number replace the old ones."""
    ivan = IvanProvider.objects.select_for_update().get(pk=ivan.pk)
    clean = validate_status_change(
        ivan,
        "reactivate",
        reason=reason,
        contract_start=contract_start,
        contract_end=contract_end,
        contract_number=contract_number,
    )
    text = clean.pop("reason")
    _set_status(ivan, IvanStatus.ACTIVE, text, actor, **clean)
    return ivan


@transaction.atomic
def end_contract(
    ivan: IvanProvider, *, on: dt.date, reason: str, actor: Any = None
) -> IvanProvider:
    """Chấm dứt hợp đồng: ``on`` is the contract's last day. A past day ends the I-VAN now
    (status ``ended``); today or a future day is recorded and :func:`ivan_may_submit` refuses
    from the day after."""
    ivan = IvanProvider.objects.select_for_update().get(pk=ivan.pk)
    clean = validate_status_change(ivan, "end", reason=reason, on=on)
    status = IvanStatus.ENDED if on < _today() else ivan.status
    _set_status(ivan, status, clean["reason"], actor, contract_end=on)
    return ivan


@transaction.atomic
def expire_contracts(today: dt.date | None = None) -> list[str]:
    """Mark ``ended`` every I-VAN whose recorded contract end has passed (an end set ahead by
    :func:`end_contract`), so the pages show what the intake already enforces. Returns the
    codes changed; run daily by the worker."""
    today = today or _today()
    due = list(
        IvanProvider.objects.select_for_update()
        .exclude(status=IvanStatus.ENDED)
        .filter(contract_end__lt=today)
    )
    for ivan in due:
        _set_status(ivan, IvanStatus.ENDED, ivan.status_reason, None)
    return [ivan.code for ivan in due]


def _refusal(ivan: IvanProvider, at: dt.datetime) -> Forbidden | None:
    day = timezone.localtime(at).date()
    if ivan.status == IvanStatus.SUSPENDED:
        return Forbidden(
            "ivan_suspended",
            "ivan",
            f"Tổ chức I-VAN {ivan.code} đang bị tạm dừng giao dịch.",
            f"The I-VAN {ivan.code} is suspended.",
        )
    if ivan.status == IvanStatus.ENDED or (
        ivan.contract_end is not None and day > ivan.contract_end
    ):
        return Forbidden(
            "ivan_contract_ended",
            "ivan",
            f"Hợp đồng của tổ chức I-VAN {ivan.code} đã chấm dứt.",
            f"The contract of the I-VAN {ivan.code} has ended.",
        )
    if day < ivan.contract_start:
        return Forbidden(
            "ivan_contract_not_started",
            "ivan",
            f"Hợp đồng của tổ chức I-VAN {ivan.code} chưa có hiệu lực.",
            f"The contract of the I-VAN {ivan.code} is not yet in force.",
        )
    return None


def ivan_may_submit(ivan: IvanProvider, at: dt.datetime) -> bool:
    """True when the I-VAN may submit at ``at``: active, and ``at`` (local date) within its
    contract."""
    return _refusal(ivan, at) is None


def check_ivan_may_submit(ivan: IvanProvider, at: dt.datetime) -> None:
    """As :func:`ivan_may_submit`, raising ``Forbidden`` (403) with the precise code:
    ``ivan_suspended``, ``ivan_contract_ended`` or ``ivan_contract_not_started``."""
    refusal = _refusal(ivan, at)
    if refusal is not None:
        raise refusal


# --- employers' e-transaction registrations -------------------------------------------------------


def _check_contact(errs: ErrorCollector, name: str, email: str, phone: str) -> tuple[str, str, str]:
    name = " ".join((name or "").split())
    if len(name) > 120:
        errs.add(
            "contact_name_too_long",
            "contact_name",
            "Tên người liên hệ tối đa 120 ký tự.",
            "The contact's name has at most 120 characters.",
        )
    email = (email or "").strip()
    if email:
        try:
            validate_email(email)
        except ValidationError:
            errs.add(
                "email_invalid",
                "email",
                "Địa chỉ thư điện tử không hợp lệ.",
                "Not a valid e-mail address.",
            )
    phone = re.sub(r"[\s.()-]", "", phone or "")
    if phone and not _PHONE.match(phone):
        errs.add(
            "phone_invalid",
            "phone",
            "Số điện thoại không hợp lệ (0xxxxxxxxx hoặc +84xxxxxxxxx).",
            "Not a valid phone number (0xxxxxxxxx or +84xxxxxxxxx).",
        )
    if not email and not phone:
        errs.add(
            "contact_required",
            "email",
            "Cần ít nhất một địa chỉ thư điện tử hoặc số điện thoại để nhận thông báo.",
            "At least an e-mail address or a phone number is needed for notices.",
        )
    return name, email, phone


def validate_registration(
    *,
    employer: Any,
    channel: str,
    registered_on: Any,
    ivan: IvanProvider | None = None,
    contact_name: str = "",
    email: str = "",
    phone: str = "",
) -> dict[str, Any]:
    """Check a registration (all problems at once, ``DomainError``) and return the cleaned
    contact fields; the registration day must not precede that of the one in force."""
    errs = ErrorCollector()
    if channel not in Channel.values:
        errs.add(
            "channel_invalid",
            "channel",
            "Phương thức giao dịch không hợp lệ.",
            "Unknown transaction channel.",
        )
    day_ok = isinstance(registered_on, dt.date) and not isinstance(registered_on, dt.datetime)
    if channel == Channel.IVAN:
        if ivan is None:
            errs.add(
                "ivan_required",
                "ivan",
                "Giao dịch qua I-VAN phải nêu tổ chức I-VAN.",
                "The channel 'through an I-VAN' needs the I-VAN.",
            )
        elif day_ok and not ivan_may_submit(ivan, _noon(registered_on)):
            errs.add(
                "ivan_not_available",
                "ivan",
                f"Tổ chức I-VAN {ivan.code} không được phép giao dịch vào ngày đăng ký.",
                f"The I-VAN {ivan.code} may not transact on the registration day.",
            )
    elif ivan is not None:
        errs.add(
            "ivan_not_expected",
            "ivan",
            "Chỉ nêu tổ chức I-VAN khi giao dịch qua I-VAN.",
            "Name an I-VAN only for the channel 'through an I-VAN'.",
        )
    if not day_ok:
        errs.add("invalid_date", "registered_on", "Ngày không hợp lệ.", "Not a valid date.")
    else:
        _not_future(errs, registered_on, "registered_on")
    if not isinstance(employer, Employer):
        errs.add("employer_required", "employer", "Phải nêu đơn vị.", "The employer is required.")
    elif not employer.active:
        errs.add(
            "employer_inactive",
            "employer",
            "Đơn vị đã ngừng hoạt động.",
            "The employer is no longer active.",
        )
    elif day_ok:
        current = EtransRegistration.objects.filter(employer=employer, ended_on__isnull=True)
        if current.filter(registered_on__gt=registered_on).exists():
            errs.add(
                "registration_before_current",
                "registered_on",
                "Ngày đăng ký trước ngày của đăng ký đang có hiệu lực.",
                "The registration day is before that of the registration in force.",
            )
    contact_name, email, phone = _check_contact(errs, contact_name, email, phone)
    errs.raise_if_any()
    return {"contact_name": contact_name, "email": email, "phone": phone}


@transaction.atomic
def register_employer_etrans(
    *,
    employer: Employer,
    channel: str,
    registered_on: dt.date,
    ivan: IvanProvider | None = None,
    contact_name: str = "",
    email: str = "",
    phone: str = "",
    actor: Any = None,
) -> EtransRegistration:
    """Record an employer's registration for e-transactions (tờ khai đăng ký giao dịch điện tử,
    form 01/ĐK-GD equivalent): its channel (through an I-VAN, its own software, or our web
    form), the I-VAN it chose, and whom to notify (an e-mail address or a phone number). A
    previous open registration ends the day before (the same day when it started that day),
    so the history is kept."""
    if isinstance(employer, Employer):
        # Serialise registrations of one employer: the check below and the write agree.
        Employer.objects.select_for_update().filter(pk=employer.pk).first()
    contact = validate_registration(
        employer=employer,
        channel=channel,
        registered_on=registered_on,
        ivan=ivan,
        contact_name=contact_name,
        email=email,
        phone=phone,
    )
    previous = EtransRegistration.objects.filter(employer=employer, ended_on__isnull=True).first()
    if previous is not None:
        previous.ended_on = max(previous.registered_on, registered_on - dt.timedelta(days=1))
        previous.save(update_fields=["ended_on"])
    registration = EtransRegistration.objects.create(
        employer=employer,
        channel=channel,
        ivan=ivan if channel == Channel.IVAN else None,
        registered_on=registered_on,
        **contact,
    )
    audit(
        actor=actor,
        action=AuditAction.CREATE,
        object_type="etrans_registration",
        object_id=str(registration.pk),
        detail={
            "employer": employer.pk,
            "channel": channel,
            "ivan": ivan.code if ivan and channel == Channel.IVAN else "",
            "replaces": previous.pk if previous else None,
        },
    )
    return registration


def validate_end_registration(registration: EtransRegistration, *, on: Any) -> None:
    """Check that ``registration`` can end on ``on`` (``DomainError`` otherwise)."""
    errs = ErrorCollector()
    if registration.ended_on is not None:
        errs.add(
            "registration_already_ended",
            "ended_on",
            "Đăng ký đã chấm dứt.",
            "The registration has already ended.",
        )
    if not isinstance(on, dt.date) or isinstance(on, dt.datetime):
        errs.add("invalid_date", "on", "Ngày không hợp lệ.", "Not a valid date.")
    else:
        _not_future(errs, on, "on")
        if on < registration.registered_on:
            errs.add(
                "end_before_registration",
                "on",
                "Ngày chấm dứt trước ngày đăng ký.",
                "The end day is before the registration day.",
            )
    errs.raise_if_any()


@transaction.atomic
def end_registration(
    registration: EtransRegistration, *, on: dt.date, actor: Any = None
) -> EtransRegistration:
    """Chấm dứt đăng ký: ``on`` is the registration's last day (not in the future)."""
    registration = EtransRegistration.objects.select_for_update().get(pk=registration.pk)
    validate_end_registration(registration, on=on)
    registration.ended_on = on
    registration.save(update_fields=["ended_on"])
    audit(
        actor=actor,
        action=AuditAction.UPDATE,
        object_type="etrans_registration",
        object_id=str(registration.pk),
        detail={"ended_on": on.isoformat()},
    )
    return registration


def _noon(day: dt.date) -> dt.datetime:
    """Midday of a local day: the moment a whole-day check is made at."""
    return dt.datetime.combine(day, dt.time(12), tzinfo=timezone.get_current_timezone())


# --- availability probes -------------------------------------------------------------------------


@dataclass(frozen=True)
class ProbeResult:
    ok: bool
    status: int | None
    elapsed_ms: float


class _NoRedirect(urllib.request.HTTPRedirectHandler):
    """A health URL answers itself: a redirect is an answer (its status is recorded)."""

    def redirect_request(self, *args: Any, **kwargs: Any) -> None:
        return None


# No proxy from the environment: the probe goes straight to the I-VAN's own address.
_OPENER = urllib.request.build_opener(urllib.request.ProxyHandler({}), _NoRedirect())


def probe_url(url: str, *, timeout: float = PROBE_TIMEOUT) -> ProbeResult:
    """One GET of a health URL, with no query, cookie or body: nothing personal leaves us.
    Up means an HTTP 2xx answer within ``timeout`` seconds."""
    request = urllib.request.Request(  # noqa: S310 - scheme checked when the URL was stored
        url, method="GET", headers={"User-Agent": PROBE_USER_AGENT, "Accept": "*/*"}
    )
    started = time.perf_counter()
    status: int | None = None
    try:
        with _OPENER.open(request, timeout=timeout) as response:
            status = response.status
            response.read(4096)
    except urllib.error.HTTPError as exc:
        status = exc.code
    except (OSError, ValueError):
        status = None
    elapsed = (time.perf_counter() - started) * 1000
    return ProbeResult(
        ok=status is not None and 200 <= status < 300, status=status, elapsed_ms=elapsed
    )


def probe_ivans(
    now: dt.datetime | None = None, *, timeout: float = PROBE_TIMEOUT
) -> list[IvanProbe]:
    """Probe the health URL of every active I-VAN once and record an ``IvanProbe`` each (all
    stamped ``now``, the sweep's time), for the availability figures (the 24/7 duty of
    Decree 166/2016). Run every 5 minutes by the worker. I-VANs without a health URL are
    skipped; the probes run side by side so one hanging I-VAN costs at most ``timeout``."""
    now = now or timezone.now()
    ivans: Sequence[IvanProvider] = list(
        IvanProvider.objects.filter(status=IvanStatus.ACTIVE).exclude(health_url="")
    )
    if not ivans:
        return []
    with ThreadPoolExecutor(max_workers=min(PROBE_WORKERS, len(ivans))) as pool:
        results = list(pool.map(lambda i: probe_url(i.health_url, timeout=timeout), ivans))
    probes = IvanProbe.objects.bulk_create(
        [
            IvanProbe(
                ivan=ivan, at=now, ok=r.ok, status=r.status, elapsed_ms=round(r.elapsed_ms, 1)
            )
            for ivan, r in zip(ivans, results, strict=True)
        ]
    )
    down = [ivan.code for ivan, r in zip(ivans, results, strict=True) if not r.ok]
    if down:
        log.warning("I-VAN health probe failed: %s", ", ".join(down))
    return probes
