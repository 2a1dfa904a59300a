"""Exports of a one-stop dashboard (xuất báo cáo): an XLSX workbook (openpyxl) and an A4
landscape PDF (reportlab, with the embedded Liberation Serif of ``onestop.documents`` so that
Vietnamese renders everywhere).

Both are written in Vietnamese whatever the page language (they are official reports), carry
a header block with the scope, the period and the generation time, and hold the same tables
as the page. They contain no applicant data: the officer level lists dossier codes, procedures,
states and dates; officer names (staff, not applicants) appear only as rows of an office.

The column and indicator labels below are also the page's, translated there.
"""

from __future__ import annotations

import datetime as dt
import io
from collections.abc import Callable, Sequence
from fractions import Fraction
from typing import Any

from django.utils import timezone, translation
from django.utils.translation import pgettext_lazy
from openpyxl import Workbook
from openpyxl.styles import Alignment, Font, PatternFill
from openpyxl.utils import get_column_letter
from openpyxl.worksheet.worksheet import Worksheet
from reportlab.lib import colors
from reportlab.lib.pagesizes import A4, landscape
from reportlab.lib.styles import ParagraphStyle
from reportlab.lib.units import mm
from reportlab.platypus import Paragraph, SimpleDocTemplate, Spacer, Table, TableStyle

from ansinh.onestop.documents import FONT_FAMILY, register_fonts
from ansinh.onestop.models import DossierState
from ansinh.onestop.reports import Counts, Dashboard, Row, days, percent

_C = "onestop report"

#: Count columns: (field of Counts, label).
COLUMNS: tuple[tuple[str, Any], ...] = (
    ("received", pgettext_lazy(_C, "Received in the period")),
    ("received_online", pgettext_lazy(_C, "of which online")),
    ("resolved", pgettext_lazy(_C, "Resolved")),
    ("early", pgettext_lazy(_C, "Early")),
    ("on_time", pgettext_lazy(_C, "On time")),
    ("late", pgettext_lazy(_C, "Late")),
    ("withdrawn", pgettext_lazy(_C, "Withdrawn")),
    ("in_progress", pgettext_lazy(_C, "In progress at the end")),
    ("overdue", pgettext_lazy(_C, "of which overdue")),
    ("due", pgettext_lazy(_C, "Due in the period")),
    ("rated", pgettext_lazy(_C, "Ratings")),
    ("satisfied", pgettext_lazy(_C, "Satisfied or very satisfied")),
    ("apologies", pgettext_lazy(_C, "Apology slips")),
)
#: The Decision 766 indicators: key → label.
INDICATORS: dict[str, Any] = {
    "on_time_share": pgettext_lazy(_C, "Resolved early or on time"),
    "average_days": pgettext_lazy(_C, "Average processing time (working days)"),
    "late_rate": pgettext_lazy(_C, "Late rate"),
    "online_share": pgettext_lazy(_C, "Submitted online"),
    "satisfaction": pgettext_lazy(_C, "Satisfaction"),
    "apologies": pgettext_lazy(_C, "Apology slips issued"),
}
#: Rate columns of a row: (label, function of Counts, kind) — kind "pct" or "days".
RATES: tuple[tuple[Any, Callable[[Counts], Fraction | None], str], ...] = (
    (INDICATORS["on_time_share"], lambda c: c.on_time_rate, "pct"),
    (pgettext_lazy(_C, "Average working days"), lambda c: c.average_days, "days"),
    (INDICATORS["late_rate"], lambda c: c.late_rate, "pct"),
    (INDICATORS["online_share"], lambda c: c.online_share, "pct"),
    (INDICATORS["satisfaction"], lambda c: c.satisfaction_rate, "pct"),
)
CHILD_LABELS: dict[str, Any] = {
    "province": pgettext_lazy(_C, "Province"),
    "office": pgettext_lazy(_C, "Office"),
    "officer": pgettext_lazy(_C, "Officer"),
    "dossier": pgettext_lazy(_C, "Dossier"),
}
TITLE = "BÁO CÁO TÌNH HÌNH GIẢI QUYẾT HỒ SƠ MỘT CỬA"
TOTAL = "Tổng cộng"


def _vn_time(moment: dt.datetime) -> str:
    return timezone.localtime(moment).strftime("%H:%M ngày %d/%m/%Y")


def header_lines(board: Dashboard) -> list[str]:
    """The header block: scope, period, generation time (Vietnamese)."""
    period = f"Kỳ báo cáo: {board.period.start:%d/%m/%Y} – {board.period.end:%d/%m/%Y}"
    if board.is_to_date:
        period += f" (số liệu đến {_vn_time(board.cut)})"
    return [
        period,
        f"Phạm vi: {board.scope_label}",
        f"Thời điểm lập: {_vn_time(board.generated_at)}",
    ]


def _float(value: Fraction | None) -> float | None:
    return None if value is None else float(value)


def _row_name(board: Dashboard, row: Row) -> str:
    if row.dossier is not None:
        state = DossierState(row.dossier.state).label
        return f"{row.dossier.procedure_code} · {state}"
    return row.label


# --- XLSX ----------------------------------------------------------------------------------------

_BOLD = Font(bold=True)
_HEAD_FILL = PatternFill("solid", fgColor="EAEEF3")
_PCT = "0.0%"
_DAYS = "0.00"


def _sheet_head(ws: Worksheet, board: Dashboard, title: str) -> int:
    """Writes the header block; returns the row number of the table header."""
    ws["A1"] = f"{TITLE} — {title}"
    ws["A1"].font = Font(bold=True, size=13)
    for i, line in enumerate(header_lines(board), start=2):
        ws.cell(row=i, column=1, value=line)
    return 6


def _table(
    ws: Worksheet,
    first: int,
    headers: Sequence[str],
    rows: Sequence[Sequence[Any]],
    formats: dict[int, str] | None = None,
    bold_last: bool = False,
) -> None:
    for col, text in enumerate(headers, start=1):
        cell = ws.cell(row=first, column=col, value=str(text))
        cell.font = _BOLD
        cell.fill = _HEAD_FILL
        cell.alignment = Alignment(wrap_text=True, vertical="top")
    for r, values in enumerate(rows, start=first + 1):
        for col, value in enumerate(values, start=1):
            cell = ws.cell(row=r, column=col, value=value)
            if formats and col in formats and value is not None:
                cell.number_format = formats[col]
            if bold_last and r == first + len(rows):
                cell.font = _BOLD
    for col in range(1, len(headers) + 1):
        ws.column_dimensions[get_column_letter(col)].width = 14 if col > 2 else 24
    ws.freeze_panes = ws.cell(row=first + 1, column=3)


def _rate_values(counts: Counts) -> list[float | None]:
    return [_float(fn(counts)) for _label, fn, _kind in RATES]


def _rate_formats(offset: int) -> dict[int, str]:
    return {
        offset + i: (_PCT if kind == "pct" else _DAYS) for i, (_l, _f, kind) in enumerate(RATES)
    }


def dashboard_xlsx(board: Dashboard) -> bytes:
    """One sheet per table; numbers are numbers (rates are fractions formatted as %)."""
    with translation.override("vi"):
        book = Workbook()
        ws = book.active
        ws.title = "Theo đơn vị"
        first = _sheet_head(ws, board, f"Theo {str(CHILD_LABELS[board.child_level]).lower()}")
        headers = ["Mã", str(CHILD_LABELS[board.child_level])]
        headers += [str(label) for _f, label in COLUMNS] + [str(r[0]) for r in RATES]
        body = [
            [row.code or row.key, _row_name(board, row)]
            + [getattr(row.counts, f) for f, _l in COLUMNS]
            + _rate_values(row.counts)
            for row in board.rows
        ]
        body.append(
            ["", TOTAL]
            + [getattr(board.totals, f) for f, _l in COLUMNS]
            + _rate_values(board.totals)
        )
        _table(ws, first, headers, body, _rate_formats(3 + len(COLUMNS)), bold_last=True)

        ws = book.create_sheet("Chỉ số")
        first = _sheet_head(ws, board, "Chỉ số Quyết định 766/QĐ-TTg")
        rows = [
            [
                str(INDICATORS[ind.key]),
                _float(Fraction(ind.numerator)) if ind.key == "average_days" else ind.numerator,
                ind.denominator,
                _float(ind.value),
            ]
            for ind in board.indicators
        ]
        _table(ws, first, ["Chỉ số", "Tử số", "Mẫu số", "Giá trị"], rows)
        for r, ind in enumerate(board.indicators, start=first + 1):
            fmt = {"average_days": _DAYS, "apologies": "0"}.get(ind.key, _PCT)
            ws.cell(row=r, column=4).number_format = fmt
            if ind.key == "average_days":
                ws.cell(row=r, column=2).number_format = _DAYS
        ws.column_dimensions["A"].width = 44

        ws = book.create_sheet("Theo thủ tục")
        first = _sheet_head(ws, board, "Theo thủ tục hành chính")
        proc_cols = ("received", "resolved", "early", "on_time", "late")
        headers = ["Mã", "Thủ tục", "Thời hạn"] + [
            str(label) for f, label in COLUMNS if f in proc_cols
        ]
        headers += [str(INDICATORS["on_time_share"]), str(RATES[1][0])]
        body = [
            [p.code, p.name_vi, _deadline_vi(p.deadline)]
            + [getattr(p.counts, f) for f in proc_cols]
            + [_float(p.counts.on_time_rate), _float(p.counts.average_days)]
            for p in board.procedures
        ]
        n = len(headers)
        _table(ws, first, headers, body, {n - 1: _PCT, n: _DAYS})
        ws.column_dimensions["B"].width = 50

        ws = book.create_sheet("Bước chậm nhất")
        first = _sheet_head(ws, board, "Các bước xử lý chậm nhất")
        body = [
            [
                s.department_code or "—",
                f"{DossierState(s.state).label} · {s.department_name or 'không thuộc phòng nào'}",
                s.dossiers,
                _float(s.average_days),
            ]
            for s in board.slowest_steps
        ]
        headers = ["Mã", "Bước (trạng thái · phòng/bộ phận)", "Số hồ sơ", "Số ngày bình quân"]
        _table(ws, first, headers, body, {4: _DAYS})
        ws.column_dimensions["B"].width = 50

        ws = book.create_sheet("Xu hướng")
        first = _sheet_head(ws, board, "Xu hướng theo tháng, so với cùng kỳ năm trước")
        body = [
            [
                f"{t.month:%m/%Y}",
                f"Tháng {t.month.month}/{t.month.year}",
                t.resolved,
                _float(t.rate),
                t.previous_resolved,
                _float(t.previous_rate),
            ]
            for t in board.trend
        ]
        headers = [
            "Mã",
            "Tháng",
            "Đã giải quyết",
            "Tỷ lệ trước hạn, đúng hạn",
            "Cùng kỳ năm trước: đã giải quyết",
            "Cùng kỳ năm trước: tỷ lệ",
        ]
        _table(ws, first, headers, body, {4: _PCT, 6: _PCT})

        book.properties.title = TITLE
        book.properties.creator = "ansinh"
        buffer = io.BytesIO()
        book.save(buffer)
        return buffer.getvalue()


def _deadline_vi(text: str) -> str:
    """'5 d' → '5 ngày làm việc'; '8 h' → '8 giờ làm việc'."""
    number, _, unit = text.partition(" ")
    if not number:
        return ""
    return f"{number} {'giờ' if unit == 'h' else 'ngày'} làm việc"


# --- PDF -----------------------------------------------------------------------------------------

_PAGE = landscape(A4)
_MARGIN = 12 * mm


def _styles() -> dict[str, ParagraphStyle]:
    register_fonts()
    base = ParagraphStyle("base", fontName=FONT_FAMILY, fontSize=8, leading=10)
    return {
        "title": ParagraphStyle(
            "title", parent=base, fontName=f"{FONT_FAMILY}-Bold", fontSize=14, leading=18
        ),
        "h2": ParagraphStyle(
            "h2",
            parent=base,
            fontName=f"{FONT_FAMILY}-Bold",
            fontSize=11,
            leading=14,
            spaceBefore=8,
            spaceAfter=4,
        ),
        "line": ParagraphStyle("line", parent=base, fontSize=10, leading=13),
        "cell": base,
        "head": ParagraphStyle("head", parent=base, fontName=f"{FONT_FAMILY}-Bold"),
        "num": ParagraphStyle("num", parent=base, alignment=2),
    }


def _pct(value: Fraction | None) -> str:
    shown = percent(value)
    return "—" if shown is None else f"{shown}%".replace(".", ",")


def _days(value: Fraction | None) -> str:
    shown = days(value, 2)
    return "—" if shown is None else str(shown).replace(".", ",")


def _int(value: int) -> str:
    return f"{value:,}".replace(",", ".")


def _pdf_table(
    headers: Sequence[str],
    rows: Sequence[Sequence[str]],
    widths: Sequence[float],
    st: dict[str, ParagraphStyle],
    *,
    total: bool = False,
    numeric_from: int = 2,
) -> Table:
    data = [[Paragraph(str(h), st["head"]) for h in headers]]
    for values in rows:
        data.append(
            [
                Paragraph(v, st["num"] if i >= numeric_from else st["cell"])
                for i, v in enumerate(values)
            ]
        )
    table = Table(data, colWidths=widths, repeatRows=1)
    style = [
        ("GRID", (0, 0), (-1, -1), 0.4, colors.HexColor("#9aa4b1")),
        ("BACKGROUND", (0, 0), (-1, 0), colors.HexColor("#eaeef3")),
        ("VALIGN", (0, 0), (-1, -1), "TOP"),
        ("TOPPADDING", (0, 0), (-1, -1), 2),
        ("BOTTOMPADDING", (0, 0), (-1, -1), 2),
    ]
    if total:
        style.append(("BACKGROUND", (0, -1), (-1, -1), colors.HexColor("#f3f5f8")))
    table.setStyle(TableStyle(style))
    return table


def _esc(text: str) -> str:
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def dashboard_pdf(board: Dashboard) -> bytes:
    """A4 landscape: header block, indicators, the rows (figures, then indicators per row),
    procedures, slowest steps and the monthly trend as tables."""
    with translation.override("vi"):
        st = _styles()
        width = _PAGE[0] - 2 * _MARGIN
        story: list[Any] = [Paragraph(TITLE, st["title"])]
        story += [Paragraph(_esc(line), st["line"]) for line in header_lines(board)]
        story.append(Spacer(1, 4 * mm))

        story.append(Paragraph("Chỉ số Quyết định 766/QĐ-TTg", st["h2"]))
        rows = []
        for ind in board.indicators:
            if ind.key == "average_days":
                value = _days(ind.value)
                parts = f"{_days(Fraction(ind.numerator))} / {_int(ind.denominator or 0)}"
            elif ind.key == "apologies":
                value, parts = _int(int(ind.numerator)), ""
            else:
                value = _pct(ind.value)
                parts = f"{_int(int(ind.numerator))} / {_int(ind.denominator or 0)}"
            rows.append([_esc(str(INDICATORS[ind.key])), parts, value])
        story.append(
            _pdf_table(
                ["Chỉ số", "Tử số / mẫu số", "Giá trị"],
                rows,
                [90 * mm, 45 * mm, 30 * mm],
                st,
                numeric_from=1,
            )
        )

        child = str(CHILD_LABELS[board.child_level])
        story.append(Paragraph(f"Số liệu theo {child.lower()}", st["h2"]))
        cols = [c for c in COLUMNS if c[0] not in ("rated", "satisfied", "apologies")]
        headers = ["Mã", child] + [str(label) for _f, label in cols] + [str(RATES[0][0])]
        code_w, name_w = 30 * mm, 58 * mm
        num_w = (width - code_w - name_w) / (len(headers) - 2)

        def figures(row_code: str, name: str, c: Counts) -> list[str]:
            return (
                [_esc(row_code), _esc(name)]
                + [_int(getattr(c, f)) for f, _l in cols]
                + [_pct(c.on_time_rate)]
            )

        body = [figures(r.code or r.key, _row_name(board, r), r.counts) for r in board.rows]
        body.append(figures("", TOTAL, board.totals))
        widths = [code_w, name_w] + [num_w] * (len(headers) - 2)
        story.append(_pdf_table(headers, body, widths, st, total=True))

        story.append(Paragraph(f"Chỉ số theo {child.lower()}", st["h2"]))
        headers = ["Mã", child] + [str(r[0]) for r in RATES] + [str(INDICATORS["apologies"])]

        def rates(row_code: str, name: str, c: Counts) -> list[str]:
            shown = [_pct(fn(c)) if kind == "pct" else _days(fn(c)) for _l, fn, kind in RATES]
            return [_esc(row_code), _esc(name), *shown, _int(c.apologies)]

        body = [rates(r.code or r.key, _row_name(board, r), r.counts) for r in board.rows]
        body.append(rates("", TOTAL, board.totals))
        num_w = (width - code_w - name_w) / (len(headers) - 2)
        widths = [code_w, name_w] + [num_w] * (len(headers) - 2)
        story.append(_pdf_table(headers, body, widths, st, total=True))

        if board.procedures:
            story.append(Paragraph("Theo thủ tục hành chính", st["h2"]))
            headers = [
                "Mã",
                "Thủ tục",
                "Thời hạn",
                "Tiếp nhận",
                "Đã giải quyết",
                "Trước hạn",
                "Đúng hạn",
                "Quá hạn",
                str(INDICATORS["on_time_share"]),
                str(RATES[1][0]),
            ]
            body = [
                [
                    _esc(p.code),
                    _esc(p.name_vi),
                    _deadline_vi(p.deadline),
                    _int(p.counts.received),
                    _int(p.counts.resolved),
                    _int(p.counts.early),
                    _int(p.counts.on_time),
                    _int(p.counts.late),
                    _pct(p.counts.on_time_rate),
                    _days(p.counts.average_days),
                ]
                for p in board.procedures
            ]
            num_w = (width - 25 * mm - 95 * mm - 28 * mm) / 7
            widths = [25 * mm, 95 * mm, 28 * mm] + [num_w] * 7
            story.append(_pdf_table(headers, body, widths, st, numeric_from=3))

        if board.slowest_steps:
            story.append(Paragraph("Các bước xử lý chậm nhất", st["h2"]))
            body = [
                [
                    _esc(str(DossierState(s.state).label)),
                    _esc(s.department_name or "—"),
                    _int(s.dossiers),
                    _days(s.average_days),
                ]
                for s in board.slowest_steps
            ]
            story.append(
                _pdf_table(
                    ["Trạng thái", "Phòng/bộ phận", "Số hồ sơ", "Số ngày bình quân"],
                    body,
                    [60 * mm, 80 * mm, 30 * mm, 35 * mm],
                    st,
                )
            )

        story.append(Paragraph("Xu hướng theo tháng, so với cùng kỳ năm trước", st["h2"]))
        body = [
            [
                f"{t.month:%m/%Y}",
                _int(t.resolved),
                _pct(t.rate),
                _int(t.previous_resolved),
                _pct(t.previous_rate),
            ]
            for t in board.trend
        ]
        story.append(
            _pdf_table(
                [
                    "Tháng",
                    "Đã giải quyết",
                    "Tỷ lệ trước hạn, đúng hạn",
                    "Cùng kỳ năm trước: đã giải quyết",
                    "Cùng kỳ năm trước: tỷ lệ",
                ],
                body,
                [30 * mm, 35 * mm, 45 * mm, 50 * mm, 45 * mm],
                st,
                numeric_from=1,
            )
        )

        buffer = io.BytesIO()
        doc = SimpleDocTemplate(
            buffer,
            pagesize=_PAGE,
            leftMargin=_MARGIN,
            rightMargin=_MARGIN,
            topMargin=_MARGIN,
            bottomMargin=_MARGIN,
            title=TITLE,
            author="ansinh",
            subject=board.scope_label,
            creator="ansinh",
            lang="vi",
            initialFontName=FONT_FAMILY,
            initialFontSize=8,
            invariant=1,
        )
        doc.build(story, onFirstPage=_footer, onLaterPages=_footer)
        return buffer.getvalue()


def _footer(canvas: Any, doc: SimpleDocTemplate) -> None:
    canvas.saveState()
    canvas.setFont(FONT_FAMILY, 8)
    canvas.drawRightString(_PAGE[0] - _MARGIN, 7 * mm, f"Trang {doc.page}")
    canvas.restoreState()
