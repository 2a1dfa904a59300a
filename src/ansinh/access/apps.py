from typing import Any

from django.apps import AppConfig, apps
from django.db.models.signals import post_migrate


def _seed_roles(sender: AppConfig, *, using: str = "default", **kwargs: Any) -> None:
    from django.contrib.auth.management import create_permissions

    from ansinh.access.services import ensure_roles

    # post_migrate reaches apps one by one; create every app's permissions now, so the roles
    # can refer to models of apps that come after access in INSTALLED_APPS.
    for config in apps.get_app_configs():
        create_permissions(config, verbosity=0, using=using)
    ensure_roles()


class AccessConfig(AppConfig):
    name = "ansinh.access"
    label = "access"
    verbose_name = "Access and audit"

    def ready(self) -> None:
        # Roles follow the code: every migrate recreates them with their current permissions.
        post_migrate.connect(_seed_roles, sender=self, dispatch_uid="ansinh.access.seed_roles")
