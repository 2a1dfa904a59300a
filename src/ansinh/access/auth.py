"""API authentication: a bearer token (machines) or a logged-in, two-factor-verified session."""

from __future__ import annotations

import hashlib
import secrets
from typing import Any

from django.http import HttpRequest
from django.utils import timezone
from ninja.security import HttpBearer
from ninja.security.session import SessionAuth

TOKEN_PREFIX = "ans_"  # noqa: S105 - a marker, not a secret


def hash_token(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def new_token() -> str:
    return TOKEN_PREFIX + secrets.token_urlsafe(32)


class BearerToken(HttpBearer):
    def authenticate(self, request: HttpRequest, token: str) -> Any:
        from ansinh.access.models import ApiToken

        now = timezone.now()
        try:
            row = ApiToken.objects.select_related("user").get(digest=hash_token(token))
        except ApiToken.DoesNotExist:
            return None
        if row.revoked_at or (row.expires_at and row.expires_at <= now) or not row.user.is_active:
            return None
        if row.last_used_at is None or (now - row.last_used_at).total_seconds() > 60:
            ApiToken.objects.filter(pk=row.pk).update(last_used_at=now)
        request.user = row.user
        request.auth_channel = "api"  # type: ignore[attr-defined]
        return row.user


class VerifiedSession(SessionAuth):
    """A browser session counts only once its second factor is verified."""

    def authenticate(self, request: HttpRequest, key: str | None) -> Any:
        user = super().authenticate(request, key)
        if user is None:
            return None
        from ansinh.access.twofactor import session_is_verified

        return user if session_is_verified(request) else None


def ApiKeyOrSession() -> list:
    return [BearerToken(), VerifiedSession()]
