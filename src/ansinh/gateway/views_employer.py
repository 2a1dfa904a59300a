"""Pages for small employers without software (đơn vị không có phần mềm kê khai).

A signed-in user of an employer organisation (its code is the unit code) sees its dossiers,
downloads the XLSX template, turns a filled workbook or a short web form into the unsigned
dossier XML, signs that file with the tool it already has (a USB-token tool, ``xmlsec1``) and
uploads the signed file here. We never ask for, receive or hold a private key: the pages only
build unsigned XML and accept signed XML, which goes through the same ``services.submit`` as
the API (channel ``web``).
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from django import forms
from django.conf import settings
from django.contrib.auth.decorators import login_required
from django.db.models import Q
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils import timezone
from django.utils.translation import gettext_lazy as _
from django.views.decorators.http import require_http_methods

from ansinh.access.models import Organisation, OrganisationKind
from ansinh.access.services import audit
from ansinh.core.errors import DomainError, Forbidden
from ansinh.gateway import builder, formats, services, status, xlsx
from ansinh.gateway.models import Channel, Submission
from ansinh.registry.models import Employer

PROCEDURES = ("600",)
FORM_ROWS = 5
MAX_XLSX_BYTES = 10 * 1024 * 1024
SESSION_KEY = "gateway_employer_built"
XML_TYPE = "application/xml; charset=utf-8"
XLSX_TYPE = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
_STATUS_BADGE = {
    "refused": "bad",
    "waiting": "due",
    "processing": "due",
    "result_ready": "ok",
    "rejected": "bad",
    "withdrawn": "ex",
}


# --- who is asking -------------------------------------------------------------------------------


def _employer_of(request: HttpRequest) -> tuple[Organisation, Employer]:
    """The user's employer organisation and its registry record, or ``Forbidden``."""
    org = getattr(request.user, "organisation", None)
    if org is None or org.kind != OrganisationKind.EMPLOYER:
        raise Forbidden(
            "not_an_employer",
            None,
            "Chỉ người dùng của đơn vị sử dụng lao động được dùng các trang này.",
            "Only users of an employer organisation may use these pages.",
        )
    employer = Employer.objects.filter(unit_code=org.code).first()
    if employer is None:
        raise Forbidden(
            "employer_unknown",
            None,
            f"Không tìm thấy đơn vị mã {org.code} trong sổ đăng ký.",
            f"No employer with unit code {org.code} is registered.",
        )
    return org, employer


def _denied(request: HttpRequest, exc: Forbidden) -> HttpResponse:
    audit(
        actor=request.user,
        action="denied",
        object_type="gateway_employer",
        request=request,
        detail={"reason": exc.code, "path": request.path[:100]},
    )
    return render(request, "portal/forbidden.html", {"errors": exc.errors}, status=403)


def employer_page(view: Any) -> Any:
    """Sign-in required, then 403 unless the user belongs to an employer organisation; the
    view receives ``org`` and ``employer``."""

    @login_required
    def wrapped(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        try:
            org, employer = _employer_of(request)
        except Forbidden as exc:
            return _denied(request, exc)
        return view(request, *args, org=org, employer=employer, **kwargs)

    wrapped.__name__ = view.__name__
    wrapped.__doc__ = view.__doc__
    return wrapped


# --- my submissions ------------------------------------------------------------------------------


def _own_submissions(org: Organisation, employer: Employer) -> Any:
    """Submissions the employer made itself and those an I-VAN made for it."""
    return (
        Submission.objects.filter(Q(submitter=org) | Q(employer=employer))
        .select_related("dossier", "ivan")
        .order_by("-received_at", "-pk")
    )


@employer_page
def employer_home(request: HttpRequest, *, org: Organisation, employer: Employer) -> HttpResponse:
    rows = []
    for sub in _own_submissions(org, employer)[:100]:
        key = status.submitter_status(sub)
        rows.append(
            {
                "sub": sub,
                "status": key,
                "label": status.LABELS_VI[key],
                "badge": _STATUS_BADGE.get(key, ""),
            }
        )
    return render(
        request,
        "gateway/employer_home.html",
        {"employer": employer, "rows": rows, "procedures": PROCEDURES},
    )


def _own_submission(org: Organisation, employer: Employer, pk: int) -> Submission:
    sub = _own_submissions(org, employer).filter(pk=pk).first()
    if sub is None:
        raise Http404
    return sub


def _xml_download(content: bytes, filename: str) -> HttpResponse:
    response = HttpResponse(content, content_type=XML_TYPE)
    response["Content-Disposition"] = f'attachment; filename="{filename}"'
    return response


@employer_page
def employer_receipt(
    request: HttpRequest, pk: int, *, org: Organisation, employer: Employer
) -> HttpResponse:
    sub = _own_submission(org, employer, pk)
    if not sub.receipt_xml:
        raise Http404
    return _xml_download(bytes(sub.receipt_xml), f"receipt-{sub.transaction_id or sub.pk}.xml")


@employer_page
def employer_result(
    request: HttpRequest, pk: int, *, org: Organisation, employer: Employer
) -> HttpResponse:
    sub = _own_submission(org, employer, pk)
    if not sub.result_xml:
        raise Http404
    return _xml_download(bytes(sub.result_xml), f"result-{sub.transaction_id or sub.pk}.xml")


# --- building the unsigned dossier -------------------------------------------------------------


@employer_page
def employer_template(
    request: HttpRequest, procedure: str, *, org: Organisation, employer: Employer
) -> HttpResponse:
    if procedure not in PROCEDURES:
        raise Http404
    response = HttpResponse(xlsx.template(procedure), content_type=XLSX_TYPE)
    response["Content-Disposition"] = f'attachment; filename="mau-{procedure}.xlsx"'
    return response


def transaction_id(employer: Employer, now: dt.datetime | None = None) -> str:
    """A fresh transaction id: the unit code and the local time to the millisecond."""
    now = timezone.localtime(now or timezone.now())
    return f"{employer.unit_code}-{now:%Y%m%d%H%M%S}{now.microsecond // 1000:03d}"


def _employer_ref(employer: Employer) -> formats.EmployerRef:
    return formats.EmployerRef(
        unit_code=employer.unit_code, tax_code=employer.tax_code or "", name=employer.name
    )


def _built(request: HttpRequest, employer: Employer, xml: bytes, tx: str) -> HttpResponse:
    """Keep the unsigned XML for the download link and show how to sign it."""
    request.session[SESSION_KEY] = {"tx": tx, "xml": xml.decode("utf-8")}
    return render(
        request,
        "gateway/employer_built.html",
        {"employer": employer, "transaction_id": tx, "filename": f"{tx}.xml"},
    )


def _errors_of(exc: DomainError) -> list[dict[str, Any]]:
    return [
        {
            "row": "",
            "field": e.field or "",
            "code": e.code,
            "message_vi": e.message_vi,
            "message_en": e.message_en,
        }
        for e in exc.errors
    ]


class UploadForm(forms.Form):
    procedure = forms.ChoiceField(label=_("Procedure"), choices=[(p, p) for p in PROCEDURES])
    workbook = forms.FileField(label=_("Filled template (.xlsx)"))


@employer_page
@require_http_methods(["GET", "POST"])
def employer_upload(request: HttpRequest, *, org: Organisation, employer: Employer) -> HttpResponse:
    """A filled template: the rows' errors, or (all rows good) the unsigned XML to sign."""
    form = UploadForm(request.POST or None, request.FILES or None)
    errors: list[dict[str, Any]] = []
    if request.method == "POST" and form.is_valid():
        upload = form.cleaned_data["workbook"]
        if upload.size > MAX_XLSX_BYTES:
            form.add_error("workbook", _("The file is larger than 10 MB."))
        else:
            tx = transaction_id(employer)
            try:
                package, errors = xlsx.read_workbook(
                    upload.read(),
                    procedure=form.cleaned_data["procedure"],
                    header=_employer_ref(employer),
                    transaction_id=tx,
                )
                if not errors and not package.rows:
                    form.add_error("workbook", _("The spreadsheet has no rows."))
                elif not errors:
                    return _built(request, employer, builder.build(package), tx)
            except DomainError as exc:
                errors = _errors_of(exc)
    return render(
        request,
        "gateway/employer_upload.html",
        {"employer": employer, "form": form, "errors": errors, "procedures": PROCEDURES},
    )


SEX_CHOICES = [("", "—"), ("M", _("Male")), ("F", _("Female"))]
CONTRACT_CHOICES = [
    ("", "—"),
    *((code, vi) for code, (vi, _en) in xlsx.CODE_LABELS["ContractType"].items()),
]


class IncreaseRowForm(forms.Form):
    """One D02-LT 'increase' row; a row left entirely blank is skipped."""

    personal_id = forms.CharField(label=_("Personal ID"), max_length=12, required=False)
    full_name = forms.CharField(label=_("Full name"), max_length=120, required=False)
    date_of_birth = forms.DateField(label=_("Date of birth"), required=False)
    sex = forms.ChoiceField(label=_("Sex"), choices=SEX_CHOICES, required=False)
    address_unit_code = forms.CharField(label=_("Commune code"), max_length=5, required=False)
    start = forms.DateField(label=_("Start date"), required=False)
    contract_type = forms.ChoiceField(
        label=_("Contract type"), choices=CONTRACT_CHOICES, required=False
    )
    salary = forms.IntegerField(label=_("Salary (VND)"), min_value=0, required=False)

    REQUIRED = ("personal_id", "full_name", "date_of_birth", "sex", "start", "contract_type")

    def clean(self) -> dict[str, Any]:
        data = super().clean()
        if not any(v not in (None, "") for v in data.values()):
            return data
        for key in (*self.REQUIRED, "salary"):
            if data.get(key) in (None, ""):
                self.add_error(key, _("Required."))
        return data

    def row(self, number: int) -> formats.RowData | None:
        d = self.cleaned_data
        if not d or d.get("personal_id") in (None, ""):
            return None
        data = {
            "personal_id": d["personal_id"].strip(),
            "full_name": " ".join(d["full_name"].split()),
            "date_of_birth": d["date_of_birth"].isoformat(),
            "sex": d["sex"],
            "nationality": "VN",
            "address_unit_code": (d.get("address_unit_code") or "").strip(),
            "contract_type": d["contract_type"],
            "start": d["start"].isoformat(),
            "salary": d["salary"],
            "allowances": 0,
        }
        return formats.RowData(
            number=number, kind="increase", personal_id=data["personal_id"], data=data
        )


IncreaseFormSet = forms.formset_factory(
    IncreaseRowForm, extra=FORM_ROWS, max_num=FORM_ROWS, absolute_max=FORM_ROWS
)


def build_from_rows(employer: Employer, rows: list[formats.RowData], tx: str) -> bytes:
    """The unsigned D02-LT dossier (procedure 600) for the rows of the web form."""
    package = formats.Package(
        procedure_code="600",
        version=formats.SUPPORTED["600"][-1],
        transaction_id=tx,
        employer=_employer_ref(employer),
        signed_at=None,
        ivan_code="",
        ivan_received_at=None,
        rows=rows,
        attachments=[],
    )
    return builder.build(package)


@employer_page
@require_http_methods(["GET", "POST"])
def employer_form(request: HttpRequest, *, org: Organisation, employer: Employer) -> HttpResponse:
    """Up to five workers joining (báo tăng lao động), without a spreadsheet."""
    formset = IncreaseFormSet(request.POST or None, prefix="rows")
    errors: list[dict[str, Any]] = []
    if request.method == "POST" and formset.is_valid():
        rows = [r for i, f in enumerate(formset.forms, start=1) if (r := f.row(i)) is not None]
        if not rows:
            errors = [
                {
                    "row": "",
                    "field": "",
                    "code": "no_rows",
                    "message_vi": "Hãy nhập ít nhất một người lao động.",
                    "message_en": "Enter at least one worker.",
                }
            ]
        else:
            tx = transaction_id(employer)
            try:
                return _built(request, employer, build_from_rows(employer, rows, tx), tx)
            except DomainError as exc:
                errors = _errors_of(exc)
    return render(
        request,
        "gateway/employer_form.html",
        {"employer": employer, "formset": formset, "errors": errors},
    )


@employer_page
def employer_download(
    request: HttpRequest, *, org: Organisation, employer: Employer
) -> HttpResponse:
    """The unsigned XML built last in this session."""
    built = request.session.get(SESSION_KEY)
    if not built or not str(built.get("tx", "")).startswith(f"{employer.unit_code}-"):
        return redirect("gateway:employer_upload")
    return _xml_download(built["xml"].encode("utf-8"), f"{built['tx']}.xml")


# --- submitting the signed dossier ---------------------------------------------------------------


class SignedForm(forms.Form):
    signed = forms.FileField(label=_("Signed dossier (.xml)"))


@employer_page
@require_http_methods(["GET", "POST"])
def employer_submit(request: HttpRequest, *, org: Organisation, employer: Employer) -> HttpResponse:
    """The signed file goes through the same intake as the API (channel ``web``)."""
    form = SignedForm(request.POST or None, request.FILES or None)
    context: dict[str, Any] = {"employer": employer, "form": form}
    if request.method == "POST" and form.is_valid():
        upload = form.cleaned_data["signed"]
        limit = settings.GATEWAY_MAX_BYTES
        data = upload.read(limit + 1)
        try:
            intake = services.submit(data, submitter=org, user=request.user, channel=Channel.WEB)
        except DomainError as exc:
            context["refusal"] = {
                "errors": _errors_of(exc),
                "evidence_id": getattr(exc, "evidence_id", None),
            }
        else:
            sub = intake.submission
            request.session.pop(SESSION_KEY, None)
            context["receipt"] = {
                "submission": sub,
                "dossier": sub.dossier,
                "replayed": intake.replayed,
            }
    return render(request, "gateway/employer_submit.html", context)
