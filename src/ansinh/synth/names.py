"""Tables for realistic synthetic Vietnamese persons and employers (all NFC).

The family-name weights follow the commonly cited shares of Vietnamese surnames (Nguyễn about
38%, Trần 11%, Lê 9.5% …); middle and given names are common ones by sex. The tables are ours,
written for this generator; they are plausible, not statistics.
"""

from __future__ import annotations

import random
import unicodedata

#: Họ (family name) → weight in per-mille.
FAMILY_NAMES: dict[str, float] = {
    "Nguyễn": 380,
    "Trần": 110,
    "Lê": 95,
    "Phạm": 70,
    "Hoàng": 41,
    "Huỳnh": 10,
    "Phan": 45,
    "Vũ": 29,
    "Võ": 10,
    "Đặng": 21,
    "Bùi": 20,
    "Đỗ": 14,
    "Hồ": 13,
    "Ngô": 13,
    "Dương": 10,
    "Lý": 5,
    "Đinh": 8,
    "Trịnh": 7,
    "Đoàn": 6,
    "Lương": 5,
    "Mai": 5,
    "Cao": 4,
    "Hà": 4,
    "Tạ": 3,
    "Lâm": 3,
    "Tô": 2,
    "Thái": 2,
    "Vương": 2,
    "Triệu": 2,
    "Chu": 2,
    "Nông": 2,
    "Kiều": 1,
    "Quách": 1,
    "La": 1,
    "Lò": 1,
    "Hứa": 1,
    "Khúc": 0.5,
    "Tăng": 0.5,
}

#: Tên đệm (middle name) by sex → weight.
MIDDLE_NAMES: dict[str, dict[str, float]] = {
    "M": {
        "Văn": 40,
        "Hữu": 6,
        "Đức": 7,
        "Minh": 7,
        "Quang": 5,
        "Công": 4,
        "Thành": 3,
        "Xuân": 3,
        "Ngọc": 2,
        "Anh": 2,
        "Hoàng": 2,
        "Trọng": 3,
        "Quốc": 3,
        "Đình": 4,
        "Tiến": 2,
        "Mạnh": 2,
        "Gia": 2,
        "Duy": 2,
        "Thanh": 2,
        "Bảo": 1,
    },
    "F": {
        "Thị": 45,
        "Ngọc": 7,
        "Thu": 5,
        "Thanh": 5,
        "Minh": 3,
        "Phương": 3,
        "Thùy": 4,
        "Hồng": 4,
        "Kim": 3,
        "Bảo": 2,
        "Mai": 2,
        "Diệu": 1,
        "Khánh": 2,
        "Hoài": 2,
        "Lan": 1,
        "Quỳnh": 2,
        "Hải": 2,
        "Tuyết": 1,
        "Thị Thu": 3,
        "Thị Ngọc": 3,
    },
}

#: Tên (given name) by sex; equally likely.
GIVEN_NAMES: dict[str, tuple[str, ...]] = {
    "M": tuple(
        (
            "An Anh Bảo Bình Cường Chiến Công Dũng Duy Dương Đạt Đức Giang Hải Hào Hiếu Hiệp "
            "Hòa Hoàng Huy Hùng Hưng Khang Khánh Khoa Kiên Lâm Long Lộc Lợi Mạnh Minh Nam "
            "Nghĩa Nhân Phát Phong Phúc Quân Quang Sơn Tài Tâm Thắng Thành Thịnh Tiến Toàn "
            "Trọng Trung Tú Tuấn Tùng Việt Vinh Vũ Khải Đông Hậu Thái Luân Hiển Khôi"
        ).split()
    ),
    "F": tuple(
        (
            "An Anh Ánh Bích Chi Diệp Dung Duyên Giang Hà Hạnh Hằng Hiền Hoa Hòa Hồng Huệ "
            "Hương Huyền Lan Liên Linh Loan Mai My Nga Ngân Ngọc Nhung Nhi Oanh Phương Quyên "
            "Quỳnh Tâm Thảo Thanh Thơ Thu Thủy Trang Trâm Tuyết Uyên Vân Vy Yến Xuân Hạ Khuê "
            "Lụa Nhàn Thoa"
        ).split()
    ),
}

#: Foreign workers without a personal ID: (full name, sex, ISO nationality).
FOREIGN_NAMES: tuple[tuple[str, str, str], ...] = (
    ("Kim Min-jun", "M", "KR"),
    ("Park Ji-hoon", "M", "KR"),
    ("Lee Seo-yeon", "F", "KR"),
    ("Choi Yu-na", "F", "KR"),
    ("Zhang Wei", "M", "CN"),
    ("Wang Fang", "F", "CN"),
    ("Li Na", "F", "CN"),
    ("Chen Jie", "M", "TW"),
    ("Tanaka Hiroshi", "M", "JP"),
    ("Suzuki Yuki", "F", "JP"),
    ("Somchai Phongsri", "M", "TH"),
    ("Maria Santos", "F", "PH"),
    ("John Miller", "M", "US"),
    ("Anna Schmidt", "F", "DE"),
)

#: Brand-like names of firms and business lines, for "Công ty TNHH <line> <brand>".
FIRM_BRANDS: tuple[str, ...] = tuple(
    (
        "Minh Phát|Hoàng Long|Thành Công|Đông Á|Sao Việt|Hà Thành|An Phú|Phú Thịnh|Tân Tiến|"
        "Hưng Thịnh|Việt Tiến|Thiên Long|Đại Dương|Phương Nam|Bắc Hà|Kim Long|Trường Sơn|"
        "Hồng Hà|Thăng Long|Nam Việt|Tràng An|Hải Đăng|Bình Minh|Ánh Dương|Đại Phát|Hòa Bình|"
        "Quang Minh|Thái Sơn|Toàn Cầu|Tiến Phát|Vạn Xuân|Lạc Hồng|Sông Hồng|Tây Hồ|Đông Đô|"
        "Kinh Bắc|Phú Gia|Thuận An|Hải Nam|Việt Hưng|Gia Bảo|Tâm Đức|Nhật Minh|Trí Việt|"
        "Đức Anh|Hoa Sen|Sen Vàng|Ngọc Lan|Thảo Nguyên|Bảo An"
    ).split("|")
)

#: Sector → (weight, business line in the firm name, occupations).
SECTORS: dict[str, tuple[float, tuple[str, ...], tuple[str, ...]]] = {
    "manufacturing": (
        22,
        ("Sản xuất", "Cơ khí", "Điện tử", "May mặc", "Nhựa", "Bao bì"),
        ("Công nhân", "Kỹ thuật viên", "Tổ trưởng sản xuất", "Kỹ sư", "Thủ kho"),
    ),
    "construction": (
        10,
        ("Xây dựng", "Đầu tư Xây dựng", "Kiến trúc", "Cơ điện"),
        ("Công nhân xây dựng", "Kỹ sư xây dựng", "Giám sát công trình", "Lái máy"),
    ),
    "trade": (
        20,
        ("Thương mại", "Thương mại và Dịch vụ", "Xuất nhập khẩu", "Phân phối"),
        ("Nhân viên bán hàng", "Nhân viên kinh doanh", "Kế toán", "Thủ quỹ", "Thủ kho"),
    ),
    "transport": (
        6,
        ("Vận tải", "Logistics", "Giao nhận"),
        ("Lái xe", "Nhân viên giao nhận", "Điều phối viên", "Kế toán"),
    ),
    "food": (
        8,
        ("Thực phẩm", "Nhà hàng", "Chế biến Nông sản"),
        ("Đầu bếp", "Nhân viên phục vụ", "Công nhân chế biến", "Quản lý nhà hàng"),
    ),
    "it": (
        6,
        ("Công nghệ", "Phần mềm", "Giải pháp Số", "Viễn thông"),
        ("Lập trình viên", "Kiểm thử viên", "Quản trị hệ thống", "Chuyên viên dữ liệu"),
    ),
    "services": (
        10,
        ("Dịch vụ", "Tư vấn", "Bảo vệ", "Vệ sinh Công nghiệp", "Du lịch"),
        ("Nhân viên văn phòng", "Chuyên viên tư vấn", "Nhân viên bảo vệ", "Hướng dẫn viên"),
    ),
    "finance": (
        3,
        ("Tài chính", "Đầu tư", "Chứng khoán"),
        ("Chuyên viên tài chính", "Kế toán", "Giao dịch viên", "Kiểm soát viên"),
    ),
}

#: Public bodies on the State pay scale: (sector, name pattern, occupations).
PUBLIC_BODIES: tuple[tuple[str, str, tuple[str, ...]], ...] = (
    ("education", "Trường Mầm non {place}", ("Giáo viên mầm non", "Nhân viên nuôi dưỡng")),
    ("education", "Trường Tiểu học {place}", ("Giáo viên tiểu học", "Nhân viên thư viện")),
    ("education", "Trường THCS {place}", ("Giáo viên THCS", "Nhân viên văn thư")),
    ("education", "Trường THPT {place}", ("Giáo viên THPT", "Nhân viên thiết bị")),
    ("health", "Trạm Y tế {place}", ("Y sĩ", "Điều dưỡng", "Nữ hộ sinh")),
    ("health", "Bệnh viện Đa khoa {place}", ("Bác sĩ", "Điều dưỡng", "Dược sĩ", "Kỹ thuật viên")),
    ("administration", "Ủy ban nhân dân {place}", ("Chuyên viên", "Công chức địa chính")),
)

#: 2025 reform (Resolution 202/2025/QH15): current province → legacy provinces merged into it.
#: Persons of a province were mostly born in these, which sets their personal ID prefix.
PREDECESSORS: dict[str, tuple[str, ...]] = {
    "01": ("01",),
    "04": ("04",),
    "08": ("08", "02"),
    "11": ("11",),
    "12": ("12",),
    "14": ("14",),
    "15": ("10", "15"),
    "19": ("19", "06"),
    "20": ("20",),
    "22": ("22",),
    "24": ("24", "27"),
    "25": ("25", "26", "17"),
    "31": ("31", "30"),
    "33": ("33", "34"),
    "37": ("37", "35", "36"),
    "38": ("38",),
    "40": ("40",),
    "42": ("42",),
    "44": ("45", "44"),
    "46": ("46",),
    "48": ("48", "49"),
    "51": ("51", "62"),
    "52": ("64", "52"),
    "56": ("56", "58"),
    "66": ("66", "54"),
    "68": ("68", "67", "60"),
    "75": ("75", "70"),
    "79": ("79", "74", "77"),
    "80": ("72", "80"),
    "82": ("87", "82"),
    "86": ("86", "83", "84"),
    "91": ("89", "91"),
    "92": ("92", "93", "94"),
    "96": ("96", "95"),
}

#: Provinces whose urban wards are in wage region I (Decree 293/2025/NĐ-CP lists the urban
#: districts of these cities and their industrial neighbours in region I).
REGION_I_PROVINCES = frozenset({"01", "79", "31", "48", "75", "24", "22"})


def nfc(value: str) -> str:
    return unicodedata.normalize("NFC", value)


class Chooser:
    """Weighted choice with precomputed cumulative weights (random.choices' fast path)."""

    def __init__(self, weights: dict[str, float]) -> None:
        self.items = [nfc(k) for k in weights]
        total = 0.0
        self.cum: list[float] = []
        for w in weights.values():
            total += w
            self.cum.append(total)

    def pick(self, rng: random.Random) -> str:
        return rng.choices(self.items, cum_weights=self.cum, k=1)[0]


FAMILY = Chooser(FAMILY_NAMES)
MIDDLE = {sex: Chooser(table) for sex, table in MIDDLE_NAMES.items()}
GIVEN = {sex: tuple(nfc(n) for n in names) for sex, names in GIVEN_NAMES.items()}


def vietnamese_name(rng: random.Random, sex: str) -> str:
    """A full name: family, middle, given (NFC)."""
    return f"{FAMILY.pick(rng)} {MIDDLE[sex].pick(rng)} {rng.choice(GIVEN[sex])}"
