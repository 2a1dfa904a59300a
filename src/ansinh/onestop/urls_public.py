"""The public status look-up, mounted at ``/tra-cuu/`` (namespace ``status``)."""

from django.urls import URLPattern, path

from ansinh.onestop import views_public

app_name = "status"

urlpatterns: list[URLPattern] = [
    path("", views_public.lookup, name="lookup"),
    path("<str:code>/", views_public.detail, name="detail"),
    path("<str:code>/rate/", views_public.rate, name="rate"),
]
