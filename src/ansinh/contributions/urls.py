from django.urls import path

from ansinh.contributions import views

app_name = "contributions"
urlpatterns = [
    path("rules/", views.rules, name="rules"),
    path("bills/<str:unit_code>/<int:period>/", views.bill_detail, name="bill_detail"),
]
