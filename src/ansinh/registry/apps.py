from django.apps import AppConfig


class RegistryConfig(AppConfig):
    name = "ansinh.registry"
    label = "registry"
    verbose_name = "Registry"

    def ready(self) -> None:
        from ansinh.registry import person_panels

        person_panels.register()
