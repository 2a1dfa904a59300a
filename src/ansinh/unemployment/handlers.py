"""Exchange services this centre offers: ``benefitCase`` (a case the insurance side opened or
resolved on one of our awards). Registered in ``apps.py``; runs inside the exchange layer's
transaction, so the stored answer and our row commit together."""

from __future__ import annotations

from typing import Any

from ansinh.exchange.registry import ServiceRequest


def benefit_case(request: ServiceRequest) -> dict[str, Any]:
    from ansinh.unemployment import services

    return services.record_case(
        request.json(), client=str(request.client), message_id=request.message_id
    )
