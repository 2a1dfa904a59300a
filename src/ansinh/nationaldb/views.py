"""Pages of the national database.

Staff (login, role and scope as on the person page): issue, revoke and download a person's
e-card, ask the population registry to verify the person. The panel these act on is drawn on
the registry's person page by ``{% nationaldb_person_panel person %}``.

Public (no login, under ``/the-an-sinh/``): the card check page, the published keys (JWKS) and
the signed revocation list. The check page only answers for a token it is given — there is no
search by number or name — shows no more than the card itself shows (the number masked), and
each client address may check ``NATIONALDB_CHECK_RATE_PER_MINUTE`` tokens a minute.
"""

from __future__ import annotations

import json
import time
from typing import Any

from django.conf import settings
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.cache import cache
from django.http import Http404, HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import get_language
from django.utils.translation import gettext as _
from django.views.decorators.cache import cache_control, never_cache
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from ansinh.access.selectors import person_in_scope
from ansinh.access.services import audit, authorize_person_read
from ansinh.core.errors import DomainError, Forbidden
from ansinh.nationaldb import render as card_render
from ansinh.nationaldb import selectors, services
from ansinh.nationaldb.cardcheck import CardCheck, parse_claims
from ansinh.nationaldb.models import ECard
from ansinh.registry.models import Person

CHANGE_PERMISSION = "registry.change_person"
MAX_PASTE = 5000


def _message(exc: DomainError) -> str:
    first = exc.first
    return first.message_en if (get_language() or "vi").startswith("en") else first.message_vi


def _person_url(person: Person) -> str:
    return reverse("registry:person_detail", args=[person.ss_number]) + "#ecard"


def _forbidden(request: HttpRequest, person: Person, code: str) -> HttpResponse:
    from ansinh.registry.views import forbidden_page

    audit(
        actor=request.user,
        action="denied",
        object_type="person",
        object_id=str(person.pk),
        request=request,
        detail={"reason": code, "app": "nationaldb"},
    )
    if code == "out_of_scope":
        exc = Forbidden(
            "out_of_scope",
            None,
            "Hồ sơ này nằm ngoài địa bàn quản lý của đơn vị bạn.",
            "This record is outside your organisation's administrative scope.",
        )
    else:
        exc = Forbidden(
            "permission_denied",
            None,
            "Vai trò của bạn không được phép cấp hoặc thu hồi thẻ, hay xác thực nhân thân.",
            "Your role is not allowed to issue or revoke cards or to verify identities.",
        )
    return forbidden_page(request, exc)


def _writable_person(request: HttpRequest, ss_number: str) -> Person | HttpResponse:
    from ansinh.registry.selectors import find_person

    person = find_person(ss_number)
    if person is None:
        raise Http404
    if not request.user.has_perm(CHANGE_PERMISSION):
        return _forbidden(request, person, "permission_denied")
    if not person_in_scope(request.user, person):
        return _forbidden(request, person, "out_of_scope")
    return person


def card_url(token: str) -> str:
    """The URL the card's QR code encodes."""
    return card_render.check_url(settings.PUBLIC_BASE_URL, reverse("ecard:check"), token)


# --- staff -------------------------------------------------------------------------------------


@login_required
@require_POST
def issue(request: HttpRequest, ss_number: str) -> HttpResponse:
    """Cấp (hoặc cấp lại) thẻ an sinh xã hội điện tử."""
    person = _writable_person(request, ss_number)
    if isinstance(person, HttpResponse):
        return person
    try:
        card = services.issue_ecard(person, actor=request.user)
    except DomainError as exc:
        messages.error(request, _message(exc))
    else:
        messages.success(request, _("E-card %(card)s issued.") % {"card": card.card_id})
    return redirect(_person_url(person))


@login_required
@require_POST
def revoke(request: HttpRequest, ss_number: str) -> HttpResponse:
    """Thu hồi thẻ đang có hiệu lực, with the reason posted."""
    person = _writable_person(request, ss_number)
    if isinstance(person, HttpResponse):
        return person
    card = selectors.active_card(person)
    if card is None:
        messages.error(request, _("This person has no card to revoke."))
        return redirect(_person_url(person))
    try:
        services.revoke_ecard(card, reason=request.POST.get("reason", ""), actor=request.user)
    except DomainError as exc:
        messages.error(request, _message(exc))
    else:
        messages.success(request, _("E-card %(card)s revoked.") % {"card": card.card_id})
    return redirect(_person_url(person))


@login_required
@require_POST
def verify_population(request: HttpRequest, ss_number: str) -> HttpResponse:
    """Xác thực nhân thân với cơ sở dữ liệu dân cư; the result shows on the person page."""
    person = _writable_person(request, ss_number)
    if isinstance(person, HttpResponse):
        return person
    try:
        check = services.verify_person(person, actor=request.user)
    except DomainError as exc:
        messages.error(request, _message(exc))
    else:
        if check.state == "pending":
            messages.warning(
                request,
                _("The population registry did not answer (%(error)s); the check is pending.")
                % {"error": check.error},
            )
        else:
            messages.success(
                request,
                _("Population registry: %(outcome)s.") % {"outcome": check.get_outcome_display()},
            )
    return redirect(_person_url(person))


@login_required
@require_GET
def card_file(request: HttpRequest, card_id: str, kind: str) -> HttpResponse:
    """The card's QR code (``qr.svg``, ``qr.png``) or printable card (``card.pdf``): a read of
    the person's record, authorised and audited as the person page is."""
    from ansinh.registry.views import current_purpose, forbidden_page

    card = selectors.get_card(card_id)
    if card is None:
        raise Http404
    purpose = current_purpose(request)
    if not purpose:  # the person page asks for it first
        return redirect(reverse("registry:person_detail", args=[card.person.ss_number]))
    try:
        authorize_person_read(request.user, card.person, purpose=purpose, request=request)
    except Forbidden as exc:
        return forbidden_page(request, exc)
    url = card_url(card.token)
    if kind == "qr.svg":
        response = HttpResponse(card_render.qr_svg(url), content_type="image/svg+xml")
    elif kind == "qr.png":
        response = HttpResponse(card_render.qr_png(url, box_size=6), content_type="image/png")
    elif kind == "card.pdf":
        face = card_render.CardFace(claims=_claims(card), url=url)
        response = HttpResponse(card_render.card_pdf(face), content_type="application/pdf")
        response["Content-Disposition"] = f'inline; filename="the-an-sinh-{card.card_id}.pdf"'
    else:
        raise Http404
    response["Cache-Control"] = "private, no-store"
    return response


def _claims(card: ECard) -> Any:
    from ansinh.nationaldb import jws

    _header, payload, _input, _sig = jws.split(card.token)
    return parse_claims(payload)


# --- public ------------------------------------------------------------------------------------


def _rate_limited(request: HttpRequest) -> bool:
    limit = int(getattr(settings, "NATIONALDB_CHECK_RATE_PER_MINUTE", 30))
    ip = request.META.get("REMOTE_ADDR", "") or "unknown"
    key = f"nationaldb:check:{ip}:{int(time.time() // 60)}"
    cache.add(key, 0, timeout=90)
    try:
        count = cache.incr(key)
    except ValueError:
        cache.set(key, 1, timeout=90)
        count = 1
    return count > limit


def _public(response: HttpResponse) -> HttpResponse:
    response["X-Robots-Tag"] = "noindex, nofollow"
    response["Referrer-Policy"] = "same-origin"  # "no-referrer" makes POSTs send Origin: null
    return response


@never_cache
@require_http_methods(["GET", "POST"])
def check(request: HttpRequest) -> HttpResponse:
    """Kiểm tra thẻ an sinh xã hội điện tử: paste a token, or arrive from the card's QR code
    (the page's script posts the token found after ``#``)."""
    result: CardCheck | None = None
    status = 200
    pasted = ""
    if request.method == "POST":
        if _rate_limited(request):
            response = render(request, "nationaldb/check_limited.html", status=429)
            response["Retry-After"] = "60"
            return _public(response)
        pasted = request.POST.get("token", "")[:MAX_PASTE]
        result = selectors.check_card_online(pasted)
        status = 200 if result.ok else 422
    context = {"result": result, "pasted": pasted.strip()[:MAX_PASTE], "now": timezone.now()}
    return _public(render(request, "nationaldb/check.html", context, status=status))


@cache_control(public=True, max_age=300)
@require_GET
def jwks(request: HttpRequest) -> HttpResponse:
    """Khóa công khai (JWKS) to verify cards offline."""
    body = json.dumps(selectors.jwks(), separators=(",", ":"))
    return _public(HttpResponse(body, content_type="application/jwk-set+json"))


@cache_control(public=True, max_age=300)
@require_GET
def revocations(request: HttpRequest) -> HttpResponse:
    """Danh sách thẻ bị thu hồi: a JWS (typ ``ecard-rl+jwt``) for offline verifiers."""
    token = cache.get("nationaldb:revocations")
    if token is None:
        token = selectors.revocation_list()
        cache.set("nationaldb:revocations", token, timeout=60)
    if not token:
        return _public(JsonResponse({"code": "no_signing_key"}, status=503))
    return _public(HttpResponse(token, content_type="application/jose"))
