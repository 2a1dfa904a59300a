from django.apps import AppConfig


class AccessConfig(AppConfig):
    name = "ansinh.access"
    label = "access"
    verbose_name = "Access and audit"
