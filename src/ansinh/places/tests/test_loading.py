"""Loading the administrative units: both systems with parents, validity dates (the reform of
Resolution 202/2025/QH15 and the 2025 commune arrangement resolutions took effect on
2025-07-01) and the old→new successions; a second run changes nothing."""

from __future__ import annotations

import datetime as dt
from io import StringIO

import pytest
from django.core.management import call_command

from ansinh.places.models import REFORM_DATE, AdminUnit, UnitSuccession
from ansinh.places.services import load_admin_units
from ansinh.places.testing import ensure_units_loaded, units_loaded

pytestmark = pytest.mark.usefixtures("admin_units")


def _count(system: str, level: str) -> int:
    return AdminUnit.objects.filter(system=system, level=level).count()


def test_counts_after_loading() -> None:
    assert _count("2025", "province") == 34
    assert _count("2025", "commune") == 3321
    assert _count("2025", "district") == 0  # two-level government: no districts
    assert _count("legacy", "province") == 63
    assert 680 <= _count("legacy", "district") <= 710
    assert 10_000 <= _count("legacy", "commune") <= 10_100


def test_reload_repairs_changed_units_and_successions() -> None:
    unit = AdminUnit.objects.get(system="2025", level="commune", code="00004")
    AdminUnit.objects.filter(pk=unit.pk).update(name="Sai tên", latitude=None)
    succ = UnitSuccession.objects.filter(old__system="legacy", old__code="00007").first()
    UnitSuccession.objects.filter(pk=succ.pk).update(is_default=not succ.is_default)
    UnitSuccession.objects.create(
        old=AdminUnit.objects.get(system="legacy", level="commune", code="00001"),
        new=AdminUnit.objects.get(system="2025", level="commune", code="00070"),
    )
    counts = load_admin_units()
    assert counts["updated"] == 1
    assert counts["successions_updated"] == 1
    assert counts["successions_deleted"] == 1
    unit.refresh_from_db()
    assert unit.name == "Phường Ba Đình" and unit.latitude is not None


def test_parents_codes_and_dates() -> None:
    commune = AdminUnit.objects.select_related("parent__parent").get(
        system="legacy", level="commune", code="00001"
    )
    assert commune.name == "Phường Phúc Xá"
    assert commune.parent.name == "Quận Ba Đình" and commune.parent.level == "district"
    assert commune.parent.parent.code == "01" and commune.parent.parent.level == "province"
    assert commune.province_code == "01"
    assert commune.valid_to == REFORM_DATE - dt.timedelta(days=1) == dt.date(2025, 6, 30)
    assert commune.key == "thanhphohanoi_quanbadinh_phuongphucxa"
    current = AdminUnit.objects.select_related("parent").get(
        system="2025", level="commune", code="00004"
    )
    assert current.parent.code == "01" and current.parent.system == "2025"
    assert current.valid_from == REFORM_DATE and current.valid_to is None
    assert current.unit_type == "Phường" and current.short_name == "Ba Đình"
    assert current.search_name == "phuong ba dinh"
    assert current.latitude == pytest.approx(21.04, abs=0.05)
    assert not AdminUnit.objects.filter(level="commune", parent__isnull=True).exists()
    assert not AdminUnit.objects.filter(level="district", parent__isnull=True).exists()


def test_province_units() -> None:
    hanoi = AdminUnit.objects.get(system="2025", level="province", code="01")
    assert (hanoi.name, hanoi.short_name, hanoi.unit_type) == (
        "Thành phố Hà Nội",
        "Hà Nội",
        "Thành phố",
    )
    assert AdminUnit.objects.get(system="legacy", level="province", code="02").unit_type == "Tỉnh"


def test_every_legacy_province_has_one_current_province() -> None:
    """Resolution 202/2025/QH15: each of the 63 provinces is merged whole into one of 34."""
    rows = UnitSuccession.objects.filter(old__level="province")
    assert rows.count() == 63
    assert rows.values("old").distinct().count() == 63
    assert rows.values("new").distinct().count() == 34
    assert not rows.filter(is_split=True).exists()
    ha_giang = rows.select_related("new").get(old__code="02")
    assert ha_giang.new.code == "08"  # Hà Giang merged into Tuyên Quang


def test_ensure_units_loaded_is_cheap_when_loaded(django_assert_max_num_queries) -> None:
    assert units_loaded()
    with django_assert_max_num_queries(2):
        ensure_units_loaded()


def test_second_run_writes_nothing_and_command_prints_counts() -> None:
    """Idempotent: `ansinh load_places` on loaded data creates, updates and deletes nothing."""
    before = UnitSuccession.objects.count()
    out = StringIO()
    call_command("load_places", "--no-progress", stdout=out)
    counts = {
        name: int(value) for name, value in (line.split() for line in out.getvalue().splitlines())
    }
    assert counts["created"] == counts["updated"] == 0
    assert counts["successions_created"] == counts["successions_updated"] == 0
    assert counts["successions_deleted"] == 0
    assert counts["communes_2025"] == 3321 and counts["provinces_legacy"] == 63
    assert counts["legacy_unmapped"] == counts["current_unmapped"] == 0
    assert counts["successions"] == before == UnitSuccession.objects.count()
