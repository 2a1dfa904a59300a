"""The public e-card pages, mounted at ``/the-an-sinh/`` (namespace ``ecard``): no login."""

from django.urls import path

from ansinh.nationaldb import views

app_name = "ecard"
urlpatterns = [
    path("kiem-tra/", views.check, name="check"),
    path("jwks.json", views.jwks, name="jwks"),
    path("thu-hoi.jws", views.revocations, name="revocations"),
]
