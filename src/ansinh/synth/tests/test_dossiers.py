"""The demo one-stop dossiers (``synth.dossiers``), generated at a small size through the
services with a fixed ``now`` (Wednesday 18 November 2026, 10:30, during office hours so that
"due today" is possible)."""

from __future__ import annotations

import datetime as dt
import itertools
from collections import defaultdict
from zoneinfo import ZoneInfo

import pytest

from ansinh.access.models import User
from ansinh.onestop import selectors
from ansinh.onestop.clock import classify
from ansinh.onestop.models import (
    OPEN_STATES,
    RESOLVED_STATES,
    Action,
    ApologySlip,
    Dossier,
    DossierState,
    DossierTransition,
    Office,
    SatisfactionRating,
    Warning,
)
from ansinh.synth import demo
from ansinh.synth.dossiers import (
    PROVINCE_AGENCY_CODE,
    DossierSummary,
    Generator,
    ensure_demo_dossiers,
    ensure_demo_offices,
)

pytestmark = pytest.mark.usefixtures("small_province", "rules")

HCM = ZoneInfo("Asia/Ho_Chi_Minh")
NOW = dt.datetime(2026, 11, 18, 10, 30, tzinfo=HCM)
COUNT = 60


@pytest.fixture
def generated() -> DossierSummary:
    orgs = demo.ensure_demo_organisations()
    demo.ensure_demo_users(orgs)
    summary = ensure_demo_dossiers(orgs, count=COUNT, now=NOW)
    assert summary is not None
    return summary


def test_every_state_and_every_warning_class_is_present(generated: DossierSummary) -> None:
    """Issue 3, "done when": demo dossiers in every state; the warning classes of the sweep
    (on track, due soon, due today, overdue; paused while waiting for a supplement)."""
    states = set(Dossier.objects.values_list("state", flat=True))
    assert states == set(DossierState.values)
    classes = {
        Warning.PAUSED if state == DossierState.SUPPLEMENT else classify(due, NOW)
        for state, due in Dossier.objects.filter(state__in=OPEN_STATES).values_list(
            "state", "due_at"
        )
    }
    assert classes == {
        Warning.ON_TRACK,
        Warning.DUE_SOON,
        Warning.DUE_TODAY,
        Warning.OVERDUE,
        Warning.PAUSED,
    }
    assert generated.missing_targets == []
    channels = set(Dossier.objects.values_list("channel", flat=True))
    assert {"counter", "online"} <= channels
    assert Dossier.objects.filter(procedure__code="600").count() >= COUNT // 5


def test_paths_are_in_time_order_and_never_in_the_future(generated: DossierSummary) -> None:
    """The services refuse a step dated before the previous one or after now; the path of each
    dossier starts with its reception and ends in its current state and due time."""
    paths: dict[int, list[DossierTransition]] = defaultdict(list)
    for step in DossierTransition.objects.order_by("dossier_id", "id"):
        paths[step.dossier_id].append(step)
    dossiers = {d.pk: d for d in Dossier.objects.all()}
    assert set(paths) == set(dossiers)
    for pk, path in paths.items():
        dossier = dossiers[pk]
        assert path[0].action == Action.RECEIVE and path[0].at == dossier.received_at
        times = [step.at for step in path]
        assert times == sorted(times), dossier.code
        assert times[-1] <= NOW
        assert path[-1].to_state == dossier.state
        assert path[-1].due_at == dossier.due_at
        for before, after in itertools.pairwise(path):
            assert after.from_state == before.to_state
        assert (dossier.resolved_at is not None) == (dossier.outcome != "")
        if dossier.state in RESOLVED_STATES:
            assert dossier.outcome and dossier.resolved_at <= NOW
        if dossier.state in OPEN_STATES:
            assert dossier.resolved_at is None and dossier.closed_at is None


def test_the_sums_add_up(generated: DossierSummary) -> None:
    total = Dossier.objects.count()
    assert generated.dossiers == total == COUNT
    assert sum(generated.by_state.values()) == total
    assert sum(generated.by_channel.values()) == total
    assert sum(generated.by_procedure.values()) == total
    open_count = Dossier.objects.filter(state__in=OPEN_STATES).count()
    assert sum(generated.by_warning.values()) == open_count
    resolved = Dossier.objects.exclude(outcome="").count()
    assert sum(generated.by_outcome.values()) == resolved
    assert generated.steps == DossierTransition.objects.count()
    assert generated.apologies == ApologySlip.objects.count()
    assert generated.ratings == SatisfactionRating.objects.count()
    assert all(r.rated_at <= NOW for r in SatisfactionRating.objects.all())
    assert any(line.startswith("one-stop dossiers: 60") for line in generated.lines())


def test_the_demo_logins_have_work(generated: DossierSummary) -> None:
    """The demo officer's queue has work and the demo manager sees overdue dossiers."""
    office = Office.objects.get(agency_code=PROVINCE_AGENCY_CODE)
    officer = User.objects.get(username="canbo.tinh")
    manager = User.objects.get(username=demo.DEMO_USERS[2][1])
    assert office.director == manager
    assert set(officer.onestop_departments.values_list("code", flat=True)) == {"MOTCUA", "THU"}
    assert Office.objects.filter(organisation__parent=office.organisation).count() == 2
    waiting = sum(selectors.queue(officer, tab).count() for tab, _label in selectors.TABS)
    assert waiting > 0
    overdue = Dossier.objects.filter(state__in=OPEN_STATES, due_at__lt=NOW)
    assert overdue.filter(office__organisation__in=[office.organisation_id]).exists()


def test_a_second_run_adds_nothing(generated: DossierSummary) -> None:
    counts = (
        Dossier.objects.count(),
        DossierTransition.objects.count(),
        User.objects.count(),
        Office.objects.count(),
    )
    orgs = demo.ensure_demo_organisations()
    assert ensure_demo_dossiers(orgs, count=COUNT, now=NOW) is None
    assert demo.ensure_demo_onestop(dossiers=COUNT) is None
    after = (
        Dossier.objects.count(),
        DossierTransition.objects.count(),
        User.objects.count(),
        Office.objects.count(),
    )
    assert after == counts


def test_the_plans_are_reproducible() -> None:
    """Same seed and ``now``, same receptions (applicants, procedures, channels, times)."""
    orgs = demo.ensure_demo_organisations()
    demo.ensure_demo_users(orgs)
    offices = ensure_demo_offices(orgs)

    def plans() -> list[tuple[dt.datetime, str, str, int]]:
        gen = Generator(offices, count=200, now=NOW, seed=5)
        return [
            (p.received, p.procedure, p.channel, p.staff.office.pk)
            for p in gen.targeted_plans() + gen.natural_plans(100)
        ]

    first = plans()
    assert first == plans()
    assert all(received <= NOW for received, *_ in first)


def test_the_bulk_data_set_for_benchmarks_is_consistent() -> None:
    """``synth.dossiers_bulk`` (bench/run.py dossiers-generate) at a small size: the rows it
    writes directly obey the services' rules that the sweep and the dashboards rely on."""
    from ansinh.onestop.warnings import sweep
    from ansinh.synth.dossiers_bulk import BulkParams, generate_dossiers

    params = BulkParams(
        dossiers=1_500, years=1, open=150, provinces=2, now=NOW.replace(tzinfo=None)
    )
    summary = generate_dossiers(params)
    assert summary.counts["dossiers"] == Dossier.objects.count() == 1_500
    assert summary.counts["transitions"] == DossierTransition.objects.count()
    assert summary.counts["apology_slips"] == ApologySlip.objects.count()
    assert summary.counts["ratings"] == SatisfactionRating.objects.count()
    assert Office.objects.count() == 6
    open_qs = Dossier.objects.filter(state__in=OPEN_STATES)
    assert 100 <= open_qs.count() <= 220
    assert sum(summary.open_by_state.values()) == open_qs.count()
    classes = defaultdict(int)
    for state, due in open_qs.values_list("state", "due_at"):
        classes[Warning.PAUSED if state == DossierState.SUPPLEMENT else classify(due, NOW)] += 1
    assert dict(classes) == dict(summary.open_by_warning)
    paths: dict[int, list[DossierTransition]] = defaultdict(list)
    for step in DossierTransition.objects.order_by("dossier_id", "at", "id"):
        paths[step.dossier_id].append(step)
    for dossier in Dossier.objects.all():
        path = paths[dossier.pk]
        assert path[0].action == Action.RECEIVE and path[0].at == dossier.received_at
        assert path[-1].at <= NOW and path[-1].to_state == dossier.state
        assert dossier.version == len(path)
        for before, after in itertools.pairwise(path):
            assert after.from_state == before.to_state
        if dossier.outcome:
            late = dossier.resolved_at > dossier.due_at
            assert (dossier.outcome == "late") == late
    result = sweep(now=NOW)
    assert result.overdue == classes[Warning.OVERDUE]
    assert result.on_track == classes[Warning.ON_TRACK]
    assert result.paused == classes[Warning.PAUSED]
