from __future__ import annotations

from django.contrib import admin

from ansinh.law import models

_DATED = ("valid_from", "valid_to", "confidence", "legal_source")


@admin.register(models.ContributionRate)
class ContributionRateAdmin(admin.ModelAdmin):
    list_display = ("part", "payer", "rate", *_DATED)
    list_filter = ("part", "payer", "confidence")
    search_fields = ("legal_source", "note")


@admin.register(models.ReferenceAmount)
class ReferenceAmountAdmin(admin.ModelAdmin):
    list_display = ("kind", "region", "amount", *_DATED)
    list_filter = ("kind", "region", "confidence")
    search_fields = ("legal_source", "note")


@admin.register(models.SalaryCap)
class SalaryCapAdmin(admin.ModelAdmin):
    list_display = ("scheme", "pay_scale", "multiplier", "reference", *_DATED)
    list_filter = ("scheme", "confidence")
    search_fields = ("legal_source", "note")


@admin.register(models.LegalParameter)
class LegalParameterAdmin(admin.ModelAdmin):
    list_display = ("key", "value", "unit", *_DATED)
    list_filter = ("key", "confidence")
    search_fields = ("key", "legal_source", "note", "description")


@admin.register(models.RuleSnapshot)
class RuleSnapshotAdmin(admin.ModelAdmin):
    list_display = ("digest", "effective_on", "created_at")
    readonly_fields = ("digest", "effective_on", "content", "citation", "created_at")
    search_fields = ("digest", "citation")

    def has_change_permission(self, request, obj=None) -> bool:  # type: ignore[no-untyped-def]
        return False  # a snapshot is evidence of what a computation used


@admin.register(models.CalendarAnnouncement)
class CalendarAnnouncementAdmin(admin.ModelAdmin):
    list_display = ("day", "kind", "title", "legal_source")
    list_filter = ("kind",)
    date_hierarchy = "day"
    search_fields = ("title", "legal_source")
