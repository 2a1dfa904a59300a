from django.apps import AppConfig


class OnestopConfig(AppConfig):
    name = "ansinh.onestop"
    label = "onestop"
    verbose_name = "One-stop dossiers"
