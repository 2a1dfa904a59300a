"""The rule tables: loading, the rules in force on a day, caps and reference amounts, each
test naming the legal source it checks."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from pathlib import Path

import pytest
from django.core.management import call_command

from ansinh.core.errors import DomainError
from ansinh.law import calendar
from ansinh.law.models import ContributionRate, LegalParameter, ReferenceAmount, RuleSnapshot
from ansinh.law.selectors import contribution_rules, parameter, rules_in_force
from ansinh.law.services import (
    RULES_DIR,
    RuleFileError,
    load_rules,
    read_rule_files,
    snapshot_for,
    sync_rules,
)

pytestmark = pytest.mark.django_db

D = Decimal


def test_migration_seeded_the_tables_and_sync_is_idempotent() -> None:
    """0002_seed_rules loaded the TOML files: syncing again changes nothing."""
    assert ContributionRate.objects.exists()
    assert sync_rules() == 0
    assert sync_rules() == 0


def test_sync_restores_an_edited_row_and_keeps_admin_rows() -> None:
    row = ReferenceAmount.objects.get(kind="base_salary", valid_from=dt.date(2024, 7, 1))
    row.amount = 1
    row.save()
    extra = LegalParameter.objects.create(
        key="admin_added", value=1, valid_from=dt.date(2026, 1, 1), legal_source="x"
    )
    assert sync_rules() == 1
    row.refresh_from_db()
    assert row.amount == 2_340_000
    assert LegalParameter.objects.filter(pk=extra.pk).exists()


def test_sync_rules_command() -> None:
    call_command("sync_rules")


def test_every_rule_row_cites_a_source_and_confidence() -> None:
    files = read_rule_files()
    assert sum(len(rows) for rows in files.values()) >= 40
    for rows in files.values():
        for row in rows:
            assert row["legal_source"]
            assert row["confidence"] in ("high", "medium", "unconfirmed")


def test_malformed_rule_file_is_refused_with_its_row(tmp_path: Path) -> None:
    for f in RULES_DIR.glob("*.toml"):
        (tmp_path / f.name).write_text(f.read_text())
    text = (tmp_path / "contributions.toml").read_text()
    (tmp_path / "contributions.toml").write_text(text.replace('rate = "0.03"', 'rate = "3"', 1))
    with pytest.raises(RuleFileError, match=r"contributions.toml \[\[rate\]\] #1: rate"):
        load_rules(lambda name: None, tmp_path)


def test_rates_2025_law_58_2014_art_85_86() -> None:
    """Law 58/2014 Art. 85–86 (and Decree 58/2020 Art. 4 for 0.5% TNLĐ): 3 + 0.5 + 14 by the
    employer, 8 by the employee; BHYT 3 + 1.5 (Decree 146/2018 Art. 7); BHTN 1 + 1 (Law
    38/2013 Art. 57)."""
    r = contribution_rules(dt.date(2025, 3, 1), wage_region=1)
    assert r.rates[("bhxh_om", "employer")] == D("0.03")
    assert r.rates[("bhxh_tnld", "employer")] == D("0.005")
    assert r.rates[("bhxh_hts", "employer")] == D("0.14")
    assert r.rates[("bhxh_hts", "employee")] == D("0.08")
    assert r.rates[("bhyt", "employer")] == D("0.03")
    assert r.rates[("bhyt", "employee")] == D("0.015")
    assert r.rates[("bhtn", "employer")] == r.rates[("bhtn", "employee")] == D("0.01")
    assert "Law 58/2014/QH13 Art. 86 cl. 1 a" in r.citation


def test_rates_from_2025_07_01_law_41_2024_art_33() -> None:
    """Law 41/2024 Art. 33 from 2025-07-01: the same 17.5% employer / 8% employee for BHXH."""
    r = contribution_rules(dt.date(2025, 7, 1), wage_region=1)
    employer = sum(v for (_, payer), v in r.rates.items() if payer == "employer")
    employee = sum(v for (_, payer), v in r.rates.items() if payer == "employee")
    assert employer == D("0.215")  # 17.5 BHXH + 3 BHYT + 1 BHTN
    assert employee == D("0.105")  # 8 BHXH + 1.5 BHYT + 1 BHTN
    assert "Law 41/2024/QH15 Art. 33" in r.citation
    assert "Law 58/2014" not in r.citation


def test_base_salary_history_decrees_38_2019_24_2023_73_2024_161_2026() -> None:
    days = {
        dt.date(2019, 7, 1): 1_490_000,
        dt.date(2023, 6, 30): 1_490_000,
        dt.date(2023, 7, 1): 1_800_000,
        dt.date(2024, 7, 1): 2_340_000,
        dt.date(2026, 6, 30): 2_340_000,
        dt.date(2026, 7, 1): 2_530_000,
    }
    for day, amount in days.items():
        if day < dt.date(2020, 1, 1):
            continue  # no regional minimum wage in the tables before 2020
        assert contribution_rules(day, wage_region=1).base_salary == amount, day


def test_caps_2025_20x_base_salary_law_58_2014_art_89_decree_146_2018_art_7() -> None:
    r = contribution_rules(dt.date(2025, 1, 15), wage_region=1)
    assert r.bhxh_cap == r.bhyt_cap == 46_800_000
    assert r.bhtn_cap == 20 * 4_960_000  # Decree 74/2024, Law 38/2013 Art. 58 cl. 2


def test_caps_from_2026_07_01_decree_161_2026() -> None:
    r = contribution_rules(dt.date(2026, 7, 1), wage_region=1)
    assert r.bhxh_cap == r.bhyt_cap == 50_600_000


def test_bhtn_cap_2026_region_i_decree_293_2025_vs_state_scale() -> None:
    """Regional minimum wage I = 5,310,000 (Decree 293/2025): BHTN cap 106,200,000 on the
    employer's scale; 20 × base salary on the State scale (Law 38/2013 Art. 58 cl. 1)."""
    employer_scale = contribution_rules(dt.date(2026, 2, 1), wage_region=1)
    state_scale = contribution_rules(dt.date(2026, 2, 1), wage_region=1, pay_scale="state")
    assert employer_scale.regional_min_wage == 5_310_000
    assert employer_scale.bhtn_cap == 106_200_000
    assert state_scale.bhtn_cap == 46_800_000
    assert employer_scale.digest != state_scale.digest


def test_regional_minimum_wages_decrees_38_2022_74_2024_293_2025() -> None:
    expected = {
        dt.date(2022, 7, 1): (4_680_000, 4_160_000, 3_640_000, 3_250_000),
        dt.date(2024, 7, 1): (4_960_000, 4_410_000, 3_860_000, 3_450_000),
        dt.date(2026, 1, 1): (5_310_000, 4_730_000, 4_140_000, 3_700_000),
    }
    for day, amounts in expected.items():
        got = tuple(contribution_rules(day, wage_region=k).regional_min_wage for k in (1, 2, 3, 4))
        assert got == amounts, day


def test_no_rule_in_force_before_the_tables() -> None:
    with pytest.raises(DomainError) as exc:
        contribution_rules(dt.date(2010, 1, 1), wage_region=1)
    assert exc.value.first.code == "no_rule_in_force"
    with pytest.raises(DomainError) as exc:
        parameter("no_such_parameter", dt.date(2026, 1, 1))
    assert exc.value.first.code == "no_rule_in_force"
    assert exc.value.first.field == "no_such_parameter"


def test_bad_region_and_override_are_refused() -> None:
    with pytest.raises(DomainError) as exc:
        contribution_rules(dt.date(2026, 1, 1), wage_region=5)
    assert exc.value.first.field == "wage_region"
    with pytest.raises(DomainError) as exc:
        contribution_rules(dt.date(2026, 1, 1), wage_region=1, overrides={"bhxh_tnld": D("2")})
    assert exc.value.first.field == "overrides"


def test_reduced_tnld_override_decree_58_2020_art_4_cl_1_b() -> None:
    r = contribution_rules(dt.date(2026, 1, 1), wage_region=1, overrides={"bhxh_tnld": D("0.003")})
    assert r.rates[("bhxh_tnld", "employer")] == D("0.003")
    assert "override" in r.citation
    assert r.digest != contribution_rules(dt.date(2026, 1, 1), wage_region=1).digest


def test_parameters_law_41_2024_art_33_34_40() -> None:
    assert parameter("late_payment_interest_daily", dt.date(2026, 1, 1)) == D("0.0003")
    assert parameter("unpaid_leave_exempt_days", dt.date(2026, 1, 1)) == 14
    assert parameter("unpaid_leave_exempt_days", dt.date(2024, 1, 1)) == 14
    assert parameter("enrolment_deadline_days", dt.date(2026, 1, 1)) == 30
    # Due by the end of the following month from 2025-07-01 (Art. 34), the same month before
    # (Decision 595/QĐ-BHXH Art. 7).
    assert parameter("payment_due_months_after", dt.date(2025, 7, 1)) == 1
    assert parameter("payment_due_months_after", dt.date(2025, 6, 30)) == 0


def test_cache_follows_rule_edits() -> None:
    day = dt.date(2026, 3, 1)
    assert contribution_rules(day, wage_region=2).regional_min_wage == 4_730_000
    ReferenceAmount.objects.create(
        kind="regional_min_wage",
        region=2,
        amount=5_000_000,
        valid_from=dt.date(2026, 3, 1),
        legal_source="test decree",
    )
    assert contribution_rules(day, wage_region=2).regional_min_wage == 5_000_000


def test_same_content_on_different_days_shares_one_snapshot() -> None:
    a = contribution_rules(dt.date(2026, 1, 1), wage_region=1)
    b = contribution_rules(dt.date(2026, 5, 1), wage_region=1)
    assert a.digest == b.digest
    s1, s2 = snapshot_for(a), snapshot_for(b)
    assert s1.pk == s2.pk
    assert RuleSnapshot.objects.filter(digest=a.digest).count() == 1
    assert s1.content["base_salary"] == 2_340_000
    assert "Decree 293/2025/NĐ-CP" in s1.citation


def test_rules_in_force_lists_every_table() -> None:
    tables = rules_in_force(dt.date(2026, 1, 1))
    assert len(tables["rates"]) == 8
    assert {r.key for r in tables["parameters"]} >= {
        "late_payment_interest_daily",
        "unpaid_leave_exempt_days",
    }


def test_working_days_labour_code_2019_art_112() -> None:
    """Holidays of Labour Code 2019 Art. 112 are not working days; nor are weekends."""
    assert not calendar.is_working_day(dt.date(2026, 1, 1))  # New Year
    assert not calendar.is_working_day(dt.date(2026, 4, 30))  # Reunification Day
    assert not calendar.is_working_day(dt.date(2026, 1, 3))  # Saturday
    assert calendar.is_working_day(dt.date(2026, 1, 2))
    assert calendar.working_days_in_month(2026, 1) == 21  # 22 weekdays minus 1 January
    assert calendar.working_days_between(dt.date(2026, 1, 5), dt.date(2026, 1, 9)) == 5
    assert calendar.working_days_between(dt.date(2026, 1, 9), dt.date(2026, 1, 5)) == 0
    assert calendar.add_working_days(dt.date(2026, 1, 2), 1) == dt.date(2026, 1, 5)


def test_an_app_rule_file_is_loaded_by_sync_and_checked(tmp_path: Path) -> None:
    """Apps keep their own dated rule files (``RuleFile``): sync loads them idempotently and a
    row without a legal source or with an unknown choice is refused with the row named."""
    from ansinh.law import services

    path = tmp_path / "rules.toml"
    path.write_text(
        '[[parameter]]\nkey = "test_app_rate"\nvalue = "0.6"\nunit = ""\n'
        'description = "t"\nvalid_from = 2026-01-01\nlegal_source = "Law 74/2025/QH15 Art. 39"\n'
        'confidence = "medium"\n',
        encoding="utf-8",
    )
    rule_file = services.RuleFile(
        path=path,
        array="parameter",
        model="law.LegalParameter",
        natural=("key",),
        values={"value": Decimal, "unit": str, "description": str},
    )
    services.register_rule_file(rule_file)
    try:
        assert sync_rules() == 1
        assert sync_rules() == 0
        assert parameter("test_app_rate", dt.date(2026, 3, 1)) == D("0.6")
        path.write_text(
            path.read_text(encoding="utf-8").replace('"medium"', '"sure"'), encoding="utf-8"
        )
        with pytest.raises(RuleFileError, match=r"rules.toml \[\[parameter\]\] #1: confidence"):
            sync_rules()
    finally:
        services._EXTRA.pop((path, "parameter"))
