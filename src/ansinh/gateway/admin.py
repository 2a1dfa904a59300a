"""The gateway's admin pages live in two modules, one per concern."""

from ansinh.gateway import admin_submitters, admin_trust  # noqa: F401
