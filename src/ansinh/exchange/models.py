"""The exchange layer's data (trao đổi dữ liệu liên cơ quan), shaped like X-Road's REST
protocol so a real X-Road security server can later stand in front of it.

* ``Identity``: who this deployment is (one active row) and the public half of its signing key;
  the private key stays in a file under ``DATA_DIR/exchange/``.
* ``Peer`` and ``Grant``: the other members we talk to and the services each may call (deny by
  default).
* ``Nonce`` and ``Received``: replay protection and the idempotency store of incoming calls.
* ``LogEntry`` and ``LogCheckpoint``: the append-only, hash-chained message log (nhật ký thông
  điệp) — every request and response, with signatures, as evidence; ``LogHead`` is the chain's
  current end, locked to append.
* ``Outbox``: outgoing calls written in the caller's transaction and delivered with back-off.
"""

from __future__ import annotations

from django.db import models
from django.utils.translation import gettext_lazy as _

from ansinh.exchange.ids import MemberId


class MemberFields(models.Model):
    instance = models.CharField(max_length=64)
    member_class = models.CharField(max_length=64)
    member_code = models.CharField(max_length=64)
    subsystem = models.CharField(max_length=64)

    class Meta:
        abstract = True

    @property
    def member_id(self) -> MemberId:
        return MemberId(self.instance, self.member_class, self.member_code, self.subsystem)

    def __str__(self) -> str:
        return str(self.member_id)


class Identity(MemberFields):
    """This deployment's member identity and the public half of its signing key."""

    key_id = models.CharField(max_length=100, help_text="SHA-256 of the public key, hex")
    algorithm = models.CharField(max_length=30)
    public_key_pem = models.TextField()
    certificate_pem = models.TextField(blank=True)
    active = models.BooleanField(default=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        verbose_name = _("own exchange identity")
        verbose_name_plural = _("own exchange identities")


class Peer(MemberFields):
    """Another member subsystem we exchange with, registered explicitly with its key."""

    name = models.CharField(max_length=200, blank=True)
    base_url = models.URLField(max_length=300, help_text="e.g. https://host:8443 (no /r1)")
    key_id = models.CharField(max_length=100, help_text="SHA-256 of the public key, hex")
    algorithm = models.CharField(max_length=30)
    public_key_pem = models.TextField()
    certificate_pem = models.TextField(blank=True)
    active = models.BooleanField(default=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        verbose_name = _("exchange peer")
        verbose_name_plural = _("exchange peers")
        constraints = [
            models.UniqueConstraint(
                fields=["instance", "member_class", "member_code", "subsystem"],
                name="exchange_peer_unique_id",
            )
        ]


class Grant(models.Model):
    """Permission for one peer to call one of our services (quyền truy cập dịch vụ)."""

    peer = models.ForeignKey(Peer, on_delete=models.CASCADE, related_name="grants")
    service = models.CharField(max_length=64)
    granted_at = models.DateTimeField(auto_now_add=True)
    note = models.CharField(max_length=200, blank=True)

    class Meta:
        verbose_name = _("service grant")
        verbose_name_plural = _("service grants")
        constraints = [
            models.UniqueConstraint(fields=["peer", "service"], name="exchange_grant_unique")
        ]

    def __str__(self) -> str:
        return f"{self.peer} → {self.service}"


class Nonce(models.Model):
    """A signature nonce seen from a peer within the freshness window: a second use is a
    replay. Rows older than the window are pruned."""

    peer = models.ForeignKey(Peer, on_delete=models.CASCADE)
    nonce = models.CharField(max_length=64)
    created = models.DateTimeField(db_index=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["peer", "nonce"], name="exchange_nonce_unique")
        ]


class Received(models.Model):
    """The answer given to one message id of one peer: the same id with the same body gets it
    again, the same id with another body is a conflict."""

    peer = models.ForeignKey(Peer, on_delete=models.CASCADE)
    message_id = models.CharField(max_length=100)
    service = models.CharField(max_length=64)
    body_sha256 = models.CharField(max_length=64)
    status = models.PositiveSmallIntegerField()
    content_type = models.CharField(max_length=100)
    response_body = models.BinaryField()
    created_at = models.DateTimeField(db_index=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["peer", "message_id"], name="exchange_received_unique")
        ]


class Direction(models.TextChoices):
    IN = "in", _("incoming")
    OUT = "out", _("outgoing")


class Kind(models.TextChoices):
    REQUEST = "request", _("request")
    RESPONSE = "response", _("response")


class LogEntry(models.Model):
    """One message as sent or received, hash-chained to the previous entry (append-only in
    the database). ``hash`` = SHA-256 over the previous hash and every other field, the body
    by its digest — see ``exchange.log``."""

    at = models.DateTimeField(db_index=True)
    direction = models.CharField(max_length=3, choices=Direction.choices)
    kind = models.CharField(max_length=8, choices=Kind.choices)
    message_id = models.CharField(max_length=100, db_index=True)
    client = models.CharField(max_length=260)
    service = models.CharField(max_length=330)
    method = models.CharField(max_length=10, blank=True)
    target = models.CharField(max_length=600, blank=True)
    status = models.PositiveSmallIntegerField(null=True, blank=True)
    outcome = models.CharField(max_length=40, help_text="ok or an error code")
    headers = models.TextField(help_text="JSON: the signed headers and the signature")
    body = models.BinaryField()
    body_sha256 = models.CharField(max_length=64)
    prev_hash = models.CharField(max_length=64)
    hash = models.CharField(max_length=64, unique=True)

    class Meta:
        verbose_name = _("message log entry")
        verbose_name_plural = _("message log")
        ordering = ["id"]


class LogCheckpoint(models.Model):
    """Where pruning cut the chain: the hash of the last removed entry, so the remaining
    entries still verify from here (append-only)."""

    at = models.DateTimeField()
    up_to_id = models.BigIntegerField()
    hash = models.CharField(max_length=64)
    removed = models.BigIntegerField()

    class Meta:
        ordering = ["id"]


class LogHead(models.Model):
    """The end of the chain (a single row, id 1), locked by every append."""

    last_id = models.BigIntegerField(default=0)
    hash = models.CharField(max_length=64)


class OutboxState(models.TextChoices):
    PENDING = "pending", _("pending")
    DELIVERED = "delivered", _("delivered")
    REFUSED = "refused", _("refused by the peer")
    GIVEN_UP = "given_up", _("given up")


class Outbox(models.Model):
    """An outgoing call (thông điệp chờ gửi), written in the caller's transaction and
    delivered — with the same message id on every attempt — until the peer answers."""

    message_id = models.CharField(max_length=100, unique=True)
    peer = models.ForeignKey(Peer, on_delete=models.PROTECT, related_name="outbox")
    service = models.CharField(max_length=64)
    method = models.CharField(max_length=10, default="POST")
    body = models.BinaryField()
    content_type = models.CharField(max_length=100, default="application/json")
    state = models.CharField(
        max_length=10, choices=OutboxState.choices, default=OutboxState.PENDING, db_index=True
    )
    attempts = models.PositiveIntegerField(default=0)
    next_attempt_at = models.DateTimeField(null=True, blank=True, db_index=True)
    last_error = models.CharField(max_length=300, blank=True)
    response_status = models.PositiveSmallIntegerField(null=True, blank=True)
    response_body = models.BinaryField(null=True, blank=True)
    created_at = models.DateTimeField()
    delivered_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        verbose_name = _("outgoing message")
        verbose_name_plural = _("outbox")
        ordering = ["id"]

    def __str__(self) -> str:
        return f"{self.message_id} → {self.peer}/{self.service} ({self.state})"
