"""The open address-review count shown in the navigation (one COUNT query per page)."""

from __future__ import annotations

from typing import Any

from django import template

from ansinh.registry.views import REVIEW_PERMISSION

register = template.Library()


@register.simple_tag(takes_context=True)
def open_address_reviews(context: template.Context) -> int | None:
    """Open reviews the signed-in user can resolve, or None when they cannot resolve any."""
    request = context.get("request")
    user: Any = getattr(request, "user", None)
    if user is None or not user.is_authenticated or not user.has_perm(REVIEW_PERMISSION):
        return None
    from ansinh.registry.selectors import open_address_review_count

    return open_address_review_count(user)
