from __future__ import annotations

from django.contrib import admin

from ansinh.core.admin import ReadOnlyAdmin
from ansinh.registry.models import (
    AddressReview,
    Employer,
    EmploymentSpell,
    HealthInsuranceCard,
    LegacyNumber,
    Person,
    SalaryPeriod,
)


class LegacyNumberInline(admin.TabularInline):
    model = LegacyNumber
    extra = 0


@admin.register(Person)
class PersonAdmin(admin.ModelAdmin):
    # Ethnicity (SensitiveAttributes) is deliberately not shown: it is read through the
    # audited service path only.
    list_display = ("ss_number", "full_name", "date_of_birth", "sex", "status", "identity_check")
    list_filter = ("status", "identity_check", "sex")
    search_fields = ("=ss_number", "=legacy_numbers__number", "name_normalised")
    readonly_fields = ("name_normalised", "sort_key", "created_at", "updated_at")
    raw_id_fields = ("address_unit",)
    inlines = [LegacyNumberInline]


@admin.register(Employer)
class EmployerAdmin(admin.ModelAdmin):
    list_display = ("unit_code", "name", "unit_type", "participant_group", "wage_region", "active")
    list_filter = ("wage_region", "pay_scale", "active")
    search_fields = ("=unit_code", "=tax_code", "name_normalised")
    raw_id_fields = ("address_unit",)


class SalaryPeriodInline(admin.TabularInline):
    model = SalaryPeriod
    extra = 0


@admin.register(EmploymentSpell)
class EmploymentSpellAdmin(admin.ModelAdmin):
    list_display = ("person", "employer", "contract_type", "start", "end")
    raw_id_fields = ("person", "employer")
    inlines = [SalaryPeriodInline]


@admin.register(HealthInsuranceCard)
class HealthInsuranceCardAdmin(admin.ModelAdmin):
    list_display = ("number", "person", "participant_group", "benefit_level", "valid_from")
    search_fields = ("=number", "=short_number")
    raw_id_fields = ("person",)


@admin.register(AddressReview)
class AddressReviewAdmin(ReadOnlyAdmin):
    """Read-only: reviews are resolved on the review page, which checks scope and audits."""

    list_display = ("person", "legacy_unit", "proposed", "status", "chosen", "created_at")
    list_filter = ("status", "source")
    raw_id_fields = ("person", "legacy_unit", "proposed", "chosen", "resolved_by")
