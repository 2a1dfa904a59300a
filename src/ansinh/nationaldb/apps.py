from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class NationaldbConfig(AppConfig):
    """Cơ sở dữ liệu quốc gia về an sinh xã hội: e-cards, population-registry checks,
    programmes and beneficiaries, and the staged import of source files."""

    name = "ansinh.nationaldb"
    verbose_name = _("National social security database")

    def ready(self) -> None:
        # Revokes a card when its holder dies, is merged or emigrates.
        from ansinh.law.services import register_rule_file
        from ansinh.nationaldb import signals  # noqa: F401
        from ansinh.nationaldb.imports import receivers
        from ansinh.nationaldb.programmes.catalogue import RULES

        register_rule_file(RULES)
        receivers.connect()
        from ansinh.nationaldb import person_panels

        person_panels.register()
