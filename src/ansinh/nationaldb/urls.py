"""Staff actions on a person's e-card and identity check, mounted at ``/nationaldb/``."""

from django.urls import path

from ansinh.nationaldb import views
from ansinh.nationaldb.imports import views as import_views

app_name = "nationaldb"
urlpatterns = [
    path("persons/<str:ss_number>/ecard/issue/", views.issue, name="issue"),
    path("persons/<str:ss_number>/ecard/revoke/", views.revoke, name="revoke"),
    path("persons/<str:ss_number>/popreg/", views.verify_population, name="verify_population"),
    path("ecards/<str:card_id>/<str:kind>", views.card_file, name="card_file"),
    path("imports/", import_views.batch_list, name="import_batches"),
    path("imports/<int:pk>/", import_views.batch_detail, name="import_batch"),
    path("imports/<int:pk>/progress/", import_views.batch_progress, name="import_progress"),
    path("imports/<int:pk>/commit/", import_views.batch_commit, name="import_commit"),
    path("imports/<int:pk>/discard/", import_views.batch_discard, name="import_discard"),
    path("imports/<int:pk>/rows/<int:line>/", import_views.row_decide, name="import_row_decide"),
]
