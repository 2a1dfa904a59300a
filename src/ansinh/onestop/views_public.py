"""The public status look-up (tra cứu tình trạng hồ sơ) under ``/tra-cuu/``: no login, the
dossier code printed on the receipt (and in its QR code) is the key.

What is shown is limited to what the code holder needs: the procedure, the agencies, the
times, the state in plain words and the path with the officers' names (as the status notices
give them) — never the applicant's data nor the officers' notes. Codes are checked against
their format before any query, unknown codes get the same "not found" page as malformed ones,
and each client address may look up ``ONESTOP_STATUS_RATE_PER_MINUTE`` codes a minute.
"""

from __future__ import annotations

import time

from django.conf import settings
from django.core.cache import cache
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.translation import gettext as _
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET, require_POST

from ansinh.core.errors import DomainError, NotFound
from ansinh.onestop import feedback, selectors
from ansinh.onestop.forms import LookupForm, RatingForm, message


def rate_per_minute() -> int:
    return int(getattr(settings, "ONESTOP_STATUS_RATE_PER_MINUTE", 30))


def rate_limited(request: HttpRequest) -> bool:
    """Count one look-up for the client address in the current minute; True past the limit.
    Uses Django's cache (per process with the default local-memory cache; share it with a
    Redis or database cache when several processes serve the site)."""
    ip = request.META.get("REMOTE_ADDR", "") or "unknown"
    key = f"onestop:status:{ip}:{int(time.time() // 60)}"
    cache.add(key, 0, timeout=90)
    try:
        count = cache.incr(key)
    except ValueError:  # expired between add and incr
        cache.set(key, 1, timeout=90)
        count = 1
    return count > rate_per_minute()


def too_many(request: HttpRequest) -> HttpResponse:
    response = render(
        request, "onestop/status_limited.html", {"limit": rate_per_minute()}, status=429
    )
    response["Retry-After"] = "60"
    return response


def _not_found(request: HttpRequest, code: str) -> HttpResponse:
    form = LookupForm(initial={"code": code[:40]})
    return render(request, "onestop/status_not_found.html", {"form": form}, status=404)


def _headers(response: HttpResponse) -> HttpResponse:
    response["X-Robots-Tag"] = "noindex, nofollow"
    response["Referrer-Policy"] = "same-origin"  # "no-referrer" makes POSTs send Origin: null
    return response


@never_cache
@require_GET
def lookup(request: HttpRequest) -> HttpResponse:
    """The look-up form; a well-formed code goes on to its status page."""
    form = LookupForm(request.GET if "code" in request.GET else None)
    if form.is_bound and form.is_valid():
        code = form.cleaned_data["code"]
        if selectors.valid_code(code):
            return redirect("status:detail", code=code)
        form.add_error(
            "code",
            _("A dossier code looks like 000.00.01.H26-261123-0001 (as printed on the receipt)."),
        )
    status = 400 if form.is_bound else 200
    return _headers(render(request, "onestop/status_lookup.html", {"form": form}, status=status))


def _detail(
    request: HttpRequest,
    status: selectors.PublicStatus,
    form: RatingForm | None = None,
    error: str = "",
    code: int = 200,
) -> HttpResponse:
    if form is None and status.is_resolved and not status.rated:
        form = RatingForm()
    context = {
        "status": status,
        "form": form if status.is_resolved and not status.rated else None,
        "error": error,
        "thanks": request.GET.get("rated") == "1" and status.rated,
    }
    return _headers(render(request, "onestop/status_detail.html", context, status=code))


@never_cache
@require_GET
def detail(request: HttpRequest, code: str) -> HttpResponse:
    """Tình trạng hồ sơ: the QR target of the receipt."""
    if rate_limited(request):
        return too_many(request)
    status = selectors.public_status(code)
    if status is None:
        return _headers(_not_found(request, code))
    return _detail(request, status)


@never_cache
@require_POST
def rate(request: HttpRequest, code: str) -> HttpResponse:
    """Đánh giá mức độ hài lòng, once per resolved dossier."""
    if rate_limited(request):
        return too_many(request)
    status = selectors.public_status(code)
    if status is None:
        return _headers(_not_found(request, code))
    form = RatingForm(request.POST)
    if not form.is_valid():
        return _detail(request, status, form, code=400)
    try:
        feedback.rate_dossier(code, form.cleaned_data["level"], form.cleaned_data["comment"])
    except NotFound:
        return _headers(_not_found(request, code))
    except DomainError as exc:
        status = selectors.public_status(code) or status
        return _detail(request, status, form, error=message(exc.first), code=exc.status)
    return redirect(reverse("status:detail", args=[code]) + "?rated=1")
