from __future__ import annotations

import datetime as dt

from django.db import models
from django.utils.translation import gettext_lazy as _

#: The day the two-level local government (34 provinces, no districts) took effect.
REFORM_DATE = dt.date(2025, 7, 1)


class UnitSystem(models.TextChoices):
    """Hệ thống đơn vị hành chính: before the 2025 reform (63 tỉnh, 3 cấp) and after it (34 tỉnh,
    chính quyền địa phương 2 cấp)."""

    LEGACY = "legacy", _("63 provinces, 3 levels (until 30 June 2025)")
    CURRENT = "2025", _("34 provinces, 2 levels (from 1 July 2025)")


class UnitLevel(models.TextChoices):
    """Tỉnh/thành phố; quận/huyện (legacy system only); xã/phường/đặc khu."""

    PROVINCE = "province", _("Province")
    DISTRICT = "district", _("District (legacy system only)")
    COMMUNE = "commune", _("Commune")


class AdminUnit(models.Model):
    """One administrative unit of one system. Official GSO codes: 2 digits for provinces,
    3 for districts, 5 for communes. Codes are unique within a system and level only: the same
    code may name different units before and after the reform."""

    system = models.CharField(max_length=6, choices=UnitSystem)
    level = models.CharField(max_length=8, choices=UnitLevel)
    code = models.CharField(max_length=5)
    name = models.CharField(max_length=120)
    short_name = models.CharField(max_length=100)
    unit_type = models.CharField(max_length=30, blank=True)
    parent = models.ForeignKey(
        "self", null=True, blank=True, on_delete=models.PROTECT, related_name="children"
    )
    province_code = models.CharField(max_length=2, db_index=True)
    key = models.CharField(
        max_length=120,
        help_text="Key of the vietnamadminunits mapping data, e.g. province_district_ward.",
    )
    search_name = models.CharField(
        max_length=120, blank=True, help_text="ansinh.core.text.normalise(name), for search."
    )
    latitude = models.FloatField(null=True, blank=True)
    longitude = models.FloatField(null=True, blank=True)
    valid_from = models.DateField(null=True, blank=True)
    valid_to = models.DateField(null=True, blank=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["system", "level", "code"], name="admin_unit_code")
        ]
        indexes = [models.Index(fields=["system", "level", "province_code"])]
        ordering = ["system", "code"]

    def __str__(self) -> str:
        return self.name

    @property
    def is_current(self) -> bool:
        return self.system == UnitSystem.CURRENT


class UnitSuccession(models.Model):
    """Old→new mapping of the 2025 reform. An old commune merged whole into one new commune has
    one row; one that was split has a row per candidate, one of them the default. An address in
    a split commune is ambiguous and goes to review unless a street resolves it."""

    old = models.ForeignKey(AdminUnit, on_delete=models.CASCADE, related_name="successors")
    new = models.ForeignKey(AdminUnit, on_delete=models.CASCADE, related_name="predecessors")
    is_default = models.BooleanField(default=True)
    is_split = models.BooleanField(default=False)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["old", "new"], name="succession_unique")]

    def __str__(self) -> str:
        return f"{self.old_id} → {self.new_id}"
