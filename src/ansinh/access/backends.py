"""Permissions narrowed by the kind of organisation a user works for.

A role says what a job may do (officer, manager …); the organisation says in which agency it is
done. The insurance agency (BHXH) and the labour side (Sở, trung tâm dịch vụ việc làm) share role
names but not business: an insurance officer does not take unemployment claims, a centre
officer does not keep the contribution ledger. ``access.services.KIND_BARRED_APPS`` lists, per
organisation kind, the apps whose permissions its staff never hold, whatever their roles."""

from __future__ import annotations

from typing import Any

from django.contrib.auth.backends import ModelBackend


class OrganisationKindBackend(ModelBackend):
    def _get_permissions(self, user_obj: Any, obj: Any, from_name: str) -> set[str]:
        perms: set[str] = super()._get_permissions(user_obj, obj, from_name)
        if not perms or user_obj.is_superuser:
            return perms
        from ansinh.access.services import barred_apps

        barred = barred_apps(user_obj)
        if not barred:
            return perms
        return {perm for perm in perms if perm.partition(".")[0] not in barred}
