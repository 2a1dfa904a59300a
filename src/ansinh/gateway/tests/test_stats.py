"""Per-I-VAN statistics on hand-built submissions: exact counts, the 2-hour forwarding rule of
Decree 166/2016 Art. 11 at its boundary, the signing→receipt distribution and availability."""

from __future__ import annotations

import datetime as dt
from fractions import Fraction

import pytest

from ansinh.core.errors import DomainError
from ansinh.gateway import selectors, submitters
from ansinh.gateway.models import Channel, IvanProbe, Verdict
from ansinh.gateway.selectors import Period
from ansinh.gateway.tests.submitter_factories import at, employer_in, make_ivan, submission

pytestmark = pytest.mark.django_db

H = dt.timedelta(hours=1)
M = dt.timedelta(minutes=1)
S = dt.timedelta(seconds=1)
OCTOBER = Period(dt.date(2026, 10, 1), dt.date(2026, 10, 31))


def test_two_hour_rule_boundary() -> None:
    """Decree 166/2016 Art. 11: forwarded 'within 2 hours' — exactly 2 hours is on time, one
    second more is a breach; the I-VAN's declared receipt time is the start when present,
    else the signing time."""
    received = at(5, 12)
    assert not selectors.breaches_rule(selectors.forwarding_delay(received, received - 2 * H, None))
    assert selectors.breaches_rule(selectors.forwarding_delay(received, received - 2 * H - S, None))
    # ivan_received_at wins over an older signing time.
    assert not selectors.breaches_rule(
        selectors.forwarding_delay(received, received - H, received - 5 * H)
    )
    assert selectors.breaches_rule(selectors.forwarding_delay(received, None, received - 3 * H))
    assert not selectors.breaches_rule(selectors.forwarding_delay(received, None, None))


def test_ivan_figures_are_exact() -> None:
    ivan = make_ivan("FIG")
    other = make_ivan("OTHER")
    employer = employer_in("01")
    r = at(6, 9)
    # Timed, accepted: 2 h exactly (ok), 2 h + 1 s (breach), 30 min from signing only (ok),
    # 3 h from signing only (breach).
    submission(
        ivan=ivan,
        employer=employer,
        received_at=r,
        ivan_received_at=r - 2 * H,
        signed_at=r - 2 * H - 10 * M,
        rows_total=10,
        rows_accepted=8,
        rows_rejected=2,
    )
    submission(
        ivan=ivan,
        employer=employer,
        received_at=r + H,
        ivan_received_at=r + H - 2 * H - S,
        rows_total=5,
        rows_accepted=3,
        rows_rejected=1,
        rows_queued=1,
    )
    submission(ivan=ivan, received_at=r + 2 * H, signed_at=r + 2 * H - 30 * M, rows_total=1)
    submission(ivan=ivan, received_at=at(7, 9), signed_at=at(7, 6), rows_total=1, rows_accepted=1)
    # Accepted without any declared time: counted, not timed.
    submission(ivan=ivan, received_at=at(8, 9))
    # Refused: counted as refused; its rows and declared times are not used.
    submission(
        ivan=ivan,
        received_at=at(8, 10),
        verdict=Verdict.REFUSED,
        signed_at=at(1, 10),
        rows_total=50,
        rows_rejected=50,
    )
    # Outside the period, and another I-VAN's.
    submission(ivan=ivan, received_at=at(1, 9, month=11), signed_at=at(1, 1, month=11))
    submission(ivan=other, received_at=r, signed_at=r - 5 * H)
    for minute, ok in ((0, True), (5, True), (10, False), (15, True)):
        IvanProbe.objects.create(ivan=ivan, at=at(6, 3, minute), ok=ok, status=200 if ok else 503)
    IvanProbe.objects.create(ivan=ivan, at=at(1, 3, month=11), ok=False)

    rows = {row.ivan.code: row.figures for row in selectors.ivan_overview(OCTOBER)}
    f = rows["FIG"]
    assert (f.submissions, f.accepted, f.refused) == (6, 5, 1)
    assert (f.rows_total, f.rows_accepted, f.rows_rejected, f.rows_queued) == (17, 12, 3, 1)
    assert f.row_rejection_rate == Fraction(3, 15)
    assert f.refusal_rate == Fraction(1, 6)
    assert (f.timed, f.breaches) == (4, 2)
    assert f.breach_rate == Fraction(1, 2)
    assert (f.probes, f.probes_ok, f.availability) == (4, 3, Fraction(3, 4))
    assert (rows["OTHER"].submissions, rows["OTHER"].breaches) == (1, 1)
    total = selectors.overview_totals(list(selectors.ivan_overview(OCTOBER)))
    assert (total.submissions, total.breaches, total.timed) == (7, 3, 5)

    stats = selectors.ivan_statistics(ivan, OCTOBER)
    assert stats.figures == f
    assert len(stats.days) == 31
    by_day = {d.day.day: d for d in stats.days}
    assert (by_day[6].accepted, by_day[6].refused) == (3, 0)
    assert (by_day[7].accepted, by_day[8].accepted, by_day[8].refused) == (1, 1, 1)
    assert (by_day[6].probes, by_day[6].probes_ok) == (4, 3)
    assert sum(d.submissions for d in stats.days) == 6
    assert stats.last_probe is not None and stats.last_probe.at == at(1, 3, month=11)


def test_days_are_local_days() -> None:
    """A submission at 23:30 in Hà Nội is that day's, though it is 16:30 UTC; 00:10 the next
    day is the next day's."""
    ivan = make_ivan("TZ")
    submission(ivan=ivan, received_at=at(5, 23, 30))
    submission(ivan=ivan, received_at=at(6, 0, 10))
    submission(ivan=ivan, received_at=at(1, 0, 0))  # first moment of the period
    submission(ivan=ivan, received_at=at(30, 23, 59, 59, month=9))  # just before it
    stats = selectors.ivan_statistics(ivan, Period(dt.date(2026, 10, 1), dt.date(2026, 10, 6)))
    assert [d.submissions for d in stats.days] == [1, 0, 0, 0, 1, 1]
    assert stats.figures.submissions == 3


def test_signing_to_receipt_distribution() -> None:
    ivan = make_ivan("DIST")
    r = at(10, 15)
    delays = [4 * M, 5 * M, 5 * M + S, 60 * M, 120 * M, 120 * M + S, 2 * 24 * H, -10 * M]
    for delay in delays:
        submission(ivan=ivan, received_at=r, signed_at=r - delay)
    submission(ivan=ivan, received_at=r, signed_at=r - 9 * H, verdict=Verdict.REFUSED)
    submission(ivan=ivan, received_at=r)  # no signing time
    d = selectors.ivan_statistics(ivan, OCTOBER).delays
    assert d.measured == 8 and d.skewed == 1
    assert [(b.low, b.high, b.count) for b in d.buckets] == [
        (0, 5, 2),
        (5, 15, 1),
        (15, 30, 0),
        (30, 60, 1),
        (60, 120, 1),
        (120, 240, 1),
        (240, 1440, 0),
        (1440, None, 1),
    ]
    assert [b.within_limit for b in d.buckets] == [True] * 5 + [False] * 3
    # 7 measured values: 4, 5, 5.02, 60, 120, 120.02, 2880 minutes (nearest rank).
    assert d.median_minutes == 60.0
    assert d.p90_minutes == 2880.0
    assert d.max_minutes == 2880.0


def test_empty_statistics() -> None:
    ivan = make_ivan("EMPTY")
    stats = selectors.ivan_statistics(ivan, OCTOBER)
    f = stats.figures
    assert f.submissions == 0 and f.row_rejection_rate is None and f.availability is None
    assert stats.delays.median_minutes is None
    assert all(b.count == 0 for b in stats.delays.buckets)
    assert stats.last_probe is None


def test_registered_employers_count_on_the_last_day() -> None:
    ivan = make_ivan("REG")
    a, b, c = employer_in("01"), employer_in("01"), employer_in("79")
    for employer in (a, b):
        submitters.register_employer_etrans(
            employer=employer,
            channel=Channel.IVAN,
            ivan=ivan,
            registered_on=dt.date(2026, 9, 1),
            phone="0901234567",
        )
    # b moves to the web form within October: not counted on 31 October.
    submitters.register_employer_etrans(
        employer=b, channel=Channel.WEB, registered_on=dt.date(2026, 10, 20), phone="0901234567"
    )
    # c joins after the period.
    submitters.register_employer_etrans(
        employer=c,
        channel=Channel.IVAN,
        ivan=ivan,
        registered_on=dt.date(2026, 11, 2),
        phone="0901234567",
    )
    rows = {row.ivan.code: row.figures for row in selectors.ivan_overview(OCTOBER)}
    assert rows["REG"].employers == 1


def test_period_checks() -> None:
    with pytest.raises(DomainError) as caught:
        Period(dt.date(2026, 10, 2), dt.date(2026, 10, 1))
    assert caught.value.code == "period_reversed"
    with pytest.raises(DomainError) as caught:
        Period(dt.date(2025, 1, 1), dt.date(2026, 10, 1))
    assert caught.value.code == "period_too_long"
    assert Period.month(2026, 12) == Period(dt.date(2026, 12, 1), dt.date(2026, 12, 31))
    assert Period.month(2028, 2).end == dt.date(2028, 2, 29)
