"""The one-stop desk under ``/onestop/`` (namespace ``onestop``, see ``urls.py``)."""

from django.urls import URLPattern, path

from ansinh.onestop import views_desk

urlpatterns: list[URLPattern] = [
    path("", views_desk.queue, name="queue"),
    path("receive/", views_desk.receive, name="receive"),
    path("overdue/", views_desk.overdue, name="overdue"),
    path("dossiers/<str:code>/", views_desk.dossier_page, name="dossier"),
    path("dossiers/<str:code>/act/", views_desk.act, name="act"),
    path("dossiers/<str:code>/receipt.pdf", views_desk.receipt, name="receipt"),
    path("dossiers/<str:code>/apology/<int:n>.pdf", views_desk.apology, name="apology"),
]
