"""Staff pages of the one-stop app, under ``/onestop/``: the desk (queues, reception, dossier
pages, overdue lists), statistics, and in-app notifications. The public status look-up lives
under ``/tra-cuu/`` (``urls_public``)."""

from ansinh.onestop import urls_desk, urls_notices, urls_reports

app_name = "onestop"

urlpatterns = [*urls_desk.urlpatterns, *urls_reports.urlpatterns, *urls_notices.urlpatterns]
