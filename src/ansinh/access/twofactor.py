"""TOTP two-factor login for staff (RFC 6238 through pyotp)."""

from __future__ import annotations

import pyotp
from django.conf import settings
from django.http import HttpRequest

SESSION_KEY = "ansinh_2fa_ok"


def needs_second_factor(user: object) -> bool:
    return bool(getattr(settings, "REQUIRE_2FA", True)) and bool(getattr(user, "is_officer", False))


def session_is_verified(request: HttpRequest) -> bool:
    user = getattr(request, "user", None)
    if user is None or not user.is_authenticated:
        return False
    return not needs_second_factor(user) or bool(request.session.get(SESSION_KEY))


def new_secret() -> str:
    return pyotp.random_base32()


def provisioning_uri(username: str, secret: str) -> str:
    return pyotp.TOTP(secret).provisioning_uri(name=username, issuer_name="ansinh")


def verify_code(user: object, code: str) -> bool:
    """Check a 6-digit code, allowing one step of clock drift, refusing a replayed step."""
    secret = getattr(user, "totp_secret", "")
    if not secret or not code or not code.strip().isdigit():
        return False
    totp = pyotp.TOTP(secret)
    import time

    now_step = int(time.time()) // totp.interval
    for step in (now_step, now_step - 1, now_step + 1):
        if totp.generate_otp(step) == code.strip() and step > user.totp_last_step:  # type: ignore[attr-defined]
            type(user).objects.filter(pk=user.pk).update(totp_last_step=step)  # type: ignore[attr-defined]
            user.totp_last_step = step  # type: ignore[attr-defined]
            return True
    return False
