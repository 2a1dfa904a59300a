"""X-Road style identifiers: a member subsystem is ``INSTANCE/CLASS/MEMBER/SUBSYSTEM`` (for
example ``VN/GOV/BHXH/benefits``) and a service adds its code after it."""

from __future__ import annotations

import re
from dataclasses import dataclass

from ansinh.core.errors import DomainError

# X-Road forbids '/', ';', '%', '\\', ':' and control characters in identifier parts; we allow
# the narrower set that every URL and header carries unescaped.
_PART = re.compile(r"^[A-Za-z0-9._\-]{1,64}$")


def _bad(field: str, value: str) -> DomainError:
    return DomainError(
        "identifier_invalid",
        field,
        f"Định danh không hợp lệ: {value[:120]!r} (dạng INSTANCE/CLASS/MEMBER/SUBSYSTEM).",
        f"Invalid identifier: {value[:120]!r} (expected INSTANCE/CLASS/MEMBER/SUBSYSTEM).",
    )


@dataclass(frozen=True, order=True)
class MemberId:
    """One subsystem of one member (thành viên) of one instance."""

    instance: str
    member_class: str
    member_code: str
    subsystem: str

    @classmethod
    def parse(cls, text: str, field: str = "member") -> MemberId:
        parts = (text or "").strip().split("/")
        if len(parts) != 4 or not all(_PART.match(p) for p in parts):
            raise _bad(field, text or "")
        return cls(*parts)

    def __str__(self) -> str:
        return f"{self.instance}/{self.member_class}/{self.member_code}/{self.subsystem}"

    def service(self, code: str) -> str:
        return f"{self}/{code}"

    def as_xroad(self) -> dict[str, str]:
        return {
            "xroad_instance": self.instance,
            "member_class": self.member_class,
            "member_code": self.member_code,
            "subsystem_code": self.subsystem,
        }


def check_service_code(code: str, field: str = "service") -> str:
    if not _PART.match(code or ""):
        raise DomainError(
            "service_code_invalid",
            field,
            f"Mã dịch vụ không hợp lệ: {code[:80]!r}.",
            f"Invalid service code: {code[:80]!r}.",
        )
    return code
