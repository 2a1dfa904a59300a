from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class NationaldbConfig(AppConfig):
    """Cơ sở dữ liệu quốc gia về an sinh xã hội: e-cards and population-registry checks."""

    name = "ansinh.nationaldb"
    verbose_name = _("National social security database")

    def ready(self) -> None:
        # Revokes a card when its holder dies, is merged or emigrates.
        from ansinh.nationaldb import signals  # noqa: F401
