from __future__ import annotations

from django.contrib import admin

from ansinh.contributions import models


@admin.register(models.LedgerRow)
class LedgerRowAdmin(admin.ModelAdmin):
    list_display = ("person", "employer", "period", "kind", "insured_salary", "bill", "paid_on")
    list_filter = ("kind",)
    raw_id_fields = ("person", "employer", "basis", "bill")
    search_fields = ("person__ss_number", "employer__unit_code")


@admin.register(models.EmployerBill)
class EmployerBillAdmin(admin.ModelAdmin):
    list_display = ("employer", "period", "amount", "paid_amount", "interest_amount", "status")
    list_filter = ("status",)
    raw_id_fields = ("employer",)
    search_fields = ("employer__unit_code",)


@admin.register(models.Payment)
class PaymentAdmin(admin.ModelAdmin):
    list_display = ("employer", "received_on", "amount", "reference")
    raw_id_fields = ("employer", "recorded_by")
    search_fields = ("reference", "employer__unit_code")


@admin.register(models.ChangeReport)
class ChangeReportAdmin(admin.ModelAdmin):
    list_display = ("kind", "employer", "person", "effective_period", "reported_at")
    list_filter = ("kind",)
    raw_id_fields = ("employer", "person", "reported_by")


@admin.register(models.EmployerRateOverride)
class EmployerRateOverrideAdmin(admin.ModelAdmin):
    list_display = ("employer", "part", "rate", "valid_from", "valid_to", "decision")
    raw_id_fields = ("employer",)


admin.site.register(models.UnpaidLeave, raw_id_fields=("person", "employer"))
admin.site.register(models.InterestCharge, raw_id_fields=("bill", "basis"))
admin.site.register(models.PaymentAllocation, raw_id_fields=("payment", "bill"))
