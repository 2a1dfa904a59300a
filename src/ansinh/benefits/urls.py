from django.urls import path

from ansinh.benefits import views

app_name = "benefits"
urlpatterns = [
    path("", views.award_list, name="award_list"),
    path("awards/<int:pk>/", views.award_detail, name="award_detail"),
    path("cases/", views.case_list, name="case_list"),
    path("cases/<int:pk>/", views.case_detail, name="case_detail"),
]
