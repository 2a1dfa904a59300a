from django.contrib import admin

from ansinh.benefits.models import Award, BenefitCode, FraudCase


@admin.register(Award)
class AwardAdmin(admin.ModelAdmin):
    list_display = ("decision_no", "province_code", "status", "held", "start", "end")
    list_filter = ("status", "held", "province_code")
    search_fields = ("decision_no", "personal_id")
    readonly_fields = [f.name for f in Award._meta.fields]


@admin.register(FraudCase)
class FraudCaseAdmin(admin.ModelAdmin):
    list_display = ("case_no", "kind", "status", "opened_at")
    list_filter = ("kind", "status")
    readonly_fields = [f.name for f in FraudCase._meta.fields]


@admin.register(BenefitCode)
class BenefitCodeAdmin(admin.ModelAdmin):
    list_display = ("key", "value", "valid_from", "valid_to", "legal_source", "confidence")
