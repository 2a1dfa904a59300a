"""Template tags of the gateway, for pages of other apps.

``{% load gateway_tags %}{% gateway_queue_count as n %}``: rows of electronic dossiers waiting
for the signed-in officer (``None`` for users who may not decide them), for the navigation.
``{% gateway_queued_rows dossier %}``: on the one-stop dossier page, a link to the dossier's
rows that wait for an officer (nothing when none waits or the user may not decide them).
"""

from __future__ import annotations

from typing import Any

from django import template

register = template.Library()


def _user(context: template.Context) -> Any:
    request = context.get("request")
    return getattr(request, "user", None)


@register.simple_tag(takes_context=True)
def gateway_queue_count(context: template.Context) -> int | None:
    from ansinh.gateway import selectors

    user = _user(context)
    if user is None or not selectors.may_decide_rows(user):
        return None
    return selectors.queued_count(user)


@register.inclusion_tag("gateway/_queued_rows_link.html", takes_context=True)
def gateway_queued_rows(context: template.Context, dossier: Any) -> dict[str, Any]:
    from ansinh.gateway import selectors

    user = _user(context)
    if dossier is None or user is None or not selectors.may_decide_rows(user):
        return {"n": 0}
    n = selectors.queued_row_counts([dossier.pk]).get(dossier.pk, 0)
    return {"n": n, "code": dossier.code}
