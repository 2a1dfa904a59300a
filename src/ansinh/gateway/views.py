"""Staff pages of the gateway (managers: ``access.view_reports``): the I-VAN providers with
their key figures, one I-VAN's statistics, employers' e-transaction registrations, and the
monthly provincial adoption report with its CSV/XLSX export.

A refusal answers 403 and is written to the audit log, and so is every export and every search
of registrations (they name employers and their contact). Numbers come from
``gateway.selectors``, chart geometry from ``gateway.charts``.
"""

from __future__ import annotations

import datetime as dt
import re
from typing import Any
from urllib.parse import urlencode

from django.contrib.auth.decorators import login_required
from django.core.paginator import Paginator
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import render
from django.utils import timezone, translation
from django.utils.translation import gettext as _
from django.utils.translation import pgettext

from ansinh.access.services import audit
from ansinh.core.errors import DomainError, Forbidden
from ansinh.gateway import charts, exports, selectors
from ansinh.gateway.models import Channel, IvanProvider, IvanStatus
from ansinh.gateway.selectors import Period, percent
from ansinh.gateway.submitters import ivan_may_submit

PERMISSION = "access.view_reports"
PAGE_SIZE = 25
DEFAULT_DAYS = 30
FORMATS = {
    "csv": "text/csv; charset=utf-8",
    "xlsx": "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
}
_MONTH = re.compile(r"^(\d{4})-(\d{2})$")
_STATUS_BADGE = {
    IvanStatus.ACTIVE: "ok",
    IvanStatus.SUSPENDED: "due",
    IvanStatus.ENDED: "ex",
}


# --- access --------------------------------------------------------------------------------------


def _message(exc: DomainError) -> str:
    lang = translation.get_language() or "vi"
    return exc.first.message_en if lang.startswith("en") else exc.first.message_vi


def _denied(request: HttpRequest, exc: Forbidden, object_type: str) -> HttpResponse:
    audit(
        actor=request.user,
        action="denied",
        object_type=object_type,
        request=request,
        detail={"reason": exc.code, "path": request.path[:100]},
    )
    return render(request, "portal/forbidden.html", {"errors": exc.errors}, status=403)


def _check_permission(request: HttpRequest, object_type: str) -> HttpResponse | None:
    if request.user.has_perm(PERMISSION):
        return None
    exc = Forbidden(
        "permission_denied",
        None,
        "Vai trò của bạn không được xem thống kê, báo cáo.",
        "Your role is not allowed to see statistics and reports.",
    )
    return _denied(request, exc, object_type)


# --- the period asked for ---------------------------------------------------------------------


def _period(request: HttpRequest, today: dt.date) -> tuple[Period | None, dict[str, str], list]:
    """``from``/``to`` (YYYY-MM-DD, default: the last 30 days up to today)."""
    default_start = today - dt.timedelta(days=DEFAULT_DAYS - 1)
    typed = {
        "from": request.GET.get("from", "").strip() or default_start.isoformat(),
        "to": request.GET.get("to", "").strip() or today.isoformat(),
    }
    errors: list[str] = []
    days: dict[str, dt.date] = {}
    for key, label in (("from", _("From")), ("to", _("To"))):
        try:
            days[key] = dt.date.fromisoformat(typed[key])
        except ValueError:
            errors.append(_("%(field)s: enter a date as YYYY-MM-DD.") % {"field": label})
    period = None
    if not errors:
        try:
            period = Period(days["from"], days["to"])
        except DomainError as exc:
            errors.append(_message(exc))
    if period is not None and period.start > today:
        errors.append(_("The period has not started yet."))
        period = None
    return period, typed, errors


# --- I-VANs --------------------------------------------------------------------------------------


def _rates(f: selectors.IvanFigures) -> dict[str, float | None]:
    return {
        "refusal": percent(f.refusal_rate),
        "row_rejection": percent(f.row_rejection_rate),
        "breach": percent(f.breach_rate),
        "availability": percent(f.availability, 2),
    }


@login_required
def ivan_list(request: HttpRequest) -> HttpResponse:
    """Danh sách tổ chức I-VAN: status, contract and key figures of each over the period."""
    refused = _check_permission(request, "ivan")
    if refused is not None:
        return refused
    today = timezone.localdate()
    period, typed, errors = _period(request, today)
    context: dict[str, Any] = {"typed": typed, "errors": errors, "period": period}
    if period is None:
        return render(request, "gateway/ivan_list.html", context, status=400)
    rows = selectors.ivan_overview(period)
    total = selectors.overview_totals(rows)
    context.update(
        {
            "rows": [
                {
                    "ivan": r.ivan,
                    "f": r.figures,
                    "rates": _rates(r.figures),
                    "badge": _STATUS_BADGE.get(r.ivan.status, "ex"),
                }
                for r in rows
            ],
            "total": total,
            "total_rates": _rates(total),
            "query": urlencode(typed),
            "limit_hours": int(selectors.FORWARD_LIMIT.total_seconds() // 3600),
        }
    )
    return render(request, "gateway/ivan_list.html", context)


def bucket_labels(buckets: list[selectors.Bucket]) -> list[str]:
    labels = []
    for b in buckets:
        if b.high is None:
            labels.append(_("over %(low)s") % {"low": _duration(b.low)})
        elif b.low == 0:
            labels.append(_("up to %(high)s") % {"high": _duration(b.high)})
        else:
            labels.append(f"{_duration(b.low)} – {_duration(b.high)}")
    return labels


def _duration(minutes: int) -> str:
    if minutes % 60 == 0 and minutes >= 60:
        return _("%(n)s h") % {"n": minutes // 60}
    return _("%(n)s min") % {"n": minutes}


@login_required
def ivan_detail(request: HttpRequest, code: str) -> HttpResponse:
    """Thống kê một tổ chức I-VAN: daily volume, refusals, row rejections, the 2-hour
    forwarding rule, the signing→receipt distribution and availability."""
    refused = _check_permission(request, "ivan")
    if refused is not None:
        return refused
    ivan = selectors.get_ivan(code)
    if ivan is None:
        raise Http404("unknown I-VAN")
    today = timezone.localdate()
    period, typed, errors = _period(request, today)
    context: dict[str, Any] = {
        "ivan": ivan,
        "badge": _STATUS_BADGE.get(ivan.status, "ex"),
        "typed": typed,
        "errors": errors,
        "period": period,
        "may_submit": _may_submit(ivan),
    }
    if period is None:
        return render(request, "gateway/ivan_detail.html", context, status=400)
    stats = selectors.ivan_statistics(ivan, period)
    labels = bucket_labels(stats.delays.buckets)
    delays = stats.delays
    context.update(
        {
            "stats": stats,
            "f": stats.figures,
            "rates": _rates(stats.figures),
            "volume": charts.volume_chart(stats.days),
            "distribution": charts.distribution_chart(delays.buckets, labels),
            "buckets": [
                {
                    "label": label,
                    "bucket": b,
                    "share": percent(selectors.ratio(b.count, delays.measured - delays.skewed)),
                }
                for b, label in zip(delays.buckets, labels, strict=True)
            ],
            "days": [
                {"d": d, "availability": percent(d.availability, 2)} for d in reversed(stats.days)
            ],
            "limit_hours": int(selectors.FORWARD_LIMIT.total_seconds() // 3600),
        }
    )
    return render(request, "gateway/ivan_detail.html", context)


def _may_submit(ivan: IvanProvider) -> bool:
    return ivan_may_submit(ivan, timezone.now())


# --- registrations -------------------------------------------------------------------------------


@login_required
def registrations(request: HttpRequest) -> HttpResponse:
    """Đăng ký giao dịch điện tử: employers registered for e-transactions in the user's scope,
    searchable by employer, channel, I-VAN and state."""
    refused = _check_permission(request, "etrans_registration")
    if refused is not None:
        return refused
    get = request.GET
    q = " ".join(get.get("q", "").split())[:120]
    channel = get.get("channel", "").strip()
    ivan_code = get.get("ivan", "").strip()[:20]
    state = get.get("state", "open").strip()
    errors = []
    if channel and channel not in Channel.values:
        errors.append(_("Invalid parameter: %(name)s.") % {"name": "channel"})
        channel = ""
    if state not in selectors.REGISTRATION_STATES:
        errors.append(_("Invalid parameter: %(name)s.") % {"name": "state"})
        state = "open"
    qs = selectors.registrations_in_scope(
        selectors.search_registrations(q=q, channel=channel, ivan_code=ivan_code, state=state),
        request.user,
    )
    page = Paginator(qs, PAGE_SIZE).get_page(get.get("page"))
    audit(
        actor=request.user,
        action="search",
        object_type="etrans_registration",
        request=request,
        detail={
            "criteria": sorted(k for k in ("q", "channel", "ivan") if get.get(k)),
            "state": state,
            "results": page.paginator.count,
        },
    )
    params = {"q": q, "channel": channel, "ivan": ivan_code, "state": state}
    context = {
        "q": q,
        "channel": channel,
        "ivan_code": ivan_code,
        "state": state,
        "errors": errors,
        "page": page,
        "channels": Channel.choices,
        "ivans": list(IvanProvider.objects.order_by("code").values_list("code", "name")),
        "states": (
            ("open", pgettext("registration", "In force")),
            ("ended", pgettext("registration", "Ended")),
            ("all", pgettext("registration", "All")),
        ),
        "query": urlencode({k: v for k, v in params.items() if v}),
    }
    return render(request, "gateway/registrations.html", context, status=400 if errors else 200)


# --- adoption ------------------------------------------------------------------------------------


def _last_month(today: dt.date) -> str:
    first = today.replace(day=1) - dt.timedelta(days=1)
    return f"{first:%Y-%m}"


def _adoption(
    request: HttpRequest,
) -> tuple[selectors.AdoptionReport | None, str, list[str], HttpResponse | None]:
    """The checked request's report, the month as typed and the errors — or the 403 page."""
    refused = _check_permission(request, "etrans_adoption")
    if refused is not None:
        return None, "", [], refused
    provinces = selectors.report_provinces(request.user)
    if provinces is not None and not provinces:
        exc = Forbidden(
            "no_report_scope",
            None,
            "Đơn vị của bạn không có địa bàn quản lý nên không có phạm vi thống kê.",
            "Your organisation has no administrative area, so it has no statistics scope.",
        )
        return None, "", [], _denied(request, exc, "etrans_adoption")
    now = timezone.now()
    month = request.GET.get("month", "").strip() or _last_month(timezone.localdate(now))
    m = _MONTH.match(month)
    if not m or not 1 <= int(m.group(2)) <= 12 or int(m.group(1)) < 1900:
        return None, month, [_("Month: enter a month as YYYY-MM.")], None
    try:
        report = selectors.adoption_report(
            int(m.group(1)), int(m.group(2)), provinces=provinces, now=now
        )
    except DomainError as exc:
        return None, month, [_message(exc)], None
    return report, month, [], None


@login_required
def adoption(request: HttpRequest) -> HttpResponse:
    """Báo cáo tỷ lệ giao dịch điện tử theo tỉnh: the month's table, the chart against the
    target, and the provinces below it."""
    report, month, errors, refused = _adoption(request)
    if refused is not None:
        return refused
    context: dict[str, Any] = {"month": month, "errors": errors, "report": report}
    if report is None:
        return render(request, "gateway/adoption.html", context, status=400)
    context.update(
        {
            "rows": [{"row": r, "pct": percent(r.share)} for r in report.rows],
            "total_pct": percent(report.total.share),
            "target_pct": round(float(report.target) * 100, 1),
            "below": [{"row": r, "pct": percent(r.share)} for r in report.below],
            "chart": charts.adoption_chart(report.rows, report.target),
            "query": urlencode({"month": month}),
        }
    )
    return render(request, "gateway/adoption.html", context)


@login_required
def adoption_export(request: HttpRequest, fmt: str) -> HttpResponse:
    """Xuất báo cáo: the adoption table as CSV or XLSX, recorded in the audit log."""
    if fmt not in FORMATS:
        raise Http404("unknown format")
    report, month, errors, refused = _adoption(request)
    if refused is not None:
        return refused
    if report is None:
        context = {"month": month, "errors": errors, "report": None}
        return render(request, "gateway/adoption.html", context, status=400)
    body = exports.adoption_csv(report) if fmt == "csv" else exports.adoption_xlsx(report)
    audit(
        actor=request.user,
        action="export",
        object_type="etrans_adoption",
        object_id=f"{report.period.start:%Y-%m}",
        request=request,
        detail={"format": fmt, "month": f"{report.period.start:%Y-%m}", "rows": len(report.rows)},
    )
    name = f"ty-le-giao-dich-dien-tu-{report.period.start:%Y-%m}"
    response = HttpResponse(body, content_type=FORMATS[fmt])
    response["Content-Disposition"] = f'attachment; filename="{name}.{fmt}"'
    return response
