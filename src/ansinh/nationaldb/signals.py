"""A card follows its holder: when the registry records a death (or a merge, or emigration),
the card in force is revoked in the same transaction. The registry (a lower floor) knows
nothing of cards; this receiver listens to its saves."""

from __future__ import annotations

from typing import Any

from django.db.models.signals import post_save
from django.dispatch import receiver

from ansinh.nationaldb.models import ECard, RevocationReason
from ansinh.registry.models import Person, PersonStatus


@receiver(post_save, sender=Person, dispatch_uid="nationaldb_revoke_on_status")
def revoke_when_holder_leaves(
    sender: type[Person], instance: Person, update_fields: Any = None, **_kw: Any
) -> None:
    if instance.status == PersonStatus.ACTIVE:
        return
    if update_fields is not None and "status" not in update_fields:
        return
    from ansinh.nationaldb.services import revoke_ecard

    reason = (
        RevocationReason.DECEASED
        if instance.status == PersonStatus.DECEASED
        else RevocationReason.OTHER
    )
    for card in ECard.objects.filter(person=instance, revoked_at__isnull=True):
        revoke_ecard(card, reason=reason)
