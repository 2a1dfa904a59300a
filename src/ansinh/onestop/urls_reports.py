"""Statistics pages of the one-stop app, included under ``/onestop/`` (namespace ``onestop``)."""

from django.urls import URLPattern, path

from ansinh.onestop import views_reports

urlpatterns: list[URLPattern] = [
    path("reports/", views_reports.dashboard, name="dashboard"),
    path("reports/export.<str:fmt>", views_reports.dashboard_export, name="dashboard_export"),
]
