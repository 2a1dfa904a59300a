"""Admin pages: our identity (read-only), peers and their grants, the outbox; the message log
is shown read-only (it is append-only in the database)."""

from __future__ import annotations

from typing import Any

from django import forms
from django.contrib import admin
from django.http import HttpRequest

from ansinh.core.errors import DomainError
from ansinh.exchange import keys, selectors
from ansinh.exchange.models import Grant, Identity, LogCheckpoint, LogEntry, Outbox, Peer


class ReadOnly(admin.ModelAdmin):
    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False


@admin.register(Identity)
class IdentityAdmin(ReadOnly):
    list_display = ("__str__", "algorithm", "key_id", "active", "created_at")


class GrantInline(admin.TabularInline):
    model = Grant
    extra = 1
    fields = ("service", "note", "granted_at")
    readonly_fields = ("granted_at",)


class PeerForm(forms.ModelForm):
    base_url = forms.URLField(max_length=300, assume_scheme="https")

    class Meta:
        model = Peer
        fields = (
            "instance", "member_class", "member_code", "subsystem", "name", "base_url",
            "public_key_pem", "certificate_pem", "active",
        )  # fmt: skip

    def clean_public_key_pem(self) -> str:
        pem = self.cleaned_data["public_key_pem"]
        try:
            keys.load_public(pem)
        except DomainError as exc:
            raise forms.ValidationError(exc.first.message_vi) from exc
        return pem


@admin.register(Peer)
class PeerAdmin(admin.ModelAdmin):
    form = PeerForm
    list_display = ("__str__", "name", "base_url", "algorithm", "active")
    list_filter = ("active", "instance", "member_class")
    search_fields = ("member_code", "subsystem", "name")
    readonly_fields = ("key_id", "algorithm", "created_at")
    inlines = [GrantInline]

    def save_model(self, request: HttpRequest, obj: Peer, form: Any, change: bool) -> None:
        """A pasted key or certificate: derive its key id and algorithm as the command does."""
        public, cert_pem = keys.load_public(obj.public_key_pem)
        obj.public_key_pem = keys.public_pem(public)
        obj.certificate_pem = cert_pem or obj.certificate_pem
        obj.key_id = keys.key_id(public)
        obj.algorithm = keys.algorithm_of(public)
        super().save_model(request, obj, form, change)
        selectors.forget()


@admin.register(Outbox)
class OutboxAdmin(ReadOnly):
    list_display = ("message_id", "peer", "service", "state", "attempts", "next_attempt_at",
                    "last_error", "created_at")  # fmt: skip
    list_filter = ("state", "service")
    search_fields = ("message_id",)
    exclude = ("body", "response_body")


@admin.register(LogEntry)
class LogEntryAdmin(ReadOnly):
    list_display = ("id", "at", "direction", "kind", "message_id", "client", "service",
                    "status", "outcome")  # fmt: skip
    list_filter = ("direction", "kind", "outcome")
    search_fields = ("message_id",)
    exclude = ("body",)


@admin.register(LogCheckpoint)
class LogCheckpointAdmin(ReadOnly):
    list_display = ("id", "at", "up_to_id", "removed", "hash")
