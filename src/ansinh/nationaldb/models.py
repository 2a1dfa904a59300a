from __future__ import annotations

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils.translation import gettext_lazy as _


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
