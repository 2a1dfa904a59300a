from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class UnemploymentConfig(AppConfig):
    """Trợ cấp thất nghiệp: claims at an Employment Service Centre (the centre side)."""

    name = "ansinh.unemployment"
    label = "unemployment"
    verbose_name = _("Unemployment benefit")

    def ready(self) -> None:
        from ansinh.exchange import registry
        from ansinh.law.services import register_rule_file
        from ansinh.unemployment import handlers, rules

        register_rule_file(rules.PARAMETERS)
        register_rule_file(rules.TERMINATIONS)
        registry.service(
            "benefitCase",
            handlers.benefit_case,
            description="A fraud or error case on a benefit decided by this centre",
        )
