"""The officer's queue of gateway rows (dòng chờ cán bộ quyết định) and the decision page.

Automatic processing queues the rows it may not decide alone (a name that differs from the
registry's, a worker still employed elsewhere, a date too far back …); the one-stop dossier
stays in processing until the last one is decided. Here an officer of an office handling the
dossier sees those rows, oldest first, compares each with the registry and accepts or rejects
it with a note; ``services.decide_row`` writes the decision and, after the last row, signs the
result and closes the dossier.

Every page names persons: the list leaves a SEARCH audit event, the decision page a READ of the
dossier and one of each registry record shown, and every refusal a DENIED one.
"""

from __future__ import annotations

import datetime as dt
from typing import Any
from urllib.parse import urlencode

from django import forms
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.paginator import Paginator
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone, translation
from django.utils.http import url_has_allowed_host_and_scheme
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy, pgettext_lazy

from ansinh.access.models import AuditAction
from ansinh.access.services import audit
from ansinh.core.errors import DomainError, Forbidden
from ansinh.gateway import formats, selectors, services
from ansinh.gateway.models import RowKind, RowStatus, SubmissionRow
from ansinh.onestop import selectors as onestop_selectors
from ansinh.onestop.clock import cutoffs

PAGE_SIZE = 25
PURPOSE = "gateway_row_decision"

#: Short names of the queue reasons (the row's own message gives the detail).
REASON_LABELS: dict[str, Any] = {
    "identity_flagged": gettext_lazy("Personal ID to verify"),
    "identity_mismatch": gettext_lazy("Date of birth or sex differs"),
    "name_mismatch": gettext_lazy("Name differs from the registry"),
    "ss_number_mismatch": gettext_lazy("Social insurance number of another record"),
    "person_status": gettext_lazy("Person not active in the registry"),
    "employed_elsewhere": gettext_lazy("Employed elsewhere at the same time"),
    "retroactive_start": gettext_lazy("Start more than 3 months back"),
    "retroactive_end": gettext_lazy("End more than 3 months back"),
    "retroactive_change": gettext_lazy("Change more than 3 months back"),
    "employer_code_change": gettext_lazy("Change of unit type or group"),
    "wage_region_change": gettext_lazy("Change of wage region"),
    "processing_failed": gettext_lazy("System error while processing"),
}

PROCEDURE_LABELS: dict[str, Any] = {
    "600": gettext_lazy("600 · workers joining, leaving, salary changes (D02-LT)"),
    "604": gettext_lazy("604 · employer registration or change (TK3-TS)"),
    "THE-CAPLAI": gettext_lazy("THE-CAPLAI · health insurance card reissue"),
}


#: Row statuses as an officer reads them (the model's labels are shared with other words).
STATUS_LABELS: dict[str, Any] = {
    RowStatus.PENDING: pgettext_lazy("gateway row", "Pending"),
    RowStatus.ACCEPTED: pgettext_lazy("gateway row", "Accepted"),
    RowStatus.REJECTED: pgettext_lazy("gateway row", "Rejected"),
    RowStatus.QUEUED: pgettext_lazy("gateway row", "Waiting for an officer"),
}
#: XSD types whose values are codes: shown with their meaning (the XLSX template's words).
_CODED = ("Sex", "ContractType", "DecreaseReason", "CardReason", "EmployerChange", "WageRegion")


def shown_value(xsd_type: str, value: str | None, *, english: bool) -> str:
    """A declared or registered value for the eye: a code with its meaning, a date as
    dd/mm/yyyy, money grouped by thousands; the raw value otherwise."""
    from ansinh.gateway.xlsx import CODE_LABELS

    if not value:
        return ""
    if xsd_type in _CODED and value in CODE_LABELS.get(xsd_type, {}):
        vi, en = CODE_LABELS[xsd_type][value]
        return f"{en if english else vi} ({value})"
    if xsd_type == "Date":
        try:
            return dt.date.fromisoformat(value).strftime("%d/%m/%Y")
        except ValueError:
            return value
    if xsd_type == "Money" and value.isdigit():
        return f"{int(value):,}".replace(",", "," if english else ".")
    return value


def reason_label(code: str) -> str:
    return str(REASON_LABELS.get(code, code))


def _english() -> bool:
    return (translation.get_language() or "vi").startswith("en")


def _forbidden(request: HttpRequest, exc: DomainError) -> HttpResponse:
    return render(request, "portal/forbidden.html", {"errors": exc.errors}, status=403)


def _role_refused(request: HttpRequest) -> HttpResponse | None:
    """403 (and a DENIED audit event) for users who may not decide rows."""
    if selectors.may_decide_rows(request.user):
        return None
    audit(
        actor=request.user,
        action=AuditAction.DENIED,
        object_type="gateway_queue",
        request=request,
        detail={"reason": "permission_denied"},
    )
    return _forbidden(
        request,
        Forbidden(
            "permission_denied",
            None,
            "Vai trò của bạn không được phép xử lý hồ sơ.",
            "Your role is not allowed to process dossiers.",
        ),
    )


# --- the queue -----------------------------------------------------------------------------------


class QueueFilterForm(forms.Form):
    reason = forms.ChoiceField(label=gettext_lazy("Reason"), required=False)
    employer = forms.CharField(label=gettext_lazy("Employer"), required=False, max_length=120)
    procedure = forms.ChoiceField(label=gettext_lazy("Procedure"), required=False)
    received_from = forms.DateField(label=gettext_lazy("Received from"), required=False)
    received_to = forms.DateField(label=gettext_lazy("Received to"), required=False)
    dossier = forms.CharField(label=gettext_lazy("Dossier code"), required=False, max_length=25)

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["reason"].choices = [
            ("", _("Any reason")),
            *((code, reason_label(code)) for code in selectors.QUEUE_REASONS),
        ]
        self.fields["procedure"].choices = [
            ("", _("Any procedure")),
            *((code, str(PROCEDURE_LABELS.get(code, code))) for code in formats.SUPPORTED),
        ]
        self.fields["received_from"].widget = forms.DateInput(attrs={"type": "date"})
        self.fields["received_to"].widget = forms.DateInput(attrs={"type": "date"})

    def clean(self) -> dict[str, Any]:
        data = super().clean()
        start, end = data.get("received_from"), data.get("received_to")
        if start and end and end < start:
            self.add_error("received_to", _("The end is before the start."))
        return data

    def filters(self) -> selectors.QueueFilters:
        d = self.cleaned_data
        return selectors.QueueFilters(
            reason=d.get("reason") or "",
            employer=(d.get("employer") or "").strip(),
            procedure=d.get("procedure") or "",
            received_from=d.get("received_from"),
            received_to=d.get("received_to"),
            dossier=(d.get("dossier") or "").strip(),
        )


def _query(filters: selectors.QueueFilters, **override: str) -> str:
    params = {
        "reason": filters.reason,
        "employer": filters.employer,
        "procedure": filters.procedure,
        "received_from": filters.received_from.isoformat() if filters.received_from else "",
        "received_to": filters.received_to.isoformat() if filters.received_to else "",
        "dossier": filters.dossier,
        **override,
    }
    return urlencode({k: v for k, v in params.items() if v})


def _declared_name(row: SubmissionRow) -> str:
    data = row.data or {}
    return str(data.get("name") if row.kind == RowKind.EMPLOYER else data.get("full_name") or "")


@login_required
def queue(request: HttpRequest) -> HttpResponse:
    """Dòng chờ cán bộ quyết định: the rows of the user's gateway dossiers that wait for an
    officer, oldest first, with counts per reason."""
    if refused := _role_refused(request):
        return refused
    user = request.user
    form = QueueFilterForm(request.GET or None)
    valid = form.is_valid() if request.GET else True
    filters = form.filters() if request.GET and valid else selectors.QueueFilters()
    page = Paginator(selectors.officer_queue(user, filters), PAGE_SIZE).get_page(
        request.GET.get("page")
    )
    now = timezone.now()
    cut = cutoffs(now)
    english = _english()
    rows = []
    for row in page.object_list:
        dossier = row.submission.dossier
        warning = onestop_selectors.live_warning(dossier, cut) if dossier else ""
        rows.append(
            {
                "row": row,
                "dossier": dossier,
                "name": _declared_name(row),
                "reason": reason_label(row.error_code),
                "message": row.message_en if english else row.message_vi,
                "badge": onestop_selectors.WARNING_BADGE.get(warning, ""),
                "time_left": onestop_selectors.time_left_text(dossier, now) if dossier else "",
            }
        )
    counts = selectors.queue_reason_counts(user, filters)
    # The rows name persons: the audit log keeps the filters used and the count, not values.
    audit(
        actor=user,
        action=AuditAction.SEARCH,
        object_type="gateway_row",
        request=request,
        detail={"filters": filters.used(), "results": page.paginator.count},
    )
    context = {
        "form": form,
        "filters": filters,
        "page": page,
        "rows": rows,
        "total": sum(n for _code, n in counts),
        "counts": [
            {
                "code": code,
                "label": reason_label(code),
                "n": n,
                "query": _query(filters, reason=code),
                "current": code == filters.reason,
            }
            for code, n in counts
        ],
        "all_query": _query(filters, reason=""),
        "query_string": _query(filters),
        "next": request.get_full_path(),
    }
    status = 200 if valid else 400
    if request.headers.get("HX-Request"):
        return render(request, "gateway/_queue_results.html", context, status=status)
    return render(request, "gateway/queue.html", context, status=status)


# --- one row -------------------------------------------------------------------------------------


class DecisionForm(forms.Form):
    decision = forms.ChoiceField(choices=[("accept", "accept"), ("reject", "reject")])
    note = forms.CharField(required=False, max_length=300, widget=forms.Textarea)

    def clean(self) -> dict[str, Any]:
        data = super().clean()
        data["note"] = " ".join((data.get("note") or "").split())
        if data.get("decision") == "reject" and not data["note"]:
            self.add_error(
                "note", _("Write the reason for rejecting: the employer reads it in the result.")
            )
        return data


def _audit_registry_reads(request: HttpRequest, review: selectors.RowReview) -> None:
    """The registry records shown beside the row: one READ each. They are read because the
    dossier in the officer's remit names them (authorised by :func:`selectors.authorize_row`),
    even when the person lives and works outside the office's area."""
    row = review.row
    detail = {"gateway_row": row.pk, "dossier": row.submission.dossier_id}
    for person in review.persons_read:
        audit(
            actor=request.user,
            action=AuditAction.READ,
            object_type="person",
            object_id=str(person.pk),
            purpose=PURPOSE,
            request=request,
            detail=detail,
        )
    if review.employer is not None:
        audit(
            actor=request.user,
            action=AuditAction.READ,
            object_type="employer",
            object_id=str(review.employer.pk),
            purpose=PURPOSE,
            request=request,
            detail=detail,
        )


def _render_row(
    request: HttpRequest,
    row: SubmissionRow,
    *,
    form: DecisionForm | None = None,
    error: DomainError | None = None,
    status: int = 200,
) -> HttpResponse:
    english = _english()
    shows_registry = request.user.has_perm("registry.view_person")
    review = selectors.row_review(row, registry=shows_registry)
    if shows_registry:
        _audit_registry_reads(request, review)
    submission = row.submission
    dossier = submission.dossier
    next_url = request.POST.get("next") or request.GET.get("next") or ""
    if not url_has_allowed_host_and_scheme(next_url, allowed_hosts={request.get_host()}):
        next_url = ""
    context = {
        "row": row,
        "submission": submission,
        "dossier": dossier,
        "review": review,
        "shows_registry": shows_registry,
        "fields": [
            {
                "f": f,
                "label": f.label_en if english else f.label_vi,
                "declared": shown_value(f.xsd_type, f.declared, english=english),
                "registered": shown_value(f.xsd_type, f.registered, english=english),
            }
            for f in review.fields
        ],
        "status_label": STATUS_LABELS.get(row.status, row.status),
        "reason": reason_label(row.error_code),
        "message": row.message_en if english else row.message_vi,
        "queued": row.status == RowStatus.QUEUED,
        "form": form or DecisionForm(),
        "error": error,
        "error_message": (
            (error.first.message_en if english else error.first.message_vi) if error else ""
        ),
        "kind_label": RowKind(row.kind).label if row.kind in RowKind.values else row.kind,
        "procedure_label": PROCEDURE_LABELS.get(submission.procedure_code, ""),
        "left": submission.rows.filter(status=RowStatus.QUEUED).count(),
        "next": next_url,
        "back": next_url or reverse("gateway:queue"),
    }
    return render(request, "gateway/queue_row.html", context, status=status)


def _row_or_404(pk: int) -> SubmissionRow:
    row = selectors.get_row(pk)
    if row is None:
        raise Http404
    return row


@login_required
def queue_row(request: HttpRequest, pk: int) -> HttpResponse:
    """One queued row: declared data beside the registry's, the reason, and the decision."""
    row = _row_or_404(pk)
    try:
        selectors.authorize_row(request.user, row, request=request)
    except Forbidden as exc:
        return _forbidden(request, exc)
    return _render_row(request, row)


@login_required
def decide(request: HttpRequest, pk: int) -> HttpResponse:
    """Accept or reject (POST). A row decided meanwhile by someone else answers 409 with the
    fresh page; a rejection without a note 422; a registry refusal its own status."""
    if request.method != "POST":
        return redirect("gateway:queue_row", pk=pk)
    row = _row_or_404(pk)
    try:
        selectors.authorize_row(request.user, row, request=request, audit_read=False)
    except Forbidden as exc:
        return _forbidden(request, exc)
    form = DecisionForm(request.POST)
    if row.status != RowStatus.QUEUED:
        return _render_row(request, row, form=form, error=_already_decided(), status=409)
    if not form.is_valid():
        return _render_row(request, row, form=form, status=422)
    accept = form.cleaned_data["decision"] == "accept"
    try:
        decided = services.decide_row(
            row, actor=request.user, accept=accept, note=form.cleaned_data["note"]
        )
    except DomainError as exc:
        fresh = _row_or_404(pk)
        status = 422 if exc.code == "note_required" else exc.status
        return _render_row(request, fresh, form=form, error=exc, status=status)
    code = row.submission.dossier.code if row.submission.dossier else row.submission.pk
    if decided.status == RowStatus.ACCEPTED:
        text = _("Row %(n)s of dossier %(code)s accepted.")
    else:
        text = _("Row %(n)s of dossier %(code)s rejected.")
    messages.success(request, text % {"n": decided.number, "code": code})
    submission = row.submission
    submission.refresh_from_db(fields=["result_xml", "rows_queued"])
    if submission.result_xml:
        messages.info(
            request,
            _("No row of dossier %(code)s waits any longer: the result was signed and returned.")
            % {"code": code},
        )
    next_url = request.POST.get("next", "")
    if next_url and url_has_allowed_host_and_scheme(next_url, allowed_hosts={request.get_host()}):
        return redirect(next_url)
    return redirect("gateway:queue")


def _already_decided() -> DomainError:
    return DomainError(
        "row_not_queued",
        "status",
        "Dòng này đã được quyết định (có thể bởi cán bộ khác); không có gì được ghi thêm.",
        "This row was already decided (perhaps by another officer); nothing more was written.",
        status=409,
    )
