"""The 360° person view (hồ sơ cá nhân tổng hợp): the staff person page gathers what every
domain knows about one person — insurance, cards, programmes, benefits, linkage — without the
registry importing those apps. Each app registers a ``PersonPanel`` in its ``AppConfig.ready()``;
a panel gives the page a section (its own template), a few facts for the overview strip at the
top, and events for the life timeline.

The page is already authorised and audited as a person read before any panel runs; a panel
that needs a narrower permission names it and is left out for users without it.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

#: Tones of a fact or an event; colour is never the only cue (the page prints the text too).
TONES = ("ok", "warn", "bad", "neutral")


@dataclass(frozen=True)
class Fact:
    """One line of the overview strip, e.g. "BHYT · valid to 31/12/2026"."""

    label: str
    value: str
    tone: str = "neutral"
    anchor: str = ""  # id of the section that explains it


@dataclass(frozen=True)
class LifeEvent:
    """A bar (``end`` set, or open while ``ongoing``) or a point on the life timeline."""

    lane: str
    label: str
    start: dt.date
    end: dt.date | None = None
    ongoing: bool = False
    tone: str = "neutral"


@dataclass
class PanelData:
    template: str = ""  # rendered with ``panel`` = context; empty: facts and events only
    context: dict[str, Any] = field(default_factory=dict)
    facts: list[Fact] = field(default_factory=list)
    events: list[LifeEvent] = field(default_factory=list)


@dataclass(frozen=True)
class PersonPanel:
    code: str
    order: int
    build: Callable[[Any, Any, dt.date], PanelData | None]  # (user, person, today)
    permission: str = ""


_PANELS: dict[str, PersonPanel] = {}


def register(panel: PersonPanel) -> None:
    """Register (or replace, by code) a panel; called from ``AppConfig.ready()``."""
    _PANELS[panel.code] = panel


def registered() -> list[PersonPanel]:
    return sorted(_PANELS.values(), key=lambda p: (p.order, p.code))


@dataclass
class PersonView:
    sections: list[tuple[PersonPanel, PanelData]]
    facts: list[Fact]
    events: list[LifeEvent]


def person_view(user: Any, person: Any, today: dt.date) -> PersonView:
    """Every panel the user may see, built for ``person`` as of ``today``."""
    sections: list[tuple[PersonPanel, PanelData]] = []
    for panel in registered():
        if panel.permission and not user.has_perm(panel.permission):
            continue
        data = panel.build(user, person, today)
        if data is not None:
            sections.append((panel, data))
    return PersonView(
        sections=[(p, d) for p, d in sections if d.template],
        facts=[f for _p, d in sections for f in d.facts],
        events=[e for _p, d in sections for e in d.events],
    )


# --- the life timeline as inline SVG ----------------------------------------------------------

_LANE_HEIGHT = 26
_LABEL_WIDTH = 150
_WIDTH = 900


def _year_start(day: dt.date) -> dt.date:
    return dt.date(day.year, 1, 1)


def _n(value: float) -> str:
    """SVG numbers as plain text: the template must not localise them ("150,5", "2.025")."""
    return f"{value:.1f}".removesuffix(".0")


def timeline(events: list[LifeEvent], today: dt.date) -> dict[str, Any] | None:
    """Lanes of bars and points on a shared year axis, from the first event's year to the end of
    this year; ``None`` without events. Coordinates are computed here, as strings, so the
    template only draws."""
    if not events:
        return None
    first = _year_start(min(e.start for e in events))
    last = dt.date(max([today.year, *(e.end.year for e in events if e.end)]) + 1, 1, 1)
    span = max((last - first).days, 1)
    plot = _WIDTH - _LABEL_WIDTH - 10

    def x(day: dt.date) -> float:
        return _LABEL_WIDTH + plot * (min(max(day, first), last) - first).days / span

    lanes: dict[str, list[dict[str, Any]]] = {}
    for event in sorted(events, key=lambda e: (e.start, e.label)):
        end = event.end or (today if event.ongoing else None)
        start_x = x(event.start)
        item = {
            "label": event.label,
            "tone": event.tone if event.tone in TONES else "neutral",
            "x": _n(start_x),
            "start": event.start,
            "end": event.end,
            "ongoing": event.ongoing,
            "width": _n(max(x(end) - start_x, 2.0)) if end is not None else "",
        }
        lanes.setdefault(event.lane, []).append(item)
    rows = []
    for i, (lane, items) in enumerate(lanes.items()):
        y = 24 + i * _LANE_HEIGHT
        rows.append(
            {"lane": lane, "y": _n(y), "text_y": _n(y + 13), "mid_y": _n(y + 8), "items": items}
        )
    step = max(1, (last.year - first.year) // 12)
    years = [
        {
            "year": str(year),
            "x": _n(x(dt.date(year, 1, 1))),
            "text_x": _n(x(dt.date(year, 1, 1)) + 3),
        }
        for year in range(first.year, last.year, step)
    ]
    height = 24 + len(rows) * _LANE_HEIGHT + 6
    return {
        "width": _n(_WIDTH),
        "height": _n(height),
        "label_width": _n(_LABEL_WIDTH),
        "rows": rows,
        "years": years,
        "today_x": _n(x(today)),
        "axis_bottom": _n(height - 4),
    }
