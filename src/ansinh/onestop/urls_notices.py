"""URL patterns (filled in by the module's views)."""

from django.urls import URLPattern

urlpatterns: list[URLPattern] = []
