"""Admin for the trust store: certificate authorities (PEM/DER upload), revocation lists (CRL
file upload) and registered signer certificates.

Every write goes through ``gateway.trust``: the forms run the service's ``read_*`` checks (errors
shown on the form, in the user's language), then ``save_model`` calls the service, which writes,
audits and tells every process to rebuild its cached trust store. Nothing is deleted: an
authority or a signer certificate is deactivated, CRLs are superseded by newer ones.
"""

from __future__ import annotations

from typing import Any

from django import forms
from django.contrib import admin
from django.http import HttpRequest
from django.utils import timezone
from django.utils.translation import get_language
from django.utils.translation import gettext_lazy as _

from ansinh.core.admin import ReadOnlyAdmin
from ansinh.core.errors import DomainError
from ansinh.gateway import trust
from ansinh.gateway.models import (
    CertificateAuthority,
    RevocationList,
    RevokedCertificate,
    SignerCertificate,
)

_MAX_UPLOAD = 50 * 1024 * 1024  # a national CA's CRL can be tens of megabytes


def _show(form: forms.Form, exc: DomainError, target: str | None) -> None:
    english = (get_language() or "vi").startswith("en")
    for error in exc.errors:
        field = error.field if error.field in form.fields else target
        form.add_error(field, error.message_en if english else error.message_vi)


def _uploaded(data: dict[str, Any], file_field: str, text_field: str | None = None) -> bytes:
    upload = data.get(file_field)
    if upload:
        if upload.size > _MAX_UPLOAD:
            raise forms.ValidationError(_("The file is too large."))
        return upload.read()
    if text_field and data.get(text_field):
        return str(data[text_field]).strip().encode("utf-8")
    return b""


# --- Certificate authorities ---------------------------------------------------------------------


class AuthorityAddForm(forms.ModelForm):
    certificate_file = forms.FileField(
        label=_("Certificate file"),
        required=False,
        help_text=_("The authority's certificate, PEM (.pem, .crt) or DER (.cer, .der)."),
    )
    certificate_text = forms.CharField(
        label=_("or paste the PEM"),
        required=False,
        widget=forms.Textarea(attrs={"rows": 8, "cols": 70}),
    )

    class Meta:
        model = CertificateAuthority
        fields = ("name",)

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["name"].required = False
        self.fields["name"].help_text = _("Leave empty to use the certificate's common name.")

    def clean(self) -> dict[str, Any]:
        data = super().clean()
        if self.errors:
            return data
        raw = _uploaded(data, "certificate_file", "certificate_text")
        if not raw:
            self.add_error("certificate_file", _("Upload a certificate file or paste its PEM."))
            return data
        try:
            trust.read_authority(raw)
        except DomainError as exc:
            _show(self, exc, "certificate_file")
        data["certificate_bytes"] = raw
        return data


class AuthorityChangeForm(forms.ModelForm):
    class Meta:
        model = CertificateAuthority
        fields = ("active",)


class RevocationListInline(admin.TabularInline):
    model = RevocationList
    fields = ("number", "this_update", "next_update", "loaded_at")
    readonly_fields = fields
    extra = 0
    can_delete = False
    show_change_link = True

    def has_add_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False


@admin.register(CertificateAuthority)
class CertificateAuthorityAdmin(admin.ModelAdmin):
    list_display = ("name", "subject", "not_after", "active", "crl_state")
    list_filter = ("active",)
    search_fields = ("name", "subject", "=fingerprint")
    inlines = [RevocationListInline]
    _detail = (
        "name",
        "subject",
        "fingerprint",
        "not_before",
        "not_after",
        "added_at",
        "crl_state",
        "certificate_pem",
    )

    @admin.display(description=_("Latest CRL"))
    def crl_state(self, obj: CertificateAuthority) -> str:
        latest = obj.crls.order_by("-this_update").defer("crl_der").first()
        if latest is None:
            return str(_("none loaded"))
        if latest.next_update and latest.next_update < timezone.now():
            return str(_("out of date since %(when)s")) % {
                "when": timezone.localtime(latest.next_update).strftime("%d/%m/%Y %H:%M")
            }
        return str(_("current until %(when)s")) % {
            "when": timezone.localtime(latest.next_update).strftime("%d/%m/%Y %H:%M")
            if latest.next_update
            else "—"
        }

    def get_form(self, request: HttpRequest, obj: Any = None, change: bool = False, **kw: Any):
        kw["form"] = AuthorityChangeForm if obj is not None else AuthorityAddForm
        return super().get_form(request, obj, change=change, **kw)

    def get_fields(self, request: HttpRequest, obj: Any = None) -> Any:
        if obj is None:
            return ("name", "certificate_file", "certificate_text")
        return ("active", *self._detail)

    def get_readonly_fields(self, request: HttpRequest, obj: Any = None) -> Any:
        return () if obj is None else self._detail

    def get_inlines(self, request: HttpRequest, obj: Any) -> Any:
        return self.inlines if obj is not None else []

    def save_model(
        self, request: HttpRequest, obj: CertificateAuthority, form: forms.ModelForm, change: bool
    ) -> None:
        if not change:
            created = trust.add_authority(
                form.cleaned_data["certificate_bytes"],
                name=form.cleaned_data.get("name") or "",
                actor=request.user,
            )
            obj.pk = created.pk
            obj.name = created.name
            obj._state.adding = False
            return
        current = CertificateAuthority.objects.get(pk=obj.pk)
        trust.set_authority_active(current, form.cleaned_data["active"], actor=request.user)

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False  # deactivate instead: CRLs and verdicts refer to it


# --- Revocation lists ----------------------------------------------------------------------------


class CrlUploadForm(forms.ModelForm):
    crl_file = forms.FileField(
        label=_("CRL file"),
        help_text=_(
            "A certificate revocation list (PEM or DER) issued by an authority in the trust "
            "store. It replaces that authority's list of revoked certificates."
        ),
    )

    class Meta:
        model = RevocationList
        fields: tuple[str, ...] = ()

    def clean(self) -> dict[str, Any]:
        data = super().clean()
        if self.errors:
            return data
        raw = _uploaded(data, "crl_file")
        try:
            trust.read_crl(raw)
        except DomainError as exc:
            _show(self, exc, "crl_file")
        data["crl_bytes"] = raw
        return data


@admin.register(RevocationList)
class RevocationListAdmin(admin.ModelAdmin):
    list_display = ("authority", "number", "this_update", "next_update", "loaded_at", "entries")
    list_filter = ("authority",)
    date_hierarchy = "this_update"
    _detail = ("authority", "number", "this_update", "next_update", "loaded_at", "entries")

    @admin.display(description=_("Revoked certificates"))
    def entries(self, obj: RevocationList) -> int:
        return obj.entries.count()

    def get_queryset(self, request: HttpRequest) -> Any:
        return super().get_queryset(request).defer("crl_der").select_related("authority")

    def get_form(self, request: HttpRequest, obj: Any = None, change: bool = False, **kw: Any):
        if obj is None:
            kw["form"] = CrlUploadForm
        return super().get_form(request, obj, change=change, **kw)

    def get_fields(self, request: HttpRequest, obj: Any = None) -> Any:
        return ("crl_file",) if obj is None else self._detail

    def get_readonly_fields(self, request: HttpRequest, obj: Any = None) -> Any:
        return () if obj is None else self._detail

    def save_model(
        self, request: HttpRequest, obj: RevocationList, form: forms.ModelForm, change: bool
    ) -> None:
        loaded = trust.load_crl(form.cleaned_data["crl_bytes"], actor=request.user)
        obj.pk = loaded.pk
        obj.authority = loaded.authority
        obj._state.adding = False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False


@admin.register(RevokedCertificate)
class RevokedCertificateAdmin(ReadOnlyAdmin):
    list_display = ("serial", "authority", "revoked_at", "reason")
    list_filter = ("authority", "reason")
    search_fields = ("=serial",)
    list_select_related = ("authority",)


# --- Signer certificates -------------------------------------------------------------------------


class SignerAddForm(forms.ModelForm):
    certificate_file = forms.FileField(
        label=_("Certificate file"),
        required=False,
        help_text=_("The signing certificate, PEM or DER. Never the private key."),
    )
    certificate_text = forms.CharField(
        label=_("or paste the PEM"),
        required=False,
        widget=forms.Textarea(attrs={"rows": 8, "cols": 70}),
    )

    class Meta:
        model = SignerCertificate
        fields = ("ivan", "employer")

    def clean(self) -> dict[str, Any]:
        data = super().clean()
        if self.errors:
            return data
        raw = _uploaded(data, "certificate_file", "certificate_text")
        if not raw:
            self.add_error("certificate_file", _("Upload a certificate file or paste its PEM."))
            return data
        try:
            trust.read_signer(raw, ivan=data.get("ivan"), employer=data.get("employer"))
        except DomainError as exc:
            _show(self, exc, "certificate_file")
        data["certificate_bytes"] = raw
        return data

    def _post_clean(self) -> None:
        # The owner check constraint is the service's to report (signer_owner), in both
        # languages; the certificate fields are filled by the service.
        pass


class SignerChangeForm(forms.ModelForm):
    class Meta:
        model = SignerCertificate
        fields = ("active",)


@admin.register(SignerCertificate)
class SignerCertificateAdmin(admin.ModelAdmin):
    list_display = ("subject", "owner", "serial", "not_after", "active")
    list_filter = ("active", "ivan")
    search_fields = ("=fingerprint", "=serial", "subject")
    raw_id_fields = ("employer",)
    list_select_related = ("ivan", "employer")
    _detail = (
        "ivan",
        "employer",
        "subject",
        "issuer",
        "serial",
        "fingerprint",
        "not_before",
        "not_after",
        "added_at",
    )

    @admin.display(description=_("Owner"))
    def owner(self, obj: SignerCertificate) -> str:
        return str(obj.ivan or obj.employer or "—")

    def get_form(self, request: HttpRequest, obj: Any = None, change: bool = False, **kw: Any):
        kw["form"] = SignerChangeForm if obj is not None else SignerAddForm
        return super().get_form(request, obj, change=change, **kw)

    def get_fields(self, request: HttpRequest, obj: Any = None) -> Any:
        if obj is None:
            return ("ivan", "employer", "certificate_file", "certificate_text")
        return ("active", *self._detail)

    def get_readonly_fields(self, request: HttpRequest, obj: Any = None) -> Any:
        return () if obj is None else self._detail

    def save_model(
        self, request: HttpRequest, obj: SignerCertificate, form: forms.ModelForm, change: bool
    ) -> None:
        if not change:
            data = form.cleaned_data
            created = trust.register_signer(
                data["certificate_bytes"],
                ivan=data.get("ivan"),
                employer=data.get("employer"),
                actor=request.user,
            )
            obj.pk = created.pk
            obj.subject = created.subject
            obj._state.adding = False
            return
        current = SignerCertificate.objects.get(pk=obj.pk)
        trust.set_signer_active(current, form.cleaned_data["active"], actor=request.user)

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False  # submissions name the certificate they were signed with
