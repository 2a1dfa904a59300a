"""Small helpers shared by the API routers of several apps."""

from __future__ import annotations

from django.http import HttpRequest

from ansinh.core.errors import DomainError


def request_purpose(request: HttpRequest) -> str:
    """The stated purpose of a read of personal data (``X-Purpose`` header or ``purpose``
    query parameter); required, because every such read is audited with its purpose."""
    purpose = (request.headers.get("X-Purpose") or request.GET.get("purpose") or "").strip()
    if not purpose:
        raise DomainError(
            "purpose_required",
            "purpose",
            "Cần nêu mục đích truy cập (tiêu đề X-Purpose hoặc tham số purpose).",
            "A purpose is required (X-Purpose header or purpose parameter).",
        )
    return purpose[:200]
