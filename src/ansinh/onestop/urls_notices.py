"""In-app notifications of staff, under ``/onestop/notifications/``."""

from django.urls import path

from ansinh.onestop import views_notices

urlpatterns = [
    path("notifications/", views_notices.notifications, name="notifications"),
    path(
        "notifications/<int:pk>/read/",
        views_notices.notification_read,
        name="notification_read",
    ),
    path(
        "notifications/read-all/",
        views_notices.notifications_read_all,
        name="notifications_read_all",
    ),
]
