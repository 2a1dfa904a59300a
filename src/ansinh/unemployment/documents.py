"""The decision PDF (Quyết định về việc hưởng / tạm dừng / tiếp tục / chấm dứt hưởng trợ cấp thất
nghiệp) in the administrative document layout of Decree 30/2020/NĐ-CP, Appendix I.

It is built the way ``onestop.documents`` builds its slips — reportlab, the same vendored
Liberation Serif faces (Vietnamese glyphs), the same header, signature block and deterministic
build — by reusing that module's layout helpers, so both apps print one layout.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from dataclasses import dataclass

from reportlab.lib.units import mm
from reportlab.platypus import Flowable, Paragraph, Spacer

from ansinh.onestop import documents as od

TITLES = {
    "grant": "Về việc hưởng trợ cấp thất nghiệp",
    "refuse": "Về việc không giải quyết hưởng trợ cấp thất nghiệp",
    "suspend": "Về việc tạm dừng hưởng trợ cấp thất nghiệp",
    "resume": "Về việc tiếp tục hưởng trợ cấp thất nghiệp",
    "terminate": "Về việc chấm dứt hưởng trợ cấp thất nghiệp",
}


@dataclass(frozen=True)
class DecisionData:
    kind: str
    number: str  # number and symbol, e.g. "125/QĐ-SNV"
    issuer_superior: str
    issuer_name: str
    place: str
    signed_on: dt.date
    signer_title: str
    signer_name: str
    legal_bases: Sequence[str]  # "Căn cứ …" lines
    proposal: str  # "Xét đề nghị của Giám đốc Trung tâm dịch vụ việc làm …"
    articles: Sequence[str]  # Điều 1, 2, 3 texts (without the "Điều n." prefix)
    recipients: Sequence[str]


def decision_pdf(data: DecisionData) -> bytes:
    st = od._styles()
    agency = od.Agency(superior_name=data.issuer_superior, name=data.issuer_name, place=data.place)
    issued = dt.datetime.combine(data.signed_on, dt.time(8, 0), tzinfo=od.VN_TZ)
    story: list[Flowable] = [
        od._header(agency, data.number, issued, st),
        Spacer(1, 6 * mm),
        Paragraph("QUYẾT ĐỊNH", st["title"]),
        Paragraph(od._esc(TITLES[data.kind]), st["subtitle"]),
        Paragraph(od._esc(od._upper(data.signer_title + " " + data.issuer_name)), st["title"]),
        Spacer(1, 3 * mm),
    ]
    for line in data.legal_bases:
        story.append(Paragraph(od._esc(line) + ";", st["body"]))
    story.append(Paragraph(od._esc(data.proposal) + ".", st["body"]))
    story.append(Paragraph("QUYẾT ĐỊNH:", st["title"]))
    story.append(Spacer(1, 2 * mm))
    for i, text in enumerate(data.articles, start=1):
        story.append(Paragraph(f"<b>Điều {i}.</b> {od._esc(text)}", st["body"]))
    story.append(od._signature(od.Signer(data.signer_title, data.signer_name), data.recipients, st))
    return od._build(
        story,
        title=f"Quyết định {data.number}",
        author=data.issuer_name,
        subject=TITLES[data.kind],
    )


def vnd(amount: int) -> str:
    """12.345.678 đồng (dots as thousands separators, as Vietnamese documents print them)."""
    return f"{amount:,}".replace(",", ".") + " đồng"


def vn_date(day: dt.date) -> str:
    return f"{day:%d/%m/%Y}"
