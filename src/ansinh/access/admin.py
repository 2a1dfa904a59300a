"""Admin for organisations, users, tokens (digest hidden) and the read-only audit log."""

from __future__ import annotations

from django.contrib import admin
from django.contrib.auth.admin import UserAdmin as BaseUserAdmin
from django.http import HttpRequest

from ansinh.access.models import ApiToken, AuditEvent, Organisation, User
from ansinh.core.admin import ReadOnlyAdmin


@admin.register(Organisation)
class OrganisationAdmin(admin.ModelAdmin):
    list_display = ("code", "name", "kind", "nationwide", "active")
    list_filter = ("kind", "nationwide", "active")
    search_fields = ("code", "name")
    raw_id_fields = ("parent", "scope_units")  # 13,000 units: no giant select boxes


@admin.register(User)
class UserAdmin(BaseUserAdmin):
    list_display = ("username", "organisation", "is_active", "totp_enabled", "locked_until")
    list_filter = ("is_active", "is_staff", "totp_enabled", "groups", "organisation__kind")
    raw_id_fields = ("organisation",)
    readonly_fields = ("totp_enabled", "totp_last_step", "failed_logins", "last_login")
    fieldsets = (
        *BaseUserAdmin.fieldsets,
        (
            "ansinh",
            {
                "fields": (
                    "organisation",
                    "totp_enabled",
                    "totp_last_step",
                    "failed_logins",
                    "locked_until",
                )
            },
        ),
    )


@admin.register(ApiToken)
class ApiTokenAdmin(admin.ModelAdmin):
    list_display = (
        "name",
        "prefix",
        "user",
        "created_at",
        "last_used_at",
        "expires_at",
        "revoked_at",
    )
    search_fields = ("name", "prefix", "user__username")
    exclude = ("digest",)
    readonly_fields = ("user", "name", "prefix", "created_at", "last_used_at", "expires_at")

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False  # issued with `ansinh create_token` or the API, so the token is shown once


@admin.register(AuditEvent)
class AuditEventAdmin(ReadOnlyAdmin):
    list_display = (
        "at",
        "actor_username",
        "organisation",
        "action",
        "object_type",
        "object_id",
        "purpose",
        "channel",
    )
    list_filter = ("action", "channel", "object_type")
    search_fields = ("actor_username", "object_id", "purpose")
    date_hierarchy = "at"
