from __future__ import annotations

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils.translation import gettext_lazy as _
from django.utils.translation import pgettext_lazy


class ECardKey(models.Model):
    """An issuer key of the e-card (khóa ký thẻ). Only the public half is in the database; the
    private half is a file under ``NATIONALDB_KEY_DIR``. One key is active (signs new cards);
    retired keys stay published so the cards they signed keep verifying; a withdrawn key
    (compromised) is no longer published, and its cards fail verification."""

    kid = models.CharField(max_length=40, unique=True)
    public_key = models.CharField(max_length=64, help_text="Raw Ed25519 public key, base64url")
    created_at = models.DateTimeField()
    activated_at = models.DateTimeField()
    retired_at = models.DateTimeField(null=True, blank=True)
    active = models.BooleanField(default=True, help_text="Signs new cards (one key at a time)")
    withdrawn_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-activated_at", "-id"]
        constraints = [
            models.UniqueConstraint(
                fields=["active"], condition=Q(active=True), name="ecard_key_one_active"
            ),
        ]

    def __str__(self) -> str:
        return self.kid


class RevocationReason(models.TextChoices):
    """Lý do thu hồi: cấp lại (thẻ mới), mất thẻ, người đã chết, cấp sai, khác."""

    REISSUED = "reissued", _("Replaced by a new card")
    LOST = "lost", _("Lost or stolen")
    DECEASED = "deceased", _("Holder deceased")
    ERROR = "error", _("Issued in error")
    KEY_WITHDRAWN = "key_withdrawn", _("Signing key withdrawn")
    OTHER = "other", _("Other")


class ECard(models.Model):
    """Thẻ an sinh xã hội điện tử: one signed token per issue. A person has at most one card
    that is not revoked; issuing a new one revokes the previous one (reason ``reissued``)."""

    person = models.ForeignKey("registry.Person", on_delete=models.PROTECT, related_name="ecards")
    card_id = models.CharField(max_length=16, unique=True)
    key = models.ForeignKey(ECardKey, on_delete=models.PROTECT, related_name="cards")
    token = models.TextField(help_text="The compact JWS, to reprint the QR code and the PDF.")
    token_digest = models.CharField(max_length=64, help_text="SHA-256 of the token, hex")
    coverage = models.CharField(max_length=20, blank=True, help_text="Schemes on the card")
    programmes = models.CharField(max_length=100, blank=True)
    issued_at = models.DateTimeField()
    expires_at = models.DateTimeField()
    issued_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    revoked_at = models.DateTimeField(null=True, blank=True)
    revocation_reason = models.CharField(max_length=14, choices=RevocationReason, blank=True)
    revoked_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )

    class Meta:
        ordering = ["-issued_at", "-id"]
        indexes = [
            models.Index(fields=["person", "-issued_at"]),
            models.Index(fields=["revoked_at", "expires_at"]),
        ]
        constraints = [
            models.UniqueConstraint(
                fields=["person"], condition=Q(revoked_at__isnull=True), name="ecard_one_active"
            ),
            models.CheckConstraint(
                condition=Q(revoked_at__isnull=True, revocation_reason="")
                | (Q(revoked_at__isnull=False) & ~Q(revocation_reason="")),
                name="ecard_revocation_reason",
            ),
        ]

    def __str__(self) -> str:
        return self.card_id


class CheckState(models.TextChoices):
    """Answered by the population registry, or pending (no valid answer yet: retry later)."""

    ANSWERED = "answered", _("Answered")
    PENDING = "pending", _("Pending")


class CheckOutcome(models.TextChoices):
    """Kết quả xác thực: khớp, không khớp, không có trong cơ sở dữ liệu, đã chết."""

    MATCH = "match", _("Match")
    MISMATCH = "mismatch", _("Mismatch")
    UNKNOWN = "unknown", _("Unknown to the population registry")
    DECEASED = "deceased", _("Deceased")


class FieldOutcome(models.TextChoices):
    MATCH = "match", _("match")
    MISMATCH = "mismatch", _("mismatch")


class PopulationCheck(models.Model):
    """One verification of a person against the population registry (xác thực với Cơ sở dữ
    liệu quốc gia về dân cư): what was asked is the person's record at that moment; the answer
    is per field. A pending check keeps the error code (``service_down``, ``timeout``,
    ``bad_signature``, ``rejected``, ``bad_response``) and is retried by ``popreg verify``."""

    person = models.ForeignKey(
        "registry.Person", on_delete=models.CASCADE, related_name="population_checks"
    )
    request_id = models.CharField(max_length=36, unique=True)
    requested_at = models.DateTimeField()
    requested_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    state = models.CharField(max_length=8, choices=CheckState)
    answered_at = models.DateTimeField(null=True, blank=True)
    outcome = models.CharField(max_length=8, choices=CheckOutcome, blank=True)
    id_result = models.CharField(max_length=8, choices=FieldOutcome, blank=True)
    name_result = models.CharField(max_length=8, choices=FieldOutcome, blank=True)
    dob_result = models.CharField(max_length=8, choices=FieldOutcome, blank=True)
    error = models.CharField(max_length=20, blank=True)

    class Meta:
        ordering = ["-requested_at", "-id"]
        indexes = [models.Index(fields=["person", "-requested_at"])]
        constraints = [
            models.CheckConstraint(
                condition=Q(state="answered", answered_at__isnull=False, error="") & ~Q(outcome="")
                | Q(state="pending", outcome="", answered_at__isnull=True) & ~Q(error=""),
                name="population_check_state",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.person_id} {self.state} {self.outcome or self.error}"


# --- Programmes and beneficiaries (chương trình, đối tượng hưởng) -------------------------------


class AllowanceMethod(models.TextChoices):
    """How a category's monthly allowance is computed: coefficient × a dated standard level
    (hệ số × mức chuẩn), a fixed dated amount, or no cash allowance (e.g. poverty status)."""

    COEFFICIENT = "coefficient", _("Coefficient × standard level")
    FIXED = "fixed", _("Fixed amount")
    NONE = "none", _("No monthly allowance")


class Programme(models.Model):
    """A programme of the national database (trợ giúp xã hội, hộ nghèo, người có công). The
    owning ministry is data: it changed in the 2025 restructuring and may change again."""

    code = models.CharField(max_length=20, unique=True)
    name = models.CharField(max_length=200)
    name_en = models.CharField(max_length=200)
    owner = models.CharField(max_length=200, help_text="Owning organisation (Vietnamese name)")
    owner_en = models.CharField(max_length=200)
    owner_since = models.DateField(null=True, blank=True)
    previous_owner = models.CharField(max_length=200, blank=True)

    class Meta:
        ordering = ["code"]

    def __str__(self) -> str:
        return self.code


class BeneficiaryCategory(models.Model):
    """Diện đối tượng of a programme, with its legal basis and allowance method. The figures
    are dated legal parameters (``nationaldb/rules.toml``) named by key, never stored here."""

    programme = models.ForeignKey(Programme, on_delete=models.PROTECT, related_name="categories")
    code = models.CharField(max_length=40)
    name = models.CharField(max_length=300)
    name_en = models.CharField(max_length=300)
    legal_basis = models.CharField(max_length=300)
    method = models.CharField(max_length=12, choices=AllowanceMethod)
    base_key = models.CharField(max_length=60, blank=True, help_text="Standard level parameter")
    coefficient_key = models.CharField(max_length=60, blank=True)
    amount_key = models.CharField(max_length=60, blank=True, help_text="Fixed amount parameter")

    class Meta:
        ordering = ["programme", "code"]
        constraints = [
            models.UniqueConstraint(fields=["programme", "code"], name="beneficiary_category_code")
        ]

    def __str__(self) -> str:
        return f"{self.programme_id}:{self.code}"


class Relation(models.TextChoices):
    """Quan hệ với chủ hộ."""

    HEAD = "head", _("Head of household")
    SPOUSE = "spouse", _("Spouse")
    CHILD = "child", _("Child")
    PARENT = "parent", _("Parent")
    OTHER = "other", _("Other")


class Household(models.Model):
    """Hộ gia đình as the poverty survey identifies it (mã hộ), in a current commune."""

    code = models.CharField(max_length=40, unique=True)
    commune = models.ForeignKey(
        "places.AdminUnit", null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    head = models.ForeignKey(
        "registry.Person", null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    source_batch = models.ForeignKey(
        "ImportBatch", null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )

    def __str__(self) -> str:
        return self.code


class HouseholdMember(models.Model):
    household = models.ForeignKey(Household, on_delete=models.CASCADE, related_name="members")
    person = models.ForeignKey(
        "registry.Person", on_delete=models.PROTECT, related_name="households"
    )
    relation = models.CharField(max_length=8, choices=Relation)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["household", "person"], name="household_member_once")
        ]


class PovertyLevel(models.TextChoices):
    POOR = "poor", _("Poor")
    NEAR_POOR = "near_poor", _("Near-poor")


class PovertyStatus(models.Model):
    """Kết quả rà soát hộ nghèo, hộ cận nghèo of one year."""

    household = models.ForeignKey(Household, on_delete=models.CASCADE, related_name="statuses")
    year = models.PositiveSmallIntegerField()
    level = models.CharField(max_length=10, choices=PovertyLevel)
    source_batch = models.ForeignKey(
        "ImportBatch", null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )

    class Meta:
        ordering = ["household", "-year"]
        constraints = [
            models.UniqueConstraint(fields=["household", "year"], name="poverty_status_year")
        ]


class Beneficiary(models.Model):
    """A person in a programme (đối tượng hưởng): category, monthly allowance with the rules
    used, dates and paying place. A person may be in several programmes."""

    person = models.ForeignKey(
        "registry.Person", on_delete=models.PROTECT, related_name="beneficiaries"
    )
    programme = models.ForeignKey(Programme, on_delete=models.PROTECT, related_name="+")
    category = models.ForeignKey(BeneficiaryCategory, on_delete=models.PROTECT, related_name="+")
    household = models.ForeignKey(
        Household, null=True, blank=True, on_delete=models.PROTECT, related_name="beneficiaries"
    )
    monthly_allowance = models.PositiveIntegerField(null=True, blank=True, help_text="VND")
    rule_snapshot = models.ForeignKey(
        "law.RuleSnapshot", null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    legal_basis = models.CharField(max_length=300, blank=True)
    start = models.DateField()
    end = models.DateField(null=True, blank=True)
    paying_unit = models.ForeignKey(
        "places.AdminUnit", null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    paying_office = models.CharField(max_length=200, blank=True)
    source_batch = models.ForeignKey(
        "ImportBatch", null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["person", "programme", "-start"]
        indexes = [models.Index(fields=["person", "programme"])]
        constraints = [
            models.UniqueConstraint(
                fields=["person", "category", "start"], name="beneficiary_once_per_start"
            )
        ]

    def __str__(self) -> str:
        return f"{self.person_id} {self.category_id} {self.start}"


# --- Import staging (khu vực tạm của dữ liệu nhập) ----------------------------------------------


class ImportSource(models.TextChoices):
    TGXH = "tgxh", _("Social assistance (TGXH)")
    HONGHEO = "hongheo", _("Poor and near-poor households")
    NGUOICOCONG = "nguoicocong", _("People with meritorious service")
    BHXH = "bhxh", _("Social insurance persons")


class BatchState(models.TextChoices):
    STAGING = "staging", _("Staging")
    STAGED = "staged", _("Staged")
    COMMITTED = "committed", _("Committed")
    DISCARDED = "discarded", _("Discarded")
    FAILED = "failed", _("Failed")


class RowVerdict(models.TextChoices):
    LOADED = "loaded", _("Loaded (new person)")
    MERGED = "merged", _("Merged (existing person)")
    REVIEW = "review", _("Sent to review")
    REJECTED = "rejected", pgettext_lazy("import row", "Rejected")
    DUPLICATE = "duplicate", _("Duplicate row")


class ImportBatch(models.Model):
    """One source file as received, with every row's verdict. Identified by the SHA-256 of its
    bytes: the same file imported again is the same batch (a no-op)."""

    source = models.CharField(max_length=12, choices=ImportSource)
    file_name = models.CharField(max_length=255)
    sha256 = models.CharField(max_length=64)
    size = models.PositiveBigIntegerField(default=0)
    file_format = models.CharField(max_length=5, default="csv")
    encoding = models.CharField(max_length=20, blank=True)
    delimiter = models.CharField(max_length=2, blank=True)
    headers = models.JSONField(default=list)
    total_rows = models.PositiveIntegerField(default=0)
    processed_rows = models.PositiveIntegerField(default=0)
    counts = models.JSONField(default=dict, help_text="Rows per verdict")
    state = models.CharField(max_length=10, choices=BatchState, default=BatchState.STAGING)
    error = models.CharField(max_length=300, blank=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    created_at = models.DateTimeField()
    staged_at = models.DateTimeField(null=True, blank=True)
    decided_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    decided_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        constraints = [
            models.UniqueConstraint(fields=["source", "sha256"], name="import_batch_file_once")
        ]
        permissions = [
            ("commit_importbatch", "Can commit or discard an import batch"),
        ]

    def __str__(self) -> str:
        return f"{self.source} {self.file_name}"


class ImportRow(models.Model):
    """One data row of a batch: the cells as read (``raw``, in header order), the normalised
    fields (``data``), the verdict and its reasons (code + vi/en messages). Never deleted."""

    # No index of its own: the unique (batch, line) constraint serves it (one B-tree less
    # to maintain per staged row).
    batch = models.ForeignKey(
        ImportBatch, on_delete=models.CASCADE, related_name="rows", db_index=False
    )
    line = models.PositiveIntegerField()
    raw = models.JSONField(default=list)
    data = models.JSONField(default=dict)
    verdict = models.CharField(max_length=10, choices=RowVerdict)
    reason = models.CharField(max_length=40, blank=True, help_text="First reason code")
    reasons = models.JSONField(default=list)
    # Partial indexes (below) for the two links: most staged rows have neither until the
    # commit, and a full index would take an entry for each of them.
    person = models.ForeignKey(
        "registry.Person",
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="+",
        db_index=False,
    )
    beneficiary = models.ForeignKey(
        Beneficiary,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
        db_index=False,
    )
    probability = models.FloatField(null=True, blank=True)

    class Meta:
        ordering = ["batch", "line"]
        constraints = [models.UniqueConstraint(fields=["batch", "line"], name="import_row_line")]
        indexes = [
            models.Index(fields=["batch", "verdict", "line"]),
            models.Index(fields=["batch", "reason", "line"]),
            models.Index(
                fields=["person"],
                condition=models.Q(person__isnull=False),
                name="import_row_person",
            ),
            models.Index(
                fields=["beneficiary"],
                condition=models.Q(beneficiary__isnull=False),
                name="import_row_beneficiary",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.batch_id}:{self.line} {self.verdict}"
