from __future__ import annotations

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils.translation import gettext_lazy as _

from ansinh.law.models import PayScale


class Sex(models.TextChoices):
    """Giới tính: nam, nữ."""

    MALE = "M", _("Male")
    FEMALE = "F", _("Female")


class PersonStatus(models.TextChoices):
    """Đang hoạt động; đã chết; ra nước ngoài định cư; đã gộp vào hồ sơ khác."""

    ACTIVE = "active", _("Active")
    DECEASED = "deceased", _("Deceased")
    EMIGRATED = "emigrated", _("Emigrated")
    MERGED = "merged", _("Merged into another record")


class IdentityCheck(models.TextChoices):
    """Whether the personal ID agrees with the date of birth and sex (see identifiers.py): khớp,
    cần xác minh, or không có số định danh (a system-issued number)."""

    CONSISTENT = "consistent", _("Consistent")
    FLAGGED = "flagged", _("Flagged for verification")
    NOT_APPLICABLE = "n/a", _("No personal ID (system-issued number)")


class Person(models.Model):
    """A person in the registry. ``ss_number`` is the social security number used everywhere:
    the personal ID for citizens, a system-issued number (prefix ``NN``) for persons without one.
    """

    ss_number = models.CharField(max_length=12, unique=True)
    personal_id = models.CharField(max_length=12, unique=True, null=True, blank=True)
    full_name = models.CharField(max_length=120)
    family_name = models.CharField(max_length=40, blank=True)
    middle_name = models.CharField(max_length=60, blank=True)
    given_name = models.CharField(max_length=40)
    name_normalised = models.CharField(max_length=120, db_index=True)
    sort_key = models.CharField(max_length=400, db_index=True)
    date_of_birth = models.DateField()
    sex = models.CharField(max_length=1, choices=Sex)
    nationality = models.CharField(max_length=2, default="VN", help_text="ISO 3166-1 alpha-2")
    address_unit = models.ForeignKey(
        "places.AdminUnit", null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    status = models.CharField(max_length=10, choices=PersonStatus, default=PersonStatus.ACTIVE)
    date_of_death = models.DateField(null=True, blank=True)
    identity_check = models.CharField(
        max_length=10, choices=IdentityCheck, default=IdentityCheck.CONSISTENT
    )
    identity_flags = models.CharField(max_length=200, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["sort_key", "id"]
        permissions = [
            ("view_sensitive", "Can view sensitive personal data (ethnicity)"),
            ("view_any_area", "Can view persons outside the organisation's scope"),
        ]
        indexes = [
            models.Index(fields=["date_of_birth"]),
            models.Index(fields=["address_unit", "sort_key"]),
        ]
        constraints = [
            models.CheckConstraint(
                condition=Q(personal_id__isnull=True) | Q(ss_number=models.F("personal_id")),
                name="ss_number_is_personal_id",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.ss_number} {self.full_name}"


class PersonNameWord(models.Model):
    """One word of a person's normalised name. Prefix search on any word of the name
    ('an' finds 'Nguyễn Văn An') then uses this index instead of scanning every name."""

    person = models.ForeignKey(Person, on_delete=models.CASCADE, related_name="name_words")
    word = models.CharField(max_length=40)

    class Meta:
        indexes = [models.Index(fields=["word", "person"])]
        constraints = [
            models.UniqueConstraint(fields=["person", "word"], name="person_name_word_unique")
        ]


class NumberCounter(models.Model):
    """Last value handed out by a numbering series (system-issued social security numbers,
    card numbers). Incremented under a row lock inside the caller's transaction."""

    name = models.CharField(max_length=20, unique=True)
    last_value = models.BigIntegerField(default=0)

    def __str__(self) -> str:
        return f"{self.name}={self.last_value}"


class SensitiveAttributes(models.Model):
    """Sensitive personal data (Decree 13/2023, Law 91/2025): kept apart, read only with the
    ``registry.view_sensitive`` permission, every read audited."""

    person = models.OneToOneField(Person, on_delete=models.CASCADE, related_name="sensitive")
    ethnicity_code = models.CharField(max_length=3, blank=True, help_text="GSO ethnic group code")


class LegacyNumber(models.Model):
    """A 10-digit social insurance number issued before 2025-08-01, kept as an alias."""

    number = models.CharField(max_length=10, unique=True)
    person = models.ForeignKey(Person, on_delete=models.CASCADE, related_name="legacy_numbers")

    def __str__(self) -> str:
        return self.number


class Employer(models.Model):
    """Đơn vị sử dụng lao động, identified by the code set of VSS: unit identifier (DD: the
    10-character enterprise code or the budget-relationship code), type (DT) and participant
    group (LH)."""

    unit_code = models.CharField(max_length=13, unique=True, help_text="DD: enterprise/budget code")
    unit_type = models.CharField(max_length=4, help_text="DT: unit type")
    participant_group = models.CharField(max_length=4, help_text="LH: participant group")
    tax_code = models.CharField(max_length=14, blank=True, db_index=True)
    name = models.CharField(max_length=200)
    name_normalised = models.CharField(max_length=200, db_index=True)
    address_unit = models.ForeignKey("places.AdminUnit", on_delete=models.PROTECT, related_name="+")
    wage_region = models.PositiveSmallIntegerField(help_text="1–4 for regions I–IV")
    sector = models.CharField(max_length=60, blank=True)
    pay_scale = models.CharField(max_length=8, choices=PayScale, default=PayScale.EMPLOYER)
    active = models.BooleanField(default=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["name_normalised"]
        constraints = [
            models.CheckConstraint(
                condition=Q(wage_region__gte=1) & Q(wage_region__lte=4), name="wage_region_range"
            )
        ]

    def __str__(self) -> str:
        return f"{self.unit_code} {self.name}"


class ContractType(models.TextChoices):
    """Hợp đồng lao động không xác định thời hạn; xác định thời hạn (1–36 tháng); mùa vụ or
    under 12 months; cán bộ, công chức, viên chức (no labour contract)."""

    INDEFINITE = "indefinite", _("Indefinite-term contract")
    FIXED = "fixed", _("Fixed-term contract (1–36 months)")
    SEASONAL = "seasonal", _("Seasonal contract or under 12 months")
    CIVIL_SERVANT = "civil_servant", _("Civil servant or public employee")


class EmploymentSpell(models.Model):
    """Quá trình tham gia: one person working for one employer from ``start`` to ``end``."""

    person = models.ForeignKey(Person, on_delete=models.PROTECT, related_name="spells")
    employer = models.ForeignKey(Employer, on_delete=models.PROTECT, related_name="spells")
    contract_type = models.CharField(max_length=14, choices=ContractType)
    start = models.DateField()
    end = models.DateField(null=True, blank=True)
    occupation = models.CharField(max_length=120, blank=True)
    termination_reason = models.CharField(max_length=40, blank=True)
    reported_on = models.DateField(null=True, blank=True, help_text="Day of báo tăng.")

    class Meta:
        ordering = ["person", "start"]
        indexes = [
            models.Index(fields=["person", "start"]),
            models.Index(fields=["employer", "end"]),
        ]
        constraints = [
            models.CheckConstraint(
                condition=Q(end__isnull=True) | Q(end__gte=models.F("start")), name="spell_dates"
            )
        ]

    def __str__(self) -> str:
        return f"{self.person_id}@{self.employer_id} {self.start}–{self.end or ''}"


class SalaryPeriod(models.Model):
    """Insured salary and allowances of a spell from a month on (mức lương đóng)."""

    spell = models.ForeignKey(EmploymentSpell, on_delete=models.CASCADE, related_name="salaries")
    valid_from = models.DateField()
    salary = models.BigIntegerField()
    allowances = models.BigIntegerField(default=0)

    class Meta:
        ordering = ["spell", "valid_from"]
        constraints = [
            models.UniqueConstraint(fields=["spell", "valid_from"], name="salary_period_unique"),
            models.CheckConstraint(
                condition=Q(salary__gte=0) & Q(allowances__gte=0), name="salary_non_negative"
            ),
        ]

    @property
    def insured_salary(self) -> int:
        return self.salary + self.allowances


class HealthInsuranceCard(models.Model):
    """Thẻ BHYT. ``number`` is as printed: 15 characters (Decision 1351/QĐ-BHXH: group, benefit
    level, province, 10-digit number) or the 10-digit number alone (Decision 1666/QĐ-BHXH)."""

    person = models.ForeignKey(Person, on_delete=models.CASCADE, related_name="cards")
    number = models.CharField(max_length=15, db_index=True)
    short_number = models.CharField(
        max_length=10, db_index=True, help_text="The 10-digit number, as on 1666-format cards."
    )
    participant_group = models.CharField(max_length=2)
    benefit_level = models.PositiveSmallIntegerField()
    province_code = models.CharField(max_length=2)
    initial_facility_code = models.CharField(max_length=10, blank=True)
    initial_facility_name = models.CharField(max_length=200, blank=True)
    valid_from = models.DateField()
    valid_to = models.DateField(null=True, blank=True)
    revoked = models.BooleanField(default=False)

    class Meta:
        ordering = ["person", "-valid_from"]
        constraints = [
            models.CheckConstraint(
                condition=Q(benefit_level__gte=1) & Q(benefit_level__lte=5), name="card_level"
            ),
        ]

    def __str__(self) -> str:
        return self.number


class ReviewStatus(models.TextChoices):
    """Cần xác định (to review), đã xác định (resolved)."""

    OPEN = "open", _("To review")
    RESOLVED = "resolved", _("Resolved")


class ReviewSource(models.TextChoices):
    """Where the ambiguous address came from: a CSV import, the API or a staff form."""

    IMPORT = "import", _("CSV import")
    API = "api", _("API request")
    FORM = "form", _("Staff form")


class AddressReview(models.Model):
    """A person's address given as a pre-2025 commune that was split in the 2025 reform: the
    person lives in one of ``candidates`` (current communes) but the old commune alone does not
    say which. Meanwhile the address is ``proposed`` (the default successor); an officer picks
    the right one (``chosen``). A resolved review with no ``chosen`` was superseded by a later
    address of the person. At most one open review per person."""

    person = models.ForeignKey(Person, on_delete=models.CASCADE, related_name="address_reviews")
    legacy_unit = models.ForeignKey(
        "places.AdminUnit", on_delete=models.PROTECT, related_name="+", help_text="Old commune"
    )
    proposed = models.ForeignKey(
        "places.AdminUnit",
        on_delete=models.PROTECT,
        related_name="+",
        help_text="Default successor, set provisionally as the person's address",
    )
    candidates = models.ManyToManyField("places.AdminUnit", related_name="+")
    status = models.CharField(max_length=8, choices=ReviewStatus, default=ReviewStatus.OPEN)
    chosen = models.ForeignKey(
        "places.AdminUnit", null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    resolved_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="+",
    )
    resolved_at = models.DateTimeField(null=True, blank=True)
    source = models.CharField(max_length=6, choices=ReviewSource)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["created_at", "id"]
        indexes = [models.Index(fields=["status", "created_at"])]
        constraints = [
            models.UniqueConstraint(
                fields=["person"],
                condition=Q(status="open"),
                name="address_review_one_open",
            ),
            models.CheckConstraint(
                condition=Q(status="open", resolved_at__isnull=True)
                | Q(status="resolved", resolved_at__isnull=False),
                name="address_review_resolved_at",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.person_id} {self.legacy_unit_id} {self.status}"
