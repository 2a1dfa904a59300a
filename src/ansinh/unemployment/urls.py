from django.urls import path

from ansinh.unemployment import views

app_name = "unemployment"
urlpatterns = [
    path("", views.claim_list, name="claims"),
    path("cases/", views.cases, name="cases"),
    path("decisions/<int:pk>.pdf", views.decision_pdf, name="decision_pdf"),
    path("claims/<str:code>/", views.claim_detail, name="claim"),
]
