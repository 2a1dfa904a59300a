"""The services the insurance side offers the employment service centres over the exchange
layer (contract: docs/benefits.md). Thin: check the message, call services and selectors.
Reads of a person's history are machine-to-machine: audited with no user, the calling member
as the purpose."""

from __future__ import annotations

import datetime as dt
from typing import Any

from ansinh.benefits import selectors, services
from ansinh.benefits.models import EventKind
from ansinh.core.errors import DomainError, NotFound
from ansinh.exchange.registry import ServiceRequest, ServiceResponse


def _body(request: ServiceRequest) -> dict[str, Any]:
    data = request.json()
    if not isinstance(data, dict):
        raise DomainError(
            "body_not_object",
            "body",
            "Nội dung yêu cầu phải là một đối tượng JSON.",
            "The request body must be a JSON object.",
        )
    return data


def _audit(request: ServiceRequest, person_id: int, service: str) -> None:
    from ansinh.access.services import audit

    audit(
        actor=None,
        action="read",
        object_type="person",
        object_id=str(person_id),
        purpose=f"exchange {request.client} {service}"[:200],
        channel="api",
        detail={"service": service, "message_id": request.message_id[:100]},
    )


def _person(data: dict[str, Any]) -> Any:
    pid = services.check_personal_id(data.get("personal_id"))
    person = services.find_person(pid)
    if person is None:
        raise services.unknown_person()
    return person


def bhtn_history(request: ServiceRequest) -> dict[str, Any]:
    data = _body(request)
    person = _person(data)
    until = data.get("until")
    day: dt.date | None = None
    if until is not None:
        try:
            day = dt.date.fromisoformat(until) if isinstance(until, str) else None
        except ValueError:
            day = None
        if day is None:
            raise DomainError(
                "date_invalid", "until", "Ngày không hợp lệ (YYYY-MM-DD).", "Not a date."
            )
    _audit(request, person.pk, "bhtnHistory")
    return selectors.bhtn_history(person, until=day)


def benefit_history(request: ServiceRequest) -> dict[str, Any]:
    data = _body(request)
    pid = services.check_personal_id(data.get("personal_id"))
    person = services.find_person(pid)
    if person is None and not selectors.awards_of(pid).exists():
        raise services.unknown_person()
    if person is not None:
        _audit(request, person.pk, "benefitHistory")
    return selectors.benefit_history(pid)


def notify_decision(request: ServiceRequest) -> ServiceResponse | dict[str, Any]:
    data = _body(request)
    kind = data.get("kind")
    client = str(request.client)
    if kind == EventKind.GRANT:
        result = services.grant(data, client=client, message_id=request.message_id)
    elif kind in EventKind.values:
        result = services.change(data, client=client, message_id=request.message_id)
    else:
        raise DomainError(
            "kind_invalid",
            "kind",
            "kind phải là grant, suspend, resume, terminate hoặc cancel.",
            "kind must be grant, suspend, resume, terminate or cancel.",
        )
    if result.refusal is not None:
        # Answered as a refusal, but the case opened on the other award must be kept: a
        # raised error would roll it back with the handler's transaction.
        return ServiceResponse.of_json(result.refusal.as_dict(), status=result.refusal.status)
    return {
        "decision_no": result.award.decision_no,
        "kind": result.kind,
        "status": "recorded",
        "repeated": result.repeated,
        "payments": [selectors.payment_row(p) for p in result.payments],
    }


def payment_status(request: ServiceRequest) -> dict[str, Any]:
    data = _body(request)
    number = data.get("decision_no")
    if not isinstance(number, str) or not number.strip():
        raise DomainError(
            "decision_no_invalid", "decision_no", "Thiếu số quyết định.", "decision_no is missing."
        )
    award = selectors.get_award(number.strip())
    if award is None:
        raise NotFound(
            "unknown_decision",
            "decision_no",
            "Không có quyết định hưởng này.",
            "No such benefit decision.",
        )
    return selectors.payment_status(award)


def reemployment_feed(request: ServiceRequest) -> dict[str, Any]:
    data = _body(request)
    after = data.get("after", 0)
    if not isinstance(after, int) or isinstance(after, bool) or after < 0:
        raise DomainError(
            "after_invalid",
            "after",
            "after phải là số nguyên không âm.",
            "after must be a non-negative integer.",
        )
    return selectors.reemployment_feed(str(request.client), after)


SERVICES = (
    ("bhtnHistory", bhtn_history, "BHTN contribution history of a person"),
    ("benefitHistory", benefit_history, "Unemployment benefit awards of a person, all provinces"),
    ("notifyDecision", notify_decision, "Benefit decision: grant, suspend, resume, terminate"),
    ("paymentStatus", payment_status, "Payment schedule and status of an award"),
    ("reemploymentFeed", reemployment_feed, "New contributions or enrolments of beneficiaries"),
)


def register() -> None:
    from ansinh.exchange import registry

    for code, handler, description in SERVICES:
        registry.service(code, handler, description=description)
