from django.apps import AppConfig


class OnestopConfig(AppConfig):
    name = "ansinh.onestop"
    label = "onestop"
    verbose_name = "One-stop dossiers"

    def ready(self) -> None:
        # Each committed dossier step notifies the applicant (onestop.notify).
        from ansinh.onestop import notify, signals

        signals.dossier_changed.connect(
            notify.on_dossier_changed, dispatch_uid="onestop.notify.status_notices"
        )
