from django.urls import path

from ansinh.exchange import views

app_name = "exchange"
urlpatterns = [path("<path:path>", views.r1, name="r1")]
