"""One-stop statistics: the numbers add up across levels, each indicator of the national
service-quality index (Decision 766/QĐ-TTg of 2022) matches a hand count, and the dashboard
pages and exports respect the user's scope.

The scenario (October 2026; the report is cut at 1 November 00:00) has two provinces, three
offices and several officers, with dossiers early, on time, late, overdue, paused, withdrawn,
rejected, transferred between offices (and across provinces), rated and apologised for. Every
expected figure below is counted by hand from the list in :func:`scenario`.
"""

from __future__ import annotations

import datetime as dt
import importlib
import io
import itertools
from dataclasses import dataclass
from fractions import Fraction
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from django.db import DatabaseError, connection, transaction
from django.urls import reverse

from ansinh.access.models import AuditEvent
from ansinh.access.testing import login_verified, make_org, make_unit, make_user
from ansinh.core.errors import DomainError, Forbidden
from ansinh.onestop import reports, services
from ansinh.onestop.models import (
    Dossier,
    DossierTransition,
    Office,
    Satisfaction,
    SatisfactionRating,
)
from ansinh.onestop.reports import COUNT_COLUMNS, UNASSIGNED, Counts, Level, Period
from ansinh.onestop.testing import make_dossier, make_office, make_officer

pytestmark = pytest.mark.django_db
VN = ZoneInfo("Asia/Ho_Chi_Minh")
OCT = {"start": dt.date(2026, 10, 1), "end": dt.date(2026, 10, 31)}
NOW = dt.datetime(2026, 11, 20, 12, 0, tzinfo=VN)


def at(month: int, d: int, hh: int = 10, mm: int = 0) -> dt.datetime:
    return dt.datetime(2026, month, d, hh, mm, tzinfo=VN)


def o(d: int, hh: int = 10, mm: int = 0) -> dt.datetime:
    return at(10, d, hh, mm)


def n(d: int, hh: int = 10, mm: int = 0) -> dt.datetime:
    return at(11, d, hh, mm)


# --- the scenario ------------------------------------------------------------------------------


@dataclass
class World:
    a: Office  # provincial office, province 01
    b: Office  # provincial office, province 02
    c: Office  # commune office under A, province 01
    a1: Any
    a2: Any
    b1: Any
    c1: Any
    desk_a: Any
    manager_a: Any
    d: dict[str, Dossier]


def _start(dossier: Dossier, actor: Any, when: dt.datetime) -> Dossier:
    return services.start_processing(
        dossier, actor=actor, expected_version=dossier.version, at=when
    )


def _result(dossier: Dossier, actor: Any, when: dt.datetime) -> Dossier:
    return services.record_result(dossier, actor=actor, expected_version=dossier.version, at=when)


def _pause(dossier: Dossier, actor: Any, when: dt.datetime) -> Dossier:
    return services.request_supplement(
        dossier, actor=actor, expected_version=dossier.version, note="Thiếu tờ khai", at=when
    )


def _rate(dossier: Dossier, level: str, when: dt.datetime) -> None:
    SatisfactionRating.objects.create(dossier=dossier, level=level, rated_at=when)


@pytest.fixture
def world() -> World:
    make_unit("01", name="Thành phố Hà Nội")
    make_unit("02", name="Tỉnh Thử Hai")
    a = make_office(make_org(scope_codes=("01",), name="BHXH Hà Nội"), agency_code="000.00.01.H26")
    b = make_office(
        make_org(scope_codes=("02",), name="BHXH Tỉnh Hai"),
        province_code="02",
        agency_code="000.00.02.H02",
    )
    c = make_office(
        make_org(
            kind="commune_office",
            scope_codes=("01",),
            name="BHXH cơ sở Ba Đình",
            parent=a.organisation,
        ),
        agency_code="000.00.03.H26",
    )
    a1 = make_officer(a, first_name="An", last_name="Nguyễn")
    a2 = make_officer(a, first_name="Bình", last_name="Trần")
    desk_a = make_officer(a, first_name="Cúc", last_name="Lê")
    manager_a = make_officer(a, "manager")
    b1 = make_officer(b, first_name="Dũng", last_name="Phạm")
    c1 = make_officer(c, first_name="Em", last_name="Võ")
    d: dict[str, Dossier] = {}

    # Office A, province 01.
    x = make_dossier(a, actor=desk_a, at=o(5))  # due Mon 12 Oct 17:00
    x = _start(x, a1, o(6))
    x = _result(x, a1, o(8))  # early; 3 working days
    d["d1"] = services.return_result(x, actor=desk_a, expected_version=x.version, at=o(9))
    x = _start(make_dossier(a, actor=desk_a, at=o(5, 11)), a1, o(6))
    d["d2"] = _result(x, a1, o(12, 15))  # on time (due day)
    x = _start(make_dossier(a, actor=desk_a, at=o(5, 12)), a2, o(6))
    d["d3"] = _result(x, a2, o(14))  # late
    d["d4"] = _start(make_dossier(a, actor=desk_a, at=o(20)), a2, o(21))  # due 27 Oct: overdue
    x = _start(make_dossier(a, actor=desk_a, at=o(20, 11)), a1, o(21))
    d["d5"] = _pause(x, a1, o(22))  # still paused: never overdue
    x = make_dossier(a, actor=desk_a, at=o(26))
    d["d6"] = services.withdraw(
        x, actor=desk_a, expected_version=x.version, note="Đơn xin rút", at=o(28)
    )
    d["d7"] = make_dossier(a, actor=desk_a, at=o(28), channel="online")  # unassigned, open
    x = _start(make_dossier(a, actor=desk_a, at=at(9, 25)), a1, at(9, 28))  # due 2 Oct
    d["d8"] = _result(x, a1, o(1))  # received in September, resolved early in October
    # d9: received at the commune office, transferred to A (to a1), resolved in November.
    x = make_dossier(c, actor=c1, at=o(27))  # due 3 Nov
    x = services.transfer(
        x, actor=c1, expected_version=x.version, to_office=a, to_assignee=a1, at=o(28)
    )
    x = _start(x, a1, o(29))
    d["d9"] = _result(x, a1, n(3))
    # d10: paused before the cut, resumed after it (due extended to 5 Nov), resolved on time.
    x = _start(make_dossier(a, actor=desk_a, at=o(19)), a2, o(20))  # due 26 Oct
    x = _pause(x, a2, o(21))
    x = services.receive_supplement(x, actor=desk_a, expected_version=x.version, at=n(2))
    d["d10"] = _result(x, a2, n(5))
    # d11: paused before the cut (due 20 Oct) and rejected while still paused, after it.
    x = _start(make_dossier(a, actor=desk_a, at=o(13)), a1, o(14))
    x = _pause(x, a1, o(15))
    d["d11"] = services.reject(
        x, actor=a1, expected_version=x.version, reason="Không bổ sung", at=n(2)
    )
    # d12: overdue at the cut (due 8 Oct), resolved late in November.
    x = _start(make_dossier(a, actor=desk_a, at=o(1)), a2, o(2))
    d["d12"] = _result(x, a2, n(2))
    d["g1"] = make_dossier(a, actor=desk_a, at=n(2))  # November: outside the period

    # Office B, province 02.
    x = _start(make_dossier(b, actor=b1, at=o(6)), b1, o(6, 11))  # due 13 Oct
    d["e1"] = _result(x, b1, o(7))  # early
    _rate(d["e1"], Satisfaction.SATISFIED, o(10))
    x = make_dossier(b, at=o(6), channel="gateway")  # a system reception, nobody assigned
    d["e2"] = services.reject(x, actor=b1, expected_version=x.version, reason="Sai mẫu", at=o(9))
    x = _start(make_dossier(b, actor=b1, at=o(7)), b1, o(8))  # due 14 Oct 17:00
    services.issue_apology(
        x,
        actor=b1,
        expected_version=x.version,
        reason="Chờ xác minh",
        new_due_at=o(20, 17),
        at=o(14, 9),
    )
    x.refresh_from_db()
    d["e3"] = _result(x, b1, o(16))  # late
    _rate(d["e3"], Satisfaction.NOT_SATISFIED, o(20))
    # e4: received at the commune office (province 01), moved to B (province 02).
    x = make_dossier(c, actor=c1, at=o(8))  # due 15 Oct
    x = services.transfer(
        x, actor=c1, expected_version=x.version, to_office=b, to_assignee=b1, at=o(9)
    )
    x = _start(x, b1, o(9, 14))
    d["e4"] = _result(x, b1, o(12))  # early

    # Office C, province 01.
    x = _start(make_dossier(c, actor=c1, at=o(15)), c1, o(15, 11))  # due 22 Oct
    d["f1"] = _result(x, c1, o(16))
    _rate(d["f1"], Satisfaction.VERY_SATISFIED, o(17))
    d["f2"] = make_dossier(c, actor=c1, at=o(29))
    _rate(d["d1"], Satisfaction.SATISFIED, n(1))  # rated in November: not counted

    return World(a, b, c, a1, a2, b1, c1, desk_a, manager_a, d)


def counts(**values: int) -> Counts:
    return Counts(**values)


def ints(c: Counts) -> dict[str, int]:
    return {k: getattr(c, k) for k in COUNT_COLUMNS}


# Hand counts for October 2026 (see the scenario).
A1 = counts(received=5, resolved=3, early=2, on_time=1, in_progress=3, due=5)
A2 = counts(received=4, resolved=1, late=1, in_progress=3, overdue=2, due=3)
A_NONE = counts(received=2, received_online=1, withdrawn=1, in_progress=1)
A = A1 + A2 + A_NONE
C = counts(received=2, resolved=1, early=1, in_progress=1, due=1, rated=1, satisfied=1)
P01 = A + C
B = counts(
    received=4,
    received_online=1,
    resolved=4,
    early=3,
    late=1,
    due=4,
    rated=2,
    satisfied=1,
    apologies=1,
)


def _dash(**kw: Any) -> reports.Dashboard:
    return reports.dashboard(**OCT, now=NOW, **kw)


# --- the numbers ---------------------------------------------------------------------------------


def test_numbers_add_up_across_levels_and_match_hand_counts(world: World) -> None:
    """nation = Σ provinces; province = Σ offices; office = Σ officers + unassigned;
    officer = Σ dossiers — for every count column."""
    nation = _dash()
    assert nation.level == Level.NATION
    by_province = {r.key: r for r in nation.rows}
    assert ints(by_province["01"].counts) == ints(P01)
    assert ints(by_province["02"].counts) == ints(B)
    assert ints(nation.totals) == ints(P01 + B)
    assert by_province["01"].label == "Thành phố Hà Nội"

    for row in nation.rows:
        province = _dash(province_code=row.key)
        assert province.level == Level.PROVINCE
        assert ints(province.totals) == ints(row.counts)
        assert ints(sum((r.counts for r in province.rows), Counts())) == ints(row.counts)
        for office_row in province.rows:
            office = _dash(office_id=int(office_row.key))
            assert ints(office.totals) == ints(office_row.counts)
            for officer_row in office.rows:
                officer = _dash(**_kwargs(officer_row.params))
                assert officer.level == Level.OFFICER
                assert ints(officer.totals) == ints(officer_row.counts)
                for dossier_row in officer.rows:
                    assert dossier_row.dossier is not None

    offices = {r.key: r.counts for r in _dash(province_code="01").rows}
    assert ints(offices[str(world.a.pk)]) == ints(A)
    assert ints(offices[str(world.c.pk)]) == ints(C)
    officers = {r.key: r.counts for r in _dash(office_id=world.a.pk).rows}
    assert ints(officers[str(world.a1.pk)]) == ints(A1)
    assert ints(officers[str(world.a2.pk)]) == ints(A2)
    assert ints(officers["unassigned"]) == ints(A_NONE)


def _kwargs(params: dict[str, str]) -> dict[str, Any]:
    return {
        "office_id": int(params["office"]),
        "assignee_id": int(params["assignee"]),
    }


def test_officer_level_lists_the_counted_dossiers(world: World) -> None:
    board = _dash(office_id=world.a.pk, assignee_id=world.a2.pk)
    codes = {r.key for r in board.rows}
    d = world.d
    assert codes == {d[k].code for k in ("d3", "d4", "d10", "d12")}
    rows = {r.key: r.counts for r in board.rows}
    assert rows[d["d4"].code].overdue == 1 and rows[d["d12"].code].overdue == 1
    assert rows[d["d10"].code].overdue == 0  # paused at the cut
    unassigned = _dash(office_id=world.a.pk, assignee_id=UNASSIGNED)
    assert {r.key for r in unassigned.rows} == {d["d6"].code, d["d7"].code}


def test_transferred_dossiers_count_where_they_are_now(world: World) -> None:
    """One attribution rule: the current holder. e4 was received by the commune office in
    province 01 and moved to province 02: all its figures, reception included, are 02's."""
    officer = _dash(office_id=world.b.pk, assignee_id=world.b1.pk)
    assert world.d["e4"].code in {r.key for r in officer.rows}
    commune = _dash(office_id=world.c.pk)
    assert commune.totals.received == 2  # f1, f2; not d9 or e4


def test_paused_dossiers_are_never_overdue(world: World) -> None:
    """A dossier waiting for a supplement at the cut is in progress but not overdue, whether it
    is still paused (d5), resumed after the cut (d10) or rejected while paused (d11)."""
    board = _dash(office_id=world.a.pk, assignee_id=world.a1.pk)
    rows = {r.key: r.counts for r in board.rows}
    for key in ("d5", "d11"):
        assert rows[world.d[key].code].in_progress == 1
        assert rows[world.d[key].code].overdue == 0


def test_indicators_of_decision_766_match_hand_counts(world: World) -> None:
    """Decision 766/QĐ-TTg: share resolved early or on time, average processing time, late
    rate = (late still open + late resolved) ÷ due in the period, share online, satisfaction,
    apology slips."""
    nation = _dash()
    ind = {i.key: i for i in nation.indicators}
    assert (ind["on_time_share"].numerator, ind["on_time_share"].denominator) == (7, 9)
    assert ind["on_time_share"].value == Fraction(7, 9)
    assert reports.percent(ind["on_time_share"].value) == reports.Decimal("77.8")
    assert (ind["late_rate"].numerator, ind["late_rate"].denominator) == (4, 13)
    assert (ind["online_share"].numerator, ind["online_share"].denominator) == (2, 17)
    assert (ind["satisfaction"].numerator, ind["satisfaction"].denominator) == (2, 3)
    assert ind["apologies"].numerator == 1
    assert ind["average_days"].denominator == 9
    # Same figures through the row-less function.
    again = reports.indicators(**OCT, now=NOW)
    assert [i.value for i in again] == [i.value for i in nation.indicators]


def test_average_processing_time_in_working_days(world: World) -> None:
    """d1: counted from Monday 5 Oct 10:00, result Thursday 8 Oct 10:00 = 7 + 9 + 9 + 2 office
    hours = 27 hours = 3 working days of 9 hours."""
    board = _dash(office_id=world.a.pk, assignee_id=world.a1.pk)
    d1 = next(r for r in board.rows if r.key == world.d["d1"].code)
    assert d1.counts.processing_days == 3
    assert d1.counts.average_days == 3
    procedures = {p.code: p for p in _dash().procedures}
    assert procedures["600"].counts.resolved == 9
    assert procedures["600"].deadline == "5 d"


def test_offices_with_other_hours_convert_minutes_with_their_own_day(world: World) -> None:
    """An office open 07:30–16:30 has 9-hour days too; one open 08:00–12:00 has 4-hour days:
    240 office minutes there are one working day."""
    org = make_org(scope_codes=("01",))
    short = make_office(org, agency_code="000.00.09.H26", closes=dt.time(12, 0))
    clerk = make_officer(short)
    x = _start(make_dossier(short, actor=clerk, at=o(5, 8)), clerk, o(5, 9))
    _result(x, clerk, o(6, 8))  # Mon 08:00–12:00 = 240 minutes
    board = _dash(office_id=short.pk)
    assert board.totals.processing_days == 1


def test_slowest_steps_average_the_time_spent_per_state_and_department(world: World) -> None:
    org = make_org(scope_codes=("01",))
    office = make_office(org, agency_code="000.00.08.H26")
    clerk = make_officer(office, departments=("THU",))
    for received in (o(5), o(6)):
        x = make_dossier(office, actor=clerk, at=received)
        x = services.transfer(
            x, actor=clerk, expected_version=x.version, to_department="THU", at=received
        )
        x = _start(x, clerk, received + dt.timedelta(days=1))  # one day waiting in THU
        _result(x, clerk, received + dt.timedelta(days=3))  # two days processing
    steps = {(s.state, s.department_code): s for s in _dash(office_id=office.pk).slowest_steps}
    assert steps[("processing", "THU")].average_days == 2
    assert steps[("processing", "THU")].dossiers == 2
    assert steps[("transferred", "THU")].average_days == 1
    assert steps[("received", "")].average_days == 0
    assert next(iter(steps)) == ("processing", "THU")


def _window_steps(
    resolved_from: dt.datetime, resolved_to: dt.datetime, **lookups: Any
) -> dict[tuple[str, str], tuple[int, float]]:
    """The slowest-steps figures as first written: LEAD over each path in (at, id) order, per
    (state after a step, its department code) — the reference for the stored durations."""
    scope = " ".join(f"AND d.{column} = %s" for column in lookups)
    if connection.vendor == "postgresql":
        elapsed = "EXTRACT(EPOCH FROM (LEAD(t.at) OVER w - t.at))"
    else:
        elapsed = "(julianday(LEAD(t.at) OVER w) - julianday(t.at)) * 86400.0"
    sql = f"""
        SELECT v.state, v.code, COUNT(*), SUM(v.seconds) FROM (
            SELECT s.dossier_id, s.state, COALESCE(dep.code, '') AS code, SUM(s.seconds) AS seconds
            FROM (
                SELECT t.dossier_id, t.to_state AS state, t.to_department_id AS department_id,
                       {elapsed} AS seconds
                FROM onestop_dossiertransition t
                WHERE t.dossier_id IN (
                    SELECT d.id FROM onestop_dossier d
                    WHERE d.resolved_at >= %s AND d.resolved_at < %s {scope}
                )
                WINDOW w AS (PARTITION BY t.dossier_id ORDER BY t.at, t.id)
            ) s
            LEFT JOIN onestop_department dep ON dep.id = s.department_id
            WHERE s.seconds IS NOT NULL
              AND s.state IN ('received', 'transferred', 'processing', 'supplement')
            GROUP BY s.dossier_id, s.state, COALESCE(dep.code, '')
        ) v
        GROUP BY v.state, v.code
    """  # noqa: S608 - column names from the test, values are parameters
    with connection.cursor() as cursor:
        adapt = connection.ops.adapt_datetimefield_value  # UTC text on SQLite, as stored
        cursor.execute(sql, [adapt(resolved_from), adapt(resolved_to), *lookups.values()])
        return {(state, code): (n, float(seconds)) for state, code, n, seconds in cursor}


def test_each_path_row_stores_the_time_since_the_previous_step(world: World) -> None:
    """The services write ``since_previous`` (and the state and department left) with each
    step; the first step of a path has none."""
    for dossier in world.d.values():
        path = list(DossierTransition.objects.filter(dossier=dossier).order_by("at", "id"))
        assert path[0].since_previous is None
        for before, step in itertools.pairwise(path):
            assert step.since_previous == step.at - before.at
            assert step.from_state == before.to_state
            assert step.from_department_id == before.to_department_id


@pytest.mark.parametrize(
    "scope", [{}, {"province_code": "01"}, {"province_code": "02"}, {"office": "a"}]
)
def test_slowest_steps_equal_the_window_function_over_the_paths(
    world: World, scope: dict[str, str]
) -> None:
    """Summing the stored durations gives the figures of LEAD over the paths, at every level."""
    lookups: dict[str, Any] = dict(scope)
    kwargs: dict[str, Any] = dict(scope)
    if "office" in scope:
        office = getattr(world, lookups.pop("office"))
        lookups["office_id"] = office.pk
        kwargs = {"office_id": office.pk}
    start = dt.datetime(2026, 10, 1, tzinfo=VN)
    expected = _window_steps(start, dt.datetime(2026, 11, 1, tzinfo=VN), **lookups)
    board = _dash(**kwargs)
    got = {(s.state, s.department_code): (s.dossiers, s.seconds) for s in board.slowest_steps}
    assert expected and got.keys() == expected.keys()
    for key, (dossiers, seconds) in expected.items():
        assert got[key][0] == dossiers
        assert got[key][1] == pytest.approx(seconds, abs=1e-3)


def test_migration_backfills_the_time_since_the_previous_step(world: World) -> None:
    """Migration 0005 fills ``since_previous`` on rows written before it existed, to the
    microsecond, in (at, id) order — ties on ``at`` included — and leaves the path protected."""
    backfill = importlib.import_module(
        "ansinh.onestop.migrations.0005_path_since_previous"
    ).backfill
    dossier = world.d["d1"]
    base = dt.datetime(2026, 10, 10, 9, 0, 0, 250_000, tzinfo=VN)  # after its return
    moments = [
        base,
        base + dt.timedelta(seconds=90, microseconds=500_001),
        base + dt.timedelta(seconds=90, microseconds=500_001),  # same moment: order by id
        base + dt.timedelta(days=2, microseconds=-250_000),
    ]
    DossierTransition.objects.bulk_create(
        DossierTransition(
            dossier=dossier,
            at=moment,
            action="reassign",
            from_state="returned",
            to_state="returned",
            due_at=dossier.due_at,
        )
        for moment in moments
    )

    class Executor:  # what appendonly needs of a schema editor
        def __init__(self) -> None:
            self.connection = connection

        def execute(self, sql: str) -> None:
            with connection.cursor() as cursor:
                cursor.execute(sql)

    backfill(None, Executor())
    path = list(DossierTransition.objects.filter(dossier=dossier).order_by("at", "id"))
    assert path[0].since_previous is None
    for before, step in itertools.pairwise(path):
        assert step.since_previous == step.at - before.at
    assert [s.since_previous for s in path[-4:]] == [
        moments[0] - o(9),
        dt.timedelta(seconds=90, microseconds=500_001),
        dt.timedelta(0),
        dt.timedelta(days=2) - dt.timedelta(seconds=90, microseconds=750_001),
    ]
    with pytest.raises(DatabaseError), transaction.atomic():
        DossierTransition.objects.filter(pk=path[-1].pk).update(note="x")


def test_trend_compares_with_the_same_month_last_year(world: World) -> None:
    trend = _dash().trend
    assert len(trend) == 12
    assert trend[-1].month == dt.date(2026, 10, 1)
    assert trend[0].month == dt.date(2025, 11, 1)
    assert (trend[-1].resolved, trend[-1].on_time) == (9, 7)
    assert trend[-1].previous_resolved == 0 and trend[-1].previous_rate is None
    # A year later the same October is the comparison month.
    later = reports.dashboard(
        start=dt.date(2027, 10, 1),
        end=dt.date(2027, 10, 31),
        now=dt.datetime(2027, 11, 5, tzinfo=VN),
    )
    assert (later.trend[-1].previous_resolved, later.trend[-1].previous_on_time) == (9, 7)


def test_a_period_not_over_is_counted_to_date(world: World) -> None:
    """At 20 November 12:00 the November dashboard shows the dossiers open right now."""
    board = reports.dashboard(start=dt.date(2026, 11, 1), end=dt.date(2026, 11, 30), now=NOW)
    assert board.is_to_date and board.cut == NOW
    # Open now: d4, d5 (paused), d7, f2, g1. Overdue now: d4 (27 Oct), d7 (4 Nov), f2 (5 Nov),
    # g1 (9 Nov); d5 is paused.
    assert board.totals.in_progress == 5
    assert board.totals.overdue == 4
    assert board.totals.received == 1  # g1
    assert board.totals.resolved == 4  # d9, d10, d11 (rejected), d12


def test_period_validation() -> None:
    with pytest.raises(DomainError) as exc:
        Period(dt.date(2026, 10, 31), dt.date(2026, 10, 1))
    assert exc.value.code == "period_order"
    with pytest.raises(DomainError) as exc:
        reports.dashboard(start=dt.date(2027, 1, 1), end=dt.date(2027, 1, 31), now=NOW)
    assert exc.value.code == "period_in_future"
    assert Period.month(2026, 2) == Period(dt.date(2026, 2, 1), dt.date(2026, 2, 28))
    assert Period.year(2026).is_year and Period.month(2026, 12).is_month


# --- scope ---------------------------------------------------------------------------------------


def test_user_scope_follows_the_organisation(world: World) -> None:
    central = make_org(kind="central", scope_codes=(), nationwide=True)
    assert reports.user_scope(make_user("manager", org=central)).nationwide
    assert reports.user_scope(world.manager_a) == reports.ReportScope(province_code="01")
    commune_manager = make_officer(world.c, "manager")
    assert reports.user_scope(commune_manager) == reports.ReportScope(
        province_code="01", office_id=world.c.pk
    )
    no_desk = make_user("manager", org=make_org(kind="other", scope_codes=()))
    assert reports.user_scope(no_desk) is None


def test_authorize_target_defaults_and_refusals(world: World) -> None:
    province = reports.ReportScope(province_code="01")
    assert reports.authorize_target(province).province_code == "01"
    assert reports.authorize_target(province, office_id=world.c.pk).office_id == world.c.pk
    with pytest.raises(Forbidden):
        reports.authorize_target(province, province_code="02")
    with pytest.raises(Forbidden):
        reports.authorize_target(province, office_id=world.b.pk)
    office = reports.ReportScope(province_code="01", office_id=world.c.pk)
    assert reports.authorize_target(office).office_id == world.c.pk
    with pytest.raises(Forbidden):
        reports.authorize_target(office, province_code="01")
    with pytest.raises(Forbidden):
        reports.authorize_target(office, office_id=world.a.pk)


# --- pages ---------------------------------------------------------------------------------------

URL = "/onestop/reports/"
MONTH = {"period": "month", "month": "2026-10"}


def test_dashboard_page_renders_for_a_manager(client: Any, world: World) -> None:
    login_verified(client, world.manager_a)
    assert reverse("onestop:dashboard") == URL
    r = client.get(URL, MONTH)
    assert r.status_code == 200
    html = r.content.decode()
    assert "BHXH Hà Nội" in html and "BHXH cơ sở Ba Đình" in html
    assert "<svg" in html and 'id="trend-table"' in html
    r = client.get(URL, {**MONTH, "office": world.a.pk, "assignee": world.a2.pk})
    assert r.status_code == 200
    assert f"/onestop/dossiers/{world.d['d4'].code}/" in r.content.decode()


def test_officer_without_view_reports_gets_403(client: Any, world: World) -> None:
    login_verified(client, world.a1)
    r = client.get(URL, MONTH)
    assert r.status_code == 403
    assert AuditEvent.objects.filter(actor=world.a1, action="denied").exists()


def test_out_of_scope_drill_down_is_refused_and_audited(client: Any, world: World) -> None:
    login_verified(client, world.manager_a)
    for params in ({"province": "02"}, {"office": world.b.pk}):
        r = client.get(URL, {**MONTH, **params})
        assert r.status_code == 403
    events = AuditEvent.objects.filter(actor=world.manager_a, action="denied")
    assert events.count() == 2
    assert events.first().object_type == "onestop_report"


def test_period_errors_are_explained(client: Any, world: World) -> None:
    login_verified(client, world.manager_a)
    r = client.get(URL, {"period": "range", "from": "2026-10-31", "to": "2026-10-01"})
    assert r.status_code == 400
    assert "Ngày kết thúc" in r.content.decode()
    r = client.get(URL, {"period": "month", "month": "2026-13"})
    assert r.status_code == 400
    r = client.get(URL, {"period": "range", "from": "x", "to": "2026-10-01"})
    assert r.status_code == 400


def test_xlsx_export_matches_the_dashboard(client: Any, world: World) -> None:
    from openpyxl import load_workbook

    login_verified(client, world.manager_a)
    r = client.get(reverse("onestop:dashboard_export", args=["xlsx"]), MONTH)
    assert r.status_code == 200
    assert r["Content-Type"].startswith("application/vnd.openxmlformats")
    book = load_workbook(io.BytesIO(r.content))
    sheet = book["Theo đơn vị"]
    header_row = next(
        i for i, row in enumerate(sheet.iter_rows(values_only=True), 1) if row[0] == "Mã"
    )
    headers = [c.value for c in sheet[header_row]]
    assert "Tiếp nhận trong kỳ" in headers
    total = next(row for row in sheet.iter_rows(values_only=True) if row[1] == "Tổng cộng")
    board = reports.dashboard(**OCT, province_code="01")
    received = headers.index("Tiếp nhận trong kỳ")
    assert total[received] == board.totals.received == P01.received
    assert isinstance(total[received], int)
    assert "Kỳ báo cáo" in str(sheet["A2"].value)
    assert set(book.sheetnames) >= {"Chỉ số", "Theo thủ tục", "Bước chậm nhất", "Xu hướng"}
    export = AuditEvent.objects.get(actor=world.manager_a, action="export")
    assert export.detail["format"] == "xlsx"


def test_pdf_export_has_vietnamese_text(client: Any, world: World) -> None:
    from pypdf import PdfReader

    login_verified(client, world.manager_a)
    r = client.get(reverse("onestop:dashboard_export", args=["pdf"]), MONTH)
    assert r.status_code == 200 and r["Content-Type"] == "application/pdf"
    pdf = PdfReader(io.BytesIO(r.content))
    page = pdf.pages[0]
    assert page.mediabox.width > page.mediabox.height  # landscape
    text = "\n".join(p.extract_text() for p in pdf.pages)
    assert "Tiếp nhận" in text and "Tỷ lệ trước hạn, đúng hạn" in text
    assert "Thành phố Hà Nội" in text
    assert AuditEvent.objects.filter(action="export", detail__format="pdf").exists()


def test_exports_refuse_other_scopes_and_formats(client: Any, world: World) -> None:
    login_verified(client, world.manager_a)
    r = client.get(reverse("onestop:dashboard_export", args=["xlsx"]), {**MONTH, "province": "02"})
    assert r.status_code == 403
    r = client.get(reverse("onestop:dashboard_export", args=["csv"]), MONTH)
    assert r.status_code == 404


def test_the_bench_generator_writes_the_time_since_the_previous_step() -> None:
    """``synth.dossiers_bulk`` writes path rows directly: their durations must be what the
    services would have stored, so the benchmark's slowest steps equal the window function."""
    from ansinh.synth.dossiers_bulk import BulkParams, generate_dossiers

    now = dt.datetime(2026, 11, 20, 10, 0)
    generate_dossiers(BulkParams(dossiers=400, years=1, open=40, provinces=1, now=now))
    path = list(DossierTransition.objects.order_by("dossier_id", "at", "id"))
    for before, step in itertools.pairwise(path):
        if step.dossier_id != before.dossier_id:
            assert step.since_previous is None
        else:
            assert step.since_previous == step.at - before.at
            assert (step.from_state, step.from_department_id) == (
                before.to_state,
                before.to_department_id,
            )
    start, end = dt.date(2026, 1, 1), dt.date(2026, 10, 31)
    expected = _window_steps(
        dt.datetime(2026, 1, 1, tzinfo=VN), dt.datetime(2026, 11, 1, tzinfo=VN)
    )
    got = reports._slowest_steps(
        reports.Target(Level.NATION),
        dt.datetime(2026, 1, 1, tzinfo=VN),
        dt.datetime(2026, 11, 1, tzinfo=VN),
    )
    assert len(got) == min(len(expected), reports.SLOWEST_STEPS) > 0
    for s in got:
        dossiers, seconds = expected[(s.state, s.department_code)]
        assert s.dossiers == dossiers and s.seconds == pytest.approx(seconds, abs=1e-3)
    board = reports.dashboard(start=start, end=end, now=NOW)
    assert board.slowest_steps == got
