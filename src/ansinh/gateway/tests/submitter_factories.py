"""Factories for the I-VAN, registration, statistics and adoption tests: I-VANs through the
service, employers in minimal provinces, and Submission rows written directly (the intake is
not under test here)."""

from __future__ import annotations

import datetime as dt
import hashlib
import itertools
from typing import Any
from zoneinfo import ZoneInfo

from ansinh.access.testing import make_unit
from ansinh.gateway import submitters
from ansinh.gateway.models import IvanProvider, Submission, Verdict
from ansinh.registry.models import Employer
from ansinh.registry.testing import make_employer

VN = ZoneInfo("Asia/Ho_Chi_Minh")
_seq = itertools.count(1)
#: (province code, province name, commune code) of the minimal units the tests use.
PLACES = {
    "01": ("Thành phố Hà Nội", "00004"),
    "79": ("Thành phố Hồ Chí Minh", "26734"),
    "48": ("Thành phố Đà Nẵng", "20194"),
}


def at(day: int, hour: int = 10, minute: int = 0, second: int = 0, month: int = 10) -> dt.datetime:
    """A moment of 2026 in Vietnamese time (October by default)."""
    return dt.datetime(2026, month, day, hour, minute, second, tzinfo=VN)


def commune(province: str) -> str:
    name, code = PLACES[province]
    make_unit(province, name=name)
    make_unit(code, province=province)
    return code


def employer_in(province: str = "01", **kw: Any) -> Employer:
    return make_employer(address_unit_code=commune(province), **kw)


def make_ivan(code: str | None = None, **kw: Any) -> IvanProvider:
    n = next(_seq)
    kw.setdefault("name", f"Công ty I-VAN Thử {n}")
    kw.setdefault("contract_start", dt.date(2025, 1, 1))
    return submitters.create_ivan(code=code or f"IV{n:03d}", **kw)


def submission(
    *,
    received_at: dt.datetime,
    ivan: IvanProvider | None = None,
    employer: Employer | None = None,
    verdict: str = Verdict.ACCEPTED,
    signed_at: dt.datetime | None = None,
    ivan_received_at: dt.datetime | None = None,
    **fields: Any,
) -> Submission:
    """One Submission row as the intake would have stored it."""
    n = next(_seq)
    raw = f"<Dossier n='{n}'/>".encode()
    if ivan is not None:
        submitter = ivan.organisation
        channel = "ivan"
    else:
        from ansinh.access.testing import make_org

        submitter = fields.pop("submitter", None) or make_org(kind="employer", scope_codes=())
        channel = "direct"
    return Submission.objects.create(
        submitter=submitter,
        ivan=ivan,
        employer=employer,
        channel=fields.pop("channel", channel),
        transaction_id=f"tx-{n}",
        received_at=received_at,
        raw=raw,
        size=len(raw),
        digest=hashlib.sha256(raw).hexdigest(),
        procedure_code="600",
        schema_version="1.0",
        signed_at=signed_at,
        ivan_received_at=ivan_received_at,
        verdict=verdict,
        error_code="" if verdict == Verdict.ACCEPTED else "signature_invalid",
        **fields,
    )
