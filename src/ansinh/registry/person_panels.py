"""The registry's own contribution to the 360° person view: employment and health insurance
cards as facts and timeline lanes (their sections stay on the person page itself)."""

from __future__ import annotations

import datetime as dt
from typing import Any

from django.utils.formats import date_format
from django.utils.translation import gettext as _

from ansinh.registry import panels, selectors


def _day(value: dt.date) -> str:
    return date_format(value, "d/m/Y")


def registry_panel(user: Any, person: Any, today: dt.date) -> panels.PanelData:
    data = panels.PanelData()
    spells = list(selectors.person_spells(person))
    current = [s for s in spells if s.start <= today and (s.end is None or s.end >= today)]
    if current:
        data.facts.append(
            panels.Fact(_("Employment"), current[0].employer.name, "ok", anchor="h-spells")
        )
    elif spells:
        last = max(spells, key=lambda s: s.end or today)
        data.facts.append(
            panels.Fact(
                _("Employment"),
                _("none since %(day)s") % {"day": _day(last.end)} if last.end else "—",
                "warn",
                anchor="h-spells",
            )
        )
    for spell in spells:
        data.events.append(
            panels.LifeEvent(
                lane=_("Employment"),
                label=spell.employer.name,
                start=spell.start,
                end=spell.end,
                ongoing=spell.end is None,
                tone="ok",
            )
        )
    cards = list(person.cards.order_by("-valid_from"))
    valid = [
        c
        for c in cards
        if not c.revoked and c.valid_from <= today and (c.valid_to is None or c.valid_to >= today)
    ]
    if valid:
        card = valid[0]
        value = (
            _("valid to %(day)s") % {"day": _day(card.valid_to)} if card.valid_to else _("valid")
        )
        data.facts.append(panels.Fact(_("Health insurance card"), value, "ok", anchor="h-cards"))
    else:
        data.facts.append(
            panels.Fact(_("Health insurance card"), _("none valid"), "warn", anchor="h-cards")
        )
    for card in cards:
        data.events.append(
            panels.LifeEvent(
                lane=_("Health insurance card"),
                label=card.number,
                start=card.valid_from,
                end=card.valid_to,
                ongoing=card.valid_to is None and not card.revoked,
                tone="bad" if card.revoked else "ok",
            )
        )
    if person.date_of_death:
        data.events.append(
            panels.LifeEvent(lane=_("Life"), label=_("Deceased"), start=person.date_of_death)
        )
    return data


def register() -> None:
    panels.register(panels.PersonPanel(code="registry", order=0, build=registry_panel))
