"""Staff pages of the registry: person search, person record, employer search and record, and
the review queue of addresses given as a split pre-2025 commune.

Opening a person's (or an employer's) record needs a purpose (mục đích truy cập), asked once
and remembered in the session for ``PURPOSE_MINUTES``; every read and every search is written
to the audit log by ``ansinh.access``. Views stay thin: reads come from the selectors.
"""

from __future__ import annotations

import datetime as dt
import time
from dataclasses import dataclass
from typing import Any

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.paginator import Page, Paginator
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils import timezone
from django.utils.dates import MONTHS
from django.utils.translation import get_language, ngettext
from django.utils.translation import gettext_lazy as _
from django.views.decorators.http import require_http_methods, require_POST

from ansinh.access.selectors import (
    audit_events,
    filter_employers_in_scope,
    person_in_scope,
    user_roles,
)
from ansinh.access.services import audit, authorize_employer_read, authorize_person_read
from ansinh.core.errors import DomainError, Forbidden
from ansinh.places.models import AdminUnit, UnitLevel, UnitSystem
from ansinh.registry import panels, selectors, services
from ansinh.registry.models import AddressReview, IdentityCheck, Person, SensitiveAttributes

PAGE_SIZE = 25
PURPOSE_MINUTES = 30
PURPOSE_SESSION_KEY = "ansinh_purpose"
#: Reasons an officer may open a record; the code is what the audit log keeps.
PURPOSES: tuple[tuple[str, Any], ...] = (
    ("dossier", _("Dossier processing")),
    ("verification", _("Verification")),
    ("citizen_request", _("Citizen request")),
    ("inspection", _("Inspection")),
)
_PURPOSE_CODES = {code for code, _label in PURPOSES}
#: Groups that see the full audit trail of a record on its page; others see the count.
AUDIT_TRAIL_GROUPS = ("manager", "auditor", "administrator")
AUDIT_TRAIL_LENGTH = 50
MIN_QUERY_LENGTH = 2  # a one-letter name query would match half the country


def _ledger() -> Any:
    """The ledger's selectors. Imported on use: contributions sits above registry in the
    layering, and only these pages (not the registry's services) look up to it."""
    from ansinh.contributions import selectors

    return selectors


# --- purpose ---------------------------------------------------------------------------------


def current_purpose(request: HttpRequest) -> str:
    """The purpose the user gave in the last ``PURPOSE_MINUTES``, or an empty string."""
    stored = request.session.get(PURPOSE_SESSION_KEY)
    if not isinstance(stored, dict):
        return ""
    if time.time() - float(stored.get("at", 0)) > PURPOSE_MINUTES * 60:
        request.session.pop(PURPOSE_SESSION_KEY, None)
        return ""
    return str(stored.get("purpose", ""))


def remember_purpose(request: HttpRequest, code: str, text: str = "") -> str:
    """Store a purpose (a code of ``PURPOSES`` plus free text, e.g. a dossier number)."""
    text = " ".join(text.split())[:150]
    purpose = f"{code}: {text}" if text else code
    request.session[PURPOSE_SESSION_KEY] = {"purpose": purpose, "at": time.time()}
    return purpose


def purpose_from_post(request: HttpRequest) -> tuple[str, dict[str, str]]:
    """Validate the purpose form; returns the stored purpose or the form errors."""
    code = request.POST.get("purpose", "")
    text = request.POST.get("purpose_text", "")
    if code not in _PURPOSE_CODES:
        return "", {"purpose": str(_("Choose the purpose of this access."))}
    return remember_purpose(request, code, text), {}


def purpose_page(
    request: HttpRequest, *, subject: str, errors: dict[str, str] | None = None
) -> HttpResponse:
    """The form asking why a record is opened; posts back to the same address."""
    return render(
        request,
        "registry/purpose.html",
        {"subject": subject, "purposes": PURPOSES, "errors": errors or {}},
        status=400 if errors else 200,
    )


def forbidden_page(request: HttpRequest, exc: DomainError) -> HttpResponse:
    return render(request, "portal/forbidden.html", {"errors": exc.errors}, status=403)


def with_purpose(request: HttpRequest, subject: str) -> tuple[str, HttpResponse | None]:
    """The purpose for this request, or the response to send instead (form or redirect)."""
    if request.method == "POST":
        purpose, errors = purpose_from_post(request)
        if errors:
            return "", purpose_page(request, subject=subject, errors=errors)
        return purpose, redirect(request.get_full_path())
    if request.GET.get("change_purpose"):
        request.session.pop(PURPOSE_SESSION_KEY, None)
        return "", redirect(request.path)
    purpose = current_purpose(request)
    if not purpose:
        return "", purpose_page(request, subject=subject)
    return purpose, None


def purpose_label(purpose: str) -> str:
    code, _sep, text = purpose.partition(": ")
    label = str(dict(PURPOSES).get(code, code))
    return f"{label} — {text}" if text else label


# --- search ----------------------------------------------------------------------------------


def _page(request: HttpRequest, items: Any) -> Page:
    return Paginator(items, PAGE_SIZE).get_page(request.GET.get("page"))


def _current_provinces() -> list[AdminUnit]:
    return list(
        AdminUnit.objects.filter(system=UnitSystem.CURRENT, level=UnitLevel.PROVINCE).order_by(
            "name"
        )
    )


def _query_string(request: HttpRequest, **drop: Any) -> str:
    params = request.GET.copy()
    for key in ("page", *drop):
        params.pop(key, None)
    return params.urlencode()


@dataclass
class PersonCriteria:
    q: str
    date_of_birth: dt.date | None
    province: str
    commune: str
    errors: dict[str, str]

    @property
    def unit_code(self) -> str:
        return self.commune or self.province

    @property
    def given(self) -> bool:
        return bool(self.q or self.date_of_birth or self.unit_code)


def _person_criteria(request: HttpRequest) -> PersonCriteria:
    q = " ".join(request.GET.get("q", "").split())[:120]
    errors: dict[str, str] = {}
    dob = None
    if raw := request.GET.get("dob", "").strip():
        try:
            dob = dt.date.fromisoformat(raw)
        except ValueError:
            errors["dob"] = str(_("Enter the date as YYYY-MM-DD."))
    province = request.GET.get("province", "").strip()[:2]
    commune = request.GET.get("commune", "").strip()[:5]
    if commune and not (commune.isdigit() and len(commune) == 5):
        errors["commune"] = str(_("A commune code has 5 digits."))
    if q and len(q) < MIN_QUERY_LENGTH and not (dob or province or commune):
        errors["q"] = str(_("Type at least two characters."))
    return PersonCriteria(q, dob, province, commune, errors)


@login_required
def person_search(request: HttpRequest) -> HttpResponse:
    """Tra cứu người: by number or name (accents optional), date of birth and unit. The result
    list is a partial that htmx swaps in while the officer types."""
    criteria = _person_criteria(request)
    page = None
    if criteria.given and not criteria.errors:
        try:
            results = selectors.search_persons(
                q=criteria.q,
                date_of_birth=criteria.date_of_birth,
                unit_code=criteria.unit_code,
                user=request.user,
            )
            page = _page(request, results)
        except DomainError as exc:
            field = "commune" if criteria.commune else "province"
            criteria.errors[field] = _message(exc)
        else:
            # The query text is personal data: the log keeps the criteria used and the count.
            audit(
                actor=request.user,
                action="search",
                object_type="person",
                purpose=current_purpose(request),
                request=request,
                detail={
                    "results": page.paginator.count,
                    "criteria": sorted(
                        k
                        for k, v in (
                            ("q", criteria.q),
                            ("dob", criteria.date_of_birth),
                            ("unit", criteria.unit_code),
                        )
                        if v
                    ),
                },
            )
    context = {
        "criteria": criteria,
        "page": page,
        "query_string": _query_string(request),
    }
    if request.headers.get("HX-Request"):
        return render(request, "registry/_person_results.html", context)
    context["provinces"] = _current_provinces()
    return render(request, "registry/person_search.html", context)


def _message(exc: DomainError) -> str:
    first = exc.first
    return first.message_en if (get_language() or "vi").startswith("en") else first.message_vi


# --- person record ---------------------------------------------------------------------------


def _can_see_audit_trail(user: Any) -> bool:
    return user.has_perm("access.view_auditevent") or bool(
        set(user_roles(user)) & set(AUDIT_TRAIL_GROUPS)
    )


@login_required
@require_http_methods(["GET", "POST"])
def person_detail(request: HttpRequest, ss_number: str) -> HttpResponse:
    person = selectors.find_person(ss_number)
    if person is None:
        raise Http404
    if person.ss_number != ss_number:  # opened by a legacy number: go to the canonical address
        return redirect("registry:person_detail", ss_number=person.ss_number)
    purpose, response = with_purpose(request, subject=person.ss_number)
    if response is not None:
        return response
    try:
        authorize_person_read(request.user, person, purpose=purpose, request=request)
    except Forbidden as exc:
        return forbidden_page(request, exc)
    return render(request, "registry/person_detail.html", _person_context(request, person, purpose))


def _person_context(request: HttpRequest, person: Person, purpose: str) -> dict[str, Any]:
    user = request.user
    ethnicity = None
    if user.has_perm("registry.view_sensitive"):
        sensitive = SensitiveAttributes.objects.filter(person=person).first()
        if sensitive is not None and sensitive.ethnicity_code:
            ethnicity = sensitive.ethnicity_code
            audit(
                actor=user,
                action="read",
                object_type="person",
                object_id=str(person.pk),
                purpose=purpose,
                request=request,
                detail={"sensitive": ["ethnicity"]},
            )
    history = _ledger().contribution_history(person)
    today = timezone.localdate()
    spells = list(selectors.person_spells(person))
    events = audit_events(object_type="person", object_id=str(person.pk))
    see_trail = _can_see_audit_trail(user)
    totals = history_totals(history)
    view = panels.person_view(user, person, today)
    facts = [
        panels.Fact(
            t["scheme"],
            ngettext("%d month", "%d months", t["count"]) % t["count"],
            "ok" if t["count"] else "neutral",
            anchor="h-history",
        )
        for t in totals["months"]
    ]
    return {
        "facts": view.facts[:1] + facts + view.facts[1:],
        "timeline": panels.timeline(view.events, today),
        "sections": view.sections,
        "person": person,
        "purpose": purpose_label(purpose),
        "flagged": person.identity_check == IdentityCheck.FLAGGED,
        "flags": [f for f in person.identity_flags.replace(";", ",").split(",") if f.strip()],
        "ethnicity": ethnicity,
        "may_see_sensitive": user.has_perm("registry.view_sensitive"),
        "legacy_numbers": list(person.legacy_numbers.order_by("number")),
        "spells": spells,
        "current_spell_ids": {
            s.pk for s in spells if s.start <= today and (s.end is None or s.end >= today)
        },
        "cards": list(person.cards.order_by("-valid_from")),
        "today": today,
        "grid": history_grid(history, today=today),
        "month_headers": [{"short": str(n), "long": MONTHS[n]} for n in range(1, 13)],
        "totals": totals,
        "audit_events": list(events[:AUDIT_TRAIL_LENGTH]) if see_trail else None,
        "audit_count": events.count(),
    }


# --- contribution history as a month grid ----------------------------------------------------

SCHEMES = (("bhxh", "BHXH"), ("bhyt", "BHYT"), ("bhtn", "BHTN"))
#: Cell states of the month grid, in legend order: (state, symbol, label). Colour is never the
#: only cue: each state has a symbol and a text for screen readers.
CELL_STATES: tuple[tuple[str, str, Any], ...] = (
    ("paid", "✓", _("paid")),
    ("billed", "!", _("billed, not paid")),
    ("pending", "…", _("due, not billed yet")),
    ("exempt", "–", _("exempt (nothing owed)")),
    ("none", "", _("not insured")),
)
_SYMBOL = {state: symbol for state, symbol, _label in CELL_STATES}
_LABEL = {state: label for state, _symbol, label in CELL_STATES}


def history_grid(history: Any, *, today: dt.date) -> list[dict[str, Any]]:
    """Per scheme, one row per year (newest first) and a cell per month with the month's
    state and a text title (month, state, insured salary, employers), for the month grid."""
    months = list(history.months)
    if not months:
        return []
    first_year = min(m.period for m in months) // 100
    last_year = max(today.year, max(m.period for m in months) // 100)
    by_period = {m.period: m for m in months}
    this_period = today.year * 100 + today.month
    grid = []
    for scheme, scheme_label in SCHEMES:
        years = []
        for year in range(last_year, first_year - 1, -1):
            cells = []
            for month in range(1, 13):
                period = year * 100 + month
                entry = by_period.get(period)
                if entry is None:
                    state = "future" if period > this_period else "none"
                else:
                    state = entry.state(scheme)
                    state = state if state in _SYMBOL else "none"
                cells.append(
                    {
                        "state": state,
                        "symbol": _SYMBOL.get(state, ""),
                        "title": _cell_title(history, entry, scheme, period, state),
                    }
                )
            years.append({"year": year, "cells": cells})
        grid.append({"scheme": scheme, "label": scheme_label, "years": years})
    return grid


def _cell_title(history: Any, entry: Any, scheme: str, period: int, state: str) -> str:
    parts = [f"{period % 100:02d}/{period // 100}", str(_LABEL.get(state, ""))]
    if entry is not None:
        if salary := entry.salary(scheme):
            parts.append(f"{salary:,}".replace(",", ".") + " đ")
        names = [history.employers[e].name for e in entry.employer_ids if e in history.employers]
        parts.extend(names)
    return " · ".join(p for p in parts if p)


def history_totals(history: Any) -> dict[str, Any]:
    return {
        "months": [
            {"scheme": label, "count": history.months_contributed(scheme)}
            for scheme, label in SCHEMES
        ],
        "average_6": history.average_insured_salary(6, scheme="bhtn"),
    }


# --- employers -------------------------------------------------------------------------------


@login_required
def employer_search(request: HttpRequest) -> HttpResponse:
    q = " ".join(request.GET.get("q", "").split())[:120]
    province = request.GET.get("province", "").strip()[:2]
    page = None
    error = ""
    if q or province:
        try:
            results = filter_employers_in_scope(
                selectors.search_employers(q=q, unit_code=province), request.user
            )
            page = _page(request, results)
        except DomainError as exc:
            error = _message(exc)
    context = {
        "q": q,
        "province": province,
        "page": page,
        "error": error,
        "query_string": _query_string(request),
    }
    if request.headers.get("HX-Request"):
        return render(request, "registry/_employer_results.html", context)
    context["provinces"] = _current_provinces()
    return render(request, "registry/employer_search.html", context)


@login_required
@require_http_methods(["GET", "POST"])
def employer_detail(request: HttpRequest, unit_code: str) -> HttpResponse:
    employer = selectors.get_employer(unit_code)
    if employer is None:
        raise Http404
    purpose, response = with_purpose(request, subject=employer.unit_code)
    if response is not None:
        return response
    try:
        authorize_employer_read(request.user, employer, purpose=purpose, request=request)
    except Forbidden as exc:
        return forbidden_page(request, exc)
    workers = _page(request, selectors.employer_workers(employer))
    if request.headers.get("HX-Request"):
        return render(request, "registry/_workers.html", {"employer": employer, "workers": workers})
    ledger = _ledger()
    today = timezone.localdate()
    bills = list(ledger.employer_bills(employer))  # newest first
    return render(
        request,
        "registry/employer_detail.html",
        {
            "employer": employer,
            "purpose": purpose_label(purpose),
            "workers": workers,
            "bills": bills,
            "today": today,
            "arrears": ledger.arrears(employer, today),
            "chart": bills_chart(list(reversed(bills[:24])), today=today),
        },
    )


# --- address review --------------------------------------------------------------------------

REVIEW_PERMISSION = "registry.change_person"


def _review_forbidden(request: HttpRequest) -> HttpResponse:
    return forbidden_page(
        request,
        Forbidden(
            "permission_denied",
            None,
            "Vai trò của bạn không được phép xác định địa chỉ.",
            "Your role is not allowed to resolve addresses.",
        ),
    )


def _review_row(review: AddressReview) -> dict[str, Any]:
    """What a row of the queue shows: the old commune with its old district and province,
    and the candidate communes, the default (proposed) one first."""
    district = review.legacy_unit.parent
    return {
        "review": review,
        "district": district,
        "province": district.parent if district is not None else None,
        "candidates": selectors.review_candidates(review),
    }


@login_required
def address_reviews(request: HttpRequest) -> HttpResponse:
    """Xác định địa chỉ: persons whose address came as a pre-2025 commune that was split. Each
    row offers the candidate communes; choosing one (an htmx post) resolves the review."""
    if not request.user.has_perm(REVIEW_PERMISSION):
        return _review_forbidden(request)
    page = _page(request, selectors.address_reviews(user=request.user))
    audit(
        actor=request.user,
        action="search",
        object_type="address_review",
        request=request,
        detail={"status": "open", "results": page.paginator.count},
    )
    rows = [_review_row(r) for r in page.object_list]
    context = {"page": page, "rows": rows, "query_string": _query_string(request)}
    return render(request, "registry/address_reviews.html", context)


@login_required
@require_POST
def address_review_resolve(request: HttpRequest, pk: int) -> HttpResponse:
    """Resolve one review with the commune posted as ``chosen``. An htmx request gets the row
    back (a 'resolved' line, or the row with the error); a plain post is redirected to the
    queue with a message."""
    if not request.user.has_perm(REVIEW_PERMISSION):
        return _review_forbidden(request)
    review = selectors.get_address_review(pk)
    if review is None:
        raise Http404
    if not person_in_scope(request.user, review.person):
        audit(
            actor=request.user,
            action="denied",
            object_type="person",
            object_id=str(review.person_id),
            request=request,
            detail={"reason": "out_of_scope", "address_review": review.pk},
        )
        return forbidden_page(
            request,
            Forbidden(
                "out_of_scope",
                None,
                "Hồ sơ này nằm ngoài địa bàn quản lý của đơn vị bạn.",
                "This record is outside your organisation's administrative scope.",
            ),
        )
    error = ""
    try:
        services.resolve_address_review(
            review, chosen_code=request.POST.get("chosen", ""), actor=request.user
        )
    except DomainError as exc:
        error = _message(exc)
    review = selectors.get_address_review(pk)
    assert review is not None
    if request.headers.get("HX-Request"):
        row = _review_row(review)
        row["error"] = error
        return render(request, "registry/_address_review_row.html", {"row": row})
    if error:
        messages.error(request, error)
    else:
        messages.success(
            request,
            _("Address of %(number)s set to %(commune)s.")
            % {"number": review.person.ss_number, "commune": review.chosen.name},
        )
    return redirect("registry:address_reviews")


# --- the bills chart (inline SVG, drawn on the server) ----------------------------------------

CHART_WIDTH = 760
CHART_HEIGHT = 200
CHART_LEFT = 70
CHART_BOTTOM = 24


def bills_chart(bills: list[Any], *, today: dt.date) -> dict[str, Any] | None:
    """Geometry of a bar chart of the bills: each bar is the billed amount, the paid part in
    green, the overdue unpaid part in red. Returns None when there is nothing to draw."""
    if not bills:
        return None
    top = max(max(b.amount for b in bills), 1)
    plot_h = CHART_HEIGHT - CHART_BOTTOM - 10
    plot_w = CHART_WIDTH - CHART_LEFT - 10
    slot = plot_w / max(len(bills), 1)
    bar_w = max(min(slot * 0.7, 36), 3)
    bars = []
    for i, bill in enumerate(bills):
        x = CHART_LEFT + i * slot + (slot - bar_w) / 2
        amount_h = plot_h * bill.amount / top
        paid_h = plot_h * min(bill.paid_amount, bill.amount) / top
        base = CHART_HEIGHT - CHART_BOTTOM
        overdue = bill.outstanding > 0 and bill.due_on < today
        bars.append(
            {
                "x": round(x, 1),
                "w": round(bar_w, 1),
                "amount_y": round(base - amount_h, 1),
                "amount_h": round(amount_h, 1),
                "paid_y": round(base - paid_h, 1),
                "paid_h": round(paid_h, 1),
                "overdue": overdue,
                "label_x": round(x + bar_w / 2, 1),
                "label": f"{bill.period % 100:02d}/{bill.period // 100 % 100:02d}",
                "show_label": len(bills) <= 12 or i % 3 == 0 or i == len(bills) - 1,
                "bill": bill,
            }
        )
    ticks = []
    for k in range(5):
        value = top * k / 4
        y = CHART_HEIGHT - CHART_BOTTOM - plot_h * k / 4
        ticks.append({"y": round(y, 1), "label": _short_money(value)})
    return {
        "width": CHART_WIDTH,
        "height": CHART_HEIGHT,
        "left": CHART_LEFT,
        "base": CHART_HEIGHT - CHART_BOTTOM,
        "right": CHART_WIDTH - 10,
        "bars": bars,
        "ticks": ticks,
        "count": len(bills),
    }


def _short_money(value: float) -> str:
    """Axis labels that read the same in both languages: 1 250 000 000 → '1.25B'."""
    if value >= 1e9:
        return f"{value / 1e9:.3g}B"
    if value >= 1e6:
        return f"{value / 1e6:.3g}M"
    if value >= 1e3:
        return f"{value / 1e3:.3g}K"
    return f"{value:.0f}"
