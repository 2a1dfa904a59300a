from django.urls import path

from ansinh.registry import views

app_name = "registry"
urlpatterns = [
    path("persons/", views.person_search, name="person_search"),
    path("persons/<str:ss_number>/", views.person_detail, name="person_detail"),
    path("address-reviews/", views.address_reviews, name="address_reviews"),
    path(
        "address-reviews/<int:pk>/resolve/",
        views.address_review_resolve,
        name="address_review_resolve",
    ),
    path("employers/", views.employer_search, name="employer_search"),
    path("employers/<str:unit_code>/", views.employer_detail, name="employer_detail"),
]
