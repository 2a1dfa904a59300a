"""Administrators edit the procedure catalogue, offices and departments here. Dossiers and
their paths are only ever written by ``onestop.services`` (checked, versioned, audited), so
they are read-only in the admin site."""

from __future__ import annotations

from django.contrib import admin

from ansinh.core.admin import ReadOnlyAdmin
from ansinh.onestop import models


class ProcedureVersionInline(admin.StackedInline):
    model = models.ProcedureVersion
    extra = 0
    fields = (
        ("valid_from", "valid_to"),
        ("deadline_days", "deadline_hours"),
        "documents",
        "departments",
        ("legal_source", "confidence"),
        "note",
    )


@admin.register(models.Procedure)
class ProcedureAdmin(admin.ModelAdmin):
    list_display = ("code", "name_vi", "domain", "active")
    list_filter = ("active", "domain")
    search_fields = ("code", "name_vi", "name_en")
    inlines = [ProcedureVersionInline]


@admin.register(models.ProcedureVersion)
class ProcedureVersionAdmin(admin.ModelAdmin):
    list_display = (
        "procedure",
        "valid_from",
        "valid_to",
        "deadline_days",
        "deadline_hours",
        "confidence",
        "legal_source",
    )
    list_filter = ("confidence",)
    search_fields = ("procedure__code", "legal_source")


class DepartmentInline(admin.TabularInline):
    model = models.Department
    extra = 0
    fields = ("code", "name", "head")
    raw_id_fields = ("head",)


@admin.register(models.Office)
class OfficeAdmin(admin.ModelAdmin):
    list_display = ("agency_code", "organisation", "province_code", "opens", "closes")
    search_fields = ("agency_code", "organisation__name")
    raw_id_fields = ("director",)
    inlines = [DepartmentInline]


@admin.register(models.Department)
class DepartmentAdmin(admin.ModelAdmin):
    list_display = ("office", "code", "name", "head")
    search_fields = ("code", "name", "office__agency_code")
    raw_id_fields = ("head",)
    filter_horizontal = ("members",)


@admin.register(models.Dossier)
class DossierAdmin(ReadOnlyAdmin):
    list_display = ("code", "procedure", "state", "channel", "received_at", "due_at", "outcome")
    list_filter = ("state", "channel", "outcome", "warning")
    search_fields = ("code",)
    date_hierarchy = "received_at"
    list_select_related = ("procedure",)


@admin.register(models.DossierTransition)
class DossierTransitionAdmin(ReadOnlyAdmin):
    list_display = ("dossier", "at", "action", "from_state", "to_state", "actor_name")
    list_filter = ("action",)
    search_fields = ("dossier__code",)
    list_select_related = ("dossier",)


@admin.register(models.ApologySlip)
class ApologySlipAdmin(ReadOnlyAdmin):
    list_display = ("dossier", "number", "issued_at", "old_due_at", "new_due_at")
    search_fields = ("dossier__code",)


@admin.register(models.SatisfactionRating)
class SatisfactionRatingAdmin(ReadOnlyAdmin):
    list_display = ("dossier", "level", "rated_at")
    list_filter = ("level",)
