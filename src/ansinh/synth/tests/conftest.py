from __future__ import annotations

import pytest

from ansinh.places.models import AdminUnit, UnitLevel, UnitSystem

#: A small current-system province: three wards and three communes of Hà Nội (code 01).
_COMMUNES = (
    ("00004", "Phường Ba Đình", "Ba Đình", "Phường"),
    ("00008", "Phường Ngọc Hà", "Ngọc Hà", "Phường"),
    ("00025", "Phường Giảng Võ", "Giảng Võ", "Phường"),
    ("09877", "Xã Sóc Sơn", "Sóc Sơn", "Xã"),
    ("10015", "Xã Đông Anh", "Đông Anh", "Xã"),
    ("10030", "Xã Thư Lâm", "Thư Lâm", "Xã"),
)


@pytest.fixture
def small_province(db: None) -> list[AdminUnit]:
    province, _ = AdminUnit.objects.get_or_create(
        system=UnitSystem.CURRENT,
        level=UnitLevel.PROVINCE,
        code="01",
        defaults={
            "name": "Thành phố Hà Nội",
            "short_name": "Hà Nội",
            "unit_type": "Thành phố",
            "province_code": "01",
            "key": "ha noi",
        },
    )
    units = []
    for code, name, short, kind in _COMMUNES:
        unit, _ = AdminUnit.objects.get_or_create(
            system=UnitSystem.CURRENT,
            level=UnitLevel.COMMUNE,
            code=code,
            defaults={
                "name": name,
                "short_name": short,
                "unit_type": kind,
                "parent": province,
                "province_code": "01",
                "key": short,
            },
        )
        units.append(unit)
    return units


@pytest.fixture
def rules(db: None) -> None:
    from ansinh.law.selectors import clear_cache
    from ansinh.law.services import sync_rules

    sync_rules()
    clear_cache()
