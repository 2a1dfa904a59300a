"""Vietnamese by default: the language is the user's explicit choice (the language cookie set
by the VI/EN switch) or Vietnamese, never a guess from the browser's Accept-Language header —
an office PC with an English browser still gets the Vietnamese interface."""

from __future__ import annotations

from collections.abc import Callable

from django.http import HttpRequest, HttpResponse


class IgnoreBrowserLanguageMiddleware:
    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        request.META.pop("HTTP_ACCEPT_LANGUAGE", None)
        return self.get_response(request)
