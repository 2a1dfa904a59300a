from __future__ import annotations

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils.translation import gettext_lazy as _

#: The money columns of a ledger row, in the order of the brief's table.
MONEY_COLUMNS = (
    "er_sickness",  # BHXH ốm đau, thai sản — employer 3%
    "er_accident",  # BHXH TNLĐ-BNN — employer 0.5% (0.3% reduced)
    "er_retirement",  # BHXH hưu trí, tử tuất — employer 14%
    "ee_retirement",  # BHXH hưu trí, tử tuất — employee 8%
    "er_health",  # BHYT — employer 3%
    "ee_health",  # BHYT — employee 1.5%
    "er_unemployment",  # BHTN — employer 1%
    "ee_unemployment",  # BHTN — employee 1%
)


class RowKind(models.TextChoices):
    """Đóng hằng tháng; truy thu (back-payment for an earlier month); điều chỉnh (adjustment of
    an earlier month)."""

    REGULAR = "regular", _("Regular month")
    RETROACTIVE = "retroactive", _("Back-payment for an earlier month")
    ADJUSTMENT = "adjustment", _("Adjustment of an earlier month")


class LedgerRow(models.Model):
    """One person, one employer, one month. Each part is rounded half-up to the đồng; a bill is
    the sum of its rows. ``paid_on`` is set when the bill carrying the row is paid in full: only
    then does the month count as contributed."""

    person = models.ForeignKey("registry.Person", on_delete=models.PROTECT, related_name="+")
    employer = models.ForeignKey("registry.Employer", on_delete=models.PROTECT, related_name="+")
    period = models.PositiveIntegerField(help_text="Month as YYYYMM")
    kind = models.CharField(max_length=12, choices=RowKind, default=RowKind.REGULAR)
    insured_salary = models.BigIntegerField(help_text="BHXH/BHYT salary after the cap")
    bhtn_salary = models.BigIntegerField(help_text="BHTN salary after its cap")
    er_sickness = models.BigIntegerField(default=0)
    er_accident = models.BigIntegerField(default=0)
    er_retirement = models.BigIntegerField(default=0)
    ee_retirement = models.BigIntegerField(default=0)
    er_health = models.BigIntegerField(default=0)
    ee_health = models.BigIntegerField(default=0)
    er_unemployment = models.BigIntegerField(default=0)
    ee_unemployment = models.BigIntegerField(default=0)
    exempt_reason = models.CharField(
        max_length=30, blank=True, help_text="e.g. unpaid_leave: nothing owed this month"
    )
    basis = models.ForeignKey("law.RuleSnapshot", on_delete=models.PROTECT, related_name="+")
    bill = models.ForeignKey(
        "EmployerBill", null=True, blank=True, on_delete=models.PROTECT, related_name="rows"
    )
    paid_on = models.DateField(null=True, blank=True)

    class Meta:
        indexes = [
            models.Index(fields=["person", "period"]),
            models.Index(fields=["employer", "period"]),
        ]
        constraints = [
            models.UniqueConstraint(
                fields=["person", "employer", "period"],
                condition=Q(kind="regular"),
                name="ledger_one_regular_row",
            )
        ]

    @property
    def total(self) -> int:
        return sum(getattr(self, c) for c in MONEY_COLUMNS)

    def __str__(self) -> str:
        return f"{self.person_id}/{self.employer_id}/{self.period} {self.kind}"


class BillStatus(models.TextChoices):
    """Chưa đóng, đóng một phần, đã đóng."""

    OPEN = "open", _("Unpaid")
    PARTIAL = "partial", _("Partly paid")
    PAID = "paid", _("Paid")


class EmployerBill(models.Model):
    """The monthly bill of an employer (thông báo kết quả đóng): the sum of its rounded rows."""

    employer = models.ForeignKey(
        "registry.Employer", on_delete=models.PROTECT, related_name="bills"
    )
    period = models.PositiveIntegerField()
    issued_on = models.DateField()
    due_on = models.DateField()
    amount = models.BigIntegerField()
    paid_amount = models.BigIntegerField(default=0)
    interest_amount = models.BigIntegerField(default=0)
    status = models.CharField(max_length=8, choices=BillStatus, default=BillStatus.OPEN)
    paid_in_full_on = models.DateField(null=True, blank=True)
    row_count = models.PositiveIntegerField(default=0)

    class Meta:
        ordering = ["employer", "period"]
        constraints = [
            models.UniqueConstraint(fields=["employer", "period"], name="bill_unique"),
        ]

    @property
    def outstanding(self) -> int:
        return self.amount - self.paid_amount

    def __str__(self) -> str:
        return f"bill {self.employer_id}/{self.period}"


class Payment(models.Model):
    """Money received from an employer. ``reference`` (bank transaction id) makes recording
    idempotent: the same reference twice is the same payment."""

    employer = models.ForeignKey(
        "registry.Employer", on_delete=models.PROTECT, related_name="payments"
    )
    received_on = models.DateField()
    amount = models.BigIntegerField()
    reference = models.CharField(max_length=60)
    recorded_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT
    )
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["employer", "reference"], name="payment_reference"),
            models.CheckConstraint(condition=Q(amount__gt=0), name="payment_positive"),
        ]


class PaymentAllocation(models.Model):
    """How a payment was applied: to interest first, then to the oldest open bill."""

    payment = models.ForeignKey(Payment, on_delete=models.CASCADE, related_name="allocations")
    bill = models.ForeignKey(EmployerBill, on_delete=models.PROTECT, related_name="allocations")
    principal = models.BigIntegerField(default=0)
    interest = models.BigIntegerField(default=0)


class InterestCharge(models.Model):
    """Late-payment interest (lãi chậm đóng) accrued on a bill for a number of days."""

    bill = models.ForeignKey(EmployerBill, on_delete=models.PROTECT, related_name="interest")
    from_day = models.DateField()
    to_day = models.DateField()
    days = models.PositiveIntegerField()
    principal = models.BigIntegerField()
    amount = models.BigIntegerField()
    basis = models.ForeignKey("law.RuleSnapshot", on_delete=models.PROTECT, related_name="+")


class ChangeKind(models.TextChoices):
    """Báo tăng (enrolment), báo giảm (leaving), điều chỉnh (salary or details), nghỉ không
    hưởng lương (unpaid leave)."""

    INCREASE = "increase", _("Enrolment (increase)")
    DECREASE = "decrease", _("Leaving (decrease)")
    ADJUSTMENT = "adjustment", _("Adjustment of salary or details")
    UNPAID_LEAVE = "unpaid_leave", _("Unpaid leave in a month")


class ChangeReport(models.Model):
    """A report of increase/decrease/adjustment as the employer made it (form D02-LT row).
    ``idempotency_key`` makes re-submission harmless."""

    kind = models.CharField(max_length=14, choices=ChangeKind)
    employer = models.ForeignKey("registry.Employer", on_delete=models.PROTECT, related_name="+")
    person = models.ForeignKey("registry.Person", on_delete=models.PROTECT, related_name="+")
    effective_period = models.PositiveIntegerField()
    data = models.JSONField(default=dict)
    idempotency_key = models.CharField(max_length=80, unique=True, null=True, blank=True)
    reported_at = models.DateTimeField(auto_now_add=True)
    reported_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT
    )


class UnpaidLeave(models.Model):
    """Working days of unpaid leave of a worker in a month; from the legal threshold (14) on,
    nothing is owed for that month (Law 41/2024 Art. 33)."""

    person = models.ForeignKey("registry.Person", on_delete=models.PROTECT, related_name="+")
    employer = models.ForeignKey("registry.Employer", on_delete=models.PROTECT, related_name="+")
    period = models.PositiveIntegerField()
    working_days = models.PositiveSmallIntegerField()

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["person", "employer", "period"], name="leave_unique")
        ]


class EmployerRateOverride(models.Model):
    """A rate that differs for one employer and period, e.g. the reduced 0.3% occupational
    accident rate granted under Decree 58/2020 Art. 4."""

    employer = models.ForeignKey(
        "registry.Employer", on_delete=models.PROTECT, related_name="rate_overrides"
    )
    part = models.CharField(max_length=10)
    rate = models.DecimalField(max_digits=7, decimal_places=5)
    valid_from = models.DateField()
    valid_to = models.DateField(null=True, blank=True)
    decision = models.CharField(max_length=200, help_text="The decision granting it")
