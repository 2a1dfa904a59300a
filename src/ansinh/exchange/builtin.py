"""Services every deployment offers: ``echo`` answers with what it was sent, so two agencies
can test a link (keys, grants, TLS, signatures, logs) before any business service is wired."""

from __future__ import annotations

from ansinh.exchange import registry
from ansinh.exchange.registry import ServiceRequest, ServiceResponse


def echo(request: ServiceRequest) -> ServiceResponse:
    return ServiceResponse(200, request.body, request.content_type or "application/json")


registry.service("echo", echo, methods=("POST", "GET"), description="returns the request body")
