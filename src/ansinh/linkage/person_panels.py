"""Record linkage in the 360° person view: the registry records linked to this person as the
same identity, and every pair proposed for this person with its state (the linkage history)."""

from __future__ import annotations

import datetime as dt
from typing import Any

from django.utils.translation import gettext as _

from ansinh.linkage import selectors
from ansinh.registry import panels


def linkage_panel(user: Any, person: Any, today: dt.date) -> panels.PanelData | None:
    linked = selectors.linked_persons(person)
    pairs = list(selectors.person_pairs(person)[:50])
    if not linked and not pairs:
        return None
    data = panels.PanelData(
        template="linkage/_person_panel.html", context={"linked": linked, "pairs": pairs}
    )
    open_pairs = sum(1 for p in pairs if p.state == "open")
    if linked:
        data.facts.append(
            panels.Fact(_("Linked records"), str(len(linked)), "neutral", anchor="h-linkage")
        )
    if open_pairs:
        data.facts.append(
            panels.Fact(_("Pairs to review"), str(open_pairs), "warn", anchor="h-linkage")
        )
    for pair in pairs:
        if pair.decided_at is not None:
            data.events.append(
                panels.LifeEvent(
                    lane=_("Record linkage"),
                    label=pair.get_state_display(),
                    start=pair.decided_at.date(),
                    tone="ok" if pair.state == "linked" else "neutral",
                )
            )
    return data


def register() -> None:
    panels.register(
        panels.PersonPanel(
            code="linkage", order=60, build=linkage_panel, permission="linkage.view_reviewpair"
        )
    )
