from django.apps import AppConfig


class BenefitsConfig(AppConfig):
    """Chi trả trợ cấp thất nghiệp: the social insurance agency's side of unemployment benefit."""

    name = "ansinh.benefits"
    label = "benefits"
    verbose_name = "Unemployment benefit payments"

    def ready(self) -> None:
        from ansinh.benefits import handlers, receivers, rules
        from ansinh.law.services import register_rule_file

        register_rule_file(rules.PARAMETERS)
        register_rule_file(rules.CODES)
        handlers.register()
        receivers.connect()
