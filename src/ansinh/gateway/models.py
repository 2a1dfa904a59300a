"""The e-transaction gateway (cổng giao dịch điện tử, Decree 166/2016/NĐ-CP).

A submission (lần nộp) is kept whatever its verdict, raw bytes and all, as evidence. An accepted
submission becomes a one-stop dossier (``onestop.Dossier``) whose code, deadline and states come
from there; the gateway adds what only it knows: the signer, the rows and their results, the
signed receipt and result, and deliveries to the submitter's callback URL.
"""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils.translation import gettext_lazy as _

# --- Trust store -------------------------------------------------------------------------------


class CertificateAuthority(models.Model):
    """A certificate authority the gateway trusts (tổ chức cung cấp dịch vụ chứng thực chữ ký
    số). The gateway's own store, loaded by an administrator — never the system store."""

    name = models.CharField(max_length=200)
    certificate_pem = models.TextField()
    fingerprint = models.CharField(max_length=64, unique=True, help_text="SHA-256, hex")
    subject = models.CharField(max_length=500)
    not_before = models.DateTimeField()
    not_after = models.DateTimeField()
    active = models.BooleanField(default=True)
    added_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["name"]
        verbose_name = _("trusted certificate authority")
        verbose_name_plural = _("trusted certificate authorities")

    def __str__(self) -> str:
        return self.name


class RevocationList(models.Model):
    """A certificate revocation list (CRL) file an administrator loaded for one authority."""

    authority = models.ForeignKey(
        CertificateAuthority, on_delete=models.CASCADE, related_name="crls"
    )
    crl_der = models.BinaryField()
    number = models.CharField(max_length=40, blank=True, help_text="CRL number, if present")
    this_update = models.DateTimeField()
    next_update = models.DateTimeField(null=True, blank=True)
    loaded_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-this_update"]
        get_latest_by = "this_update"


class RevokedCertificate(models.Model):
    """One serial number revoked by an authority, copied out of its latest CRL for a fast
    look-up on every submission."""

    authority = models.ForeignKey(
        CertificateAuthority, on_delete=models.CASCADE, related_name="revoked"
    )
    crl = models.ForeignKey(RevocationList, on_delete=models.CASCADE, related_name="entries")
    serial = models.CharField(max_length=64, help_text="hex, lower case, no leading zeros")
    revoked_at = models.DateTimeField()
    reason = models.CharField(max_length=40, blank=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["authority", "serial"], name="gateway_revoked_once")
        ]


# --- Submitters ----------------------------------------------------------------------------------


class IvanStatus(models.TextChoices):
    ACTIVE = "active", _("Active")
    SUSPENDED = "suspended", _("Suspended")
    ENDED = "ended", _("Contract ended")


class IvanProvider(models.Model):
    """Tổ chức cung cấp dịch vụ I-VAN: forwards employers' dossiers to us within 2 hours of
    receiving them (Decree 166/2016 Art. 11). Its staff and machines sign in as users of its
    organisation (role ``ivan``) with API tokens."""

    organisation = models.OneToOneField(
        "access.Organisation", on_delete=models.PROTECT, related_name="ivan"
    )
    code = models.CharField(max_length=20, unique=True)
    name = models.CharField(max_length=200)
    tax_code = models.CharField(max_length=14, blank=True)
    contract_number = models.CharField(max_length=60, blank=True)
    contract_start = models.DateField()
    contract_end = models.DateField(null=True, blank=True)
    status = models.CharField(max_length=12, choices=IvanStatus, default=IvanStatus.ACTIVE)
    status_reason = models.CharField(max_length=300, blank=True)
    contact_email = models.EmailField(blank=True)
    health_url = models.URLField(
        max_length=500, blank=True, help_text="probed periodically: I-VANs must be up 24/7"
    )
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["code"]
        verbose_name = _("I-VAN provider")

    def __str__(self) -> str:
        return f"{self.code} {self.name}"


class IvanProbe(models.Model):
    """One availability probe of an I-VAN's health URL (the 24/7 duty of Decree 166/2016)."""

    ivan = models.ForeignKey(IvanProvider, on_delete=models.CASCADE, related_name="probes")
    at = models.DateTimeField()
    ok = models.BooleanField()
    status = models.PositiveSmallIntegerField(null=True, blank=True)
    elapsed_ms = models.FloatField(null=True, blank=True)

    class Meta:
        indexes = [models.Index(fields=["ivan", "at"], name="gateway_probe_ivan_at")]


class SignerCertificate(models.Model):
    """A signing certificate known to belong to an I-VAN or an employer. Registration pins it:
    a dossier signed for an employer must be signed by one of that employer's certificates or
    by an active I-VAN acting for it."""

    ivan = models.ForeignKey(
        IvanProvider, null=True, blank=True, on_delete=models.CASCADE, related_name="certificates"
    )
    employer = models.ForeignKey(
        "registry.Employer",
        null=True,
        blank=True,
        on_delete=models.CASCADE,
        related_name="signer_certificates",
    )
    certificate_pem = models.TextField()
    fingerprint = models.CharField(max_length=64, unique=True, help_text="SHA-256, hex")
    serial = models.CharField(max_length=64)
    issuer = models.CharField(max_length=500)
    subject = models.CharField(max_length=500)
    not_before = models.DateTimeField()
    not_after = models.DateTimeField()
    active = models.BooleanField(default=True)
    added_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        constraints = [
            models.CheckConstraint(
                condition=Q(ivan__isnull=True) ^ Q(employer__isnull=True),
                name="gateway_cert_one_owner",
            )
        ]


class Channel(models.TextChoices):
    """How an employer transacts: through an I-VAN, from its own software straight to the API,
    or on our web form / XLSX upload (signed with its own tool)."""

    IVAN = "ivan", _("Through an I-VAN")
    DIRECT = "direct", _("Directly (own software)")
    WEB = "web", _("Web form or upload")


class EtransRegistration(models.Model):
    """Đăng ký giao dịch điện tử (form 01/ĐK-GD equivalent): an employer's registration to
    transact electronically, with its chosen channel. Ending one and opening another keeps the
    history."""

    employer = models.ForeignKey(
        "registry.Employer", on_delete=models.PROTECT, related_name="etrans_registrations"
    )
    channel = models.CharField(max_length=8, choices=Channel)
    ivan = models.ForeignKey(
        IvanProvider, null=True, blank=True, on_delete=models.PROTECT, related_name="employers"
    )
    contact_name = models.CharField(max_length=120, blank=True)
    email = models.EmailField(blank=True)
    phone = models.CharField(max_length=20, blank=True)
    registered_on = models.DateField()
    ended_on = models.DateField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-registered_on"]
        constraints = [
            models.UniqueConstraint(
                fields=["employer"],
                condition=Q(ended_on__isnull=True),
                name="gateway_one_open_registration",
            ),
            models.CheckConstraint(
                condition=~Q(channel="ivan") | Q(ivan__isnull=False),
                name="gateway_ivan_channel_names_ivan",
            ),
        ]


# --- Submissions ---------------------------------------------------------------------------------


class Verdict(models.TextChoices):
    """Tiếp nhận / không tiếp nhận: refused submissions never become dossiers."""

    ACCEPTED = "accepted", _("Accepted")
    REFUSED = "refused", _("Refused")


class Submission(models.Model):
    """One submission of one dossier package, kept whatever its verdict."""

    submitter = models.ForeignKey(
        "access.Organisation", on_delete=models.PROTECT, related_name="gateway_submissions"
    )
    submitted_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    ivan = models.ForeignKey(
        IvanProvider, null=True, blank=True, on_delete=models.PROTECT, related_name="submissions"
    )
    employer = models.ForeignKey(
        "registry.Employer",
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="gateway_submissions",
    )
    channel = models.CharField(max_length=8, choices=Channel)
    transaction_id = models.CharField(max_length=64, help_text="the submitter's own id")
    received_at = models.DateTimeField(db_index=True)
    raw = models.BinaryField(help_text="the bytes received, as evidence")
    size = models.PositiveIntegerField()
    digest = models.CharField(max_length=64, help_text="SHA-256 of the raw bytes, hex")
    procedure_code = models.CharField(max_length=20, blank=True)
    schema_version = models.CharField(max_length=10, blank=True)
    signed_at = models.DateTimeField(null=True, blank=True, help_text="signing time declared")
    ivan_received_at = models.DateTimeField(
        null=True, blank=True, help_text="when the I-VAN received it from the employer"
    )
    signer_kind = models.CharField(max_length=8, blank=True, help_text="employer or ivan")
    signer_subject = models.CharField(max_length=500, blank=True)
    signer_serial = models.CharField(max_length=64, blank=True)
    signer_fingerprint = models.CharField(max_length=64, blank=True)
    verdict = models.CharField(max_length=8, choices=Verdict)
    error_code = models.CharField(max_length=60, blank=True)
    errors = models.JSONField(default=list, blank=True)
    dossier = models.OneToOneField(
        "onestop.Dossier",
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="submission",
    )
    receipt_xml = models.BinaryField(null=True, blank=True)
    result_xml = models.BinaryField(null=True, blank=True)
    processed_at = models.DateTimeField(null=True, blank=True)
    rows_total = models.PositiveIntegerField(default=0)
    rows_accepted = models.PositiveIntegerField(default=0)
    rows_rejected = models.PositiveIntegerField(default=0)
    rows_queued = models.PositiveIntegerField(default=0)
    callback_url = models.URLField(max_length=500, blank=True)
    verify_ms = models.FloatField(default=0, help_text="time spent verifying the signature")

    class Meta:
        ordering = ["-received_at"]
        constraints = [
            # Idempotency: one accepted dossier per submitter and transaction id.
            models.UniqueConstraint(
                fields=["submitter", "transaction_id"],
                condition=Q(verdict="accepted"),
                name="gateway_transaction_once",
            )
        ]
        indexes = [
            models.Index(fields=["ivan", "received_at"], name="gateway_sub_ivan"),
            models.Index(fields=["employer", "received_at"], name="gateway_sub_employer"),
        ]

    def __str__(self) -> str:
        return f"{self.submitter_id}/{self.transaction_id}"


class Attachment(models.Model):
    """A scanned document carried inside the package; the bytes stay in ``Submission.raw``."""

    submission = models.ForeignKey(Submission, on_delete=models.CASCADE, related_name="attachments")
    name = models.CharField(max_length=200)
    media_type = models.CharField(max_length=100)
    size = models.PositiveIntegerField()
    digest = models.CharField(max_length=64, help_text="SHA-256, hex")


class RowKind(models.TextChoices):
    INCREASE = "increase", _("Increase (joins)")
    DECREASE = "decrease", _("Decrease (leaves)")
    ADJUSTMENT = "adjustment", _("Salary adjustment")
    EMPLOYER = "employer", _("Employer registration or change")
    CARD_REISSUE = "card", _("Health insurance card reissue")


class RowStatus(models.TextChoices):
    PENDING = "pending", _("Pending")
    ACCEPTED = "accepted", _("Accepted")
    REJECTED = "rejected", _("Rejected")
    QUEUED = "queued", _("Waiting for an officer")


class SubmissionRow(models.Model):
    """One line of a dossier (a worker on D02-LT, the employer on TK3-TS, a card request), with
    its own result: a dossier with some invalid rows is still received."""

    submission = models.ForeignKey(Submission, on_delete=models.CASCADE, related_name="rows")
    number = models.PositiveIntegerField()
    kind = models.CharField(max_length=12, choices=RowKind)
    personal_id = models.CharField(max_length=12, blank=True)
    data = models.JSONField(default=dict)
    status = models.CharField(max_length=10, choices=RowStatus, default=RowStatus.PENDING)
    error_code = models.CharField(max_length=60, blank=True)
    error_field = models.CharField(max_length=60, blank=True)
    message_vi = models.CharField(max_length=500, blank=True)
    message_en = models.CharField(max_length=500, blank=True)
    result = models.JSONField(default=dict, blank=True)
    processed_at = models.DateTimeField(null=True, blank=True)
    decided_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )

    class Meta:
        ordering = ["submission", "number"]
        constraints = [
            models.UniqueConstraint(fields=["submission", "number"], name="gateway_row_once")
        ]
        indexes = [models.Index(fields=["status", "submission"], name="gateway_row_status")]


class Step(models.TextChoices):
    """Each timestamped step of a submission, for end-to-end tracing."""

    RECEIVED = "received", _("Received")
    REFUSED = "refused", _("Refused")
    VERIFIED = "verified", _("Signature verified")
    RECEIPT = "receipt", _("Receipt signed")
    PROCESSING = "processing", _("Processing")
    ROWS_DONE = "rows_done", _("Rows processed")
    QUEUED = "queued", _("Queued for an officer")
    RESULT = "result", _("Result signed")
    CALLBACK_SENT = "callback_sent", _("Callback delivered")
    CALLBACK_FAILED = "callback_failed", _("Callback failed")


class SubmissionEvent(models.Model):
    """The trace of a submission (append-only)."""

    submission = models.ForeignKey(Submission, on_delete=models.PROTECT, related_name="events")
    at = models.DateTimeField()
    step = models.CharField(max_length=16, choices=Step)
    detail = models.CharField(max_length=500, blank=True)

    class Meta:
        ordering = ["at", "id"]


class CallbackDelivery(models.Model):
    """A signed receipt or result pushed to the submitter's callback URL, retried with backoff."""

    submission = models.ForeignKey(Submission, on_delete=models.CASCADE, related_name="deliveries")
    kind = models.CharField(max_length=8, help_text="receipt or result")
    url = models.URLField(max_length=500)
    attempts = models.PositiveSmallIntegerField(default=0)
    next_attempt_at = models.DateTimeField(null=True, blank=True)
    last_attempt_at = models.DateTimeField(null=True, blank=True)
    last_status = models.PositiveSmallIntegerField(null=True, blank=True)
    last_error = models.CharField(max_length=300, blank=True)
    delivered_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["submission", "kind"], name="gateway_deliver_once")
        ]
        indexes = [
            models.Index(
                fields=["next_attempt_at"],
                condition=Q(delivered_at__isnull=True),
                name="gateway_delivery_due",
            )
        ]
