"""Staff pages of the one-stop desk (bộ phận một cửa): the officer's work queue, reception,
the dossier page with its path and actions, the receipt and apology PDFs, and the managers'
overdue lists. Thin: reads come from ``selectors``, writes go through ``services`` (via
``desk_actions`` for the actions), and every read of a dossier is authorised and audited."""

from __future__ import annotations

from typing import Any

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.paginator import Paginator
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone, translation
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from ansinh.access.models import AuditAction
from ansinh.access.services import audit
from ansinh.core.errors import DomainError, Forbidden, NotFound
from ansinh.onestop import documents, selectors, services
from ansinh.onestop.clock import cutoffs
from ansinh.onestop.desk_actions import perform
from ansinh.onestop.forms import (
    ActionForm,
    QueueFilterForm,
    ReceptionForm,
    message,
)
from ansinh.onestop.models import Action, ApologySlip, Channel, Dossier, Warning

PAGE_SIZE = 25


def _forbidden(request: HttpRequest, exc: DomainError) -> HttpResponse:
    return render(request, "portal/forbidden.html", {"errors": exc.errors}, status=403)


def _role_refused(request: HttpRequest, perm: str, object_type: str) -> HttpResponse | None:
    """A 403 page (and a DENIED audit event) when the user lacks ``perm``; else None."""
    if request.user.has_perm(perm):
        return None
    audit(
        actor=request.user,
        action=AuditAction.DENIED,
        object_type=object_type,
        request=request,
        detail={"reason": "permission_denied", "perm": perm},
    )
    return _forbidden(
        request,
        Forbidden(
            "permission_denied",
            None,
            "Vai trò của bạn không được phép dùng trang này.",
            "Your role is not allowed to use this page.",
        ),
    )


def _query_string(request: HttpRequest) -> str:
    params = request.GET.copy()
    params.pop("page", None)
    return params.urlencode()


def _filters_string(request: HttpRequest) -> str:
    """The queue's filters as a query string, kept when switching tabs."""
    params = request.GET.copy()
    for key in list(params):
        if key not in ("procedure", "state", "q") or not params.get(key):
            params.pop(key)
    return params.urlencode()


# --- queue ---------------------------------------------------------------------------------------


@login_required
@require_GET
def queue(request: HttpRequest) -> HttpResponse:
    """Hồ sơ của tôi: open dossiers, the most urgent first, in three tabs with their counts."""
    if refused := _role_refused(request, "onestop.view_dossier", "dossier_queue"):
        return refused
    user = request.user
    tabs = dict(selectors.TABS)
    tab = request.GET.get("tab", selectors.TAB_MINE)
    if tab not in tabs:
        tab = selectors.TAB_MINE
    form = QueueFilterForm(request.GET)
    filters = form.cleaned_data if form.is_valid() else {}
    qs = selectors.queue(
        user,
        tab,
        procedure=filters.get("procedure", ""),
        state=filters.get("state", ""),
        q=filters.get("q", ""),
    )
    page = Paginator(qs, PAGE_SIZE).get_page(request.GET.get("page"))
    now = timezone.now()
    cut = cutoffs(now)
    for dossier in page:
        dossier.live_warning = selectors.live_warning(dossier, cut)
        dossier.time_left = selectors.time_left_text(dossier, now)
        dossier.badge = selectors.WARNING_BADGE.get(dossier.live_warning, "")
        dossier.warning_label = Warning(dossier.live_warning).label
    # The rows name applicants: the audit log keeps the tab, filters used and the count.
    audit(
        actor=user,
        action=AuditAction.SEARCH,
        object_type="dossier",
        request=request,
        detail={
            "tab": tab,
            "results": page.paginator.count,
            "filters": sorted(k for k, v in filters.items() if v),
        },
    )
    counts = selectors.queue_counts(user)
    context = {
        "tab": tab,
        "tabs": [(key, label, counts.get(key, 0)) for key, label in selectors.TABS],
        "form": form,
        "page": page,
        "query_string": _query_string(request),
        "filters": _filters_string(request),
    }
    if request.headers.get("HX-Request"):
        return render(request, "onestop/_queue_results.html", context)
    return render(request, "onestop/queue.html", context)


# --- reception -----------------------------------------------------------------------------------


@login_required
@require_http_methods(["GET", "POST"])
def receive(request: HttpRequest) -> HttpResponse:
    """Tiếp nhận hồ sơ. On success: the dossier page, with the receipt to print."""
    if refused := _role_refused(request, "onestop.add_dossier", "dossier"):
        return refused
    office = selectors.user_office(request.user)
    if office is None:
        return _forbidden(
            request,
            Forbidden(
                "no_office",
                None,
                "Đơn vị của bạn không có bộ phận một cửa.",
                "Your organisation has no one-stop desk.",
            ),
        )
    if request.method == "GET" and request.headers.get("HX-Request"):
        form = ReceptionForm(initial={"procedure": request.GET.get("procedure", "")}, office=office)
        return render(request, "onestop/_checklist.html", {"form": form})
    form = ReceptionForm(
        request.POST or None,
        initial={"procedure": request.GET.get("procedure", "")},
        office=office,
    )
    status = 200
    if request.method == "POST":
        if form.is_valid():
            try:
                dossier = services.receive_dossier(
                    office=office,
                    procedure_code=form.cleaned_data["procedure"],
                    channel=form.cleaned_data["channel"],
                    applicant=form.applicant(),
                    documents=form.documents(),
                    actor=request.user,
                    department_code=form.cleaned_data.get("department") or None,
                    note=form.cleaned_data.get("note", ""),
                )
            except DomainError as exc:
                form.add_service_error(exc)
            else:
                messages.success(
                    request,
                    _("Dossier %(code)s received. Print the receipt for the applicant.")
                    % {"code": dossier.code},
                )
                return redirect(reverse("onestop:dossier", args=[dossier.code]) + "?received=1")
        status = 400
    return render(request, "onestop/receive.html", {"form": form, "office": office}, status=status)


# --- one dossier ---------------------------------------------------------------------------------


def _dossier_context(request: HttpRequest, dossier: Dossier) -> dict[str, Any]:
    now = timezone.now()
    cut = cutoffs(now)
    warning = selectors.live_warning(dossier, cut)
    allowed = selectors.allowed_actions(request.user, dossier)
    needs_places = "transfer" in allowed
    needs_officers = needs_places or "reassign" in allowed
    return {
        "dossier": dossier,
        "now": now,
        "warning": warning,
        "badge": selectors.WARNING_BADGE.get(warning, ""),
        "warning_label": Warning(warning).label,
        "time_left": selectors.time_left_text(dossier, now),
        "steps": selectors.timeline(dossier),
        "apologies": list(ApologySlip.objects.filter(dossier=dossier).order_by("number")),
        "allowed": allowed,
        "actions": [(name, _action_labels()[name]) for name in allowed],
        "destinations": selectors.transfer_destinations(dossier) if needs_places else [],
        "officers": selectors.officers_of(dossier.office) if needs_officers else [],
        "channel_label": Channel(dossier.channel).label,
        "deadline": dossier.deadline,
        "processing_time": (
            selectors.hours_text(dossier.processing_minutes)
            if dossier.processing_minutes is not None
            else ""
        ),
    }


def _action_labels() -> dict[str, str]:
    return {
        "start": _("Start processing"),
        "transfer": _("Transfer"),
        "request_supplement": _("Request a supplement"),
        "supplement_received": _("Supplement received"),
        "result_ready": _("Record the result"),
        "return_result": _("Return the result"),
        "apology": _("Apology and new date"),
        "reassign": _("Reassign"),
        "reject": _("Reject"),
        "withdraw": _("Withdrawal"),
    }


def _render_dossier(
    request: HttpRequest,
    dossier: Dossier,
    *,
    error: str = "",
    error_code: str = "",
    posted: dict[str, str] | None = None,
    status: int = 200,
) -> HttpResponse:
    context = _dossier_context(request, dossier)
    context.update({"error": error, "error_code": error_code, "posted": posted or {}})
    return render(request, "onestop/dossier.html", context, status=status)


@login_required
@require_GET
def dossier_page(request: HttpRequest, code: str) -> HttpResponse:
    """Hồ sơ: who applied for what, when it is due, the whole path, and the actions allowed."""
    try:
        dossier = selectors.dossier_for_staff(request.user, code, request=request)
    except NotFound as exc:
        raise Http404 from exc
    except Forbidden as exc:
        return _forbidden(request, exc)
    return _render_dossier(request, dossier)


@login_required
@require_POST
def act(request: HttpRequest, code: str) -> HttpResponse:
    """One action (POST): the services decide; a stale version or an illegal step shows the
    fresh page with the reason, nothing written."""
    dossier = selectors.find_dossier(code)
    if dossier is None:
        raise Http404
    try:
        selectors.authorize_dossier(request.user, dossier, request=request, action=None)
    except Forbidden as exc:
        return _forbidden(request, exc)
    back_to_overdue = request.POST.get("return_to") == "overdue"
    form = ActionForm(request.POST)
    try:
        if not form.is_valid():
            raise DomainError(
                "invalid_form", None, form.error_text(), form.error_text(), status=400
            )
        data = form.to_input(dossier)
        _result, slip = perform(dossier, actor=request.user, data=data)
    except DomainError as exc:
        text = message(exc.first)
        if exc.code == "stale_version":
            text = _(
                "Someone else updated this dossier while you were working on it. Nothing was "
                "saved; here is the current state — check it and try again."
            )
        if back_to_overdue:
            messages.error(request, f"{dossier.code}: {text}")
            return redirect("onestop:overdue")
        fresh = selectors.dossier_for_staff(request.user, code, request=request)
        return _render_dossier(
            request,
            fresh,
            error=text,
            error_code=exc.code,
            posted=request.POST.dict(),
            status=exc.status,
        )
    label = _action_labels().get(form.cleaned_data["action"], "")
    messages.success(request, _("%(action)s: done.") % {"action": label})
    if slip is not None:
        messages.info(request, _("Apology slip no. %(n)s recorded.") % {"n": slip.number})
    if back_to_overdue:
        return redirect("onestop:overdue")
    return redirect("onestop:dossier", code=dossier.code)


# --- PDFs ----------------------------------------------------------------------------------------


def _agency(dossier: Dossier) -> documents.Agency:
    office = dossier.receiving_office
    return documents.Agency(
        superior_name=office.superior_name,
        name=office.organisation.name,
        place=office.place,
        address=office.address,
        phone=office.phone,
    )


def _signer(dossier: Dossier) -> documents.Signer:
    officer = dossier.created_by
    name = (officer.get_full_name() or officer.get_username()) if officer else ""
    return documents.Signer(position="CÁN BỘ TIẾP NHẬN", name=name)


def _status_url(request: HttpRequest, dossier: Dossier) -> str:
    return request.build_absolute_uri(reverse("status:detail", args=[dossier.code]))


def _pdf(content: bytes, filename: str) -> HttpResponse:
    response = HttpResponse(content, content_type="application/pdf")
    response["Content-Disposition"] = f'inline; filename="{filename}.pdf"'
    response["Cache-Control"] = "private, no-store"
    return response


def receipt_data(request: HttpRequest, dossier: Dossier) -> documents.ReceiptData:
    """Giấy tiếp nhận hồ sơ và hẹn trả kết quả, from the dossier as received."""
    with translation.override("vi"):
        channel = str(Channel(dossier.channel).label)
    # The appointment printed at reception (a later supplement moves the live due time).
    first = dossier.path.filter(action=Action.RECEIVE).order_by("at", "pk").first()
    org_name = dossier.receiving_office.organisation.name
    return documents.ReceiptData(
        agency=_agency(dossier),
        dossier_code=dossier.code,
        number=f"{int(dossier.code[-4:])}/GTN",
        issued_at=dossier.received_at,
        applicant_name=dossier.applicant_name,
        applicant_address=dossier.applicant_address,
        applicant_phone=dossier.applicant_phone,
        procedure_code=dossier.procedure.code,
        procedure_name=dossier.procedure.name_vi,
        documents=tuple(
            documents.DocumentLine(
                str(d.get("name", "")), int(d.get("copies", 1)), bool(d.get("original", True))
            )
            for d in dossier.documents
        ),
        received_at=dossier.received_at,
        due_at=first.due_at if first is not None else dossier.due_at,
        channel_label=channel,
        result_place=f"Bộ phận tiếp nhận và trả kết quả, {org_name}",
        status_url=_status_url(request, dossier),
        signer=_signer(dossier),
    )


@login_required
@require_GET
def receipt(request: HttpRequest, code: str) -> HttpResponse:
    """The receipt PDF (inline), reprinted from the reception step."""
    try:
        dossier = selectors.dossier_for_staff(
            request.user,
            code,
            request=request,
            action=AuditAction.EXPORT,
            detail={"document": "receipt"},
        )
    except NotFound as exc:
        raise Http404 from exc
    except Forbidden as exc:
        return _forbidden(request, exc)
    return _pdf(documents.receipt_pdf(receipt_data(request, dossier)), dossier.code)


@login_required
@require_GET
def apology(request: HttpRequest, code: str, n: int) -> HttpResponse:
    """Phiếu xin lỗi và hẹn lại ngày trả kết quả number ``n`` of the dossier (PDF, inline)."""
    dossier = selectors.find_dossier(code)
    if dossier is None or not 1 <= n <= 999:
        raise Http404
    slip = ApologySlip.objects.filter(dossier=dossier, number=n).select_related("issued_by").first()
    if slip is None:
        raise Http404
    try:
        selectors.authorize_dossier(
            request.user,
            dossier,
            request=request,
            action=AuditAction.EXPORT,
            detail={"document": "apology", "number": n},
        )
    except Forbidden as exc:
        return _forbidden(request, exc)
    data = documents.ApologyData(
        agency=_agency(dossier),
        dossier_code=dossier.code,
        number=f"{slip.number}/PXL",
        issued_at=slip.issued_at,
        applicant_name=dossier.applicant_name,
        procedure_name=dossier.procedure.name_vi,
        received_at=dossier.received_at,
        old_due_at=slip.old_due_at,
        new_due_at=slip.new_due_at,
        reason=slip.reason,
        status_url=_status_url(request, dossier),
        signer=_signer(dossier),
    )
    return _pdf(documents.apology_pdf(data), f"{dossier.code}-{slip.number}")


# --- overdue -------------------------------------------------------------------------------------


@login_required
@require_GET
def overdue(request: HttpRequest) -> HttpResponse:
    """Hồ sơ quá hạn, đến hạn hôm nay: by office, department and officer, with reassignment."""
    if refused := _role_refused(request, "onestop.reassign_dossier", "dossier_overdue"):
        return refused
    groups, total = selectors.overdue_groups(request.user)
    return render(
        request,
        "onestop/overdue.html",
        {
            "groups": groups,
            "total": total,
            "limit": selectors.OVERDUE_LIMIT,
            "overdue": sum(g.overdue for g in groups),
            "due_today": sum(g.due_today for g in groups),
        },
    )
