from django.apps import AppConfig


class LawConfig(AppConfig):
    name = "ansinh.law"
    label = "law"
    verbose_name = "Law (rule tables)"
