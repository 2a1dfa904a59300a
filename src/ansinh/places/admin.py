"""Administrative units in the Django admin: read-only (the data is loaded by
``ansinh load_places`` from the bundled official lists), searchable by name and code."""

from __future__ import annotations

from django.contrib import admin

from ansinh.core.admin import ReadOnlyAdmin
from ansinh.places.models import AdminUnit, UnitSuccession


@admin.register(AdminUnit)
class AdminUnitAdmin(ReadOnlyAdmin):
    list_display = ("code", "name", "level", "system", "province_code", "valid_from", "valid_to")
    list_filter = ("system", "level")
    search_fields = ("code", "name", "search_name", "key")
    list_select_related = ("parent",)
    show_full_result_count = False


@admin.register(UnitSuccession)
class UnitSuccessionAdmin(ReadOnlyAdmin):
    list_display = ("old", "new", "is_default", "is_split")
    list_filter = ("is_split", "is_default", "old__level")
    search_fields = ("old__code", "old__name", "new__code", "new__name")
    list_select_related = ("old", "new")
    raw_id_fields = ("old", "new")
