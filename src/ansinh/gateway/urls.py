"""Staff pages of the gateway, included under ``/gateway/`` (namespace ``gateway``)."""

from django.urls import URLPattern, path

from ansinh.gateway import views, views_employer, views_queue

app_name = "gateway"

urlpatterns: list[URLPattern] = [
    path("ivans/", views.ivan_list, name="ivans"),
    path("ivans/<str:code>/", views.ivan_detail, name="ivan"),
    path("registrations/", views.registrations, name="registrations"),
    path("adoption/", views.adoption, name="adoption"),
    path("adoption/export.<str:fmt>", views.adoption_export, name="adoption_export"),
    # The officer's queue of rows automatic processing could not decide (views_queue).
    path("queue/", views_queue.queue, name="queue"),
    path("queue/<int:pk>/", views_queue.queue_row, name="queue_row"),
    path("queue/<int:pk>/decide/", views_queue.decide, name="queue_decide"),
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
    path("employer/details/", views_employer.employer_details, name="employer_details"),
    path("employer/cards/", views_employer.employer_cards, name="employer_cards"),
    path(
        "employer/submissions/<int:pk>/",
        views_employer.employer_submission,
        name="employer_submission",
    ),
]
