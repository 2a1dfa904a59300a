"""Provincial adoption of e-transactions (seed 004, Official Dispatch 45/BHXH-CNTT: at least
90 % of employers transacting electronically)."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from fractions import Fraction

import pytest

from ansinh.access.testing import make_org, make_user
from ansinh.core.errors import DomainError
from ansinh.gateway import selectors
from ansinh.gateway.models import Verdict
from ansinh.gateway.tests.submitter_factories import at, commune, employer_in, submission
from ansinh.law.models import LegalParameter
from ansinh.places.models import AdminUnit, UnitLevel, UnitSuccession, UnitSystem

pytestmark = pytest.mark.django_db

NOW = at(23, 9, month=11)


def _transacting(province: str, n: int, *, day: int = 10) -> None:
    for _ in range(n):
        submission(employer=employer_in(province), received_at=at(day, 9))


def _idle(province: str, n: int) -> None:
    for _ in range(n):
        employer_in(province)


@pytest.fixture
def october() -> None:
    """Hà Nội 9 of 10 (exactly 90 %), TP.HCM 3 of 5 (60 %), Đà Nẵng without employers, and
    employers and submissions that must not count."""
    _transacting("01", 9)
    _idle("01", 1)
    _transacting("79", 3)
    _idle("79", 1)
    commune("48")
    # An inactive employer with a submission: in neither count.
    gone = employer_in("79")
    gone.active = False
    gone.save(update_fields=["active"])
    submission(employer=gone, received_at=at(10, 9))
    # Only a refused submission, or one in another month (local time at the edges).
    late = employer_in("79")
    submission(employer=late, received_at=at(10, 9), verdict=Verdict.REFUSED)
    submission(employer=late, received_at=at(1, 0, 5, month=11))
    submission(employer=late, received_at=at(30, 23, 59, month=9))


def test_shares_and_provinces_below_the_target(october: None) -> None:
    report = selectors.adoption_report(2026, 10, now=NOW)
    assert report.target == Decimal("0.9")
    assert "45/BHXH-CNTT" in report.target_source
    rows = {r.code: r for r in report.rows}
    # Every province of the database is listed; only these three have the test's employers.
    assert {"01", "48", "79"} <= set(rows)
    assert all(r.employers == 0 for c, r in rows.items() if c not in {"01", "48", "79"})
    assert (rows["01"].employers, rows["01"].transacting) == (10, 9)
    assert rows["01"].share == Fraction(9, 10) and not rows["01"].below_target
    assert (rows["79"].employers, rows["79"].transacting) == (5, 3)
    assert rows["79"].share == Fraction(3, 5) and rows["79"].below_target
    assert rows["48"].employers == 0 and rows["48"].share is None and not rows["48"].below_target
    assert rows["01"].name == "Thành phố Hà Nội"
    assert [r.code for r in report.below] == ["79"]
    assert (report.total.employers, report.total.transacting) == (15, 12)
    assert report.total.below_target
    assert not report.is_to_date


def test_an_employer_counts_once_and_at_the_month_edges(october: None) -> None:
    """The submission of 1 November 00:05 (Hà Nội time) belongs to November."""
    report = selectors.adoption_report(2026, 11, now=NOW)
    rows = {r.code: r for r in report.rows}
    assert rows["79"].transacting == 1
    assert rows["01"].transacting == 0
    assert report.is_to_date


def test_a_lower_target_in_the_rule_tables_changes_the_list(october: None) -> None:
    """The target is a dated legal parameter: a new row changes the verdict, not the code."""
    LegalParameter.objects.create(
        key=selectors.ADOPTION_PARAMETER,
        value=Decimal("0.60"),
        valid_from=dt.date(2026, 10, 1),
        legal_source="test",
    )
    report = selectors.adoption_report(2026, 10, now=NOW)
    assert report.target == Decimal("0.6")
    assert report.below == []  # 79 is at 60 % exactly: not below


def test_rows_limited_to_the_scope(october: None) -> None:
    report = selectors.adoption_report(2026, 10, provinces={"79"}, now=NOW)
    assert [r.code for r in report.rows] == ["79"]
    assert (report.total.employers, report.total.transacting) == (5, 3)


def test_a_pre_2025_address_counts_in_its_successor_province() -> None:
    current = AdminUnit.objects.get(system=UnitSystem.CURRENT, code=commune("79"))
    old = AdminUnit.objects.create(
        system=UnitSystem.LEGACY,
        level=UnitLevel.COMMUNE,
        code="99740",  # not a real code: the full unit tables may be loaded already
        name="Phường Bến Nghé",
        short_name="Bến Nghé",
        province_code="79",
        key="old",
    )
    UnitSuccession.objects.create(old=old, new=current, is_default=True)
    employer = employer_in("01")
    type(employer).objects.filter(pk=employer.pk).update(address_unit=old)
    submission(employer=employer, received_at=at(3, 9))
    rows = {r.code: r for r in selectors.adoption_report(2026, 10, now=NOW).rows}
    assert (rows["79"].employers, rows["79"].transacting) == (1, 1)
    assert rows["01"].employers == 0


def test_future_month_is_refused() -> None:
    with pytest.raises(DomainError) as caught:
        selectors.adoption_report(2026, 12, now=NOW)
    assert caught.value.code == "period_in_future"


def test_report_provinces_follow_the_organisation() -> None:
    assert selectors.report_provinces(make_user("manager", org=make_org(scope_codes=("79",)))) == {
        "79"
    }
    commune_org = make_org(kind="commune_office", scope_codes=(commune("01"),))
    assert selectors.report_provinces(make_user("manager", org=commune_org)) == {"01"}
    central = make_org(kind="central", scope_codes=(), nationwide=True)
    assert selectors.report_provinces(make_user("manager", org=central)) is None
    assert selectors.report_provinces(make_user("manager", org=False)) == frozenset()
