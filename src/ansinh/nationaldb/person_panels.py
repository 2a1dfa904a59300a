"""The national database's part of the 360° person view: the programmes a person benefits
from (social assistance, poverty, meritorious service) with their allowance, legal basis,
household and source file, and the e-card as a fact and a timeline point."""

from __future__ import annotations

import datetime as dt
from typing import Any

from django.utils.formats import date_format
from django.utils.translation import get_language
from django.utils.translation import gettext as _

from ansinh.nationaldb import selectors
from ansinh.nationaldb.models import PovertyStatus
from ansinh.nationaldb.programmes.selectors import beneficiaries_of
from ansinh.portal.templatetags.ansinh import money
from ansinh.registry import panels


def _english() -> bool:
    return (get_language() or "vi").startswith("en")


def programmes_panel(user: Any, person: Any, today: dt.date) -> panels.PanelData:
    rows = []
    data = panels.PanelData(template="nationaldb/_programmes_panel.html")
    english = _english()
    for b in beneficiaries_of(person.pk):
        active = b.start <= today and (b.end is None or b.end >= today)
        programme = b.programme.name_en if english else b.programme.name
        category = b.category.name_en if english else b.category.name
        poverty = None
        if b.household_id:
            poverty = (
                PovertyStatus.objects.filter(household_id=b.household_id).order_by("-year").first()
            )
        rows.append(
            {
                "b": b,
                "active": active,
                "programme": programme,
                "category": category,
                "owner": b.programme.owner_en if english else b.programme.owner,
                "poverty": poverty,
            }
        )
        if active:
            value = (
                _("%(amount)s đ a month") % {"amount": money(b.monthly_allowance)}
                if b.monthly_allowance
                else category
            )
            data.facts.append(panels.Fact(programme, value, "ok", anchor="h-programmes"))
        data.events.append(
            panels.LifeEvent(
                lane=_("Programmes"),
                label=f"{programme} — {category}",
                start=b.start,
                end=b.end,
                ongoing=b.end is None,
                tone="ok",
            )
        )
    data.context = {"rows": rows}
    card = selectors.active_card(person)
    if card is not None and card.expires_at.date() >= today:
        value = _("valid to %(day)s") % {"day": date_format(card.expires_at.date(), "d/m/Y")}
        data.facts.append(panels.Fact(_("E-card"), value, "ok", anchor="h-ecard"))
    else:
        data.facts.append(panels.Fact(_("E-card"), _("none valid"), "neutral", anchor="h-ecard"))
    for issued in selectors.person_cards(person, limit=10):
        data.events.append(
            panels.LifeEvent(
                lane=_("E-card"),
                label=issued.card_id,
                start=issued.issued_at.date(),
                tone="bad" if issued.revoked_at else "ok",
            )
        )
    return data


def register() -> None:
    panels.register(panels.PersonPanel(code="programmes", order=40, build=programmes_panel))
