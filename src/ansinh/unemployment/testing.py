"""Test factories for the centre side: a centre (one-stop office of an employment service
centre), its officers, a history in the ``bhtnHistory`` shape and a claim ready to assess.

    centre = make_centre()
    officer, manager = make_officer(centre), make_officer(centre, "manager")
    claim = make_claim(centre, actor=officer, history=history_payload(months=24))
"""

from __future__ import annotations

import datetime as dt
import itertools
from typing import Any

from ansinh.access.models import User
from ansinh.access.testing import make_org, make_user
from ansinh.onestop.models import Office
from ansinh.onestop.testing import make_office
from ansinh.unemployment import services
from ansinh.unemployment.entitlement import shift_period
from ansinh.unemployment.models import CentreProfile, Claim

_seq = itertools.count(1)


def make_centre(province_code: str = "01", **fields: Any) -> Office:
    org = make_org(
        kind="employment_centre",
        scope_codes=(province_code,),
        name=fields.pop("name", "Trung tâm Dịch vụ việc làm Hà Nội"),
    )
    office = make_office(
        org,
        province_code=province_code,
        departments=(("MOTCUA", "Bộ phận một cửa"), ("BHTN", "Phòng Bảo hiểm thất nghiệp")),
        superior_name="Sở Nội vụ thành phố Hà Nội",
        **fields,
    )
    CentreProfile.objects.create(
        office=office,
        issuer_superior="ỦY BAN NHÂN DÂN THÀNH PHỐ HÀ NỘI",
        issuer_name="SỞ NỘI VỤ",
        signer_title="GIÁM ĐỐC",
        signer_name="Nguyễn Văn Giám",
        insurance_office_name="Bảo hiểm xã hội thành phố Hà Nội",
        paying_office="01",
    )
    return office


def make_officer(centre: Office, role: str = "officer") -> User:
    return make_user(role, org=centre.organisation)


def personal_id() -> str:
    return f"0010900{next(_seq):05d}"


def history_payload(
    pid: str = "001090012345",
    *,
    last: str = "2026-09",
    months: int = 24,
    salary: int = 10_000_000,
    pay_scale: str = "employer",
    end: str = "2026-09-30",
    reason: str = "contract_end",
    contract: str = "fixed",
) -> dict[str, Any]:
    """A ``bhtnHistory`` answer: ``months`` consecutive months ending with ``last``."""
    periods = [shift_period(last, -i) for i in range(months)][::-1]
    return {
        "personal_id": pid,
        "as_of": "2026-11-01",
        "deceased_on": None,
        "months": [
            {
                "period": p,
                "bhtn_salary": salary,
                "employer_code": "TA0001",
                "wage_region": 1,
                "pay_scale": pay_scale,
            }
            for p in periods
        ],
        "spells": [
            {
                "employer_code": "TA0001",
                "employer_name": "Công ty TNHH Thử",
                "contract_type": contract,
                "start": periods[0] + "-01",
                "end": end,
                "termination_reason": reason,
            }
        ],
        "gaps": [],
        "overlaps": [],
    }


def make_claim(
    centre: Office,
    *,
    actor: Any = None,
    pid: str | None = None,
    termination_date: dt.date = dt.date(2026, 9, 30),
    reason: str = "contract_end",
    at: dt.datetime | None = None,
    history: dict[str, Any] | None = None,
    awards: dict[str, Any] | None = None,
) -> Claim:
    pid = pid or personal_id()
    claim = services.file_claim(
        office=centre,
        applicant=services.Applicant(pid, "Trần Thị Thử", dt.date(1990, 1, 1)),
        termination_date=termination_date,
        termination_reason=reason,
        actor=actor,
        at=at,
        fetch=False,
    )
    if history is not None:
        history = {**history, "personal_id": pid}
        claim = services.store_history(claim, history, awards or {"awards": []}, at=at)
    return claim
