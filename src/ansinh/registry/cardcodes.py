"""Health insurance card participant groups (mã đối tượng), the first two letters of a
15-character card number. Source: Decision 1351/QĐ-BHXH (2015), Annex on card numbering;
kept as data so a new group is one line here, not a code change."""

from __future__ import annotations

#: Decision 1351/QĐ-BHXH: group code → (Vietnamese, English) description.
PARTICIPANT_GROUPS: dict[str, tuple[str, str]] = {
    "DN": ("Người lao động trong doanh nghiệp", "employees of enterprises"),
    "HX": ("Người lao động trong hợp tác xã", "employees of cooperatives"),
    "CH": ("Người lao động trong cơ quan hành chính", "employees of public administration"),
    "NN": ("Người lao động trong tổ chức nước ngoài", "employees of foreign organisations"),
    "TK": ("Người lao động trong tổ chức khác", "employees of other organisations"),
    "HC": ("Cán bộ, công chức, viên chức", "civil servants and public employees"),
    "XK": ("Cán bộ không chuyên trách cấp xã", "part-time commune officials"),
    "HT": ("Người hưởng lương hưu, trợ cấp mất sức", "pensioners"),
    "TB": ("Người hưởng trợ cấp BHXH hằng tháng do TNLĐ-BNN", "occupational accident annuitants"),
    "NO": ("Người lao động nghỉ việc hưởng trợ cấp ốm đau", "on long-term sickness benefit"),
    "CT": ("Người từ đủ 80 tuổi hưởng trợ cấp tuất", "survivors' benefit recipients aged 80+"),
    "XB": ("Cán bộ xã hưởng trợ cấp BHXH hằng tháng", "former commune officials on annuity"),
    "TN": ("Người hưởng trợ cấp thất nghiệp", "unemployment benefit recipients"),
    "CS": ("Công nhân cao su nghỉ việc hưởng trợ cấp", "retired rubber workers on allowance"),
    "QN": ("Quân nhân", "military personnel"),
    "CA": ("Công an nhân dân", "people's police"),
    "CY": ("Người làm công tác cơ yếu", "cipher staff"),
    "HG": ("Người có công với cách mạng", "persons with meritorious service"),
    "CC": ("Người có công với cách mạng (đối tượng khác)", "meritorious service, other"),
    "TE": ("Trẻ em dưới 6 tuổi", "children under six"),
    "BT": ("Người hưởng trợ cấp bảo trợ xã hội hằng tháng", "social assistance recipients"),
    "HN": ("Người thuộc hộ gia đình nghèo", "members of poor households"),
    "DT": ("Người dân tộc thiểu số vùng khó khăn", "ethnic minorities in hardship areas"),
    "DK": ("Người sống ở vùng đặc biệt khó khăn", "residents of extremely poor areas"),
    "XD": ("Người sống ở xã đảo, huyện đảo", "island residents"),
    "TS": ("Thân nhân người có công", "relatives of persons with meritorious service"),
    "TC": ("Thân nhân liệt sĩ", "relatives of war martyrs"),
    "TQ": ("Thân nhân quân nhân", "relatives of military personnel"),
    "TA": ("Thân nhân công an", "relatives of police"),
    "TY": ("Thân nhân người làm công tác cơ yếu", "relatives of cipher staff"),
    "HD": ("Người hiến bộ phận cơ thể", "organ donors"),
    "TL": ("Người nước ngoài học tập tại Việt Nam", "foreign students with state scholarships"),
    "CN": ("Người thuộc hộ gia đình cận nghèo", "members of near-poor households"),
    "HS": ("Học sinh", "pupils"),
    "SV": ("Sinh viên", "students"),
    "GB": ("Người thuộc hộ gia đình nông, lâm, ngư nghiệp", "farm households"),
    "GD": ("Người tham gia theo hộ gia đình", "household-based participants"),
}

#: Benefit levels printed as the third character (Decision 1351/QĐ-BHXH): 1 (100%) … 5.
BENEFIT_LEVELS = (1, 2, 3, 4, 5)
