"""Template tags of the one-stop app.

``{% load onestop_tags %}{% onestop_unread as unread %}`` gives the signed-in user's unread
notification count for the navigation badge: one COUNT on the (recipient, read_at) index,
``None`` for anonymous visitors.
"""

from __future__ import annotations

from typing import Any

from django import template

register = template.Library()


@register.simple_tag(takes_context=True)
def onestop_unread(context: template.Context) -> int | None:
    request = context.get("request")
    user: Any = getattr(request, "user", None)
    if user is None or not user.is_authenticated:
        return None
    from ansinh.onestop.notify import unread_count

    return unread_count(user)
