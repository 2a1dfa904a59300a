"""Sends a signed-in officer who has not passed the second factor to the TOTP page."""

from __future__ import annotations

from collections.abc import Callable

from django.contrib.auth.views import redirect_to_login
from django.http import HttpRequest, HttpResponse
from django.urls import reverse

from ansinh.access.twofactor import needs_second_factor, session_is_verified

_OPEN_PREFIXES = (
    "/access/login",
    "/access/2fa",
    "/access/logout",
    "/static/",
    "/health",
    "/tra-cuu/",  # the public dossier status look-up needs no login at all
    "/the-an-sinh/",  # the public e-card check and its published keys
    "/api/",  # the API checks the second factor itself (VerifiedSession)
    "/i18n/",
    "/public/",
)


class TwoFactorMiddleware:
    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        user = getattr(request, "user", None)
        if (
            user is not None
            and user.is_authenticated
            and needs_second_factor(user)
            and not session_is_verified(request)
            and not request.path.startswith(_OPEN_PREFIXES)
        ):
            return redirect_to_login(request.get_full_path(), reverse("access:two_factor"))
        return self.get_response(request)
