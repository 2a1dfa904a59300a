"""Login with password then TOTP, logout, and the auditor's audit log viewer."""

from __future__ import annotations

import csv
from typing import Any

from django.conf import settings
from django.contrib import messages
from django.contrib.auth import login, logout
from django.contrib.auth.decorators import login_required, permission_required
from django.core.paginator import Paginator
from django.http import HttpRequest, HttpResponse, StreamingHttpResponse
from django.shortcuts import redirect, render, resolve_url
from django.urls import NoReverseMatch, reverse
from django.utils import timezone
from django.utils.http import url_has_allowed_host_and_scheme
from django.utils.translation import get_language
from django.views.decorators.cache import never_cache
from django.views.decorators.csrf import csrf_protect
from django.views.decorators.debug import sensitive_post_parameters
from django.views.decorators.http import require_http_methods

from ansinh.access import selectors, services
from ansinh.access.forms import AuditFilterForm, CodeForm, LoginForm
from ansinh.access.models import AuditAction, AuditEvent
from ansinh.access.twofactor import (
    SESSION_KEY,
    needs_second_factor,
    provisioning_uri,
    qr_svg,
    session_is_verified,
)
from ansinh.core.errors import DomainError

PAGE_SIZE = 50


def error_text(exc: DomainError) -> str:
    """The error message in the page's language."""
    first = exc.first
    return first.message_en if (get_language() or "vi").startswith("en") else first.message_vi


def _next_url(request: HttpRequest) -> str:
    candidate = request.POST.get("next") or request.GET.get("next") or ""
    if candidate and url_has_allowed_host_and_scheme(
        candidate, allowed_hosts={request.get_host()}, require_https=request.is_secure()
    ):
        return candidate
    try:
        return resolve_url(settings.LOGIN_REDIRECT_URL)
    except NoReverseMatch:  # the home page's app is not installed (tests of this app alone)
        return "/"


def _with_next(url_name: str, next_url: str) -> str:
    from urllib.parse import urlencode

    return f"{reverse(url_name)}?{urlencode({'next': next_url})}"


@sensitive_post_parameters("password")
@csrf_protect
@never_cache
@require_http_methods(["GET", "POST"])
def login_view(request: HttpRequest) -> HttpResponse:
    next_url = _next_url(request)
    form = LoginForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            user = services.login_password(
                request, form.cleaned_data["username"], form.cleaned_data["password"]
            )
        except DomainError as exc:
            form.add_error(None, error_text(exc))
        else:
            login(request, user, backend="ansinh.access.backends.OrganisationKindBackend")
            if needs_second_factor(user):
                return redirect(_with_next("access:two_factor", next_url))
            services.audit_login(user, request)
            return redirect(next_url)
    return render(request, "access/login.html", {"form": form, "next": next_url})


@csrf_protect
@never_cache
@require_http_methods(["GET", "POST"])
def two_factor_view(request: HttpRequest) -> HttpResponse:
    next_url = _next_url(request)
    user = request.user
    if not user.is_authenticated:
        return redirect(_with_next("access:login", next_url))
    if session_is_verified(request):
        return redirect(next_url)
    enrolling = not user.totp_enabled
    form = CodeForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            services.login_second_factor(request, user, form.cleaned_data["code"])
        except DomainError as exc:
            if exc.first.code == "account_locked":
                logout(request)
                messages.error(request, error_text(exc))
                return redirect("access:login")
            form.add_error("code", error_text(exc))
        else:
            request.session.cycle_key()
            request.session[SESSION_KEY] = True
            services.audit_login(user, request)
            return redirect(next_url)
    context: dict[str, Any] = {"form": form, "next": next_url, "enrolling": enrolling}
    if enrolling:
        secret = services.start_enrolment(user)
        context["secret"] = secret
        context["qr"] = qr_svg(provisioning_uri(user.get_username(), secret))
    return render(request, "access/two_factor.html", context)


@csrf_protect
@require_http_methods(["GET", "POST"])
def logout_view(request: HttpRequest) -> HttpResponse:
    if request.method == "POST":
        logout(request)
        return redirect("access:login")
    return render(request, "access/logout.html")


class _Echo:
    def write(self, value: str) -> str:
        return value


def _csv_rows(events: Any) -> Any:
    writer = csv.writer(_Echo())
    yield writer.writerow(
        [
            "at",
            "actor",
            "organisation",
            "action",
            "object_type",
            "object_id",
            "purpose",
            "channel",
            "ip",
        ]
    )
    for e in events.iterator(chunk_size=2000):
        yield writer.writerow(
            [
                timezone.localtime(e.at).isoformat(timespec="seconds"),
                e.actor_username,
                e.organisation.code if e.organisation else "",
                e.action,
                e.object_type,
                e.object_id,
                e.purpose,
                e.channel,
                e.ip or "",
            ]
        )


@login_required
@permission_required("access.view_auditevent", raise_exception=True)
@require_http_methods(["GET"])
def audit_list(request: HttpRequest) -> HttpResponse:
    form = AuditFilterForm(request.GET or None)
    filters = form.cleaned_data if form.is_valid() else {}
    filters = {k: v for k, v in filters.items() if v}
    events = selectors.audit_events(**filters)
    if request.GET.get("format") == "csv":
        services.audit(
            actor=request.user,
            action=AuditAction.EXPORT,
            object_type="audit_event",
            purpose="audit log export",
            request=request,
            detail={"filters": {k: str(v) for k, v in filters.items()}},
        )
        response = StreamingHttpResponse(_csv_rows(events), content_type="text/csv")
        stamp = timezone.localtime().strftime("%Y%m%d-%H%M")
        response["Content-Disposition"] = f'attachment; filename="audit-{stamp}.csv"'
        return response
    page = Paginator(events, PAGE_SIZE).get_page(request.GET.get("page"))
    query = request.GET.copy()
    query.pop("page", None)
    return render(
        request,
        "access/audit_list.html",
        {"form": form, "page": page, "query": query.urlencode(), "model": AuditEvent},
    )
