"""TOTP two-factor login for staff (RFC 6238 through pyotp), with an inline SVG QR code for
enrolment (no external service sees the secret)."""

from __future__ import annotations

import time
from typing import Any

import pyotp
import qrcode
import qrcode.image.svg
from django.conf import settings
from django.contrib.auth import get_user_model
from django.http import HttpRequest

SESSION_KEY = "ansinh_2fa_ok"
ISSUER = "ansinh"


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
    return pyotp.TOTP(secret).provisioning_uri(name=username, issuer_name=ISSUER)


def qr_svg(data: str) -> str:
    """An inline ``<svg>`` element drawing ``data`` as a QR code."""
    image = qrcode.make(data, image_factory=qrcode.image.svg.SvgPathImage, box_size=8)
    svg = image.to_string(encoding="unicode")
    return svg[svg.index("<svg") :]


def current_code(secret: str, *, at: float | None = None) -> str:
    return pyotp.TOTP(secret).at(int(at if at is not None else time.time()))


def verify_code(user: Any, code: str, *, at: float | None = None) -> bool:
    """Check a 6-digit code, allowing one step of clock drift, refusing a replayed step.

    The step is recorded with a conditional UPDATE, so two concurrent requests with the same
    code cannot both succeed."""
    secret = getattr(user, "totp_secret", "")
    code = (code or "").strip()
    if not secret or len(code) != 6 or not code.isdigit():
        return False
    totp = pyotp.TOTP(secret)
    now_step = int(at if at is not None else time.time()) // totp.interval
    for step in (now_step - 1, now_step, now_step + 1):
        if step <= user.totp_last_step or totp.generate_otp(step) != code:
            continue
        updated = (
            get_user_model()
            .objects.filter(pk=user.pk, totp_last_step__lt=step)
            .update(totp_last_step=step)
        )
        if updated:
            user.totp_last_step = step
            return True
        return False
    return False
