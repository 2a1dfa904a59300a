"""Staff home page: who I am, what I may see, a few counts and a quick search."""

from __future__ import annotations

from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render

from ansinh.access.selectors import scope_commune_ids
from ansinh.portal.selectors import home_counts


@login_required
def home(request: HttpRequest) -> HttpResponse:
    user = request.user
    org = getattr(user, "organisation", None)
    scope_units = list(org.scope_units.order_by("code")) if org is not None else []
    return render(
        request,
        "portal/home.html",
        {
            "organisation": org,
            "nationwide": scope_commune_ids(user) is None,
            "scope_units": scope_units,
            # The centre's staff hold no registry: no counts to compute for them.
            "counts": home_counts(user) if user.has_perm("registry.view_person") else None,
        },
    )
