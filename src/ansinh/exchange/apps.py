from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class ExchangeConfig(AppConfig):
    """Trao đổi dữ liệu liên cơ quan: signed, logged service calls between agencies."""

    name = "ansinh.exchange"
    verbose_name = _("Inter-agency exchange")

    def ready(self) -> None:
        # The built-in services (echo) register themselves; other apps register theirs in
        # their own ready().
        from ansinh.exchange import builtin  # noqa: F401
