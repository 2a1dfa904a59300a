"""The e-card and population-registry panel of the registry's person page. The page has
already authorised and audited the read; this tag only adds what nationaldb knows."""

from __future__ import annotations

from typing import Any

from django import template
from django.utils import timezone

from ansinh.nationaldb import selectors
from ansinh.nationaldb.models import RevocationReason
from ansinh.nationaldb.services import REVOCABLE
from ansinh.nationaldb.views import CHANGE_PERMISSION

register = template.Library()


@register.inclusion_tag("nationaldb/_person_panel.html", takes_context=True)
def nationaldb_person_panel(context: template.Context, person: Any) -> dict[str, Any]:
    request = context.get("request")
    user = getattr(request, "user", None)
    card = selectors.active_card(person)
    history = [c for c in selectors.person_cards(person) if card is None or c.pk != card.pk]
    labels = dict(RevocationReason.choices)
    return {
        "person": person,
        "card": card,
        "coverage": card.coverage.split(",") if card and card.coverage else [],
        "programmes": card.programmes.split(",") if card and card.programmes else [],
        "history": history,
        "check": selectors.last_population_check(person),
        "may_change": bool(user and user.has_perm(CHANGE_PERMISSION)),
        "reasons": [(r, labels[r]) for r in REVOCABLE if r != RevocationReason.REISSUED],
        "now": timezone.now(),
        "csrf_token": context.get("csrf_token"),
    }
