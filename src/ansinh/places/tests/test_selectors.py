"""Reads of units and of the 2025 old→new mapping."""

from __future__ import annotations

import pytest

from ansinh.core.errors import DomainError, NotFound
from ansinh.places import selectors
from ansinh.places.models import AdminUnit

pytestmark = pytest.mark.usefixtures("admin_units")


def test_current_commune_and_unknown_code() -> None:
    assert selectors.current_commune("00004").name == "Phường Ba Đình"
    with pytest.raises(DomainError) as exc:
        selectors.current_commune("99999")
    assert not isinstance(exc.value, NotFound)  # bad input in a form: 400, not 404
    assert exc.value.first.code == "unknown_unit"
    assert exc.value.first.field == "address_unit"
    assert exc.value.first.message_vi and exc.value.first.message_en


def test_legacy_code_is_not_a_current_commune() -> None:
    """Commune 00001 (Phúc Xá) existed until 2025-06-30 only."""
    with pytest.raises(DomainError):
        selectors.current_commune("00001")


def test_get_unit_and_province_of() -> None:
    commune = selectors.get_unit("legacy", "commune", "00001")
    assert selectors.province_of(commune).name == "Thành phố Hà Nội"
    assert selectors.province_of(commune).system == "legacy"
    province = selectors.get_unit("2025", "province", "79")
    assert selectors.province_of(province) == province
    with pytest.raises(NotFound) as exc:
        selectors.get_unit("2025", "district", "001")
    assert exc.value.first.code == "unknown_unit" and exc.value.status == 404


def test_unsplit_commune_has_one_successor() -> None:
    """Phường Phúc Xá (Ba Đình) became part of Phường Hồng Hà as a whole."""
    res = selectors.resolve_legacy_commune("00001")
    assert res.default is not None and res.default.code == "00097"
    assert [u.code for u in res.candidates] == ["00097"]
    assert res.ambiguous is False


def test_split_commune_has_default_and_candidates_and_is_ambiguous() -> None:
    """Phường Cống Vị was split between Ngọc Hà (default) and Giảng Võ: an address there
    goes to review."""
    res = selectors.resolve_legacy_commune("00007")
    assert res.default is not None and res.default.name == "Phường Ngọc Hà"
    assert [u.code for u in res.candidates] == ["00008", "00025"]
    assert res.candidates[0] == res.default
    assert res.ambiguous is True


def test_unknown_legacy_commune() -> None:
    with pytest.raises(NotFound) as exc:
        selectors.resolve_legacy_commune("00000")
    assert exc.value.first.code == "unknown_unit"


def test_island_district_and_province_successors() -> None:
    con_dao = selectors.get_unit("legacy", "district", "755")
    res = selectors.successors_of(con_dao)
    assert res.default is not None and res.default.name == "Đặc khu Côn Đảo"
    assert res.ambiguous is False
    brvt = selectors.successors_of(selectors.get_unit("legacy", "province", "77"))
    assert brvt.default is not None and brvt.default.code == "79"  # into Hồ Chí Minh City


def test_predecessors_of_a_current_commune() -> None:
    hong_ha = selectors.get_unit("2025", "commune", "00097")
    codes = set(selectors.predecessors_of(hong_ha).values_list("code", flat=True))
    assert "00001" in codes


def test_provinces_and_communes_of() -> None:
    assert selectors.provinces("2025").count() == 34
    assert selectors.provinces("legacy").count() == 63
    communes = selectors.communes_of("01", "2025")
    assert communes.count() == 126  # Hà Nội: 126 communes and wards from 2025-07-01
    assert {u.system for u in communes} == {"2025"}
    assert selectors.communes_of("01", "legacy").count() > 500
    with pytest.raises(NotFound):
        selectors.communes_of("02", "2025")  # Hà Giang no longer exists


def test_commune_ids_under() -> None:
    hanoi = selectors.get_unit("2025", "province", "01")
    ids = selectors.commune_ids_under([hanoi.pk])
    assert len(ids) == 126
    commune = selectors.get_unit("2025", "commune", "26732")
    assert selectors.commune_ids_under([commune.pk]) == {commune.pk}
    both = selectors.commune_ids_under([hanoi.pk, commune.pk, 10**9])
    assert both == ids | {commune.pk}
    district = selectors.get_unit("legacy", "district", "001")
    under = selectors.commune_ids_under([district.pk])
    assert under and set(
        AdminUnit.objects.filter(pk__in=under).values_list("parent_id", flat=True)
    ) == {district.pk}
    assert selectors.commune_ids_under([]) == set()


def test_search_is_accent_insensitive_and_ranks_exact_names_first() -> None:
    found = selectors.search_units("ba dinh", system="2025", level="commune")
    assert found[0].code == "00004"
    assert all(u.system == "2025" and u.level == "commune" for u in found)
    assert {u.code for u in selectors.search_units("BA ĐÌNH", system="2025")} == {
        u.code for u in selectors.search_units("ba dinh", system="2025")
    }
    assert [u.code for u in selectors.search_units("00004", system="2025")] == ["00004"]
    assert selectors.search_units("   ") == []
    assert len(selectors.search_units("xa", limit=5)) == 5
    hanoi_only = selectors.search_units("phuong", province_code="01", system="2025")
    assert hanoi_only and {u.province_code for u in hanoi_only} == {"01"}
