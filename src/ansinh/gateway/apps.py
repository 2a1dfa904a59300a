from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class GatewayConfig(AppConfig):
    """Cổng giao dịch điện tử: signed electronic dossiers from employers and I-VAN providers."""

    name = "ansinh.gateway"
    verbose_name = _("E-transaction gateway")

    def ready(self) -> None:
        # Connects the trust store's cache invalidation in every process.
        from ansinh.gateway import trust  # noqa: F401
