"""Administrators edit the centre profiles (names printed on decisions) and the termination
reason rules here. Claims and decisions are written only by ``unemployment.services``
(checked, versioned, audited), so they are read-only in the admin site."""

from __future__ import annotations

from django.contrib import admin

from ansinh.core.admin import ReadOnlyAdmin
from ansinh.unemployment import models


@admin.register(models.CentreProfile)
class CentreProfileAdmin(admin.ModelAdmin):
    list_display = ("office", "issuer_name", "signer_title", "signer_name", "paying_office")


@admin.register(models.TerminationReasonRule)
class TerminationReasonRuleAdmin(admin.ModelAdmin):
    list_display = ("code", "effect", "valid_from", "valid_to", "legal_source", "confidence")
    list_filter = ("effect", "confidence")


@admin.register(models.Claim)
class ClaimAdmin(ReadOnlyAdmin):
    list_display = ("code", "state", "province_code", "filed_on", "decision_due")
    list_filter = ("state", "province_code")
    search_fields = ("code",)
    exclude = ("history", "awards")


@admin.register(models.Decision)
class DecisionAdmin(ReadOnlyAdmin):
    list_display = ("number", "kind", "reason", "signed_on", "effective_on")
    list_filter = ("kind",)
    exclude = ("pdf",)


@admin.register(models.CaseNotice)
class CaseNoticeAdmin(ReadOnlyAdmin):
    list_display = ("case_no", "kind", "status", "payments_held", "received_at")
