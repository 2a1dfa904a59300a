"""The 360° person view: panels registered by other apps appear on the staff person page with
their facts and timeline events, only for users holding the panel's permission."""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Iterator
from typing import Any

import pytest
from django.test import Client
from django.urls import reverse

from ansinh.access.testing import login_verified, make_org, make_user
from ansinh.registry import panels
from ansinh.registry.testing import make_employer, make_person

pytestmark = pytest.mark.django_db


@pytest.fixture
def staff(client: Client, admin_units: None) -> Client:
    return login_verified(client, make_user("officer", org=make_org(scope_codes=("01",))))


@pytest.fixture
def programme_panel() -> Iterator[list[Any]]:
    calls: list[Any] = []

    def build(user: Any, person: Any, today: dt.date) -> panels.PanelData:
        calls.append(person.pk)
        return panels.PanelData(
            template="registry/tests/_panel.html",
            context={"title": "Trợ giúp xã hội"},
            facts=[panels.Fact("TGXH", "540.000 đ/tháng", "ok")],
            events=[
                panels.LifeEvent("Programmes", "TGXH", dt.date(2024, 7, 1), ongoing=True),
                panels.LifeEvent("Programmes", "Decision", dt.date(2025, 3, 2)),
            ],
        )

    panels.register(panels.PersonPanel(code="test-programmes", order=50, build=build))
    yield calls
    panels._PANELS.pop("test-programmes")


def _open(client: Client, ss_number: str) -> str:
    url = reverse("registry:person_detail", args=[ss_number])
    client.post(url, {"purpose": "verification"})
    return client.get(url).content.decode()


def test_a_registered_panel_adds_its_section_facts_and_timeline(staff, programme_panel) -> None:
    person = make_person()
    employer = make_employer(name="Công ty Sông Lam")
    from ansinh.registry import services

    services.open_spell(
        person=person,
        employer=employer,
        contract_type="indefinite",
        start=dt.date(2023, 5, 1),
        salary=9_000_000,
    )
    html = _open(staff, person.ss_number)
    assert programme_panel == [person.pk]
    assert '<section class="panel" id="test-panel">Trợ giúp xã hội</section>' in html
    assert "540.000 đ/tháng" in html  # the fact in the overview strip
    assert 'id="h-timeline"' in html
    assert "Công ty Sông Lam: 01/05/2023" in html  # employment bar, from the registry panel
    assert "TGXH: 01/07/2024" in html and "Decision: 02/03/2025" in html


def test_a_panel_needing_a_permission_is_left_out_without_it(staff) -> None:
    panels.register(
        panels.PersonPanel(
            code="test-secret",
            order=60,
            build=lambda u, p, t: panels.PanelData(facts=[panels.Fact("Secret", "x")]),
            permission="registry.view_sensitive",
        )
    )
    try:
        html = _open(staff, make_person().ss_number)
    finally:
        panels._PANELS.pop("test-secret")
    assert "Secret" not in html


def test_timeline_places_bars_and_points_on_one_year_axis() -> None:
    today = dt.date(2026, 11, 23)
    events = [
        panels.LifeEvent("Work", "A", dt.date(2020, 1, 1), dt.date(2022, 12, 31)),
        panels.LifeEvent("Work", "B", dt.date(2023, 2, 1), ongoing=True),
        panels.LifeEvent("Life", "Event", dt.date(2021, 6, 1)),
    ]
    chart = panels.timeline(events, today)
    assert chart is not None
    assert [y["year"] for y in chart["years"]] == [str(y) for y in range(2020, 2027)]
    work, life = chart["rows"]
    assert work["lane"] == "Work" and life["lane"] == "Life"
    a, b = work["items"]
    assert a["x"] == chart["label_width"] == "150"  # starts at the axis origin, 1 Jan 2020
    end_of_b = float(b["x"]) + float(b["width"])
    assert end_of_b == pytest.approx(float(chart["today_x"]), abs=0.2)  # ongoing: up to today
    assert life["items"][0]["width"] == ""  # a point
    assert panels.timeline([], today) is None


def test_timeline_numbers_are_never_localised(staff) -> None:
    """Vietnamese formats 2025 as "2.025" and 150.5 as "150,5": SVG needs plain numbers."""
    from ansinh.registry import services

    person = make_person()
    services.open_spell(
        person=person,
        employer=make_employer(),
        contract_type="indefinite",
        start=dt.date(2025, 3, 17),
        salary=9_000_000,
    )
    html = _open(staff, person.ss_number)
    assert 'id="h-timeline"' in html
    svg = html[html.index("<svg") : html.index("</svg>")]
    assert "2.02" not in svg and not re.search(r'="\d+,\d', svg)
