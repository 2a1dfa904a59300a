"""Staff pages of the clerical review (xem xét đối sánh): the queue and one pair side by side."""

from __future__ import annotations

from typing import Any

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.paginator import Paginator
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils.translation import get_language
from django.utils.translation import gettext_lazy as _
from django.views.decorators.http import require_POST

from ansinh.access.selectors import person_in_scope
from ansinh.access.services import audit
from ansinh.core.errors import DomainError, Forbidden
from ansinh.linkage import selectors, services
from ansinh.linkage.models import PairState, ReviewPair

VIEW_PERMISSION = "linkage.view_reviewpair"
PAGE_SIZE = 25

FIELD_LABELS = {
    "personal_id": _("Personal ID"),
    "full_name": _("Full name"),
    "birth_date": _("Date of birth"),
    "sex": _("Sex"),
    "commune": _("Commune code"),
}
COMPARISON_LABELS = {
    "pid": _("Personal ID"),
    "name": _("Full name"),
    "dob": _("Date of birth"),
    "sex": _("Sex"),
    "commune": _("Commune code"),
}

LEVEL_LABELS = {
    "exact": _("exact"),
    "one digit": _("one digit different"),
    "transposition": _("two digits swapped"),
    "without accents": _("same without accents"),
    "same words": _("same words, other order"),
    "similar, same given name": _("similar, same given name"),
    "similar": _("similar"),
    "day/month swapped": _("day and month swapped"),
    "same year": _("same year"),
    "within a year": _("within a year"),
    "else": _("different"),
    "null": _("missing"),
}


def _forbidden(request: HttpRequest, exc: DomainError) -> HttpResponse:
    return render(request, "portal/forbidden.html", {"errors": exc.errors}, status=403)


def _no_role() -> Forbidden:
    return Forbidden(
        "permission_denied",
        None,
        "Vai trò của bạn không được phép xem các cặp hồ sơ cần đối sánh.",
        "Your role is not allowed to see linkage review pairs.",
    )


def _float(value: str | None) -> float | None:
    try:
        return float(value) if value not in (None, "") else None
    except ValueError:
        return None


@login_required
def queue(request: HttpRequest) -> HttpResponse:
    """Hàng chờ: open pairs in the user's scope, most probable first; filters by state, band
    and probability range."""
    if not request.user.has_perm(VIEW_PERMISSION):
        return _forbidden(request, _no_role())
    state = request.GET.get("state") or PairState.OPEN
    band = request.GET.get("band") or None
    lo, hi = _float(request.GET.get("min")), _float(request.GET.get("max"))
    try:
        qs = selectors.review_queue(
            user=request.user,
            state=None if state == "all" else state,
            band=band,
            min_probability=lo,
            max_probability=hi,
        )
    except DomainError as exc:
        return render(request, "portal/forbidden.html", {"errors": exc.errors}, status=400)
    page = Paginator(qs, PAGE_SIZE).get_page(request.GET.get("page"))
    audit(
        actor=request.user,
        action="search",
        object_type="review_pair",
        request=request,
        detail={"state": state, "band": band or "", "results": page.paginator.count},
    )
    params = request.GET.copy()
    params.pop("page", None)
    context = {
        "page": page,
        "state": state,
        "band": band or "",
        "min": request.GET.get("min", ""),
        "max": request.GET.get("max", ""),
        "states": PairState.choices,
        "query_string": params.urlencode(),
        "thresholds": services.thresholds(),
    }
    return render(request, "linkage/queue.html", context)


def _chart(evidence: dict[str, Any]) -> dict[str, Any]:
    """Geometry of a horizontal bar chart of the comparison weights (bits): right of the axis
    for agreement, left for disagreement."""
    rows = []
    top = max([abs(float(v.get("weight", 0))) for v in evidence.values()] + [1.0])
    width, axis, half = 680, 300, 200
    for i, (name, item) in enumerate(evidence.items()):
        w = float(item.get("weight", 0))
        length = half * abs(w) / top
        rows.append(
            {
                "label": COMPARISON_LABELS.get(name, name),
                "level": LEVEL_LABELS.get(item.get("level", ""), item.get("level", "")),
                "weight": w,
                "x": round(axis if w >= 0 else axis - length, 1),
                "w": round(max(length, 1), 1),
                "y": 8 + i * 28,
                "positive": w >= 0,
                "text_x": round(axis + length + 6 if w >= 0 else axis - length - 6, 1),
            }
        )
    return {"width": width, "axis": axis, "height": 16 + len(rows) * 28, "rows": rows}


def _pair_or_404(pk: int) -> ReviewPair:
    pair = selectors.get_pair(pk)
    if pair is None:
        raise Http404
    return pair


def _in_scope(request: HttpRequest, pair: ReviewPair) -> bool:
    persons = [pair.person] + ([pair.other_person] if pair.other_person_id else [])
    if all(person_in_scope(request.user, p) for p in persons):
        return True
    audit(
        actor=request.user,
        action="denied",
        object_type="review_pair",
        object_id=str(pair.pk),
        request=request,
        detail={"reason": "out_of_scope"},
    )
    return False


def _out_of_scope() -> Forbidden:
    return Forbidden(
        "out_of_scope",
        None,
        "Hồ sơ này nằm ngoài địa bàn quản lý của đơn vị bạn.",
        "This record is outside your organisation's administrative scope.",
    )


@login_required
def pair_detail(request: HttpRequest, pk: int) -> HttpResponse:
    """The two records side by side, differing fields highlighted, the weights as a chart, the
    decisions so far, and Link / Separate / Undo. Reading it is audited (it shows personal
    data of both sides)."""
    if not request.user.has_perm(VIEW_PERMISSION):
        return _forbidden(request, _no_role())
    pair = _pair_or_404(pk)
    if not _in_scope(request, pair):
        return _forbidden(request, _out_of_scope())
    audit(
        actor=request.user,
        action="read",
        object_type="review_pair",
        object_id=str(pair.pk),
        request=request,
    )
    rows = [
        {"label": FIELD_LABELS.get(r.label, r.label), "row": r}
        for r in selectors.side_by_side(pair)
    ]
    decisions = selectors.pair_decisions(pair)
    context = {
        "pair": pair,
        "rows": rows,
        "chart": _chart(pair.evidence or {}),
        "decisions": decisions,
        "can_decide": request.user.has_perm("linkage.decide_pair"),
        "can_undo": bool(services._effective(decisions)),
        "band": services.band_for(pair.probability),
        "lang": get_language(),
    }
    return render(request, "linkage/pair.html", context)


@login_required
@require_POST
def pair_decide(request: HttpRequest, pk: int) -> HttpResponse:
    """Post ``decision`` (link / separate / undo), ``note`` and ``version``."""
    pair = _pair_or_404(pk)
    version = request.POST.get("version")
    try:
        services.decide_pair(
            pair.pk,
            decision=request.POST.get("decision", ""),
            actor=request.user,
            note=request.POST.get("note", ""),
            expected_version=int(version) if version and version.isdigit() else None,
            request=request,
        )
    except Forbidden as exc:
        return _forbidden(request, exc)
    except DomainError as exc:
        err = exc.first
        messages.error(request, err.message_vi if get_language() == "vi" else err.message_en)
    else:
        messages.success(request, _("Decision recorded."))
    return redirect("linkage:pair", pk=pair.pk)
