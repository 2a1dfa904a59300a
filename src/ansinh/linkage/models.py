"""Review pairs, decisions and person links. Nothing here deletes or rewrites a registry row:
a merge (hợp nhất) is a ``PersonLink`` between two persons, undone by deactivating it."""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils.translation import gettext_lazy as _
from django.utils.translation import pgettext_lazy


class PairSource(models.TextChoices):
    """Which job proposed the pair: dedupe of the registry, or linking a source record."""

    DEDUPE = "dedupe", _("Registry deduplication")
    LINK = "link", _("Source record linkage")


class PairState(models.TextChoices):
    """Chờ xem xét; đã liên kết (same person); đã tách (different persons)."""

    OPEN = "open", pgettext_lazy("linkage", "To review")
    LINKED = "linked", _("Linked")
    SEPARATED = "separated", _("Separated")


class DecisionKind(models.TextChoices):
    """Liên kết, tách, hoàn tác."""

    LINK = "link", _("Link")
    SEPARATE = "separate", _("Separate")
    UNDO = "undo", _("Undo")


class ReviewPair(models.Model):
    """Two records the model could not decide on (or decided automatically): a registry person
    and either another person (dedupe) or a source record's snapshot (link). Evidence: the
    match probability and each comparison's level and weight in bits."""

    source = models.CharField(max_length=6, choices=PairSource)
    person = models.ForeignKey("registry.Person", on_delete=models.PROTECT, related_name="+")
    other_person = models.ForeignKey(
        "registry.Person", null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    record_key = models.CharField(max_length=120, blank=True, db_index=True)
    record = models.JSONField(null=True, blank=True, help_text="Source record snapshot")
    fingerprint = models.CharField(
        max_length=64, blank=True, help_text="SHA-256 of the normalised source record"
    )
    probability = models.FloatField()
    match_weight = models.FloatField()
    evidence = models.JSONField(default=dict)
    state = models.CharField(max_length=9, choices=PairState, default=PairState.OPEN)
    version = models.PositiveIntegerField(default=0)
    created_at = models.DateTimeField()
    decided_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-probability", "id"]
        permissions = [("decide_pair", "Can link or separate records in linkage review")]
        indexes = [models.Index(fields=["state", "probability"])]
        constraints = [
            models.CheckConstraint(
                condition=(Q(other_person__isnull=False) & Q(record__isnull=True))
                | (Q(other_person__isnull=True) & Q(record__isnull=False)),
                name="review_pair_one_other_side",
            ),
            models.UniqueConstraint(
                fields=["person", "other_person"],
                condition=Q(other_person__isnull=False),
                name="review_pair_persons_unique",
            ),
            models.UniqueConstraint(
                fields=["person", "fingerprint"],
                condition=Q(other_person__isnull=True),
                name="review_pair_record_unique",
            ),
        ]

    def __str__(self) -> str:
        other = self.other_person_id or self.record_key
        return f"{self.person_id}~{other} {self.state}"


class LinkDecision(models.Model):
    """Append-only (chỉ ghi thêm): who decided what on a pair, when and why. An undo is a new
    row that restores the state before the decision it cancels."""

    pair = models.ForeignKey(ReviewPair, on_delete=models.PROTECT, related_name="decisions")
    decision = models.CharField(max_length=8, choices=DecisionKind)
    state_before = models.CharField(max_length=9, choices=PairState)
    state_after = models.CharField(max_length=9, choices=PairState)
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="+",
    )
    actor_name = models.CharField(max_length=150, blank=True)
    automatic = models.BooleanField(default=False)
    note = models.CharField(max_length=500, blank=True)
    at = models.DateTimeField()

    class Meta:
        ordering = ["pair", "at", "id"]

    def __str__(self) -> str:
        return f"{self.pair_id} {self.decision} {self.at:%Y-%m-%d}"


class PersonLink(models.Model):
    """Two registry persons are one identity (liên kết hồ sơ): the logical merge. ``person_a``
    has the lower id. Undone links stay, inactive, for the history."""

    person_a = models.ForeignKey("registry.Person", on_delete=models.PROTECT, related_name="+")
    person_b = models.ForeignKey("registry.Person", on_delete=models.PROTECT, related_name="+")
    pair = models.ForeignKey(ReviewPair, on_delete=models.PROTECT, related_name="links")
    active = models.BooleanField(default=True)
    created_at = models.DateTimeField()
    undone_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["person_a", "person_b", "id"]
        constraints = [
            models.CheckConstraint(
                condition=Q(person_a__lt=models.F("person_b")), name="person_link_ordered"
            ),
            models.UniqueConstraint(
                fields=["person_a", "person_b"],
                condition=Q(active=True),
                name="person_link_one_active",
            ),
        ]
        indexes = [models.Index(fields=["person_b", "active"])]

    def __str__(self) -> str:
        return f"{self.person_a_id}={self.person_b_id}{'' if self.active else ' (undone)'}"
