"""Staff pages of the staged imports: the batch list, a batch with its rows (filterable by
verdict and reason), its progress (htmx polling while staging) and the commit/discard buttons.

Rows hold personal data: opening a batch page is an audited read. Viewing needs
``nationaldb.view_importbatch`` (officers, managers); committing and discarding need
``nationaldb.commit_importbatch`` (managers). Denials are audited too."""

from __future__ import annotations

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils.translation import get_language
from django.views.decorators.http import require_GET, require_POST

from ansinh.access.services import audit
from ansinh.core.errors import DomainError, Forbidden
from ansinh.nationaldb.imports import selectors, services
from ansinh.nationaldb.imports.validate import message
from ansinh.nationaldb.models import BatchState, ImportBatch, ImportRow, RowVerdict

VIEW = "nationaldb.view_importbatch"
COMMIT = "nationaldb.commit_importbatch"


def _denied(request: HttpRequest, batch_id: str) -> HttpResponse:
    from ansinh.registry.views import forbidden_page

    audit(
        actor=request.user,
        action="denied",
        object_type="import_batch",
        object_id=batch_id,
        request=request,
        detail={"reason": "permission_denied"},
    )
    return forbidden_page(
        request,
        Forbidden(
            "permission_denied",
            None,
            "Vai trò của bạn không được phép thao tác với lô dữ liệu nhập.",
            "Your role is not allowed to act on import batches.",
        ),
    )


@login_required
@require_GET
def batch_list(request: HttpRequest) -> HttpResponse:
    if not request.user.has_perm(VIEW):
        return _denied(request, "")
    return render(
        request,
        "nationaldb/imports/batch_list.html",
        {"batches": selectors.batches()[:200], "verdicts": RowVerdict.choices},
    )


@login_required
@require_GET
def batch_detail(request: HttpRequest, pk: int) -> HttpResponse:
    if not request.user.has_perm(VIEW):
        return _denied(request, str(pk))
    batch = get_object_or_404(ImportBatch, pk=pk)
    verdict = request.GET.get("verdict", "")
    reason = request.GET.get("reason", "")[:40]
    page = selectors.rows_page(
        batch, verdict=verdict, reason=reason, page=int(request.GET.get("page") or 1)
    )
    audit(
        actor=request.user,
        action="read",
        object_type="import_batch",
        object_id=str(batch.pk),
        request=request,
        detail={"verdict": verdict, "reason": reason, "page": page.number},
    )
    lang = "en" if (get_language() or "vi").startswith("en") else "vi"
    rows = [
        (row, [(r["code"], r.get("field", ""), message(r, lang)) for r in row.reasons])
        for row in page
    ]
    return render(
        request,
        "nationaldb/imports/batch_detail.html",
        {
            "batch": batch,
            "page": page,
            "rows": rows,
            "verdict": verdict,
            "reason": reason,
            "verdicts": RowVerdict.choices,
            "reasons": selectors.reason_counts(batch),
            "bars": selectors.verdict_bars(batch),
            "can_decide": request.user.has_perm(COMMIT) and batch.state == BatchState.STAGED,
            "can_review": request.user.has_perm(COMMIT) and batch.state != BatchState.DISCARDED,
        },
    )


@login_required
@require_GET
def batch_progress(request: HttpRequest, pk: int) -> HttpResponse:
    """The progress fragment, polled by htmx every 2 s while the batch is staging."""
    if not request.user.has_perm(VIEW):
        return _denied(request, str(pk))
    batch = get_object_or_404(ImportBatch, pk=pk)
    response = render(request, "nationaldb/imports/_progress.html", {"batch": batch})
    if batch.state != BatchState.STAGING and request.headers.get("HX-Request"):
        response["HX-Refresh"] = "true"  # staging ended: reload the page with the counts
    return response


def _decide(request: HttpRequest, pk: int, action: str) -> HttpResponse:
    if not request.user.has_perm(COMMIT):
        return _denied(request, str(pk))
    batch = get_object_or_404(ImportBatch, pk=pk)
    try:
        if action == "commit":
            services.commit_batch(batch, actor=request.user, request=request)
        else:
            services.discard_batch(batch, actor=request.user, request=request)
    except DomainError as exc:
        first = exc.first
        en = (get_language() or "vi").startswith("en")
        messages.error(request, first.message_en if en else first.message_vi)
    return redirect("nationaldb:import_batch", pk=batch.pk)


@login_required
@require_POST
def batch_commit(request: HttpRequest, pk: int) -> HttpResponse:
    return _decide(request, pk, "commit")


@login_required
@require_POST
def batch_discard(request: HttpRequest, pk: int) -> HttpResponse:
    return _decide(request, pk, "discard")


@login_required
@require_POST
def row_decide(request: HttpRequest, pk: int, line: int) -> HttpResponse:
    """Decide a row in review that has no linkage pair: link, new person or reject."""
    if not request.user.has_perm(COMMIT):
        return _denied(request, str(pk))
    row = get_object_or_404(ImportRow.objects.select_related("batch"), batch_id=pk, line=line)
    try:
        services.decide_row(
            row,
            decision=request.POST.get("decision", ""),
            ss_number=request.POST.get("ss_number", ""),
            actor=request.user,
            request=request,
        )
    except DomainError as exc:
        first = exc.first
        en = (get_language() or "vi").startswith("en")
        messages.error(request, first.message_en if en else first.message_vi)
    return redirect(f"{reverse('nationaldb:import_batch', args=[pk])}?verdict=review")
