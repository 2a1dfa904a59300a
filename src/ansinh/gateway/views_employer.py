"""Pages for small employers without software (đơn vị không có phần mềm kê khai).

A signed-in user of an employer organisation (its code is the unit code) sees its dossiers,
downloads the XLSX template, turns a filled workbook or a short web form into the unsigned
dossier XML, signs that file with the tool it already has (a USB-token tool, ``xmlsec1``) and
uploads the signed file here. We never ask for, receive or hold a private key: the pages only
build unsigned XML and accept signed XML, which goes through the same ``services.submit`` as
the API (channel ``web``).

Three procedures: 600 (D02-LT workers joining, leaving, salary changes — template or a short
form), 604 (TK3-TS: the employer's own details, prefilled from the registry; a unit not yet in
the registry registers itself) and THE-CAPLAI (health insurance card reissue for workers chosen
from the employer's own current workers). A unit not yet registered may use only 604.
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
from django.utils import timezone, translation
from django.utils.translation import gettext_lazy as _
from django.views.decorators.http import require_http_methods

from ansinh.access.models import Organisation, OrganisationKind
from ansinh.access.services import audit
from ansinh.core.errors import DomainError, Forbidden
from ansinh.gateway import builder, formats, selectors, services, status, xlsx
from ansinh.gateway.models import Channel, Submission
from ansinh.registry.models import Employer

PROCEDURES = ("600", "604", "THE-CAPLAI")
#: What a unit not yet in the registry may send: its own registration (TK3-TS).
UNREGISTERED_PROCEDURES = ("604",)
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


def _employer_of(
    request: HttpRequest, *, unregistered: bool = False
) -> tuple[Organisation, Employer | None]:
    """The user's employer organisation and its registry record, or ``Forbidden``. With
    ``unregistered`` a unit not yet in the registry gets ``None`` (it may register itself)."""
    org = getattr(request.user, "organisation", None)
    if org is None or org.kind != OrganisationKind.EMPLOYER:
        raise Forbidden(
            "not_an_employer",
            None,
            "Chỉ người dùng của đơn vị sử dụng lao động được dùng các trang này.",
            "Only users of an employer organisation may use these pages.",
        )
    employer = Employer.objects.select_related("address_unit").filter(unit_code=org.code).first()
    if employer is None and not unregistered:
        raise Forbidden(
            "employer_unknown",
            None,
            f"Không tìm thấy đơn vị mã {org.code} trong sổ đăng ký; hãy nộp tờ khai đăng ký "
            "đơn vị (TK3-TS) trước.",
            f"No employer with unit code {org.code} is registered; send the employer "
            "registration (TK3-TS) first.",
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


def employer_page(view: Any = None, *, unregistered: bool = False) -> Any:
    """Sign-in required, then 403 unless the user belongs to an employer organisation (and,
    unless ``unregistered``, one in the registry); the view receives ``org`` and ``employer``
    (``None`` for a unit not yet registered)."""

    def decorate(view: Any) -> Any:
        @login_required
        def wrapped(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
            try:
                org, employer = _employer_of(request, unregistered=unregistered)
            except Forbidden as exc:
                return _denied(request, exc)
            return view(request, *args, org=org, employer=employer, **kwargs)

        wrapped.__name__ = view.__name__
        wrapped.__doc__ = view.__doc__
        return wrapped

    return decorate(view) if view is not None else decorate


def _context(org: Organisation, employer: Employer | None, **extra: Any) -> dict[str, Any]:
    """What every employer page shows in its head: the unit (from the registry, or the
    organisation's own code and name before registration)."""
    return {
        "employer": employer,
        "unit": _employer_ref(org, employer),
        "registered": employer is not None,
        **extra,
    }


# --- my submissions ------------------------------------------------------------------------------


def _own_submissions(org: Organisation, employer: Employer | None) -> Any:
    """Submissions the employer made itself and those an I-VAN made for it."""
    mine = Q(submitter=org) | Q(employer=employer) if employer is not None else Q(submitter=org)
    return (
        Submission.objects.filter(mine)
        .select_related("dossier", "ivan")
        .order_by("-received_at", "-pk")
    )


@employer_page(unregistered=True)
def employer_home(
    request: HttpRequest, *, org: Organisation, employer: Employer | None
) -> HttpResponse:
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
    procedures = PROCEDURES if employer is not None else UNREGISTERED_PROCEDURES
    return render(
        request,
        "gateway/employer_home.html",
        _context(org, employer, rows=rows, procedures=procedures),
    )


def _own_submission(org: Organisation, employer: Employer | None, pk: int) -> Submission:
    sub = _own_submissions(org, employer).filter(pk=pk).first()
    if sub is None:
        raise Http404
    return sub


def _xml_download(content: bytes, filename: str) -> HttpResponse:
    response = HttpResponse(content, content_type=XML_TYPE)
    response["Content-Disposition"] = f'attachment; filename="{filename}"'
    return response


@employer_page(unregistered=True)
def employer_receipt(
    request: HttpRequest, pk: int, *, org: Organisation, employer: Employer | None
) -> HttpResponse:
    sub = _own_submission(org, employer, pk)
    if not sub.receipt_xml:
        raise Http404
    return _xml_download(bytes(sub.receipt_xml), f"receipt-{sub.transaction_id or sub.pk}.xml")


@employer_page(unregistered=True)
def employer_result(
    request: HttpRequest, pk: int, *, org: Organisation, employer: Employer | None
) -> HttpResponse:
    sub = _own_submission(org, employer, pk)
    if not sub.result_xml:
        raise Http404
    return _xml_download(bytes(sub.result_xml), f"result-{sub.transaction_id or sub.pk}.xml")


# --- building the unsigned dossier -------------------------------------------------------------


@employer_page(unregistered=True)
def employer_template(
    request: HttpRequest, procedure: str, *, org: Organisation, employer: Employer | None
) -> HttpResponse:
    if procedure not in (PROCEDURES if employer is not None else UNREGISTERED_PROCEDURES):
        raise Http404
    response = HttpResponse(xlsx.template(procedure), content_type=XLSX_TYPE)
    response["Content-Disposition"] = f'attachment; filename="mau-{procedure}.xlsx"'
    return response


def transaction_id(employer: Employer | formats.EmployerRef, now: dt.datetime | None = None) -> str:
    """A fresh transaction id: the unit code and the local time to the millisecond."""
    now = timezone.localtime(now or timezone.now())
    return f"{employer.unit_code}-{now:%Y%m%d%H%M%S}{now.microsecond // 1000:03d}"


def _employer_ref(org: Organisation, employer: Employer | None) -> formats.EmployerRef:
    if employer is None:  # registering: the organisation's code is the unit code
        return formats.EmployerRef(unit_code=org.code, tax_code="", name=org.name[:200])
    return formats.EmployerRef(
        unit_code=employer.unit_code, tax_code=employer.tax_code or "", name=employer.name
    )


def _built(
    request: HttpRequest,
    org: Organisation,
    employer: Employer | None,
    xml: bytes,
    tx: str,
    *,
    procedure: str = "600",
) -> HttpResponse:
    """Keep the unsigned XML for the download link and show how to sign it."""
    request.session[SESSION_KEY] = {"tx": tx, "xml": xml.decode("utf-8")}
    return render(
        request,
        "gateway/employer_built.html",
        _context(
            org,
            employer,
            transaction_id=tx,
            filename=f"{tx}.xml",
            procedure=procedure,
            procedure_label=PROCEDURE_NAMES.get(procedure, procedure),
        ),
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


#: The procedures as the employer pages name them.
PROCEDURE_NAMES: dict[str, Any] = {
    "600": _("600 · workers joining, leaving, salary changes (D02-LT)"),
    "604": _("604 · employer registration or change (TK3-TS)"),
    "THE-CAPLAI": _("THE-CAPLAI · health insurance card reissue"),
}


class UploadForm(forms.Form):
    procedure = forms.ChoiceField(label=_("Procedure"))
    workbook = forms.FileField(label=_("Filled template (.xlsx)"))

    def __init__(self, *args: Any, procedures: tuple[str, ...] = PROCEDURES, **kw: Any) -> None:
        super().__init__(*args, **kw)
        self.fields["procedure"].choices = [(p, PROCEDURE_NAMES[p]) for p in procedures]


@employer_page(unregistered=True)
@require_http_methods(["GET", "POST"])
def employer_upload(
    request: HttpRequest, *, org: Organisation, employer: Employer | None
) -> HttpResponse:
    """A filled template: the rows' errors, or (all rows good) the unsigned XML to sign."""
    procedures = PROCEDURES if employer is not None else UNREGISTERED_PROCEDURES
    form = UploadForm(
        request.POST or None,
        request.FILES or None,
        initial={"procedure": request.GET.get("procedure", "")},
        procedures=procedures,
    )
    errors: list[dict[str, Any]] = []
    if request.method == "POST" and form.is_valid():
        upload = form.cleaned_data["workbook"]
        if upload.size > MAX_XLSX_BYTES:
            form.add_error("workbook", _("The file is larger than 10 MB."))
        else:
            ref = _employer_ref(org, employer)
            tx = transaction_id(ref)
            procedure = form.cleaned_data["procedure"]
            try:
                package, errors = xlsx.read_workbook(
                    upload.read(), procedure=procedure, header=ref, transaction_id=tx
                )
                if not errors and not package.rows:
                    form.add_error("workbook", _("The spreadsheet has no rows."))
                elif not errors:
                    xml = builder.build(package)
                    return _built(request, org, employer, xml, tx, procedure=procedure)
            except DomainError as exc:
                errors = _errors_of(exc)
    return render(
        request,
        "gateway/employer_upload.html",
        _context(org, employer, form=form, errors=errors, procedures=procedures),
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


def build_from_rows(
    employer: formats.EmployerRef,
    rows: list[formats.RowData],
    tx: str,
    *,
    procedure: str = "600",
) -> bytes:
    """The unsigned dossier of ``procedure`` for the rows of a web form (schema-valid, or
    ``DomainError`` listing every violation)."""
    package = formats.Package(
        procedure_code=procedure,
        version=formats.SUPPORTED[procedure][-1],
        transaction_id=tx,
        employer=employer,
        signed_at=None,
        ivan_code="",
        ivan_received_at=None,
        rows=rows,
        attachments=[],
    )
    return builder.build(package)


@employer_page
@require_http_methods(["GET", "POST"])
def employer_form(
    request: HttpRequest, *, org: Organisation, employer: Employer | None
) -> HttpResponse:
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
            ref = _employer_ref(org, employer)
            tx = transaction_id(ref)
            try:
                return _built(request, org, employer, build_from_rows(ref, rows, tx), tx)
            except DomainError as exc:
                errors = _errors_of(exc)
    return render(
        request,
        "gateway/employer_form.html",
        _context(org, employer, formset=formset, errors=errors),
    )


@employer_page(unregistered=True)
def employer_download(
    request: HttpRequest, *, org: Organisation, employer: Employer | None
) -> HttpResponse:
    """The unsigned XML built last in this session."""
    built = request.session.get(SESSION_KEY)
    unit_code = _employer_ref(org, employer).unit_code
    if not built or not str(built.get("tx", "")).startswith(f"{unit_code}-"):
        return redirect("gateway:employer_upload")
    return _xml_download(built["xml"].encode("utf-8"), f"{built['tx']}.xml")


# --- submitting the signed dossier ---------------------------------------------------------------


class SignedForm(forms.Form):
    signed = forms.FileField(label=_("Signed dossier (.xml)"))


@employer_page(unregistered=True)
@require_http_methods(["GET", "POST"])
def employer_submit(
    request: HttpRequest, *, org: Organisation, employer: Employer | None
) -> HttpResponse:
    """The signed file goes through the same intake as the API (channel ``web``)."""
    form = SignedForm(request.POST or None, request.FILES or None)
    context: dict[str, Any] = _context(org, employer, form=form)
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


# --- TK3-TS: the employer's own details (procedure 604) ------------------------------------------


def _hint(xsd_type: str) -> str:
    """The template's format hint for an XSD type, in the page's language."""
    vi, en = xlsx.TYPE_HINTS.get(xsd_type, ("", ""))
    return en if (translation.get_language() or "vi").startswith("en") else vi


def _code_choices(xsd_type: str) -> list[tuple[str, str]]:
    return [(code, vi) for code, (vi, _en) in xlsx.CODE_LABELS[xsd_type].items()]


class EmployerDetailsForm(forms.Form):
    """Tờ khai TK3-TS: registration of a new unit or a change of its details. The unit code is
    the organisation's own (not editable); unit type and participant group are codes the agency
    assigns, so a change of them (or of the wage region) waits for an officer."""

    unit_type = forms.CharField(label=_("Unit type (DT)"), max_length=4)
    participant_group = forms.CharField(label=_("Participant group (LH)"), max_length=4)
    name = forms.CharField(label=_("Employer name"), max_length=200)
    tax_code = forms.CharField(label=_("Tax code"), max_length=14, required=False)
    address_unit_code = forms.CharField(label=_("Commune of the head office (code)"), max_length=5)
    address = forms.CharField(label=_("Street address"), max_length=200, required=False)
    wage_region = forms.TypedChoiceField(
        label=_("Minimum-wage region"), coerce=int, choices=_code_choices("WageRegion")
    )
    sector = forms.CharField(label=_("Sector"), max_length=60, required=False)
    phone = forms.CharField(label=_("Phone"), max_length=16, required=False)
    email = forms.CharField(label=_("E-mail"), max_length=254, required=False)

    #: Form field → XSD type of the TK3-TS row, checked with the schema's own facets.
    TYPES = {
        "unit_type": "ShortCode",
        "participant_group": "ShortCode",
        "name": "Text200",
        "tax_code": "TaxCode",
        "address_unit_code": "CommuneCode",
        "address": "Text200",
        "sector": "Text60",
        "phone": "Phone",
        "email": "Email",
    }

    def clean(self) -> dict[str, Any]:
        data = super().clean()
        version = formats.SUPPORTED["604"][-1]
        for key, xsd_type in self.TYPES.items():
            value = " ".join(str(data.get(key) or "").split())
            if key in ("unit_type", "participant_group"):
                value = value.upper()
            data[key] = value
            if value and not formats.value_ok("604", version, xsd_type, value):
                self.add_error(key, _("Invalid format (%(hint)s).") % {"hint": _hint(xsd_type)})
        return data


def _registry_details(employer: Employer) -> dict[str, Any]:
    return {
        "unit_type": employer.unit_type,
        "participant_group": employer.participant_group,
        "name": employer.name,
        "tax_code": employer.tax_code,
        "address_unit_code": employer.address_unit.code,
        "wage_region": employer.wage_region,
        "sector": employer.sector,
    }


def details_row(unit_code: str, change: str, data: dict[str, Any]) -> formats.RowData:
    """The one TK3-TS row of a 604 dossier."""
    values = {"change": change, "unit_code": unit_code, **data}
    return formats.RowData(number=1, kind="employer", personal_id="", data=values)


@employer_page(unregistered=True)
@require_http_methods(["GET", "POST"])
def employer_details(
    request: HttpRequest, *, org: Organisation, employer: Employer | None
) -> HttpResponse:
    """Tờ khai đơn vị (TK3-TS, procedure 604): prefilled from the registry; only what the unit
    changes matters. A unit not yet registered fills it in to register."""
    change = "change" if employer is not None else "register"
    current = _registry_details(employer) if employer is not None else {}
    initial = current or {"name": org.name[:200]}
    form = EmployerDetailsForm(request.POST or None, initial=initial)
    errors: list[dict[str, Any]] = []
    changed: list[str] = []
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        changed = [k for k, v in current.items() if str(data.get(k) or "") != str(v or "")]
        if change == "change" and not changed and not (data["address"] or data["phone"]):
            errors = [
                {
                    "row": "",
                    "field": "",
                    "code": "no_change",
                    "message_vi": "Thông tin kê khai giống hệt sổ đăng ký: không có gì để điều "
                    "chỉnh.",
                    "message_en": "The details are the same as the registry's: nothing to change.",
                }
            ]
        else:
            ref = _employer_ref(org, employer)
            tx = transaction_id(ref)
            row = details_row(ref.unit_code, change, data)
            try:
                xml = build_from_rows(ref, [row], tx, procedure="604")
            except DomainError as exc:
                errors = _errors_of(exc)
            else:
                return _built(request, org, employer, xml, tx, procedure="604")
    agency_fields = [f for f in ("unit_type", "participant_group", "wage_region") if f in changed]
    return render(
        request,
        "gateway/employer_details.html",
        _context(
            org,
            employer,
            form=form,
            errors=errors,
            change=change,
            current=current,
            agency_fields=agency_fields,
        ),
        status=200 if not errors and not form.errors else 400,
    )


# --- THE-CAPLAI: health insurance card reissue ---------------------------------------------------


class CardRequestForm(forms.Form):
    """One worker's line: chosen or not, the reason, a new initial facility, what changed."""

    spell = forms.IntegerField(widget=forms.HiddenInput)
    selected = forms.BooleanField(required=False)
    reason = forms.ChoiceField(
        label=_("Reason"), choices=[("", "—"), *_code_choices("CardReason")], required=False
    )
    hospital_code = forms.CharField(
        label=_("New initial facility (code)"), max_length=5, required=False
    )
    note = forms.CharField(label=_("Details that changed"), max_length=300, required=False)

    def clean(self) -> dict[str, Any]:
        data = super().clean()
        data["hospital_code"] = (data.get("hospital_code") or "").strip()
        data["note"] = " ".join((data.get("note") or "").split())
        if not data.get("selected"):
            return data
        if not data.get("reason"):
            self.add_error("reason", _("Required."))
        if data.get("reason") == "changed_info" and not data["note"]:
            self.add_error("note", _("Say which details changed."))
        code = data["hospital_code"]
        version = formats.SUPPORTED["THE-CAPLAI"][-1]
        if code and not formats.value_ok("THE-CAPLAI", version, "HospitalCode", code):
            hint = _hint("HospitalCode")
            self.add_error("hospital_code", _("Invalid format (%(hint)s).") % {"hint": hint})
        return data


CardRequestFormSet = forms.formset_factory(CardRequestForm, extra=0)


def _mask(personal_id: str) -> str:
    """Enough of a personal ID to tell two workers apart on screen."""
    return f"••••••••{personal_id[-4:]}" if len(personal_id) > 4 else personal_id


def card_rows(
    workers: dict[int, selectors.Worker], lines: list[dict[str, Any]]
) -> list[formats.RowData]:
    """One THE-CAPLAI row per chosen worker; personal data from the registry, never from the
    form (the form names a spell of this employer only)."""
    version = formats.SUPPORTED["THE-CAPLAI"][-1]
    rows = []
    for line in lines:
        worker = workers[line["spell"]]
        card = worker.card_number
        data = {
            "personal_id": worker.personal_id,
            "full_name": worker.full_name,
            "card_number": card
            if formats.value_ok("THE-CAPLAI", version, "CardNumber", card)
            else "",
            "reason": line["reason"],
            "hospital_code": line["hospital_code"],
            "note": line["note"],
        }
        rows.append(
            formats.RowData(
                number=len(rows) + 1, kind="card", personal_id=worker.personal_id, data=data
            )
        )
    return rows


@employer_page
@require_http_methods(["GET", "POST"])
def employer_cards(request: HttpRequest, *, org: Organisation, employer: Employer) -> HttpResponse:
    """Đề nghị cấp lại thẻ BHYT: tick the workers whose card is lost, damaged or whose details
    changed. Only the employer's own current workers are listed (the read is audited)."""
    q = " ".join((request.GET.get("q") or request.POST.get("q") or "").split())[:60]
    workers = {w.spell_id: w for w in selectors.current_workers(employer, q=q)}
    audit(
        actor=request.user,
        action="read",
        object_type="employer_workers",
        object_id=str(employer.pk),
        purpose="card_reissue_request",
        request=request,
        detail={"workers": len(workers), "search": bool(q)},
    )
    initial = [{"spell": w.spell_id} for w in workers.values()]
    formset = CardRequestFormSet(request.POST or None, initial=initial, prefix="w")
    errors: list[dict[str, Any]] = []
    if request.method == "POST" and formset.is_valid():
        lines = [f.cleaned_data for f in formset.forms if f.cleaned_data.get("selected")]
        if any(line["spell"] not in workers for line in lines):
            raise Http404  # a spell not of this employer's current workers
        if not lines:
            errors = [
                {
                    "row": "",
                    "field": "",
                    "code": "no_rows",
                    "message_vi": "Hãy chọn ít nhất một người lao động.",
                    "message_en": "Choose at least one worker.",
                }
            ]
        else:
            ref = _employer_ref(org, employer)
            tx = transaction_id(ref)
            try:
                xml = build_from_rows(ref, card_rows(workers, lines), tx, procedure="THE-CAPLAI")
            except DomainError as exc:
                errors = _errors_of(exc)
            else:
                return _built(request, org, employer, xml, tx, procedure="THE-CAPLAI")
    lines_shown = [
        {"form": f, "worker": workers.get(f.initial.get("spell") or _posted_spell(f))}
        for f in formset.forms
    ]
    return render(
        request,
        "gateway/employer_cards.html",
        _context(
            org,
            employer,
            formset=formset,
            lines=[
                {**line, "masked": _mask(line["worker"].personal_id)}
                for line in lines_shown
                if line["worker"]
            ],
            errors=errors,
            q=q,
        ),
        status=400 if errors or (request.method == "POST" and not formset.is_valid()) else 200,
    )


def _posted_spell(form: forms.Form) -> int | None:
    try:
        return int(form.data.get(form.add_prefix("spell"), ""))
    except (TypeError, ValueError):
        return None


# --- one submission's result ---------------------------------------------------------------------


@employer_page(unregistered=True)
def employer_submission(
    request: HttpRequest, pk: int, *, org: Organisation, employer: Employer | None
) -> HttpResponse:
    """Kết quả hồ sơ: the status, each row's outcome (what was issued, or why it was rejected,
    or that it waits for an officer) and the signed receipt and result to keep."""
    sub = _own_submission(org, employer, pk)
    key = status.submitter_status(sub)
    return render(
        request,
        "gateway/employer_submission.html",
        _context(
            org,
            employer,
            sub=sub,
            status=key,
            label=status.LABELS_VI[key],
            badge=_STATUS_BADGE.get(key, ""),
            rows=list(sub.rows.order_by("number")),
            procedure_label=PROCEDURE_NAMES.get(sub.procedure_code, sub.procedure_code),
        ),
    )
