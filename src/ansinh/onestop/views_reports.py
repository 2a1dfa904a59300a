"""The one-stop statistics pages (thống kê một cửa): the dashboard of the user's scope with its
drill-down (nation → province → office → officer → dossiers), and its XLSX/PDF exports.

Who sees what is decided by ``reports.user_scope`` and ``reports.authorize_target``; a refusal
answers 403 and is written to the audit log, and so is every export. The numbers come from
``reports.dashboard``; this module only parses the request and draws the trend chart.
"""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlencode

from django.contrib.auth.decorators import login_required
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import render
from django.utils import timezone, translation
from django.utils.translation import gettext as _
from django.utils.translation import pgettext

from ansinh.access.services import audit
from ansinh.core.errors import DomainError, Forbidden, NotFound
from ansinh.onestop import exports, reports
from ansinh.onestop.models import DossierState, Outcome
from ansinh.onestop.reports import Dashboard, Period, ReportScope

PERMISSION = "access.view_reports"
AUDIT_OBJECT = "onestop_report"
FORMATS = {
    "xlsx": "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
    "pdf": "application/pdf",
}
#: The count columns of the page's figures table (ratings and apologies are in the index table).
PAGE_COLUMNS = tuple(c for c in exports.COLUMNS if c[0] not in ("rated", "satisfied", "apologies"))
_MONTH = re.compile(r"^(\d{4})-(\d{2})$")
_YEAR = re.compile(r"^\d{4}$")
_PROVINCE = re.compile(r"^\d{2}$")


# --- the request ---------------------------------------------------------------------------------


@dataclass
class Choice:
    """The period and the level asked for, as typed (so the form shows them back), with the
    errors found in them."""

    kind: str = "month"
    month: str = ""
    year: str = ""
    date_from: str = ""
    date_to: str = ""
    province: str | None = None
    office: int | None = None
    assignee: int | None = None
    period: Period | None = None
    errors: list[str] = field(default_factory=list)

    def period_params(self) -> dict[str, str]:
        if self.kind == "year":
            return {"period": "year", "year": self.year}
        if self.kind == "range":
            return {"period": "range", "from": self.date_from, "to": self.date_to}
        return {"period": "month", "month": self.month}

    def level_params(self) -> dict[str, str]:
        found: dict[str, str] = {}
        if self.province is not None:
            found["province"] = self.province
        if self.office is not None:
            found["office"] = str(self.office)
        if self.assignee is not None:
            found["assignee"] = str(self.assignee)
        return found


def _message(exc: DomainError) -> str:
    lang = translation.get_language() or "vi"
    return exc.first.message_en if lang.startswith("en") else exc.first.message_vi


def _date(text: str, label: str, errors: list[str]) -> dt.date | None:
    try:
        return dt.date.fromisoformat(text)
    except ValueError:
        errors.append(_("%(field)s: enter a date as YYYY-MM-DD.") % {"field": label})
        return None


def _int_param(request: HttpRequest, name: str, errors: list[str]) -> int | None:
    text = request.GET.get(name, "").strip()
    if not text:
        return None
    if not text.isdigit():
        errors.append(_("Invalid parameter: %(name)s.") % {"name": name})
        return None
    return int(text)


def parse_choice(request: HttpRequest, today: dt.date) -> Choice:
    """Period: ``period=month&month=YYYY-MM`` (default: this month), ``period=year&year=YYYY``
    or ``period=range&from=YYYY-MM-DD&to=YYYY-MM-DD``. Level: ``province``, ``office``,
    ``assignee`` (0: the dossiers of the office nobody holds)."""
    get = request.GET
    choice = Choice(
        kind=get.get("period", "month"),
        month=get.get("month", f"{today:%Y-%m}").strip(),
        year=get.get("year", str(today.year)).strip(),
        date_from=get.get("from", "").strip(),
        date_to=get.get("to", "").strip(),
    )
    errors = choice.errors
    try:
        if choice.kind == "month":
            m = _MONTH.match(choice.month)
            if not m or not 1 <= int(m.group(2)) <= 12 or int(m.group(1)) < 1900:
                errors.append(_("Month: enter a month as YYYY-MM."))
            else:
                choice.period = Period.month(int(m.group(1)), int(m.group(2)))
        elif choice.kind == "year":
            if not _YEAR.match(choice.year) or int(choice.year) < 1900:
                errors.append(_("Year: enter a year of four digits."))
            else:
                choice.period = Period.year(int(choice.year))
        elif choice.kind == "range":
            start = _date(choice.date_from, _("From"), errors)
            end = _date(choice.date_to, _("To"), errors)
            if start and end:
                choice.period = Period(start, end)
        else:
            errors.append(_("Choose a month, a year or a range of dates."))
    except DomainError as exc:
        errors.append(_message(exc))
    if choice.period is not None and choice.period.start > today:
        errors.append(_("The period has not started yet."))
        choice.period = None
    province = get.get("province", "").strip()
    if province:
        if _PROVINCE.match(province):
            choice.province = province
        else:
            errors.append(_("Invalid parameter: %(name)s.") % {"name": "province"})
    choice.office = _int_param(request, "office", errors)
    choice.assignee = _int_param(request, "assignee", errors)
    return choice


# --- access --------------------------------------------------------------------------------------


def _denied(request: HttpRequest, exc: Forbidden, choice: Choice | None) -> HttpResponse:
    """403, recorded: who asked for which level (codes and ids only, no names)."""
    audit(
        actor=request.user,
        action="denied",
        object_type=AUDIT_OBJECT,
        object_id=str(choice.office or choice.province or "") if choice else "",
        request=request,
        detail={"reason": exc.code, **(choice.level_params() if choice else {})},
    )
    return render(request, "portal/forbidden.html", {"errors": exc.errors}, status=403)


def _no_permission() -> Forbidden:
    return Forbidden(
        "permission_denied",
        None,
        "Vai trò của bạn không được xem thống kê, báo cáo.",
        "Your role is not allowed to see statistics and reports.",
    )


def _no_scope() -> Forbidden:
    return Forbidden(
        "no_report_scope",
        None,
        "Đơn vị của bạn chưa có bộ phận một cửa nên không có phạm vi thống kê.",
        "Your organisation has no one-stop office, so it has no statistics scope.",
    )


def _resolve(
    request: HttpRequest,
) -> tuple[Choice, ReportScope | None, reports.AllowedTarget | None, HttpResponse | None]:
    """The checked request, or the response to send instead (403 / 404)."""
    user = request.user
    today = timezone.localdate()
    choice = parse_choice(request, today)
    if not user.has_perm(PERMISSION):
        return choice, None, None, _denied(request, _no_permission(), choice)
    scope = reports.user_scope(user)
    if scope is None:
        return choice, None, None, _denied(request, _no_scope(), choice)
    try:
        target = reports.authorize_target(
            scope,
            province_code=choice.province,
            office_id=choice.office,
            assignee_id=choice.assignee,
        )
    except Forbidden as exc:
        return choice, scope, None, _denied(request, exc, choice)
    except NotFound as exc:
        raise Http404(exc.first.message_en) from exc
    except DomainError as exc:
        choice.errors.append(_message(exc))
        return choice, scope, None, None
    return choice, scope, target, None


def _build(choice: Choice, target: reports.AllowedTarget) -> Dashboard:
    assert choice.period is not None
    try:
        return reports.dashboard(
            start=choice.period.start, end=choice.period.end, **target.as_kwargs()
        )
    except NotFound as exc:
        raise Http404(exc.first.message_en) from exc


# --- pages ---------------------------------------------------------------------------------------


def _href(params: dict[str, str]) -> str:
    return "?" + urlencode(params)


@login_required
def dashboard(request: HttpRequest) -> HttpResponse:
    """Bảng điều khiển thống kê: figures, indicators, trend, procedures and slowest steps."""
    choice, scope, target, refused = _resolve(request)
    if refused is not None:
        return refused
    context: dict[str, Any] = {"choice": choice, "board": None}
    if choice.errors or target is None:
        return render(request, "onestop/reports/dashboard.html", context, status=400)
    board = _build(choice, target)
    period = choice.period_params()
    assert scope is not None
    context.update(
        {
            "board": board,
            "trail": _trail_links(board, scope, period),
            "rows": [_row(row, period) for row in board.rows],
            "total": _cells(board.totals),
            "columns": PAGE_COLUMNS,
            "rates": exports.RATES,
            "cards": _cards(board),
            "chart": trend_chart(board.trend),
            "trend": [
                {
                    "point": t,
                    "rate": reports.percent(t.rate),
                    "previous_rate": reports.percent(t.previous_rate),
                }
                for t in board.trend
            ],
            "steps": [
                {
                    "step": s,
                    "state": DossierState(s.state).label,
                    "days": reports.days(s.average_days),
                    "hours": reports.days(s.average_days * 24) if s.average_days < 1 else None,
                }
                for s in board.slowest_steps
            ],
            "procedures": [
                {
                    "row": p,
                    "deadline": _deadline(p.deadline),
                    "rate": reports.percent(p.counts.on_time_rate),
                    "days": reports.days(p.counts.average_days),
                }
                for p in board.procedures
            ],
            "child_label": exports.CHILD_LABELS[board.child_level],
            "period_label": period_label(board),
            "export_query": urlencode({**period, **choice.level_params()}),
        }
    )
    return render(request, "onestop/reports/dashboard.html", context)


def _cells(counts: reports.Counts) -> dict[str, Any]:
    """A row's numbers in display order: the counts, then the rates (value, kind)."""
    return {
        "values": [getattr(counts, f) for f, _label in PAGE_COLUMNS],
        "rates": [
            {
                "value": reports.percent(fn(counts)) if kind == "pct" else reports.days(fn(counts)),
                "kind": kind,
            }
            for _label, fn, kind in exports.RATES
        ],
        "apologies": counts.apologies,
    }


def _row(row: reports.Row, period: dict[str, str]) -> dict[str, Any]:
    line = row.dossier
    return {
        "row": row,
        "href": _href({**period, **row.params}) if row.params else "",
        **_cells(row.counts),
        "dossier_href": f"/onestop/dossiers/{row.key}/" if line else "",
        "state": DossierState(line.state).label if line else "",
        "outcome": Outcome(line.outcome).label if line and line.outcome else "",
        "flags": [label for f, label in exports.COLUMNS if line and getattr(row.counts, f)],
    }


def _deadline(text: str) -> str:
    """The catalogue's '5 d' / '8 h' in words."""
    number, _sep, unit = text.partition(" ")
    if not number:
        return ""
    if unit == "h":
        return _("%(n)s office hours") % {"n": number}
    return _("%(n)s working days") % {"n": number}


def _trail_links(board: Dashboard, scope: ReportScope, period: dict[str, str]) -> list[dict]:
    """Breadcrumbs; levels above the user's scope are shown without a link."""
    top = 0 if scope.nationwide else (2 if scope.office_id is not None else 1)
    return [
        {
            "label": crumb.label,
            "href": _href({**period, **crumb.params}) if i >= top else "",
            "current": i == len(board.trail) - 1,
        }
        for i, crumb in enumerate(board.trail)
    ]


def _cards(board: Dashboard) -> list[dict[str, Any]]:
    """The indicator cards: value, the fraction it comes from, a warning colour when useful."""
    cards = []
    for ind in board.indicators:
        if ind.key == "average_days":
            value = reports.days(ind.value)
            detail = _("over %(n)s resolved dossiers") % {"n": ind.denominator}
        elif ind.key == "apologies":
            value = ind.numerator
            detail = _("issued in the period")
        else:
            value = reports.percent(ind.value)
            detail = f"{ind.numerator} / {ind.denominator}"
        warn = ind.key == "late_rate" and ind.value is not None and ind.value > 0
        cards.append(
            {
                "key": ind.key,
                "label": exports.INDICATORS[ind.key],
                "value": value,
                "pct": ind.key not in ("average_days", "apologies"),
                "detail": detail,
                "warn": warn,
            }
        )
    return cards


@login_required
def dashboard_export(request: HttpRequest, fmt: str) -> HttpResponse:
    """Xuất báo cáo: the dashboard as XLSX or PDF, recorded in the audit log."""
    if fmt not in FORMATS:
        raise Http404("unknown format")
    choice, _scope, target, refused = _resolve(request)
    if refused is not None:
        return refused
    if choice.errors or target is None:
        return render(
            request, "onestop/reports/dashboard.html", {"choice": choice, "board": None}, status=400
        )
    with translation.override("vi"):
        board = _build(choice, target)
    body = exports.dashboard_xlsx(board) if fmt == "xlsx" else exports.dashboard_pdf(board)
    audit(
        actor=request.user,
        action="export",
        object_type=AUDIT_OBJECT,
        object_id=str(choice.office or choice.province or ""),
        request=request,
        detail={
            "format": fmt,
            "level": str(board.level),
            "start": board.period.start.isoformat(),
            "end": board.period.end.isoformat(),
            **choice.level_params(),
        },
    )
    name = f"thong-ke-mot-cua-{board.level}-{board.period.start:%Y%m%d}-{board.period.end:%Y%m%d}"
    response = HttpResponse(body, content_type=FORMATS[fmt])
    response["Content-Disposition"] = f'attachment; filename="{name}.{fmt}"'
    return response


# --- the trend chart (inline SVG, drawn on the server) ---------------------------------------

CHART_WIDTH = 760
CHART_HEIGHT = 230
CHART_LEFT = 46
CHART_RIGHT = 46
CHART_TOP = 12
CHART_BOTTOM = 26


def trend_chart(points: list[reports.TrendPoint]) -> dict[str, Any] | None:
    """Geometry of the trend: per month a bar of dossiers resolved (dark) beside the same month
    a year before (light), on the left axis; the on-time rate as a line (solid this year,
    dashed last year) on the right axis, 0–100 %. None when nothing was resolved."""
    if not points or not any(p.resolved or p.previous_resolved for p in points):
        return None
    top = max(max(p.resolved, p.previous_resolved) for p in points)
    top = _nice(top)
    plot_w = CHART_WIDTH - CHART_LEFT - CHART_RIGHT
    plot_h = CHART_HEIGHT - CHART_TOP - CHART_BOTTOM
    base = CHART_TOP + plot_h
    slot = plot_w / len(points)
    bar = min(slot * 0.34, 22)
    months = []
    line_now: list[str] = []
    line_prev: list[str] = []
    for i, p in enumerate(points):
        centre = CHART_LEFT + slot * i + slot / 2
        prev_h = plot_h * p.previous_resolved / top
        now_h = plot_h * p.resolved / top
        rate = reports.percent(p.rate)
        prev_rate = reports.percent(p.previous_rate)
        dot = _rate_y(p.rate, base, plot_h)
        prev_dot = _rate_y(p.previous_rate, base, plot_h)
        if dot is not None:
            line_now.append(f"{centre:.1f},{dot:.1f}")
        if prev_dot is not None:
            line_prev.append(f"{centre:.1f},{prev_dot:.1f}")
        months.append(
            {
                "point": p,
                "label": f"{p.month.month:02d}/{p.month.year % 100:02d}",
                "x": round(centre, 1),
                "prev_x": round(centre - bar - 1, 1),
                "now_x": round(centre + 1, 1),
                "w": round(bar, 1),
                "prev_y": round(base - prev_h, 1),
                "prev_h": round(prev_h, 1),
                "now_y": round(base - now_h, 1),
                "now_h": round(now_h, 1),
                "dot": None if dot is None else round(dot, 1),
                "prev_dot": None if prev_dot is None else round(prev_dot, 1),
                "rate": rate,
                "prev_rate": prev_rate,
            }
        )
    ticks = []
    for k in range(5):
        y = base - plot_h * k / 4
        ticks.append({"y": round(y, 1), "count": int(top * k / 4), "pct": 25 * k})
    return {
        "width": CHART_WIDTH,
        "height": CHART_HEIGHT,
        "left": CHART_LEFT,
        "right": CHART_WIDTH - CHART_RIGHT,
        "base": base,
        "months": months,
        "ticks": ticks,
        "line_now": " ".join(line_now),
        "line_prev": " ".join(line_prev),
        "first": points[0].month,
        "last": points[-1].month,
    }


def _rate_y(rate: Any, base: float, plot_h: float) -> float | None:
    return None if rate is None else base - plot_h * float(rate)


def _nice(value: int) -> int:
    """The smallest 'round' axis maximum ≥ value divisible by 4 (1, 2, 5 × 10^k steps)."""
    if value <= 4:
        return 4
    step = 1
    while True:
        for m in (1, 2, 5):
            if m * step * 4 >= value:
                return m * step * 4
        step *= 10


def period_label(board: Dashboard) -> str:
    p = board.period
    if p.is_month:
        return pgettext("onestop report", "Month %(m)s/%(y)s") % {
            "m": f"{p.start.month:02d}",
            "y": p.start.year,
        }
    if p.is_year:
        return pgettext("onestop report", "Year %(y)s") % {"y": p.start.year}
    return f"{p.start:%d/%m/%Y} – {p.end:%d/%m/%Y}"
