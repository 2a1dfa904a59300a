"""The one-stop PDF slips: Vietnamese text, embedded font, A4, QR caption, escaping, paging.

No database: ``ansinh.onestop.documents`` works on plain dataclasses.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import io
import re

import pytest
from pypdf import PdfReader

from ansinh.onestop.documents import (
    Agency,
    ApologyData,
    DocumentLine,
    ReceiptData,
    Signer,
    apology_pdf,
    receipt_pdf,
    vn_date_line,
    vn_time,
)

UTC = dt.UTC
STATUS_URL = "https://ansinh.example.vn/tra-cuu/H01.23-261123-0042"


def _agency() -> Agency:
    return Agency(
        superior_name="Bảo hiểm xã hội Việt Nam",
        name="Bảo hiểm xã hội tỉnh Hà Nội",
        place="Hà Nội",
        address="Số 9 Trần Duy Hưng",
        phone="024 3793 0000",
    )


def _receipt(**changes: object) -> ReceiptData:
    data = ReceiptData(
        agency=_agency(),
        dossier_code="H01.23-261123-0042",
        number="42/GTN-BHXH",
        issued_at=dt.datetime(2026, 11, 23, 7, 5, tzinfo=UTC),
        applicant_name="Nguyễn Thị Hồng Nhung",
        applicant_address="Số 12 phố Đội Cấn, phường Ngọc Hà",
        applicant_phone="0912 345 678",
        procedure_code="1.001234",
        procedure_name="Cấp lại sổ bảo hiểm xã hội do bị mất, hỏng",
        documents=(
            DocumentLine("Tờ khai tham gia, điều chỉnh thông tin bảo hiểm xã hội (Mẫu TK1-TS)"),
            DocumentLine("Căn cước công dân", copies=1, original=False),
            DocumentLine("Giấy xác nhận của cơ quan có thẩm quyền", copies=2),
        ),
        # 07:05 UTC is 14:05 in Hà Nội, 10:00 UTC is 17:00
        received_at=dt.datetime(2026, 11, 23, 7, 5, tzinfo=UTC),
        due_at=dt.datetime(2026, 11, 30, 10, 0, tzinfo=UTC),
        channel_label="Trực tiếp",
        result_place="Bộ phận tiếp nhận và trả kết quả, Bảo hiểm xã hội tỉnh Hà Nội",
        status_url=STATUS_URL,
        signer=Signer(position="Cán bộ tiếp nhận", name="Trần Văn Bình"),
    )
    return dataclasses.replace(data, **changes)


def _apology() -> ApologyData:
    return ApologyData(
        agency=_agency(),
        dossier_code="H01.23-261123-0042",
        number="7/PXL-BHXH",
        issued_at=dt.datetime(2026, 11, 30, 2, 0, tzinfo=UTC),
        applicant_name="Nguyễn Thị Hồng Nhung",
        procedure_name="Cấp lại sổ bảo hiểm xã hội do bị mất, hỏng",
        received_at=dt.datetime(2026, 11, 23, 7, 5, tzinfo=UTC),
        old_due_at=dt.datetime(2026, 11, 30, 10, 0, tzinfo=UTC),
        new_due_at=dt.datetime(2026, 12, 4, 10, 0, tzinfo=UTC),
        reason="Cần xác minh quá trình đóng tại đơn vị cũ",
        status_url=STATUS_URL,
        signer=Signer(position="Giám đốc", name="Lê Minh Châu"),
    )


def _text(pdf: bytes) -> str:
    """All pages' text with line breaks folded to spaces (wrapped lines join up again)."""
    reader = PdfReader(io.BytesIO(pdf))
    raw = "\n".join(page.extract_text() for page in reader.pages)
    return re.sub(r"\s+", " ", raw)


@pytest.fixture(scope="module")
def receipt() -> bytes:
    return receipt_pdf(_receipt())


def test_receipt_vietnamese_text(receipt: bytes) -> None:
    text = _text(receipt)
    for expected in (
        "BẢO HIỂM XÃ HỘI VIỆT NAM",
        "BẢO HIỂM XÃ HỘI TỈNH HÀ NỘI",
        "CỘNG HÒA XÃ HỘI CHỦ NGHĨA VIỆT NAM",
        "Độc lập - Tự do - Hạnh phúc",
        "Số: 42/GTN-BHXH",
        "Hà Nội, ngày 23 tháng 11 năm 2026",
        "GIẤY TIẾP NHẬN HỒ SƠ VÀ HẸN TRẢ KẾT QUẢ",
        "Mã hồ sơ: H01.23-261123-0042",
        "Nguyễn Thị Hồng Nhung",
        "Cấp lại sổ bảo hiểm xã hội do bị mất, hỏng",
        "1.001234",
        "Căn cước công dân",
        "Bản sao",
        "Thời gian nhận hồ sơ: 14 giờ 05 phút, ngày 23/11/2026",
        "Thời gian trả kết quả giải quyết hồ sơ: 17 giờ 00 phút, ngày 30/11/2026",
        "Trực tiếp",
        "Nơi nhận:",
        "CÁN BỘ TIẾP NHẬN",
        "Trần Văn Bình",
    ):
        assert expected in text, expected


def test_receipt_is_a4_single_page(receipt: bytes) -> None:
    reader = PdfReader(io.BytesIO(receipt))
    assert len(reader.pages) == 1
    box = reader.pages[0].mediabox
    assert float(box.width) == pytest.approx(595.27, abs=1)
    assert float(box.height) == pytest.approx(841.89, abs=1)


def test_receipt_embeds_liberation_serif(receipt: bytes) -> None:
    fonts = PdfReader(io.BytesIO(receipt)).pages[0]["/Resources"]["/Font"]
    embedded = [
        str(font["/BaseFont"])
        for font in (ref.get_object() for ref in fonts.values())
        if "/FontDescriptor" in font and "/FontFile2" in font["/FontDescriptor"]
    ]
    assert any("LiberationSerif" in name for name in embedded)
    assert any("LiberationSerif-Bold" in name for name in embedded)
    assert any("LiberationSerif-Italic" in name for name in embedded)


def test_receipt_has_qr_code_with_caption_and_url(receipt: bytes) -> None:
    text = _text(receipt)
    assert "Quét mã để tra cứu tình trạng hồ sơ" in text
    assert STATUS_URL in text
    # the QR code is vector art: one filled rectangle per dark module run
    content = PdfReader(io.BytesIO(receipt)).pages[0].get_contents().get_data()
    assert content.count(b" re ") > 100


def test_receipt_is_deterministic(receipt: bytes) -> None:
    assert receipt_pdf(_receipt()) == receipt


def test_markup_in_names_renders_literally() -> None:
    hostile = "Công ty <b>A&B</b> & Sons"
    pdf = receipt_pdf(
        _receipt(
            applicant_name=hostile,
            documents=(DocumentLine("Giấy tờ <i>x</i> & y"),),
            signer=Signer(position="Cán bộ <tiếp nhận>", name="Trần <Văn> & Bình"),
        )
    )
    text = _text(pdf)
    assert hostile in text
    assert "Giấy tờ <i>x</i> & y" in text
    assert "CÁN BỘ <TIẾP NHẬN>" in text
    assert "Trần <Văn> & Bình" in text


def test_optional_applicant_contact_is_left_out() -> None:
    text = _text(receipt_pdf(_receipt(applicant_address="", applicant_phone="")))
    assert "Số 12 phố Đội Cấn" not in text
    assert "điện thoại: 0912" not in text.lower()


def test_long_document_list_spills_onto_second_page() -> None:
    names = tuple(f"Giấy tờ kèm theo số {i:03d}" for i in range(1, 61))
    pdf = receipt_pdf(_receipt(documents=tuple(DocumentLine(n) for n in names)))
    reader = PdfReader(io.BytesIO(pdf))
    assert len(reader.pages) >= 2
    text = _text(pdf)
    for name in names:
        assert name in text, name
    assert "gồm 60 loại giấy tờ, tổng cộng 60 bản" in text
    second = reader.pages[1].extract_text()
    assert "Tên giấy tờ" in second  # the table header repeats
    assert second.lstrip().startswith("2")  # Decree 30: page numbers from page 2


def test_apology_slip() -> None:
    pdf = apology_pdf(_apology())
    reader = PdfReader(io.BytesIO(pdf))
    assert len(reader.pages) == 1
    text = _text(pdf)
    for expected in (
        "CỘNG HÒA XÃ HỘI CHỦ NGHĨA VIỆT NAM",
        "Độc lập - Tự do - Hạnh phúc",
        "Hà Nội, ngày 30 tháng 11 năm 2026",
        "PHIẾU XIN LỖI VÀ HẸN LẠI NGÀY TRẢ KẾT QUẢ",
        "Kính gửi: Nguyễn Thị Hồng Nhung",
        "H01.23-261123-0042",
        "14 giờ 05 phút, ngày 23/11/2026",
        "17 giờ 00 phút, ngày 30/11/2026",
        "Lý do: Cần xác minh quá trình đóng tại đơn vị cũ.",
        "xin lỗi Ông/Bà",
        "17 giờ 00 phút, ngày 04/12/2026",
        "GIÁM ĐỐC",
        "Lê Minh Châu",
        "Quét mã để tra cứu tình trạng hồ sơ",
        STATUS_URL,
    ):
        assert expected in text, expected
    assert apology_pdf(_apology()) == pdf


def test_vn_date_line_leading_zeros() -> None:
    """Decree 30/2020/NĐ-CP Appendix I: days below 10 and the months 1 and 2 take a leading 0;
    months 3 to 12 are written as they are."""
    assert vn_date_line("Hà Nội", dt.date(2026, 2, 5)) == "Hà Nội, ngày 05 tháng 02 năm 2026"
    assert vn_date_line("Hà Nội", dt.date(2026, 11, 23)) == "Hà Nội, ngày 23 tháng 11 năm 2026"
    assert vn_date_line("Huế", dt.date(2026, 1, 1)) == "Huế, ngày 01 tháng 01 năm 2026"
    assert vn_date_line("Huế", dt.date(2026, 3, 9)) == "Huế, ngày 09 tháng 3 năm 2026"
    assert vn_date_line("Huế", dt.date(2026, 12, 10)) == "Huế, ngày 10 tháng 12 năm 2026"


def test_dates_print_in_vietnam_time() -> None:
    new_year = dt.datetime(2026, 12, 31, 18, 0, tzinfo=UTC)  # 01:00 on 1 January in Hà Nội
    assert vn_date_line("Hà Nội", new_year) == "Hà Nội, ngày 01 tháng 01 năm 2027"
    assert vn_time(new_year) == "01 giờ 00 phút, ngày 01/01/2027"
    assert vn_time(dt.datetime(2026, 11, 23, 7, 5, tzinfo=UTC)) == "14 giờ 05 phút, ngày 23/11/2026"
