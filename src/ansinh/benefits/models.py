"""The insurance side of unemployment benefit (chi trả trợ cấp thất nghiệp): decisions as the
employment service centre sent them, the monthly payment schedule, health insurance cards for
the benefit period, fraud and error cases, and the re-employment feed back to the centre.

Periods are kept as ``YYYYMM`` integers beside the dates so the detector can join awards with
contribution ledger rows in plain set-based SQL."""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils.translation import gettext_lazy as _
from django.utils.translation import pgettext_lazy

from ansinh.law.models import DatedRule


class AwardStatus(models.TextChoices):
    """Đang hưởng, tạm dừng, chấm dứt, đã hưởng xong, đã hủy."""

    ACTIVE = "active", pgettext_lazy("benefit award", "Active")
    SUSPENDED = "suspended", _("Suspended")
    TERMINATED = "terminated", _("Terminated")
    COMPLETED = "completed", _("Completed")
    CANCELLED = "cancelled", _("Cancelled")


#: Awards whose unpaid months may still be paid: the detector looks at these.
OPEN_STATUSES = (AwardStatus.ACTIVE, AwardStatus.SUSPENDED)


class Award(models.Model):
    """Quyết định hưởng trợ cấp thất nghiệp as received from the centre (``centre`` is its
    exchange member id; answers and case notices go back there)."""

    decision_no = models.CharField(max_length=60, unique=True)
    centre = models.CharField(max_length=260, help_text="Exchange member id of the centre")
    province_code = models.CharField(max_length=2)
    law = models.CharField(max_length=10)
    personal_id = models.CharField(max_length=12, db_index=True)
    person = models.ForeignKey(
        "registry.Person", null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    signed_on = models.DateField()
    signer = models.CharField(max_length=120)
    termination_date = models.DateField()
    termination_period = models.PositiveIntegerField(help_text="YYYYMM of termination_date")
    filed_on = models.DateField()
    start = models.DateField()
    end = models.DateField()
    start_period = models.PositiveIntegerField()
    end_period = models.PositiveIntegerField()
    months = models.PositiveSmallIntegerField()
    monthly_amount = models.BigIntegerField()
    average_salary = models.BigIntegerField()
    contribution_months = models.PositiveSmallIntegerField()
    reserved_months = models.PositiveSmallIntegerField(default=0)
    last_period_used = models.CharField(max_length=7, blank=True)
    payment_method = models.CharField(max_length=5)
    paying_office = models.CharField(max_length=20, blank=True)
    status = models.CharField(max_length=10, choices=AwardStatus, default=AwardStatus.ACTIVE)
    status_from = models.DateField(null=True, blank=True, help_text="Effective day of status")
    held = models.BooleanField(default=False, help_text="An open case stops payment")
    health_card = models.ForeignKey(
        "registry.HealthInsuranceCard",
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="+",
    )
    received_at = models.DateTimeField()
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["-received_at", "-id"]
        indexes = [
            models.Index(fields=["status", "province_code"]),
            models.Index(fields=["person", "status"]),
        ]
        permissions = [("resolve_case", "Can resolve a benefit fraud or error case")]

    def __str__(self) -> str:
        return self.decision_no


class EventKind(models.TextChoices):
    """Hưởng, tạm dừng, tiếp tục, chấm dứt, hủy quyết định."""

    GRANT = "grant", _("Grant")
    SUSPEND = "suspend", _("Suspend")
    RESUME = "resume", _("Resume")
    TERMINATE = "terminate", _("Terminate")
    CANCEL = "cancel", _("Cancel")


class AwardEvent(models.Model):
    """One decision message applied to an award, as received (append-only). The digest of its
    content makes a repeat recognisable and a different content a conflict."""

    award = models.ForeignKey(Award, on_delete=models.PROTECT, related_name="events")
    kind = models.CharField(max_length=10, choices=EventKind)
    decision_no = models.CharField(max_length=60)
    message_id = models.CharField(max_length=100, blank=True)
    client = models.CharField(max_length=260, blank=True)
    effective_on = models.DateField(null=True, blank=True)
    reason = models.CharField(max_length=60, blank=True)
    payload = models.JSONField()
    digest = models.CharField(max_length=64)
    applied_at = models.DateTimeField()

    class Meta:
        ordering = ["applied_at", "id"]
        constraints = [
            models.UniqueConstraint(fields=["decision_no", "kind"], name="benefit_event_once")
        ]


class PaymentStatus(models.TextChoices):
    """Chờ chi, đã chi, tạm giữ, hủy."""

    SCHEDULED = "scheduled", _("Scheduled")
    PAID = "paid", pgettext_lazy("benefit payment", "Paid")
    HELD = "held", _("Held")
    CANCELLED = "cancelled", _("Cancelled")


class BenefitPayment(models.Model):
    """One benefit month of an award: its period, amount and the day it is due."""

    award = models.ForeignKey(Award, on_delete=models.PROTECT, related_name="payments")
    month_no = models.PositiveSmallIntegerField()
    period_start = models.DateField()
    period_end = models.DateField()
    amount = models.BigIntegerField()
    due_on = models.DateField()
    status = models.CharField(max_length=10, choices=PaymentStatus, default=PaymentStatus.SCHEDULED)
    paid_on = models.DateField(null=True, blank=True)

    class Meta:
        ordering = ["award", "month_no"]
        indexes = [models.Index(fields=["status", "due_on"])]
        constraints = [
            models.UniqueConstraint(fields=["award", "month_no"], name="benefit_payment_month")
        ]


class CaseKind(models.TextChoices):
    """Có việc làm mới, hưởng trùng ở hai tỉnh, chi sau khi chết, hưởng cao hơn mức đúng."""

    REEMPLOYED = "reemployed", _("Paid while re-employed")
    OVERLAPPING = "overlapping_claim", _("Overlapping awards")
    AFTER_DEATH = "paid_after_death", _("Paid after death")
    ABOVE_ENTITLEMENT = "above_entitlement", _("Above the computed entitlement")


class CaseStatus(models.TextChoices):
    OPEN = "open", _("Open")
    RESOLVED = "resolved", _("Resolved")


class FraudCase(models.Model):
    """A finding of the detector (hồ sơ nghi vấn): it holds every further payment of the award
    until an officer resolves it. ``subject`` tells findings of one kind apart (the employer, the
    other decision) so a second run opens nothing new."""

    case_no = models.CharField(max_length=30, unique=True)
    award = models.ForeignKey(Award, on_delete=models.PROTECT, related_name="cases")
    kind = models.CharField(max_length=20, choices=CaseKind)
    subject = models.CharField(max_length=60, default="")
    evidence = models.JSONField(default=dict)
    status = models.CharField(max_length=8, choices=CaseStatus, default=CaseStatus.OPEN)
    opened_at = models.DateTimeField()
    resolved_at = models.DateTimeField(null=True, blank=True)
    resolution = models.TextField(blank=True)
    resolved_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )

    class Meta:
        ordering = ["-opened_at", "-id"]
        indexes = [models.Index(fields=["status", "kind"])]
        constraints = [
            models.UniqueConstraint(fields=["award", "kind", "subject"], name="benefit_case_once"),
            models.CheckConstraint(
                condition=Q(status="open", resolved_at__isnull=True)
                | Q(status="resolved", resolved_at__isnull=False),
                name="benefit_case_resolved_at",
            ),
        ]

    def __str__(self) -> str:
        return self.case_no


class FeedKind(models.TextChoices):
    CONTRIBUTION = "contribution", _("New contribution")
    ENROLMENT = "enrolment", _("New enrolment")


class ReemploymentEvent(models.Model):
    """An entry of the re-employment feed (``reemploymentFeed``): ``id`` is its ``seq``."""

    award = models.ForeignKey(Award, on_delete=models.PROTECT, related_name="+")
    centre = models.CharField(max_length=260, db_index=True)
    kind = models.CharField(max_length=12, choices=FeedKind)
    employer_code = models.CharField(max_length=13)
    period = models.PositiveIntegerField(null=True, blank=True)
    start = models.DateField(null=True, blank=True)
    detected_at = models.DateTimeField()

    class Meta:
        ordering = ["id"]
        constraints = [
            models.UniqueConstraint(
                fields=["award", "kind", "employer_code"], name="benefit_feed_once"
            )
        ]


class BenefitCode(DatedRule):
    """A dated code the rules set that is not a number (the card's participant group)."""

    key = models.SlugField(max_length=60)
    value = models.CharField(max_length=60)
    description = models.CharField(max_length=300, blank=True)

    class Meta(DatedRule.Meta):
        constraints = [
            models.UniqueConstraint(fields=["key", "valid_from"], name="benefit_code_unique")
        ]

    def __str__(self) -> str:
        return f"{self.key}={self.value} from {self.valid_from}"
