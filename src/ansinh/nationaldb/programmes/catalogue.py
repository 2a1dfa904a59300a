"""The programmes and their beneficiary categories, as data. Owners follow the 2025 government
restructuring (domain rules, "Who is who", confidence medium): social assistance moved to the
Ministry of Health, poverty reduction to the Ministry of Agriculture and Environment, and
meritorious people stay with the Ministry of Home Affairs (which absorbed MOLISA)."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from pathlib import Path
from typing import Any

from ansinh.law.services import RuleFile

RULES = RuleFile(
    path=Path(__file__).resolve().parent.parent / "rules.toml",
    array="parameter",
    model="law.LegalParameter",
    natural=("key",),
    values={"value": Decimal, "unit": str, "description": str},
)

_RESTRUCTURING = dt.date(2025, 3, 1)
_MOLISA = "Bộ Lao động - Thương binh và Xã hội"

PROGRAMMES: list[dict[str, Any]] = [
    {
        "code": "tgxh",
        "name": "Trợ giúp xã hội thường xuyên",
        "name_en": "Regular social assistance",
        "owner": "Bộ Y tế",
        "owner_en": "Ministry of Health",
        "owner_since": _RESTRUCTURING,
        "previous_owner": _MOLISA,
    },
    {
        "code": "hongheo",
        "name": "Giảm nghèo (hộ nghèo, hộ cận nghèo)",
        "name_en": "Poverty reduction (poor and near-poor households)",
        "owner": "Bộ Nông nghiệp và Môi trường",
        "owner_en": "Ministry of Agriculture and Environment",
        "owner_since": _RESTRUCTURING,
        "previous_owner": _MOLISA,
    },
    {
        "code": "nguoicocong",
        "name": "Ưu đãi người có công với cách mạng",
        "name_en": "Preferential treatment of people with meritorious service",
        "owner": "Bộ Nội vụ",
        "owner_en": "Ministry of Home Affairs",
        "owner_since": _RESTRUCTURING,
        "previous_owner": _MOLISA,
    },
]

_D20 = "Decree 20/2021/NĐ-CP Art. 5–6; Decree 76/2024/NĐ-CP"
_D75 = "Ordinance 02/2020/UBTVQH14; Decree 75/2021/NĐ-CP; Decree 77/2024/NĐ-CP"
_TG = "nationaldb_tgxh_standard_level"
_NCC = "nationaldb_ncc_standard_level"

# (programme, code, name, name_en, legal basis, method, base key, coefficient key)
CATEGORIES: list[tuple[str, str, str, str, str, str, str, str]] = [
    ("tgxh", "TE_DUOI4", "Trẻ em dưới 4 tuổi không có nguồn nuôi dưỡng",
     "Child under 4 without support", _D20, "coefficient", _TG,
     "nationaldb_tgxh_coef_child_under4"),
    ("tgxh", "TE_TU4", "Trẻ em từ đủ 4 tuổi không có nguồn nuôi dưỡng",
     "Child aged 4+ without support", _D20, "coefficient", _TG, "nationaldb_tgxh_coef_child_4plus"),
    ("tgxh", "NCT_CODON", "Người cao tuổi hộ nghèo không có người phụng dưỡng",
     "Poor elderly person without carer", _D20, "coefficient", _TG,
     "nationaldb_tgxh_coef_elderly_alone"),
    ("tgxh", "NCT_80", "Người cao tuổi không có lương hưu, trợ cấp BHXH",
     "Elderly person without pension", _D20, "coefficient", _TG,
     "nationaldb_tgxh_coef_elderly_80"),
    ("tgxh", "KT_DBN", "Người khuyết tật đặc biệt nặng", "Person with a very severe disability",
     _D20, "coefficient", _TG, "nationaldb_tgxh_coef_disabled_special"),
    ("tgxh", "KT_NANG", "Người khuyết tật nặng", "Person with a severe disability",
     _D20, "coefficient", _TG, "nationaldb_tgxh_coef_disabled_severe"),
    ("hongheo", "poor", "Hộ nghèo", "Poor household",
     "Decree 07/2021/NĐ-CP (multidimensional poverty line 2022–2025)", "none", "", ""),
    ("hongheo", "near_poor", "Hộ cận nghèo", "Near-poor household",
     "Decree 07/2021/NĐ-CP (multidimensional poverty line 2022–2025)", "none", "", ""),
    ("nguoicocong", "TN_LS", "Thân nhân của một liệt sĩ", "Relative of one martyr",
     _D75, "coefficient", _NCC, "nationaldb_ncc_coef_martyr_relative"),
    ("nguoicocong", "BM_VNAH", "Bà mẹ Việt Nam anh hùng", "Vietnamese Heroic Mother",
     _D75, "coefficient", _NCC, "nationaldb_ncc_coef_vnah_mother"),
]  # fmt: skip


def sync_catalogue(get_model: Any) -> int:
    """Upsert programmes and categories through ``get_model("nationaldb.X")`` (the real models
    or a migration's). Idempotent; returns rows written."""
    programme_model = get_model("nationaldb.Programme")
    category_model = get_model("nationaldb.BeneficiaryCategory")
    written = 0
    for row in PROGRAMMES:
        programme_model.objects.update_or_create(
            code=row["code"], defaults={k: v for k, v in row.items() if k != "code"}
        )
        written += 1
    for prog, code, name, name_en, basis, method, base, coef in CATEGORIES:
        category_model.objects.update_or_create(
            programme=programme_model.objects.get(code=prog),
            code=code,
            defaults={
                "name": name,
                "name_en": name_en,
                "legal_basis": basis,
                "method": method,
                "base_key": base,
                "coefficient_key": coef,
            },
        )
        written += 1
    return written
