"""Staff actions on a person's e-card and identity check, mounted at ``/nationaldb/``."""

from django.urls import path

from ansinh.nationaldb import views

app_name = "nationaldb"
urlpatterns = [
    path("persons/<str:ss_number>/ecard/issue/", views.issue, name="issue"),
    path("persons/<str:ss_number>/ecard/revoke/", views.revoke, name="revoke"),
    path("persons/<str:ss_number>/popreg/", views.verify_population, name="verify_population"),
    path("ecards/<str:card_id>/<str:kind>", views.card_file, name="card_file"),
]
