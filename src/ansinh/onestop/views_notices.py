"""The staff's in-app notifications page (thông báo): the signed-in user's warnings and
escalations, newest first, unread ones highlighted, each linking to its dossier page; a POST
marks one or all read (an htmx post gets the updated row or list back).

The page shows dossier codes and the sweep's messages only, never applicant data, so reading
it is not a dossier read and is not audited; opening the dossier page is.
"""

from __future__ import annotations

from django.contrib.auth.decorators import login_required
from django.core.paginator import Page, Paginator
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.views.decorators.http import require_GET, require_POST

from ansinh.onestop import notify
from ansinh.onestop.models import Notification
from ansinh.onestop.warnings import dossier_path

PAGE_SIZE = 25


def _page(request: HttpRequest) -> Page:
    paginator = Paginator(notify.notifications_for(request.user), PAGE_SIZE)
    return paginator.get_page(request.GET.get("page"))


def _rows(page: Page) -> list[dict[str, object]]:
    return [{"n": n, "href": dossier_path(n.dossier.code)} for n in page.object_list]


def _list_context(request: HttpRequest) -> dict[str, object]:
    page = _page(request)
    return {"page": page, "rows": _rows(page), "unread": notify.unread_count(request.user)}


@login_required
@require_GET
def notifications(request: HttpRequest) -> HttpResponse:
    return render(request, "onestop/notices/notifications.html", _list_context(request))


@login_required
@require_POST
def notification_read(request: HttpRequest, pk: int) -> HttpResponse:
    """Mark one of the user's own notifications read (someone else's is a 404)."""
    mine = Notification.objects.filter(recipient=request.user, pk=pk)
    if not mine.exists():
        raise Http404
    notify.mark_read(request.user, pk)
    if request.headers.get("HX-Request"):
        n = notify.notifications_for(request.user).get(pk=pk)
        row = {"n": n, "href": dossier_path(n.dossier.code)}
        return render(request, "onestop/notices/_row.html", {"row": row})
    return redirect("onestop:notifications")


@login_required
@require_POST
def notifications_read_all(request: HttpRequest) -> HttpResponse:
    notify.mark_read(request.user)
    if request.headers.get("HX-Request"):
        return render(request, "onestop/notices/_list.html", _list_context(request))
    return redirect("onestop:notifications")
