"""The services this deployment offers over the exchange layer, registered in code.

An app registers its services in its ``AppConfig.ready()``::

    from ansinh.exchange import registry

    registry.service("contributionHistory", handler, description="BHTN contribution history")

so the exchange layer never imports the apps that use it. A handler takes a
:class:`ServiceRequest` and returns a :class:`ServiceResponse`, or any JSON-serialisable value
(answered 200); it raises ``DomainError`` for a refusal. It runs inside the transaction that
records the message id, so its writes and the stored answer commit together.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from ansinh.core.errors import DomainError
from ansinh.exchange.ids import MemberId, check_service_code


@dataclass(frozen=True)
class ServiceRequest:
    client: MemberId
    service: str
    message_id: str
    method: str
    path: str  # whatever follows the service code in the URL, "" if nothing
    query: str
    body: bytes
    content_type: str

    def json(self) -> Any:
        if not self.body:
            return None
        try:
            return json.loads(self.body)
        except ValueError as exc:
            raise DomainError(
                "body_not_json",
                "body",
                "Nội dung yêu cầu không phải JSON hợp lệ.",
                "The request body is not valid JSON.",
            ) from exc


@dataclass
class ServiceResponse:
    status: int = 200
    body: bytes = b""
    content_type: str = "application/json"

    @classmethod
    def of_json(cls, value: Any, status: int = 200) -> ServiceResponse:
        data = json.dumps(value, ensure_ascii=False, separators=(",", ":"), default=str)
        return cls(status, data.encode())


Handler = Callable[[ServiceRequest], "ServiceResponse | Any"]


@dataclass(frozen=True)
class Service:
    code: str
    handler: Handler
    methods: tuple[str, ...] = ("POST",)
    description: str = ""
    extra: dict[str, Any] = field(default_factory=dict)


_SERVICES: dict[str, Service] = {}
#: X-Road's metaservices, answered by the exchange layer itself.
META = ("listMethods", "allowedMethods")


def service(
    code: str,
    handler: Handler | None = None,
    *,
    methods: tuple[str, ...] = ("POST",),
    description: str = "",
) -> Any:
    """Register ``handler`` as service ``code``; usable as a decorator when ``handler`` is
    omitted. Registering the same code twice with another handler is an error."""

    def register(fn: Handler) -> Handler:
        check_service_code(code)
        if code in META:
            raise ValueError(f"{code} is reserved")
        existing = _SERVICES.get(code)
        if existing is not None and existing.handler is not fn:
            raise ValueError(f"exchange service {code!r} is already registered")
        _SERVICES[code] = Service(code, fn, tuple(m.upper() for m in methods), description)
        return fn

    return register(handler) if handler is not None else register


def unregister(code: str) -> None:
    """For tests."""
    _SERVICES.pop(code, None)


def get(code: str) -> Service | None:
    return _SERVICES.get(code)


def all_services() -> list[Service]:
    return [_SERVICES[c] for c in sorted(_SERVICES)]
