"""Reads of the exchange layer."""

from __future__ import annotations

import time
from typing import Any

from django.conf import settings

from ansinh.core.errors import DomainError
from ansinh.exchange import registry
from ansinh.exchange.ids import MemberId
from ansinh.exchange.models import Grant, Identity, Outbox, OutboxState, Peer

# Each worker keeps our identity, peers and grants for EXCHANGE_CACHE_SECONDS (default 5; 0 in
# tests): three queries fewer per message. A peer switched off or a grant revoked takes effect
# within that time in every worker.
_cache: dict[Any, tuple[float, Any]] = {}


def _cached(key: Any, load: Any) -> Any:
    ttl = float(getattr(settings, "EXCHANGE_CACHE_SECONDS", 0))
    if ttl <= 0:
        return load()
    now = time.monotonic()
    hit = _cache.get(key)
    if hit is not None and hit[0] > now:
        return hit[1]
    value = load()
    _cache[key] = (now + ttl, value)
    return value


def forget() -> None:
    _cache.clear()


def own_identity() -> Identity:
    identity = _cached(
        "identity", lambda: Identity.objects.filter(active=True).order_by("-id").first()
    )
    if identity is None:
        raise DomainError(
            "exchange_not_initialised",
            None,
            "Chưa khởi tạo định danh trao đổi: chạy `ansinh exchange init`.",
            "The exchange identity is not set up: run `ansinh exchange init`.",
            status=503,
        )
    return identity


def _member_filter(member: MemberId) -> dict[str, str]:
    return {
        "instance": member.instance,
        "member_class": member.member_class,
        "member_code": member.member_code,
        "subsystem": member.subsystem,
    }


def find_peer(member: MemberId, *, active_only: bool = True) -> Peer | None:
    if active_only:
        return _cached(
            ("peer", member),
            lambda: Peer.objects.filter(**_member_filter(member), active=True).first(),
        )
    return Peer.objects.filter(**_member_filter(member)).first()


def get_peer(member: MemberId | str) -> Peer:
    member = member if isinstance(member, MemberId) else MemberId.parse(member, "peer")
    peer = find_peer(member, active_only=False)
    if peer is None:
        raise DomainError(
            "unknown_peer",
            "peer",
            f"Chưa đăng ký bên trao đổi {member}.",
            f"No peer {member} is registered.",
            status=404,
        )
    return peer


def is_granted(peer: Peer, service: str) -> bool:
    return _cached(
        ("grant", peer.pk, service),
        lambda: Grant.objects.filter(peer=peer, service=service).exists(),
    )


def catalogue(identity: Identity, peer: Peer | None = None) -> dict[str, Any]:
    """Our services in X-Road's listMethods / allowedMethods shape; only those granted to
    ``peer`` when one is given."""
    granted = (
        set(Grant.objects.filter(peer=peer).values_list("service", flat=True)) if peer else None
    )
    rows = []
    for svc in registry.all_services():
        if granted is not None and svc.code not in granted:
            continue
        rows.append(
            {
                "object_type": "SERVICE",
                **identity.member_id.as_xroad(),
                "service_code": svc.code,
                "service_type": "REST",
                "methods": list(svc.methods),
                "description": svc.description,
            }
        )
    return {"service": rows}


def outbox_counts() -> dict[str, int]:
    return {state: Outbox.objects.filter(state=state).count() for state in OutboxState.values}
