"""Dated rule tables. Each row is valid from ``valid_from`` to ``valid_to`` (inclusive; open when
empty) and cites its legal source. A decree changes rows here, never code.

The rows are loaded from the TOML files in ``law/rules/`` (versioned with the code, reviewed like
code) by ``law.services.sync_rules``; administrators may add rows in the admin site too.
"""

from __future__ import annotations

import datetime as dt

from django.db import models
from django.db.models import Q
from django.utils.translation import gettext_lazy as _


class Confidence(models.TextChoices):
    """How sure we are of a rule's legal source (độ tin cậy)."""

    HIGH = "high", _("High")
    MEDIUM = "medium", _("Medium")
    UNCONFIRMED = "unconfirmed", _("Unconfirmed")


class DatedRuleQuerySet(models.QuerySet):
    def on(self, day: dt.date) -> DatedRuleQuerySet:
        return self.filter(
            Q(valid_from__lte=day) & (Q(valid_to__isnull=True) | Q(valid_to__gte=day))
        )


class DatedRule(models.Model):
    valid_from = models.DateField()
    valid_to = models.DateField(null=True, blank=True, help_text="Last day in force (inclusive).")
    legal_source = models.CharField(max_length=300, help_text="e.g. Law 41/2024/QH15 Art. 33")
    confidence = models.CharField(max_length=12, choices=Confidence, default=Confidence.HIGH)
    note = models.TextField(blank=True)

    objects = DatedRuleQuerySet.as_manager()

    class Meta:
        abstract = True
        ordering = ["valid_from"]


class SchemePart(models.TextChoices):
    """Parts of the contribution, as the ledger has a column for each: the three BHXH funds
    (ốm đau, thai sản; tai nạn lao động, bệnh nghề nghiệp (TNLĐ-BNN); hưu trí, tử tuất), BHYT
    (bảo hiểm y tế) and BHTN (bảo hiểm thất nghiệp)."""

    SICKNESS_MATERNITY = "bhxh_om", _("Sickness and maternity")
    OCCUPATIONAL = "bhxh_tnld", _("Occupational accident and disease")
    RETIREMENT = "bhxh_hts", _("Retirement and survivors")
    HEALTH = "bhyt", _("Health insurance")
    UNEMPLOYMENT = "bhtn", _("Unemployment insurance")


class Payer(models.TextChoices):
    """Who pays a part: người sử dụng lao động (employer) or người lao động (employee)."""

    EMPLOYER = "employer", _("Employer")
    EMPLOYEE = "employee", _("Employee")


class ContributionRate(DatedRule):
    """Tỷ lệ đóng: the share of the insured salary paid for one part by one payer."""

    part = models.CharField(max_length=10, choices=SchemePart)
    payer = models.CharField(max_length=8, choices=Payer)
    rate = models.DecimalField(max_digits=7, decimal_places=5, help_text="0.14 for 14%")

    class Meta(DatedRule.Meta):
        constraints = [
            models.UniqueConstraint(fields=["part", "payer", "valid_from"], name="rate_unique"),
            models.CheckConstraint(condition=Q(rate__gte=0) & Q(rate__lte=1), name="rate_range"),
        ]

    def __str__(self) -> str:
        return f"{self.part}/{self.payer} {self.rate} from {self.valid_from}"


class ReferenceKind(models.TextChoices):
    """Lương cơ sở (base salary) and lương tối thiểu vùng (regional minimum wage)."""

    BASE_SALARY = "base_salary", _("Base salary")
    REGIONAL_MINIMUM_WAGE = "regional_min_wage", _("Regional minimum wage")


class ReferenceAmount(DatedRule):
    """Base salary and regional minimum wages, in đồng per month. ``region`` is 1–4 (I–IV) for
    regional minimum wages and 0 for amounts that apply everywhere."""

    kind = models.CharField(max_length=20, choices=ReferenceKind)
    region = models.PositiveSmallIntegerField(default=0)
    amount = models.BigIntegerField()

    class Meta(DatedRule.Meta):
        constraints = [
            models.UniqueConstraint(
                fields=["kind", "region", "valid_from"], name="reference_amount_unique"
            ),
            models.CheckConstraint(condition=Q(amount__gt=0), name="reference_amount_positive"),
            models.CheckConstraint(condition=Q(region__lte=4), name="reference_region_range"),
        ]

    def __str__(self) -> str:
        return f"{self.kind} {self.region or ''} {self.amount} from {self.valid_from}"


class Scheme(models.TextChoices):
    """Bảo hiểm xã hội (BHXH), bảo hiểm y tế (BHYT), bảo hiểm thất nghiệp (BHTN)."""

    BHXH = "bhxh", _("BHXH (social insurance)")
    BHYT = "bhyt", _("BHYT (health)")
    BHTN = "bhtn", _("BHTN (unemployment)")


class PayScale(models.TextChoices):
    """Whose pay scale sets the worker's salary: the State's (thang lương nhà nước, public
    bodies) or the employer's."""

    STATE = "state", _("State pay scale")
    EMPLOYER = "employer", _("Employer's pay scale")


class SalaryCap(DatedRule):
    """Mức trần: the insured salary of a scheme is capped at ``multiplier`` × a reference."""

    scheme = models.CharField(max_length=4, choices=Scheme)
    pay_scale = models.CharField(
        max_length=8, choices=PayScale, blank=True, help_text="Empty: applies to both pay scales."
    )
    multiplier = models.PositiveSmallIntegerField()
    reference = models.CharField(max_length=20, choices=ReferenceKind)

    class Meta(DatedRule.Meta):
        constraints = [
            models.UniqueConstraint(
                fields=["scheme", "pay_scale", "valid_from"], name="salary_cap_unique"
            )
        ]

    def __str__(self) -> str:
        return f"{self.scheme} cap {self.multiplier}×{self.reference} from {self.valid_from}"


class LegalParameter(DatedRule):
    """A single dated number the law sets: interest rates, day counts, deadlines."""

    key = models.SlugField(max_length=60)
    value = models.DecimalField(max_digits=18, decimal_places=6)
    unit = models.CharField(max_length=30, blank=True)
    description = models.CharField(max_length=300, blank=True)

    class Meta(DatedRule.Meta):
        constraints = [
            models.UniqueConstraint(fields=["key", "valid_from"], name="legal_parameter_unique")
        ]

    def __str__(self) -> str:
        return f"{self.key}={self.value} from {self.valid_from}"


class RuleSnapshot(models.Model):
    """The exact set of rules used for a computation, so a ledger row can cite its basis even
    after the tables change. Identified by the digest of its content."""

    digest = models.CharField(max_length=64, unique=True)
    effective_on = models.DateField()
    content = models.JSONField()
    citation = models.TextField()
    created_at = models.DateTimeField(auto_now_add=True)

    def __str__(self) -> str:
        return f"rules of {self.effective_on} ({self.digest[:10]})"


class DayKind(models.TextChoices):
    """What an announcement does to a day: nghỉ bù / nghỉ thêm, or làm bù (a weekend day
    worked in exchange for a day off)."""

    DAY_OFF = "day_off", _("Day off")
    WORKING_DAY = "working_day", _("Working day")


class CalendarAnnouncement(models.Model):
    """A day the government announced as off, or as worked, beyond what the ``holidays``
    package knows (Labour Code 2019 Art. 112(3): the Prime Minister sets the Tết days and
    the yearly swaps). Entered by an administrator; the announcement wins over the package."""

    day = models.DateField(unique=True)
    kind = models.CharField(max_length=12, choices=DayKind)
    title = models.CharField(max_length=200)
    legal_source = models.CharField(max_length=300, help_text="e.g. Notice 6150/TB-BNV")
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["day"]

    def __str__(self) -> str:
        return f"{self.day} {self.kind}"
