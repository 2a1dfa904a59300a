"""Writes of the exchange layer's set-up: our identity, peers and grants. The message path
itself is in ``server`` (incoming), ``client`` (outgoing) and ``outbox``."""

from __future__ import annotations

from dataclasses import dataclass

from cryptography.hazmat.primitives import serialization
from django.db import transaction

from ansinh.core.errors import DomainError
from ansinh.exchange import keys, selectors
from ansinh.exchange.ids import MemberId, check_service_code
from ansinh.exchange.models import Grant, Identity, Peer


@dataclass(frozen=True)
class Initialised:
    identity: Identity
    key_created: bool


@transaction.atomic
def init_identity(member: MemberId, *, algorithm: str = keys.ED25519) -> Initialised:
    """Create the signing key file when missing (never overwrite one) and make ``member`` our
    active identity with that key."""
    path = keys.key_file()
    created = False
    if not path.exists():
        keys.write_key(keys.new_key(algorithm), path)
        created = True
    private = keys.signing_key()
    cert_path = keys.cert_file()
    if created or not cert_path.exists():
        cert = keys.self_signed(private, str(member))
        cert_path.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    public = private.public_key()
    current = Identity.objects.filter(active=True).first()
    if (
        current is not None
        and current.member_id == member
        and current.key_id == keys.key_id(public)
        and current.certificate_pem == cert_path.read_text()
    ):
        return Initialised(current, created)  # run again (a restart): nothing changes
    Identity.objects.filter(active=True).update(active=False)
    identity = Identity.objects.create(
        instance=member.instance,
        member_class=member.member_class,
        member_code=member.member_code,
        subsystem=member.subsystem,
        key_id=keys.key_id(public),
        algorithm=keys.algorithm_of(public),
        public_key_pem=keys.public_pem(public),
        certificate_pem=cert_path.read_text(),
    )
    selectors.forget()
    return Initialised(identity, created)


@transaction.atomic
def add_peer(member: MemberId, *, base_url: str, public_key_pem: str, name: str = "") -> Peer:
    """Register or update a peer with its key (PEM public key or certificate)."""
    base_url = (base_url or "").strip().rstrip("/")
    if not base_url.startswith(("http://", "https://")):
        raise DomainError(
            "base_url_invalid",
            "base_url",
            "Địa chỉ của bên trao đổi phải là URL http(s).",
            "The peer's base URL must be an http(s) URL.",
        )
    public, cert_pem = keys.load_public(public_key_pem)
    values = {
        "name": name,
        "base_url": base_url,
        "key_id": keys.key_id(public),
        "algorithm": keys.algorithm_of(public),
        "public_key_pem": keys.public_pem(public),
        "certificate_pem": cert_pem,
        "active": True,
    }
    peer, _ = Peer.objects.update_or_create(
        instance=member.instance,
        member_class=member.member_class,
        member_code=member.member_code,
        subsystem=member.subsystem,
        defaults=values,
    )
    selectors.forget()
    return peer


def set_peer_active(peer: Peer, active: bool) -> Peer:
    peer.active = active
    peer.save(update_fields=["active"])
    selectors.forget()
    return peer


def grant(peer: Peer, service: str, *, note: str = "") -> Grant:
    check_service_code(service)
    row, _ = Grant.objects.get_or_create(peer=peer, service=service, defaults={"note": note})
    selectors.forget()
    return row


def revoke(peer: Peer, service: str) -> int:
    deleted, _ = Grant.objects.filter(peer=peer, service=service).delete()
    selectors.forget()
    return deleted
