from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class LinkageConfig(AppConfig):
    """Đối sánh và hợp nhất hồ sơ: record linkage against the registry, dedupe, review."""

    name = "ansinh.linkage"
    verbose_name = _("Record linkage")

    def ready(self) -> None:
        from ansinh.linkage import person_panels

        person_panels.register()
