from django.contrib import admin
from django.urls import include, path

from ansinh.api import api
from ansinh.core.views import health

urlpatterns = [
    path("health", health, name="health"),
    path("api/", api.urls),
    path("admin/", admin.site.urls),
    path("i18n/", include("django.conf.urls.i18n")),
    path("registry/", include("ansinh.registry.urls")),
    path("contributions/", include("ansinh.contributions.urls")),
    path("benefits/", include("ansinh.benefits.urls")),
    path("access/", include("ansinh.access.urls")),
    path("onestop/", include("ansinh.onestop.urls")),
    path("gateway/", include("ansinh.gateway.urls")),
    path("r1/", include("ansinh.exchange.urls")),
    path("unemployment/", include("ansinh.unemployment.urls")),
    path("tra-cuu/", include("ansinh.onestop.urls_public")),
    path("nationaldb/", include("ansinh.nationaldb.urls")),
    path("linkage/", include("ansinh.linkage.urls")),
    path("the-an-sinh/", include("ansinh.nationaldb.urls_public")),
    path("", include("ansinh.portal.urls")),
]
