"""Admin for I-VAN providers and employers' e-transaction registrations.

Every write goes through ``gateway.submitters``: the forms validate with the same checks the
services make (errors shown on their fields), then ``save_model`` calls the service, which
writes and audits. An I-VAN's status changes only through a status action with a reason; a
registration is never edited, only ended (a new one replaces it).
"""

from __future__ import annotations

from typing import Any

from django import forms
from django.contrib import admin
from django.http import HttpRequest
from django.utils.translation import gettext_lazy as _

from ansinh.core.errors import DomainError
from ansinh.gateway import submitters
from ansinh.gateway.models import EtransRegistration, IvanProbe, IvanProvider


def _add_errors(form: forms.Form, exc: DomainError, aliases: dict[str, str] | None = None) -> None:
    """Show a service's errors on the form's fields (or on the form when the field is not
    one of them), in the user's language."""
    from django.utils.translation import get_language

    english = (get_language() or "vi").startswith("en")
    for error in exc.errors:
        name = (aliases or {}).get(error.field or "", error.field)
        target = name if name in form.fields else None
        form.add_error(target, error.message_en if english else error.message_vi)


class IvanForm(forms.ModelForm):
    """The contract fields, plus a status action with its reason on an existing I-VAN."""

    status_action = forms.ChoiceField(
        label=_("Status change"),
        required=False,
        choices=[
            ("", "—"),
            ("suspend", _("Suspend")),
            ("reactivate", _("Reactivate")),
            ("end", _("End the contract")),
        ],
    )
    status_on = forms.DateField(
        label=_("Contract's last day"),
        required=False,
        help_text=_("For 'End the contract'."),
    )
    reason = forms.CharField(label=_("Reason"), required=False, max_length=300)
    health_url = forms.URLField(
        label=_("Health URL"), required=False, max_length=500, assume_scheme="https"
    )

    class Meta:
        model = IvanProvider
        fields = ("code", "name", *submitters.IVAN_FIELDS[1:])

    def clean(self) -> dict[str, Any]:
        data = super().clean()
        if self.errors:
            return data
        values = {k: data.get(k) for k in submitters.IVAN_FIELDS}
        ivan = self.instance if self.instance.pk else None
        try:
            if ivan is None:
                submitters.validate_ivan(values, code=data.get("code", ""))
            else:
                action = data.get("status_action")
                new_contract = action == "reactivate" and ivan.status == "ended"
                if new_contract:
                    submitters.validate_ivan(
                        {k: v for k, v in values.items() if k not in _CONTRACT}, ivan=ivan
                    )
                else:
                    submitters.validate_ivan(values, ivan=ivan)
                if action:
                    submitters.validate_status_change(
                        ivan,
                        action,
                        reason=data.get("reason") or "",
                        on=data.get("status_on"),
                        **({k: values[k] for k in _CONTRACT} if new_contract else {}),
                    )
        except DomainError as exc:
            _add_errors(self, exc, {"on": "status_on", "status": "status_action"})
        return data


_CONTRACT = ("contract_start", "contract_end", "contract_number")


@admin.register(IvanProvider)
class IvanProviderAdmin(admin.ModelAdmin):
    form = IvanForm
    list_display = ("code", "name", "status", "contract_start", "contract_end", "health_url")
    list_filter = ("status",)
    search_fields = ("code", "name", "tax_code")
    readonly_fields = ("organisation", "status", "status_reason", "created_at")

    def get_fields(self, request: HttpRequest, obj: IvanProvider | None = None) -> list[str]:
        fields = ["code", "name", *submitters.IVAN_FIELDS[1:]]
        if obj is None:
            return fields
        return [
            *fields,
            "organisation",
            "status",
            "status_reason",
            "status_action",
            "status_on",
            "reason",
        ]

    def get_readonly_fields(self, request: HttpRequest, obj: IvanProvider | None = None) -> Any:
        if obj is None:
            return ()
        return ("code", *self.readonly_fields)

    def save_model(
        self, request: HttpRequest, obj: IvanProvider, form: forms.ModelForm, change: bool
    ) -> None:
        data = form.cleaned_data
        values = {k: data.get(k) for k in submitters.IVAN_FIELDS}
        if not change:
            created = submitters.create_ivan(code=data["code"], actor=request.user, **values)
            obj.pk = created.pk
            obj.organisation = created.organisation
            obj.status = created.status
            obj._state.adding = False
            return
        ivan = IvanProvider.objects.get(pk=obj.pk)
        action = data.get("status_action")
        reason = data.get("reason") or ""
        if action == "reactivate" and ivan.status == "ended":
            contract = {k: values.pop(k) for k in _CONTRACT}
            submitters.update_ivan(ivan, actor=request.user, **values)
            submitters.reactivate_ivan(ivan, reason=reason, actor=request.user, **contract)
        else:
            submitters.update_ivan(ivan, actor=request.user, **values)
            if action == "suspend":
                submitters.suspend_ivan(ivan, reason=reason, actor=request.user)
            elif action == "reactivate":
                submitters.reactivate_ivan(ivan, reason=reason, actor=request.user)
            elif action == "end":
                submitters.end_contract(
                    ivan, on=data["status_on"], reason=reason, actor=request.user
                )

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False  # submissions point at it; end the contract instead


class RegistrationForm(forms.ModelForm):
    class Meta:
        model = EtransRegistration
        fields = ("employer", "channel", "ivan", "contact_name", "email", "phone", "registered_on")

    def clean(self) -> dict[str, Any]:
        data = super().clean()
        if self.errors or self.instance.pk:
            return data
        try:
            submitters.validate_registration(
                employer=data.get("employer"),
                channel=data.get("channel") or "",
                ivan=data.get("ivan"),
                registered_on=data.get("registered_on"),
                contact_name=data.get("contact_name") or "",
                email=data.get("email") or "",
                phone=data.get("phone") or "",
            )
        except DomainError as exc:
            _add_errors(self, exc)
        return data


class EndRegistrationForm(forms.ModelForm):
    class Meta:
        model = EtransRegistration
        fields = ("ended_on",)

    def clean(self) -> dict[str, Any]:
        data = super().clean()
        on = data.get("ended_on")
        if self.errors or on is None:
            return data
        try:
            submitters.validate_end_registration(
                EtransRegistration.objects.get(pk=self.instance.pk), on=on
            )
        except DomainError as exc:
            _add_errors(self, exc, {"on": "ended_on"})
        return data


@admin.register(EtransRegistration)
class EtransRegistrationAdmin(admin.ModelAdmin):
    list_display = ("employer", "channel", "ivan", "registered_on", "ended_on")
    list_filter = ("channel", "ivan")
    search_fields = ("employer__unit_code", "employer__tax_code", "employer__name")
    raw_id_fields = ("employer",)
    date_hierarchy = "registered_on"

    def get_form(self, request: HttpRequest, obj: Any = None, change: bool = False, **kw: Any):
        kw["form"] = EndRegistrationForm if obj is not None else RegistrationForm
        return super().get_form(request, obj, change=change, **kw)

    def get_fields(self, request: HttpRequest, obj: Any = None) -> Any:
        if obj is None:
            return RegistrationForm.Meta.fields
        return (*RegistrationForm.Meta.fields, "ended_on", "created_at")

    def get_readonly_fields(self, request: HttpRequest, obj: Any = None) -> Any:
        if obj is None:
            return ()
        readonly = (*RegistrationForm.Meta.fields, "created_at")
        return (*readonly, "ended_on") if obj.ended_on else readonly

    def save_model(
        self, request: HttpRequest, obj: EtransRegistration, form: forms.ModelForm, change: bool
    ) -> None:
        data = form.cleaned_data
        if not change:
            created = submitters.register_employer_etrans(
                employer=data["employer"],
                channel=data["channel"],
                ivan=data.get("ivan"),
                contact_name=data.get("contact_name") or "",
                email=data.get("email") or "",
                phone=data.get("phone") or "",
                registered_on=data["registered_on"],
                actor=request.user,
            )
            obj.pk = created.pk
            obj._state.adding = False
            return
        if data.get("ended_on") and "ended_on" in form.changed_data:
            current = EtransRegistration.objects.get(pk=obj.pk)
            submitters.end_registration(current, on=data["ended_on"], actor=request.user)

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False  # the history of registrations is kept


@admin.register(IvanProbe)
class IvanProbeAdmin(admin.ModelAdmin):
    list_display = ("ivan", "at", "ok", "status", "elapsed_ms")
    list_filter = ("ok", "ivan")
    date_hierarchy = "at"

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False
