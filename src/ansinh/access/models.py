"""Organisations, users, API tokens and the append-only audit log."""

from __future__ import annotations

from django.contrib.auth.models import AbstractUser
from django.db import models
from django.utils.translation import gettext_lazy as _


class OrganisationKind(models.TextChoices):
    """What an organisation does, not whose ministry it is: names and parents are data.
    Cơ quan trung ương; BHXH tỉnh; BHXH cơ sở (commune or area office); the provincial
    department (Sở) in charge of labour; trung tâm dịch vụ việc làm (TTDVVL); đơn vị sử dụng
    lao động; tổ chức cung cấp dịch vụ I-VAN."""

    CENTRAL_AGENCY = "central", _("Central agency")
    PROVINCIAL_OFFICE = "province_office", _("Provincial social security office")
    COMMUNE_OFFICE = "commune_office", _("Commune or area social security office")
    LABOUR_DEPARTMENT = "labour_dept", _("Provincial labour authority")
    EMPLOYMENT_CENTRE = "employment_centre", _("Employment service centre")
    EMPLOYER = "employer", _("Employing unit")
    IVAN_PROVIDER = "ivan", _("I-VAN provider")
    OTHER = "other", _("Other")


class Organisation(models.Model):
    code = models.CharField(max_length=20, unique=True)
    name = models.CharField(max_length=200)
    kind = models.CharField(max_length=20, choices=OrganisationKind)
    parent = models.ForeignKey(
        "self", null=True, blank=True, on_delete=models.PROTECT, related_name="children"
    )
    nationwide = models.BooleanField(
        default=False, help_text="Scope covers the whole country (central agencies)."
    )
    scope_units = models.ManyToManyField(
        "places.AdminUnit",
        blank=True,
        related_name="+",
        help_text="Provinces or communes this organisation serves; a province covers its communes.",
    )
    active = models.BooleanField(default=True)

    class Meta:
        ordering = ["code"]
        permissions = [
            ("view_reports", "Can view statistics and reports for the organisation's scope"),
        ]

    def __str__(self) -> str:
        return f"{self.code} {self.name}"


class User(AbstractUser):
    """A person who signs in: staff of an organisation, an employer's clerk, an I-VAN operator.
    Roles are Django groups seeded by ``access.services.ensure_roles``."""

    organisation = models.ForeignKey(
        Organisation, null=True, blank=True, on_delete=models.PROTECT, related_name="users"
    )
    totp_secret = models.CharField(max_length=64, blank=True)
    totp_enabled = models.BooleanField(default=False)
    totp_last_step = models.BigIntegerField(default=0, help_text="Refuses a replayed code.")
    failed_logins = models.PositiveSmallIntegerField(default=0)
    locked_until = models.DateTimeField(null=True, blank=True)

    @property
    def is_officer(self) -> bool:
        return self.is_staff or self.organisation_id is not None


class ApiToken(models.Model):
    """A bearer token for machines. Only a SHA-256 digest is stored; the token is shown once."""

    user = models.ForeignKey(User, on_delete=models.CASCADE, related_name="api_tokens")
    name = models.CharField(max_length=100)
    prefix = models.CharField(max_length=12, db_index=True)
    digest = models.CharField(max_length=64, unique=True)
    created_at = models.DateTimeField(auto_now_add=True)
    last_used_at = models.DateTimeField(null=True, blank=True)
    expires_at = models.DateTimeField(null=True, blank=True)
    revoked_at = models.DateTimeField(null=True, blank=True)

    def __str__(self) -> str:
        return f"{self.name} ({self.prefix}…)"


class AuditAction(models.TextChoices):
    """What the audited user did (thao tác): xem, tra cứu, tạo mới, cập nhật, xóa, xuất dữ liệu,
    đăng nhập (and its failure), khóa tài khoản, từ chối truy cập."""

    READ = "read", _("Read")
    SEARCH = "search", _("Search")
    CREATE = "create", _("Create")
    UPDATE = "update", _("Update")
    DELETE = "delete", _("Delete")
    EXPORT = "export", _("Export")
    LOGIN = "login", _("Login")
    LOGIN_FAILED = "login_failed", _("Login failed")
    LOCKED = "locked", _("Account locked")
    DENIED = "denied", _("Access denied")


class AuditEvent(models.Model):
    """Append-only record of every staff read of a person's record and every write.
    Database triggers refuse UPDATE and DELETE on this table (see migration 0002)."""

    at = models.DateTimeField(auto_now_add=True, db_index=True)
    actor = models.ForeignKey(User, null=True, blank=True, on_delete=models.PROTECT)
    actor_username = models.CharField(max_length=150, blank=True)
    organisation = models.ForeignKey(Organisation, null=True, blank=True, on_delete=models.PROTECT)
    action = models.CharField(max_length=16, choices=AuditAction)
    object_type = models.CharField(max_length=40, db_index=True)
    object_id = models.CharField(max_length=40, blank=True, db_index=True)
    purpose = models.CharField(max_length=200, blank=True)
    channel = models.CharField(max_length=10, default="web", help_text="web, api, cli, task")
    ip = models.GenericIPAddressField(null=True, blank=True)
    detail = models.JSONField(default=dict, blank=True)

    class Meta:
        ordering = ["-at", "-id"]
        indexes = [models.Index(fields=["object_type", "object_id", "at"])]

    def save(self, *args: object, **kwargs: object) -> None:
        if self.pk is not None:
            raise RuntimeError("audit events are append-only")
        super().save(*args, **kwargs)  # type: ignore[arg-type]

    def delete(self, *args: object, **kwargs: object) -> tuple[int, dict[str, int]]:
        raise RuntimeError("audit events are append-only")

    def __str__(self) -> str:
        return f"{self.at:%Y-%m-%d %H:%M} {self.actor_username} {self.action} {self.object_type}"
