"""Pages for centre officers: the claim list (state and due filters), a claim (history month
grid, timeline, entitlement breakdown with the cited articles, buttons for the next steps), the
decision PDF and the cases received from the insurance side. Thin: services do the work."""

from __future__ import annotations

import datetime as dt
from typing import Any

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils import timezone
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET, require_http_methods

from ansinh.core.errors import DomainError, Forbidden
from ansinh.registry.views import forbidden_page
from ansinh.unemployment import selectors, services
from ansinh.unemployment.api import decision_pdf_response
from ansinh.unemployment.models import (
    CaseNotice,
    ClaimState,
    Decision,
    SuspendReason,
    TerminateReason,
)


@login_required
@require_GET
def claim_list(request: HttpRequest) -> HttpResponse:
    user = request.user
    if not user.has_perm("unemployment.view_claim"):
        return forbidden_page(
            request, Forbidden("permission_denied", None, "Không có quyền.", "Not allowed.")
        )
    state = request.GET.get("state", "")
    due = request.GET.get("due", "")
    q = request.GET.get("q", "").strip()
    claims = selectors.claims_for(user, state=state, due=due, q=q)[:200]
    return render(
        request,
        "unemployment/claim_list.html",
        {
            "claims": claims,
            "states": ClaimState.choices,
            "state": state,
            "due": due,
            "q": q,
            "today": timezone.localdate(),
        },
    )


def _sig(post: Any) -> services.Signature:
    try:
        signed = dt.date.fromisoformat(post.get("signed_on", ""))
    except ValueError as exc:
        raise DomainError(
            "signed_on_invalid", "signed_on", "Ngày ký không hợp lệ.", "Invalid signing date."
        ) from exc
    return services.Signature(
        post.get("number", ""), signed, post.get("signer_name", ""), post.get("signer_title", "")
    )


def _date(post: Any, name: str) -> dt.date:
    try:
        return dt.date.fromisoformat(post.get(name, ""))
    except ValueError as exc:
        raise DomainError(f"{name}_invalid", name, "Ngày không hợp lệ.", "Invalid date.") from exc


def _act(request: HttpRequest, claim: Any) -> None:
    user, post = request.user, request.POST
    action = post.get("action", "")
    if action == "fetch":
        services.fetch_history(claim.pk, actor=user, refresh=True)
    elif action == "assess":
        services.assess(claim.pk, actor=user, termination_reason=post.get("termination_reason", ""))
    elif action == "propose":
        services.propose(claim.pk, actor=user, payment_method=post.get("payment_method", "bank"))
    elif action == "decide":
        services.decide(claim.pk, _sig(post), actor=user)
    elif action == "refuse":
        services.refuse(claim.pk, _sig(post), actor=user, reason=post.get("reason", ""))
    elif action in ("suspend", "terminate"):
        fn = services.suspend if action == "suspend" else services.terminate
        fn(
            claim.pk,
            _sig(post),
            actor=user,
            reason=post.get("reason", ""),
            effective_on=_date(post, "effective_on"),
            note=post.get("note", ""),
        )
    elif action == "resume":
        services.resume(claim.pk, _sig(post), actor=user, effective_on=_date(post, "effective_on"))
    elif action == "confirm_reemployment":
        services.confirm_reemployment(claim.pk, _sig(post), actor=user)
    elif action == "report":
        services.report_job_search(
            claim.pk,
            month_no=int(post.get("month_no") or 0),
            received_on=_date(post, "received_on"),
            actor=user,
        )
    elif action == "withdraw":
        services.withdraw(claim.pk, actor=user, note=post.get("note", ""))
    else:
        raise DomainError("unknown_action", "action", "Thao tác không hợp lệ.", "Unknown action.")


@login_required
@require_http_methods(["GET", "POST"])
def claim_detail(request: HttpRequest, code: str) -> HttpResponse:
    try:
        claim = selectors.claim_for_read(request.user, code, request=request)
    except Forbidden as exc:
        return forbidden_page(request, exc)
    except DomainError as exc:
        raise Http404 from exc
    if request.method == "POST":
        try:
            _act(request, claim)
            messages.success(request, _("Done."))
        except DomainError as exc:
            messages.error(request, exc.first.message_vi)
        return redirect("unemployment:claim", code=claim.code)
    latest = selectors.latest_assessment(claim)
    return render(
        request,
        "unemployment/claim_detail.html",
        {
            "claim": claim,
            "grid": selectors.month_grid(claim.history),
            "assessment": latest,
            "result": latest.result if latest else None,
            "events": claim.events.select_related("actor"),
            "decisions": claim.decisions.all(),
            "reports": claim.reports.all(),
            "cases": claim.cases.all(),
            "reasons": selectors.termination_reasons(claim.termination_date),
            "suspend_reasons": SuspendReason.choices,
            "terminate_reasons": TerminateReason.choices,
            "today": timezone.localdate(),
        },
    )


@login_required
@require_GET
def decision_pdf(request: HttpRequest, pk: int) -> HttpResponse:
    decision = Decision.objects.select_related("claim").filter(pk=pk).first()
    if decision is None:
        raise Http404
    try:
        selectors.claim_for_read(
            request.user, decision.claim_id, request=request, purpose="decision pdf"
        )
    except Forbidden as exc:
        return forbidden_page(request, exc)
    return decision_pdf_response(decision)


@login_required
@require_GET
def cases(request: HttpRequest) -> HttpResponse:
    user = request.user
    if not user.has_perm("unemployment.view_claim"):
        return forbidden_page(
            request, Forbidden("permission_denied", None, "Không có quyền.", "Not allowed.")
        )
    qs = CaseNotice.objects.select_related("claim")
    if not user.is_superuser:
        qs = qs.filter(claim__office__organisation_id__in=selectors.org_ids(user))
    return render(request, "unemployment/cases.html", {"cases": qs[:500]})
