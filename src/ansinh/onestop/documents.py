"""Official PDF documents of the one-stop (một cửa) dossier system.

Two slips are rendered with reportlab, without touching the database:

* the dossier receipt and appointment slip (Giấy tiếp nhận hồ sơ và hẹn trả kết quả, form 01 of
  Circular 01/2018/TT-VPCP under Decree 61/2018/NĐ-CP as amended by Decree 118/2025/NĐ-CP);
* the apology and new-appointment slip (Phiếu xin lỗi và hẹn lại ngày trả kết quả, form 04),
  issued when a dossier will miss its due date.

Both follow the administrative document layout of Decree 30/2020/NĐ-CP, Appendix I: A4 portrait,
margins 20/20/30/15 mm (top/bottom/left/right), a two-column header (agency names on the left,
national name and motto on the right, each with its rule), number and dated place line, centred
title, body in 13 pt, signature block on the right and "Nơi nhận" on the left, page numbers
from page 2 centred in the top margin. Times New Roman is prescribed but not redistributable, so
the metric-compatible Liberation Serif (SIL OFL 1.1, vendored in ``fonts/``) is embedded.

Callers (the one-stop services) fill the frozen dataclasses below; the functions return bytes.
Rendering is deterministic (``invariant=1``): equal input gives byte-identical PDFs.
"""

from __future__ import annotations

import datetime as dt
import html
import io
import unicodedata
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from zoneinfo import ZoneInfo

from reportlab.graphics.barcode.qr import QrCodeWidget
from reportlab.graphics.shapes import Drawing
from reportlab.lib import colors
from reportlab.lib.enums import TA_CENTER, TA_JUSTIFY, TA_LEFT
from reportlab.lib.pagesizes import A4
from reportlab.lib.styles import ParagraphStyle
from reportlab.lib.units import mm
from reportlab.pdfbase import pdfmetrics
from reportlab.pdfbase.ttfonts import TTFont
from reportlab.pdfgen.canvas import Canvas
from reportlab.platypus import (
    Flowable,
    HRFlowable,
    KeepTogether,
    Paragraph,
    SimpleDocTemplate,
    Spacer,
    Table,
    TableStyle,
)

VN_TZ = ZoneInfo("Asia/Ho_Chi_Minh")

NATIONAL_NAME = "CỘNG HÒA XÃ HỘI CHỦ NGHĨA VIỆT NAM"
MOTTO = "Độc lập - Tự do - Hạnh phúc"
RECEIPT_TITLE = "GIẤY TIẾP NHẬN HỒ SƠ VÀ HẸN TRẢ KẾT QUẢ"
APOLOGY_TITLE = "PHIẾU XIN LỖI VÀ HẸN LẠI NGÀY TRẢ KẾT QUẢ"
QR_CAPTION = "Quét mã để tra cứu tình trạng hồ sơ"


# --------------------------------------------------------------------------- input data


@dataclass(frozen=True)
class Agency:
    """The issuing agency (cơ quan ban hành) and its superior (cơ quan chủ quản)."""

    superior_name: str
    name: str
    place: str
    address: str = ""
    phone: str = ""


@dataclass(frozen=True)
class Signer:
    """Who signs the slip: position title and full name."""

    position: str
    name: str


@dataclass(frozen=True)
class DocumentLine:
    """One component of the dossier (thành phần hồ sơ) as handed in."""

    name: str
    copies: int = 1
    original: bool = True


@dataclass(frozen=True)
class ReceiptData:
    """Everything printed on the receipt and appointment slip."""

    agency: Agency
    dossier_code: str
    number: str
    issued_at: dt.datetime
    applicant_name: str
    applicant_address: str
    applicant_phone: str
    procedure_code: str
    procedure_name: str
    documents: tuple[DocumentLine, ...]
    received_at: dt.datetime
    due_at: dt.datetime
    channel_label: str
    result_place: str
    status_url: str
    signer: Signer


@dataclass(frozen=True)
class ApologyData:
    """Everything printed on the apology and new-appointment slip."""

    agency: Agency
    dossier_code: str
    number: str
    issued_at: dt.datetime
    applicant_name: str
    procedure_name: str
    received_at: dt.datetime
    old_due_at: dt.datetime
    new_due_at: dt.datetime
    reason: str
    status_url: str
    signer: Signer


# --------------------------------------------------------------------------- fonts

FONT_DIR = Path(__file__).parent / "fonts"
FONT_FAMILY = "LiberationSerif"
_REGULAR = FONT_FAMILY
_BOLD = f"{FONT_FAMILY}-Bold"
_ITALIC = f"{FONT_FAMILY}-Italic"
_BOLD_ITALIC = f"{FONT_FAMILY}-BoldItalic"
_fonts_ready = False


def register_fonts() -> None:
    """Register the vendored Liberation Serif faces with reportlab, once per process.

    The flag is checked without a lock: registering twice (two threads racing on first use)
    only replaces equal entries in reportlab's registry, so the guard just saves the work.
    """
    global _fonts_ready
    if _fonts_ready:
        return
    for name, stem in (
        (_REGULAR, "Regular"),
        (_BOLD, "Bold"),
        (_ITALIC, "Italic"),
        (_BOLD_ITALIC, "BoldItalic"),
    ):
        pdfmetrics.registerFont(TTFont(name, str(FONT_DIR / f"LiberationSerif-{stem}.ttf")))
    pdfmetrics.registerFontFamily(
        FONT_FAMILY, normal=_REGULAR, bold=_BOLD, italic=_ITALIC, boldItalic=_BOLD_ITALIC
    )
    _fonts_ready = True


# --------------------------------------------------------------------------- dates and text


def _local(value: dt.datetime | dt.date) -> dt.datetime | dt.date:
    """Vietnam local time of an aware datetime; naive datetimes and dates are taken as local."""
    if isinstance(value, dt.datetime) and value.tzinfo is not None:
        return value.astimezone(VN_TZ)
    return value


def vn_date_line(place: str, d: dt.date | dt.datetime) -> str:
    """Place and date line of an administrative document: "Hà Nội, ngày 05 tháng 02 năm 2026".

    Decree 30/2020/NĐ-CP, Appendix I (place and time of issue): "đối với những số thể hiện ngày
    nhỏ hơn 10 và tháng 1, 2 phải ghi thêm số 0 phía trước" - days below 10 and the months 1 and
    2 take a leading 0 ("ngày 05 tháng 02", "ngày 01 tháng 01"); months 3 to 12 are written as
    they are ("ngày 09 tháng 3", "tháng 11"), so "tháng 1" cannot be extended to "tháng 11".
    """
    local = _local(d)
    day = f"{local.day:02d}"
    month = f"{local.month:02d}" if local.month <= 2 else str(local.month)
    return f"{place}, ngày {day} tháng {month} năm {local.year}"


def vn_time(value: dt.datetime) -> str:
    """Clock time and date as the one-stop forms print it: "14 giờ 05 phút, ngày 23/11/2026"."""
    local = _local(value)
    return f"{local.hour:02d} giờ {local.minute:02d} phút, ngày {local:%d/%m/%Y}"


def _clean(text: str) -> str:
    """NFC-normalise (decomposed diacritics would miss the precomposed glyphs) and trim."""
    return unicodedata.normalize("NFC", text or "").strip()


def _esc(text: str) -> str:
    """Text for reportlab Paragraph markup: applicant names may contain ``<`` or ``&``."""
    return html.escape(_clean(text), quote=False)


def _upper(text: str) -> str:
    return _clean(text).upper()


# --------------------------------------------------------------------------- page layout

PAGE_WIDTH, PAGE_HEIGHT = A4
MARGIN_TOP = 20 * mm
MARGIN_BOTTOM = 20 * mm
MARGIN_LEFT = 30 * mm
MARGIN_RIGHT = 15 * mm
TEXT_WIDTH = PAGE_WIDTH - MARGIN_LEFT - MARGIN_RIGHT
LEFT_COL = 68 * mm  # agency names, number, "Nơi nhận"
RIGHT_COL = TEXT_WIDTH - LEFT_COL  # national name (88 mm at 12 pt bold), date, signature
BODY_SIZE = 13


def _style(
    name: str,
    *,
    font: str = _REGULAR,
    size: float = BODY_SIZE,
    align: int = TA_LEFT,
    leading: float | None = None,
    before: float = 0,
    after: float = 0,
    indent: float = 0,
) -> ParagraphStyle:
    return ParagraphStyle(
        name,
        fontName=font,
        fontSize=size,
        leading=leading if leading is not None else round(size * 1.2, 1),
        alignment=align,
        spaceBefore=before,
        spaceAfter=after,
        firstLineIndent=indent,
    )


_Styles = dict[str, ParagraphStyle]


def _styles() -> _Styles:
    register_fonts()
    return {
        "superior": _style("superior", size=12, align=TA_CENTER, leading=14),
        "agency": _style("agency", font=_BOLD, size=12, align=TA_CENTER, leading=14),
        "national": _style("national", font=_BOLD, size=12, align=TA_CENTER, leading=14),
        "motto": _style("motto", font=_BOLD, size=13, align=TA_CENTER, leading=15),
        "number": _style("number", align=TA_CENTER),
        "dateline": _style("dateline", font=_ITALIC, align=TA_CENTER),
        "title": _style("title", font=_BOLD, size=14, align=TA_CENTER, leading=17),
        "subtitle": _style("subtitle", align=TA_CENTER, after=6),
        "addressee": _style("addressee", align=TA_CENTER, before=6, after=6),
        "body": _style("body", align=TA_JUSTIFY, after=6, indent=10 * mm, leading=15),
        "cell": _style("cell", size=12, leading=14),
        "cell_c": _style("cell_c", size=12, align=TA_CENTER, leading=14),
        "cell_h": _style("cell_h", font=_BOLD, size=12, align=TA_CENTER, leading=14),
        "position": _style("position", font=_BOLD, align=TA_CENTER),
        "sign_hint": _style("sign_hint", font=_ITALIC, size=12, align=TA_CENTER),
        "signer": _style("signer", font=_BOLD, align=TA_CENTER),
        "recipients_h": _style("recipients_h", font=_BOLD_ITALIC, size=12),
        "recipients": _style("recipients", size=11, leading=13),
        "qr_caption": _style("qr_caption", font=_BOLD, size=12, leading=15),
        "qr_text": _style("qr_text", size=11, leading=14),
    }


def _header(agency: Agency, number: str, issued_at: dt.datetime, st: _Styles) -> Table:
    """Decree 30 header: agency block | national block, then number | place and date."""
    agency_name = _upper(agency.name)
    widest = min(pdfmetrics.stringWidth(agency_name, _BOLD, 12), LEFT_COL)
    left: list[Flowable] = []
    if _clean(agency.superior_name):
        left.append(Paragraph(_esc(_upper(agency.superior_name)), st["superior"]))
    left += [
        Paragraph(_esc(agency_name), st["agency"]),
        # a short rule, between a third and a half of the name's line
        HRFlowable(width=widest * 0.4, thickness=0.6, color=colors.black, spaceBefore=3),
    ]
    right: list[Flowable] = [
        Paragraph(NATIONAL_NAME, st["national"]),
        Paragraph(MOTTO, st["motto"]),
        # the rule under the motto is as long as the motto itself
        HRFlowable(
            width=pdfmetrics.stringWidth(MOTTO, _BOLD, 13),
            thickness=0.6,
            color=colors.black,
            spaceBefore=3,
        ),
    ]
    table = Table(
        [
            [left, right],
            [
                Paragraph(f"Số: {_esc(number)}", st["number"]),
                Paragraph(_esc(vn_date_line(_clean(agency.place), issued_at)), st["dateline"]),
            ],
        ],
        colWidths=[LEFT_COL, RIGHT_COL],
    )
    table.setStyle(
        TableStyle(
            [
                ("VALIGN", (0, 0), (-1, -1), "TOP"),
                ("ALIGN", (0, 0), (-1, -1), "CENTER"),  # rules are centred under their text
                ("LEFTPADDING", (0, 0), (-1, -1), 0),
                ("RIGHTPADDING", (0, 0), (-1, -1), 0),
                ("TOPPADDING", (0, 0), (-1, -1), 0),
                ("BOTTOMPADDING", (0, 0), (-1, -1), 0),
                ("TOPPADDING", (0, 1), (-1, 1), 6),
            ]
        )
    )
    return table


def _title(title: str, dossier_code: str, st: _Styles) -> list[Flowable]:
    return [
        Spacer(1, 6 * mm),
        Paragraph(title, st["title"]),
        Paragraph(f"Mã hồ sơ: <b>{_esc(dossier_code)}</b>", st["subtitle"]),
    ]


def _qr_block(url: str, dossier_code: str, st: _Styles) -> Table:
    """QR code of the status page, with its caption and the URL printed for typing."""
    size = 25 * mm
    widget = QrCodeWidget(_clean(url), barLevel="M")
    x0, y0, x1, y1 = widget.getBounds()
    drawing = Drawing(size, size, transform=[size / (x1 - x0), 0, 0, size / (y1 - y0), 0, 0])
    drawing.add(widget)
    href = html.escape(_clean(url), quote=True)
    text = [
        Paragraph(QR_CAPTION, st["qr_caption"]),
        Paragraph(f'<link href="{href}">{_esc(url)}</link>', st["qr_text"]),
        Paragraph(
            f"hoặc tra cứu bằng mã hồ sơ <b>{_esc(dossier_code)}</b> trên Cổng dịch vụ công.",
            st["qr_text"],
        ),
    ]
    table = Table([[drawing, text]], colWidths=[size + 4 * mm, TEXT_WIDTH - size - 4 * mm])
    table.setStyle(
        TableStyle(
            [
                ("VALIGN", (0, 0), (-1, -1), "MIDDLE"),
                ("LEFTPADDING", (0, 0), (-1, -1), 0),
                ("RIGHTPADDING", (0, 0), (-1, -1), 0),
            ]
        )
    )
    return table


def _signature(signer: Signer, recipients: Sequence[str], st: _Styles) -> KeepTogether:
    """ "Nơi nhận" on the left, position title, room to sign and the signer's name on the right."""
    left: list[Flowable] = [Paragraph("Nơi nhận:", st["recipients_h"])]
    left += [Paragraph(f"- {_esc(line)}", st["recipients"]) for line in recipients]
    right: list[Flowable] = [
        Paragraph(_esc(_upper(signer.position)), st["position"]),
        Paragraph("(Ký, ghi rõ họ tên)", st["sign_hint"]),
        Spacer(1, 20 * mm),
        Paragraph(_esc(signer.name), st["signer"]),
    ]
    table = Table([[left, right]], colWidths=[LEFT_COL, RIGHT_COL])
    table.setStyle(
        TableStyle(
            [
                ("VALIGN", (0, 0), (-1, -1), "TOP"),
                ("LEFTPADDING", (0, 0), (-1, -1), 0),
                ("RIGHTPADDING", (0, 0), (-1, -1), 0),
            ]
        )
    )
    return KeepTogether([Spacer(1, 2 * mm), table])


def _page_number(canvas: Canvas, doc: SimpleDocTemplate) -> None:
    """Decree 30: pages numbered from 2, centred in the top margin, 13 pt upright."""
    canvas.saveState()
    canvas.setFont(_REGULAR, 13)
    canvas.drawCentredString(MARGIN_LEFT + TEXT_WIDTH / 2, PAGE_HEIGHT - 12 * mm, str(doc.page))
    canvas.restoreState()


def _build(story: list[Flowable], *, title: str, author: str, subject: str) -> bytes:
    buffer = io.BytesIO()
    doc = SimpleDocTemplate(
        buffer,
        pagesize=A4,
        leftMargin=MARGIN_LEFT,
        rightMargin=MARGIN_RIGHT,
        topMargin=MARGIN_TOP,
        bottomMargin=MARGIN_BOTTOM,
        title=title,
        author=author,
        subject=subject,
        creator="ansinh",
        lang="vi",
        initialFontName=_REGULAR,  # else every page names an unembedded Helvetica
        initialFontSize=BODY_SIZE,
        invariant=1,
    )
    doc.build(story, onLaterPages=_page_number)
    return buffer.getvalue()


# --------------------------------------------------------------------------- the two slips


def _documents_table(lines: Sequence[DocumentLine], st: _Styles) -> Table:
    """Components handed in; the header row repeats when the list runs onto another page."""
    rows: list[list[Flowable]] = [
        [
            Paragraph("STT", st["cell_h"]),
            Paragraph("Tên giấy tờ", st["cell_h"]),
            Paragraph("Bản chính/<br/>Bản sao", st["cell_h"]),
            Paragraph("Số lượng", st["cell_h"]),
        ]
    ]
    for i, line in enumerate(lines, start=1):
        rows.append(
            [
                Paragraph(str(i), st["cell_c"]),
                Paragraph(_esc(line.name), st["cell"]),
                Paragraph("Bản chính" if line.original else "Bản sao", st["cell_c"]),
                Paragraph(str(line.copies), st["cell_c"]),
            ]
        )
    widths = [14 * mm, TEXT_WIDTH - 14 * mm - 28 * mm - 20 * mm, 28 * mm, 20 * mm]
    table = Table(rows, colWidths=widths, repeatRows=1, hAlign="LEFT")
    table.setStyle(
        TableStyle(
            [
                ("GRID", (0, 0), (-1, -1), 0.5, colors.black),
                ("VALIGN", (0, 0), (-1, -1), "MIDDLE"),
                ("TOPPADDING", (0, 0), (-1, -1), 2),
                ("BOTTOMPADDING", (0, 0), (-1, -1), 4),
            ]
        )
    )
    return table


def receipt_pdf(data: ReceiptData) -> bytes:
    """Giấy tiếp nhận hồ sơ và hẹn trả kết quả: given to the applicant when a dossier is taken
    in, it proves the hand-in and fixes the date the result is due."""
    st = _styles()
    agency = data.agency
    body = st["body"]
    story: list[Flowable] = [
        _header(agency, data.number, data.issued_at, st),
        *_title(RECEIPT_TITLE, data.dossier_code, st),
    ]
    office = f"Bộ phận tiếp nhận và trả kết quả: <b>{_esc(agency.name)}</b>"
    contact = [
        part
        for part in (
            f"địa chỉ: {_esc(agency.address)}" if _clean(agency.address) else "",
            f"điện thoại: {_esc(agency.phone)}" if _clean(agency.phone) else "",
        )
        if part
    ]
    if contact:
        office += " (" + "; ".join(contact) + ")"
    story.append(Paragraph(office + ".", body))
    story.append(Paragraph(f"Tiếp nhận hồ sơ của: <b>{_esc(data.applicant_name)}</b>.", body))
    reach = [
        part
        for part in (
            f"địa chỉ: {_esc(data.applicant_address)}" if _clean(data.applicant_address) else "",
            f"số điện thoại: {_esc(data.applicant_phone)}" if _clean(data.applicant_phone) else "",
        )
        if part
    ]
    if reach:  # only what the applicant gave
        line = "; ".join(reach)
        story.append(Paragraph(line[0].upper() + line[1:] + ".", body))
    procedure = _esc(data.procedure_name)
    if _clean(data.procedure_code):
        procedure += f" (mã thủ tục: {_esc(data.procedure_code)})"
    story.append(Paragraph(f"Nội dung yêu cầu giải quyết: {procedure}.", body))
    story.append(Paragraph(f"Hình thức nộp hồ sơ: {_esc(data.channel_label)}.", body))
    story.append(Paragraph("1. Thành phần hồ sơ nộp gồm:", body))
    if data.documents:
        story += [_documents_table(data.documents, st), Spacer(1, 6)]
    copies = sum(line.copies for line in data.documents)
    story += [
        Paragraph(
            f"2. Số lượng hồ sơ: 01 bộ, gồm {len(data.documents)} loại giấy tờ, "
            f"tổng cộng {copies} bản.",
            body,
        ),
        Paragraph(f"3. Thời gian nhận hồ sơ: {vn_time(data.received_at)}.", body),
        Paragraph(
            f"4. Thời gian trả kết quả giải quyết hồ sơ: <b>{vn_time(data.due_at)}</b>.", body
        ),
        Paragraph(f"5. Đăng ký nhận kết quả tại: {_esc(data.result_place)}.", body),
        _qr_block(data.status_url, data.dossier_code, st),
        _signature(
            data.signer,
            ["Người nộp hồ sơ;", "Lưu: Bộ phận tiếp nhận và trả kết quả."],
            st,
        ),
    ]
    return _build(
        story,
        title=f"{RECEIPT_TITLE.capitalize()} {_clean(data.dossier_code)}",
        author=_clean(agency.name),
        subject=_clean(data.procedure_name),
    )


def apology_pdf(data: ApologyData) -> bytes:
    """Phiếu xin lỗi và hẹn lại ngày trả kết quả: the agency's written apology when a dossier
    will be late, with the reason and the new date the result will be returned."""
    st = _styles()
    agency = data.agency
    body = st["body"]
    name = _esc(agency.name)
    story: list[Flowable] = [
        _header(agency, data.number, data.issued_at, st),
        *_title(APOLOGY_TITLE, data.dossier_code, st),
        Paragraph(f"Kính gửi: <b>{_esc(data.applicant_name)}</b>", st["addressee"]),
        Paragraph(
            f"Vào {vn_time(data.received_at)}, {name} đã tiếp nhận hồ sơ "
            f"<b>{_esc(data.dossier_code)}</b> của Ông/Bà, đề nghị giải quyết thủ tục "
            f"{_esc(data.procedure_name)}. Thời hạn trả kết quả ghi trên Giấy tiếp nhận hồ sơ "
            f"và hẹn trả kết quả là {vn_time(data.old_due_at)}.",
            body,
        ),
        Paragraph(
            f"Đến nay, {name} chưa trả được kết quả giải quyết hồ sơ của Ông/Bà. "
            f"Lý do: {_esc(data.reason).rstrip('.')}.",
            body,
        ),
        Paragraph(
            f"Sự chậm trễ này đã gây phiền hà cho Ông/Bà. {name} trân trọng xin lỗi Ông/Bà "
            f"và hẹn trả kết quả giải quyết hồ sơ vào <b>{vn_time(data.new_due_at)}</b>.",
            body,
        ),
        Paragraph("Xin trân trọng cảm ơn sự hợp tác của Ông/Bà./.", body),
        Spacer(1, 2 * mm),
        _qr_block(data.status_url, data.dossier_code, st),
        _signature(
            data.signer,
            ["Như trên;", "Lưu: Bộ phận tiếp nhận và trả kết quả."],
            st,
        ),
    ]
    return _build(
        story,
        title=f"{APOLOGY_TITLE.capitalize()} {_clean(data.dossier_code)}",
        author=_clean(agency.name),
        subject=_clean(data.procedure_name),
    )
