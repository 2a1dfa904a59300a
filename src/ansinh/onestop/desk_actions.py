"""One entry point for the desk's actions on a dossier, shared by the dossier page and the API:
an action name and its fields become the matching call of ``onestop.services`` (which check
the version, the lifecycle graph and the actor, and write). Nothing here writes by itself."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any

from django.utils import timezone

from ansinh.access.models import User
from ansinh.core.errors import DomainError
from ansinh.onestop import services
from ansinh.onestop.models import ApologySlip, Dossier, Office
from ansinh.onestop.selectors import ACTION_NAMES


@dataclass(frozen=True)
class ActionInput:
    """What an officer asks for: the action, the version they saw, and the action's fields."""

    action: str
    version: int
    note: str = ""
    reason: str = ""
    to_department: str = ""
    to_office: Office | None = None
    to_assignee: Any = None
    new_due_at: dt.datetime | None = None
    delivered_via: str = "counter"


def unknown_action(action: str) -> DomainError:
    return DomainError(
        "unknown_action",
        "action",
        f"Thao tác không hợp lệ: {action[:40]}.",
        f"Unknown action: {action[:40]}.",
    )


def officer_by(key: str | int | None, field: str = "to_assignee") -> User | None:
    """The officer chosen in a form (primary key) or named in the API (username)."""
    if key in (None, ""):
        return None
    qs = User.objects.filter(is_active=True)
    text = str(key)
    found = qs.filter(pk=int(text)).first() if text.isdigit() and len(text) < 10 else None
    found = found or qs.filter(username=text[:150]).first()
    if found is None:
        raise DomainError("unknown_officer", field, "Không tìm thấy cán bộ.", "No such officer.")
    return found


def office_by(key: str | int | None, field: str = "to_office") -> Office | None:
    """The office chosen in a form (primary key) or named in the API (agency code)."""
    if key in (None, ""):
        return None
    text = str(key)
    found = (
        Office.objects.filter(pk=int(text)).first() if text.isdigit() and len(text) < 10 else None
    )
    found = found or Office.objects.filter(agency_code=text[:13]).first()
    if found is None:
        raise DomainError("unknown_office", field, "Không tìm thấy đơn vị.", "No such office.")
    return found


def closing_on(office: Office, day: dt.date) -> dt.datetime:
    """A date chosen on a form as the office's closing time that day (an appointment)."""
    return timezone.make_aware(dt.datetime.combine(day, office.closes))


def perform(
    dossier: Dossier, *, actor: Any, data: ActionInput, at: dt.datetime | None = None
) -> tuple[Dossier, ApologySlip | None]:
    """Run one action; returns the dossier as written and, for an apology, the slip."""
    if data.action not in ACTION_NAMES:
        raise unknown_action(data.action)
    common = {"actor": actor, "expected_version": data.version, "at": at}
    slip = None
    match data.action:
        case "transfer":
            result = services.transfer(
                dossier,
                to_department=data.to_department or None,
                to_office=data.to_office,
                to_assignee=data.to_assignee,
                note=data.note,
                **common,
            )
        case "start":
            result = services.start_processing(dossier, note=data.note, **common)
        case "request_supplement":
            result = services.request_supplement(dossier, note=data.note, **common)
        case "supplement_received":
            result = services.receive_supplement(dossier, note=data.note, **common)
        case "result_ready":
            result = services.record_result(dossier, note=data.note, **common)
        case "reject":
            result = services.reject(dossier, reason=data.reason or data.note, **common)
        case "return_result":
            result = services.return_result(dossier, note=data.note, **common)
        case "withdraw":
            result = services.withdraw(dossier, note=data.note, **common)
        case "reassign":
            if data.to_assignee is None:
                raise DomainError(
                    "officer_required",
                    "to_assignee",
                    "Chọn cán bộ nhận hồ sơ.",
                    "Choose the officer who takes the dossier.",
                )
            result = services.reassign(
                dossier, to_assignee=data.to_assignee, note=data.note, **common
            )
        case "apology":
            if data.new_due_at is None:
                raise DomainError(
                    "new_date_required",
                    "new_due_at",
                    "Chọn ngày hẹn trả kết quả mới.",
                    "Choose the new return date.",
                )
            slip = services.issue_apology(
                dossier,
                reason=data.reason or data.note,
                new_due_at=data.new_due_at,
                delivered_via=data.delivered_via,
                **common,
            )
            result = Dossier.objects.get(pk=dossier.pk)
        case _:  # pragma: no cover - ACTION_NAMES is checked above
            raise unknown_action(data.action)
    return result, slip
