"""Forms of the one-stop desk and the public look-up. They only parse and shape input; the
services validate the business rules and their errors are put back on the fields here."""

from __future__ import annotations

from typing import Any

from django import forms
from django.utils.translation import get_language
from django.utils.translation import gettext_lazy as _

from ansinh.core.errors import DomainError
from ansinh.onestop.desk_actions import ActionInput, closing_on, office_by, officer_by
from ansinh.onestop.feedback import COMMENT_MAX
from ansinh.onestop.models import Channel, Department, Dossier, DossierState, Satisfaction
from ansinh.onestop.selectors import ACTION_NAMES, procedures_in_force, version_in_force
from ansinh.onestop.services import Applicant, DocumentReceived

#: Channels an officer records at the desk (online and gateway dossiers arrive by themselves).
DESK_CHANNELS = (Channel.COUNTER, Channel.POST)

#: Service error fields → form fields.
_RECEPTION_FIELDS = {
    "procedure_code": "procedure",
    "channel": "channel",
    "applicant.name": "applicant_name",
    "applicant.id_number": "applicant_id",
    "applicant.address": "applicant_address",
    "applicant.phone": "applicant_phone",
    "applicant.email": "applicant_email",
    "department_code": "department",
    "note": "note",
}


def message(exc_detail: Any) -> str:
    """A service error's message in the page's language."""
    if (get_language() or "vi").startswith("en"):
        return exc_detail.message_en
    return exc_detail.message_vi


def add_domain_errors(form: forms.Form, exc: DomainError, mapping: dict[str, str]) -> None:
    """Put each error of ``exc`` on its field (or on the form when it names none we show)."""
    for err in exc.errors:
        name = mapping.get(err.field or "", err.field or "")
        if err.field and err.field.startswith("documents["):
            name = "extra_documents"
        form.add_error(name if name in form.fields else None, message(err))


class ReceptionForm(forms.Form):
    """Tiếp nhận hồ sơ at the counter or by post. The document checklist comes from the
    procedure version in force today; each line is a tick box and a number of copies."""

    procedure = forms.ChoiceField(label=_("Procedure"))
    channel = forms.ChoiceField(
        label=_("Channel"),
        choices=[(c.value, c.label) for c in DESK_CHANNELS],
        initial=Channel.COUNTER,
    )
    applicant_name = forms.CharField(label=_("Name of the person or organisation"), max_length=200)
    applicant_id = forms.CharField(
        label=_("Personal ID or tax code"), max_length=20, required=False
    )
    applicant_address = forms.CharField(label=_("Address"), max_length=300, required=False)
    applicant_phone = forms.CharField(label=_("Phone"), max_length=20, required=False)
    applicant_email = forms.EmailField(label=_("E-mail"), max_length=254, required=False)
    department = forms.ChoiceField(label=_("Transfer at once to"), required=False)
    extra_documents = forms.CharField(
        label=_("Other documents (one per line)"),
        required=False,
        max_length=2000,
        widget=forms.Textarea(attrs={"rows": 2}),
    )
    note = forms.CharField(
        label=_("Note"), required=False, max_length=1000, widget=forms.Textarea(attrs={"rows": 2})
    )

    def __init__(self, *args: Any, office: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.office = office
        self.catalogue = procedures_in_force()
        self.fields["procedure"].choices = [("", _("— choose —"))] + [
            (p.code, f"{p.code} — {p.name_vi}") for p, _v in self.catalogue
        ]
        departments = Department.objects.filter(office=office).order_by("code") if office else []
        self.fields["department"].choices = [("", _("— keep at the desk —"))] + [
            (d.code, d.name) for d in departments
        ]
        code = self.data.get("procedure") if self.is_bound else self.initial.get("procedure")
        self.version = version_in_force(code) if code else None
        self.checklist: list[dict[str, Any]] = []
        for i, doc in enumerate(self.version.documents if self.version else []):
            tick = f"doc_{i}"
            copies = f"copies_{i}"
            self.fields[tick] = forms.BooleanField(
                label=doc.get("name_vi", ""), required=False, initial=bool(doc.get("required"))
            )
            self.fields[copies] = forms.IntegerField(
                label=_("Copies"), min_value=1, max_value=99, initial=int(doc.get("copies", 1))
            )
            self.checklist.append(
                {
                    "doc": doc,
                    "tick": self[tick],
                    "copies": self[copies],
                    "required": doc.get("required"),
                }
            )

    def clean(self) -> dict[str, Any]:
        data = super().clean()
        for i, row in enumerate(self.checklist):
            if row["required"] and not data.get(f"doc_{i}"):
                self.add_error(
                    f"doc_{i}",
                    _(
                        "A required document is missing: guide the applicant to complete the "
                        "dossier before receiving it."
                    ),
                )
        return data

    def applicant(self) -> Applicant:
        d = self.cleaned_data
        return Applicant(
            name=d["applicant_name"],
            id_number=d.get("applicant_id", ""),
            address=d.get("applicant_address", ""),
            phone=d.get("applicant_phone", ""),
            email=d.get("applicant_email", ""),
        )

    def documents(self) -> list[DocumentReceived]:
        d = self.cleaned_data
        docs = [
            DocumentReceived(row["doc"].get("name_vi", ""), copies=d.get(f"copies_{i}") or 1)
            for i, row in enumerate(self.checklist)
            if d.get(f"doc_{i}")
        ]
        for line in (d.get("extra_documents") or "").splitlines():
            if line.strip():
                docs.append(DocumentReceived(line.strip()[:300]))
        return docs

    def add_service_error(self, exc: DomainError) -> None:
        add_domain_errors(self, exc, _RECEPTION_FIELDS)


class QueueFilterForm(forms.Form):
    procedure = forms.ChoiceField(label=_("Procedure"), required=False)
    state = forms.ChoiceField(label=_("State"), required=False)
    q = forms.CharField(label=_("Dossier code"), required=False, max_length=25)

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["procedure"].choices = [("", _("All procedures"))] + [
            (p.code, f"{p.code} — {p.name_vi}") for p, _v in procedures_in_force()
        ]
        self.fields["state"].choices = [("", _("All states")), *DossierState.choices]


class ActionForm(forms.Form):
    """One action on a dossier. ``destination`` is ``"<office id>:<department code>"`` (the
    department part may be empty: the office's desk)."""

    action = forms.ChoiceField(choices=[(a, a) for a in ACTION_NAMES])
    version = forms.IntegerField(min_value=1, max_value=2_000_000_000)
    note = forms.CharField(required=False, max_length=2000)
    reason = forms.CharField(required=False, max_length=2000)
    destination = forms.CharField(required=False, max_length=40)
    to_assignee = forms.CharField(required=False, max_length=150)
    new_due_date = forms.DateField(required=False)
    delivered_via = forms.ChoiceField(
        required=False,
        choices=[("counter", _("At the counter")), ("email", _("E-mail")), ("sms", _("SMS"))],
    )

    def to_input(self, dossier: Dossier) -> ActionInput:
        """The service input; raises DomainError for an unknown office or officer."""
        d = self.cleaned_data
        office_key, _sep, department = (d.get("destination") or "").partition(":")
        office = office_by(office_key) if office_key else None
        new_due_at = None
        if d.get("new_due_date"):
            new_due_at = closing_on(dossier.office, d["new_due_date"])
        return ActionInput(
            action=d["action"],
            version=d["version"],
            note=d.get("note", ""),
            reason=d.get("reason", ""),
            to_department=department,
            to_office=office if office is not None and office != dossier.office else None,
            to_assignee=officer_by(d.get("to_assignee")),
            new_due_at=new_due_at,
            delivered_via=d.get("delivered_via") or "counter",
        )

    def error_text(self) -> str:
        return " ".join(str(e) for errors in self.errors.values() for e in errors)


class LookupForm(forms.Form):
    """Tra cứu hồ sơ: the code printed on the receipt."""

    code = forms.CharField(label=_("Dossier code"), max_length=40)

    def clean_code(self) -> str:
        return "".join(self.cleaned_data["code"].split()).upper()


class RatingForm(forms.Form):
    level = forms.ChoiceField(
        label=_("How satisfied are you?"),
        choices=Satisfaction.choices,
        widget=forms.RadioSelect,
    )
    comment = forms.CharField(
        label=_("Comment (optional)"),
        required=False,
        max_length=COMMENT_MAX,
        widget=forms.Textarea(attrs={"rows": 3}),
    )
