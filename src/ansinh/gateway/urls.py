"""Staff pages of the gateway, included under ``/gateway/`` (namespace ``gateway``)."""

from django.urls import URLPattern, path

from ansinh.gateway import views, views_employer

app_name = "gateway"

urlpatterns: list[URLPattern] = [
    path("ivans/", views.ivan_list, name="ivans"),
    path("ivans/<str:code>/", views.ivan_detail, name="ivan"),
    path("registrations/", views.registrations, name="registrations"),
    path("adoption/", views.adoption, name="adoption"),
    path("adoption/export.<str:fmt>", views.adoption_export, name="adoption_export"),
    # Pages for employers without software (views_employer).
    path("employer/", views_employer.employer_home, name="employer_home"),
    path(
        "employer/submissions/<int:pk>/receipt.xml",
        views_employer.employer_receipt,
        name="employer_receipt",
    ),
    path(
        "employer/submissions/<int:pk>/result.xml",
        views_employer.employer_result,
        name="employer_result",
    ),
    path(
        "employer/template/<str:procedure>.xlsx",
        views_employer.employer_template,
        name="employer_template",
    ),
    path("employer/upload/", views_employer.employer_upload, name="employer_upload"),
    path("employer/form/", views_employer.employer_form, name="employer_form"),
    path("employer/dossier.xml", views_employer.employer_download, name="employer_download"),
    path("employer/submit/", views_employer.employer_submit, name="employer_submit"),
]
