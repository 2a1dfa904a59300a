"""Exports of the monthly adoption report (báo cáo tỷ lệ đơn vị giao dịch điện tử): CSV and
XLSX (openpyxl), in Vietnamese whatever the page language, like the one-stop exports.

They hold counts per province only — no employer is named — so they carry no personal data.
The CSV is UTF-8 with a byte-order mark so spreadsheet programs read the diacritics right.
"""

from __future__ import annotations

import csv
import io
from typing import Any

from django.utils import timezone
from openpyxl import Workbook
from openpyxl.styles import Alignment, Font, PatternFill

from ansinh.gateway.selectors import AdoptionReport, ProvinceAdoption

TITLE = "BÁO CÁO TỶ LỆ ĐƠN VỊ SỬ DỤNG LAO ĐỘNG GIAO DỊCH ĐIỆN TỬ"
HEADERS = (
    "Mã tỉnh",
    "Tỉnh, thành phố",
    "Đơn vị đang hoạt động",
    "Đơn vị có giao dịch điện tử",
    "Tỷ lệ",
    "Dưới mục tiêu",
)
TOTAL = "Tổng cộng"
UNPLACED = "Chưa xác định tỉnh"


def header_lines(report: AdoptionReport) -> list[str]:
    p = report.period
    period = f"Tháng {p.start.month:02d}/{p.start.year} ({p.start:%d/%m/%Y} – {p.end:%d/%m/%Y})"
    if report.is_to_date:
        period += " — tháng chưa kết thúc, số liệu đến thời điểm lập"
    made = timezone.localtime(report.generated_at).strftime("%H:%M ngày %d/%m/%Y")
    return [
        period,
        f"Mục tiêu: {_pct_text(report.target)} ({report.target_source})",
        f"Thời điểm lập: {made}",
    ]


def _pct_text(value: Any) -> str:
    return f"{float(value) * 100:.1f}%".replace(".", ",")


def _name(row: ProvinceAdoption) -> str:
    return row.name or (UNPLACED if not row.code else row.code)


def _cells(row: ProvinceAdoption, *, total: bool = False) -> list[Any]:
    share = row.share
    return [
        "" if total else row.code,
        TOTAL if total else _name(row),
        row.employers,
        row.transacting,
        None if share is None else float(share),
        "x" if row.below_target else None,
    ]


def adoption_csv(report: AdoptionReport) -> bytes:
    """The per-province table; the share as a decimal fraction (0.9123), dot separated."""
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\r\n")
    writer.writerow([TITLE])
    for line in header_lines(report):
        writer.writerow([line])
    writer.writerow([])
    writer.writerow(HEADERS)
    for row in [*report.rows, None]:
        cells = _cells(report.total, total=True) if row is None else _cells(row)
        if cells[4] is not None:
            cells[4] = f"{cells[4]:.4f}"
        writer.writerow(["" if c is None else c for c in cells])
    return ("\ufeff" + out.getvalue()).encode("utf-8")


_BOLD = Font(bold=True)
_HEAD_FILL = PatternFill("solid", fgColor="EAEEF3")
_BELOW_FILL = PatternFill("solid", fgColor="FBE3E1")


def adoption_xlsx(report: AdoptionReport) -> bytes:
    """One sheet: the header block, the table with a total row (share as a percentage
    format), provinces below the target shaded; a second sheet lists them."""
    wb = Workbook()
    ws = wb.active
    ws.title = f"{report.period.start:%Y-%m}"
    ws["A1"] = TITLE
    ws["A1"].font = Font(bold=True, size=13)
    for i, line in enumerate(header_lines(report), start=2):
        ws.cell(row=i, column=1, value=line)
    first = 6
    for col, text in enumerate(HEADERS, start=1):
        cell = ws.cell(row=first, column=col, value=text)
        cell.font = _BOLD
        cell.fill = _HEAD_FILL
        cell.alignment = Alignment(wrap_text=True, vertical="top")
    r = first
    for row in report.rows:
        r += 1
        for col, value in enumerate(_cells(row), start=1):
            cell = ws.cell(row=r, column=col, value=value)
            if row.below_target:
                cell.fill = _BELOW_FILL
        ws.cell(row=r, column=5).number_format = "0.0%"
    r += 1
    for col, value in enumerate(_cells(report.total, total=True), start=1):
        ws.cell(row=r, column=col, value=value).font = _BOLD
    ws.cell(row=r, column=5).number_format = "0.0%"
    for col, width in zip("ABCDEF", (9, 34, 14, 16, 10, 12), strict=True):
        ws.column_dimensions[col].width = width
    ws.freeze_panes = ws.cell(row=first + 1, column=1)

    below = wb.create_sheet("Dưới mục tiêu")
    below["A1"] = f"Tỉnh, thành phố dưới mục tiêu {_pct_text(report.target)}"
    below["A1"].font = _BOLD
    for col, text in enumerate(HEADERS[:5], start=1):
        cell = below.cell(row=2, column=col, value=text)
        cell.font = _BOLD
        cell.fill = _HEAD_FILL
    for i, row in enumerate(report.below, start=3):
        for col, value in enumerate(_cells(row)[:5], start=1):
            below.cell(row=i, column=col, value=value)
        below.cell(row=i, column=5).number_format = "0.0%"
    below.column_dimensions["B"].width = 34
    buffer = io.BytesIO()
    wb.save(buffer)
    return buffer.getvalue()
