"""How an e-card looks: the QR code (PNG or SVG) and a printable PDF card, and the way back
from a PNG, a PDF or a URL to the token (for ``ansinh ecard verify``).

The QR code encodes the public check page's address with the token after ``#``: a phone's
camera opens the page, and the fragment never reaches the server's access log (the page's
script posts it). The PDF card is ID-1 size (85.6 × 54 mm), Liberation Serif embedded (full
Vietnamese coverage), the QR on the right, and a link annotation holding the same URL.
"""

from __future__ import annotations

import datetime as dt
import io
import re
from dataclasses import dataclass
from pathlib import Path
from zoneinfo import ZoneInfo

import qrcode
import qrcode.image.svg
from qrcode.constants import ERROR_CORRECT_M
from reportlab.graphics import renderPDF
from reportlab.graphics.barcode.qr import QrCodeWidget
from reportlab.graphics.shapes import Drawing
from reportlab.lib import colors
from reportlab.lib.units import mm
from reportlab.pdfgen.canvas import Canvas

from ansinh.nationaldb.cardcheck import CardClaims, find_token

VN_TZ = ZoneInfo("Asia/Ho_Chi_Minh")
CARD_W, CARD_H = 85.6 * mm, 54 * mm
TITLE = "THẺ AN SINH XÃ HỘI ĐIỆN TỬ"
COVERAGE_LABELS = {"bhxh": "BHXH", "bhyt": "BHYT", "bhtn": "BHTN"}
_EMBEDDED = re.compile(rb"eyJ[A-Za-z0-9_-]{10,}\.[A-Za-z0-9_-]{10,}\.[A-Za-z0-9_-]{20,}")


def check_url(base_url: str, path: str, token: str) -> str:
    """The address the QR code encodes: the check page with the token as its fragment."""
    return f"{base_url.rstrip('/')}{path}#{token}"


def _qr(data: str) -> qrcode.QRCode:
    code = qrcode.QRCode(error_correction=ERROR_CORRECT_M, box_size=4, border=4)
    code.add_data(data)
    code.make(fit=True)
    return code


def qr_png(data: str, *, box_size: int = 4) -> bytes:
    code = _qr(data)
    code.box_size = box_size
    out = io.BytesIO()
    code.make_image().save(out, format="PNG")
    return out.getvalue()


def qr_svg(data: str) -> str:
    """A standalone SVG document of the QR code."""
    code = _qr(data)
    image = code.make_image(image_factory=qrcode.image.svg.SvgPathImage)
    return image.to_string(encoding="unicode")


@dataclass(frozen=True)
class CardFace:
    """What the printed card shows: the claims, and the issuer's name."""

    claims: CardClaims
    url: str
    issuer_name: str = "Bảo hiểm xã hội Việt Nam"


def _day(value: dt.datetime | dt.date) -> str:
    if isinstance(value, dt.datetime):
        value = value.astimezone(VN_TZ).date()
    return f"{value:%d/%m/%Y}"


def card_pdf(face: CardFace) -> bytes:
    """The card as a one-page PDF of ID-1 size; deterministic for equal input."""
    from ansinh.onestop.documents import FONT_FAMILY, register_fonts

    register_fonts()
    regular, bold = FONT_FAMILY, f"{FONT_FAMILY}-Bold"
    claims = face.claims
    out = io.BytesIO()
    canvas = Canvas(out, pagesize=(CARD_W, CARD_H), invariant=1)
    canvas.setTitle(f"{TITLE} {claims.card_id}")
    canvas.setAuthor(face.issuer_name)
    # Band and title.
    canvas.setFillColor(colors.HexColor("#0b5394"))
    canvas.rect(0, CARD_H - 9 * mm, CARD_W, 9 * mm, stroke=0, fill=1)
    canvas.setFillColor(colors.white)
    canvas.setFont(bold, 8.5)
    canvas.drawString(3 * mm, CARD_H - 4.4 * mm, TITLE)
    canvas.setFont(regular, 6)
    canvas.drawString(3 * mm, CARD_H - 7.4 * mm, face.issuer_name)
    # QR code on the right, linked to the check page.
    size = 33 * mm
    qr_x, qr_y = CARD_W - size - 1.5 * mm, 2 * mm
    widget = QrCodeWidget(face.url, barLevel="M", barBorder=2)
    x0, y0, x1, y1 = widget.getBounds()
    drawing = Drawing(size, size, transform=[size / (x1 - x0), 0, 0, size / (y1 - y0), 0, 0])
    drawing.add(widget)
    renderPDF.draw(drawing, canvas, qr_x, qr_y)
    canvas.linkURL(face.url, (qr_x, qr_y, qr_x + size, qr_y + size), relative=0)
    # Holder and card facts on the left.
    canvas.setFillColor(colors.black)
    y = CARD_H - 14 * mm
    canvas.setFont(bold, 9)
    canvas.drawString(3 * mm, y, claims.name.upper())
    lines = [
        ("Số an sinh xã hội", claims.ss_number),
        ("Ngày sinh", _day(claims.date_of_birth)),
        (
            "Bảo hiểm",
            ", ".join(COVERAGE_LABELS[c] for c in claims.coverage) or "không tham gia",
        ),
        ("Chương trình", ", ".join(claims.programmes) or "—"),
        ("Cấp ngày", _day(claims.issued_at)),
        ("Có giá trị đến", _day(claims.expires_at)),
        ("Mã thẻ", claims.card_id),
    ]
    for label, value in lines:
        y -= 4.6 * mm
        canvas.setFont(regular, 6)
        canvas.drawString(3 * mm, y, label)
        canvas.setFont(bold, 7.5)
        canvas.drawString(22 * mm, y, value)
    canvas.setFont(regular, 5)
    canvas.drawString(3 * mm, 2.5 * mm, "Quét mã QR để kiểm tra thẻ")
    canvas.showPage()
    canvas.save()
    return out.getvalue()


def token_from_bytes(data: bytes) -> str:
    """The token in a file's bytes: a PNG (decoded as a QR code), a PDF of ours (the link
    URL), or text (a token or check-page URL). Empty when none is found."""
    if data.startswith(b"\x89PNG") or data[:3] == b"\xff\xd8\xff":
        return find_token(_decode_qr(data))
    if data.startswith(b"%PDF"):
        match = _EMBEDDED.search(data)
        return match.group(0).decode("ascii") if match else ""
    return find_token(data.decode("utf-8", errors="replace"))


def token_from_path(path: Path) -> str:
    return token_from_bytes(path.read_bytes())


def _decode_qr(data: bytes) -> str:
    """The text of the first QR code in an image (zxing-cpp)."""
    import zxingcpp
    from PIL import Image

    with Image.open(io.BytesIO(data)) as image:
        results = zxingcpp.read_barcodes(image.convert("L"))
    for result in results:
        if result.text:
            return str(result.text)
    return ""
