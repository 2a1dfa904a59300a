"""Domain errors with a machine-readable code, the field at fault and bilingual messages.

Services raise these; the API turns them into ``{code, field, message_vi, message_en}`` with the
right HTTP status, pages show ``message_vi`` or ``message_en`` by the user's language.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field


@dataclass(frozen=True)
class ErrorDetail:
    code: str
    field: str | None
    message_vi: str
    message_en: str

    def as_dict(self) -> dict[str, str | None]:
        return {
            "code": self.code,
            "field": self.field,
            "message_vi": self.message_vi,
            "message_en": self.message_en,
        }


class DomainError(Exception):
    """One or more validation or business-rule failures; nothing has been written."""

    status = 400

    def __init__(
        self,
        code: str,
        field: str | None,
        message_vi: str,
        message_en: str,
        *,
        status: int | None = None,
    ) -> None:
        super().__init__(f"{code}: {message_en}")
        self.errors: list[ErrorDetail] = [ErrorDetail(code, field, message_vi, message_en)]
        if status is not None:
            self.status = status

    @classmethod
    def many(cls, errors: Iterable[ErrorDetail], status: int | None = None) -> DomainError:
        errs = list(errors)
        first = errs[0]
        exc = cls(first.code, first.field, first.message_vi, first.message_en, status=status)
        exc.errors = errs
        return exc

    @property
    def first(self) -> ErrorDetail:
        return self.errors[0]

    @property
    def code(self) -> str:
        return self.errors[0].code

    def as_dict(self) -> dict[str, object]:
        body: dict[str, object] = dict(self.first.as_dict())
        if len(self.errors) > 1:
            body["errors"] = [e.as_dict() for e in self.errors]
        return body


class NotFound(DomainError):
    status = 404


class Forbidden(DomainError):
    status = 403


class Conflict(DomainError):
    status = 409


@dataclass
class ErrorCollector:
    """Collects several field errors so a form or row reports all of them at once."""

    errors: list[ErrorDetail] = field(default_factory=list)

    def add(self, code: str, field_name: str | None, message_vi: str, message_en: str) -> None:
        self.errors.append(ErrorDetail(code, field_name, message_vi, message_en))

    def extend(self, exc: DomainError) -> None:
        self.errors.extend(exc.errors)

    def raise_if_any(self, status: int | None = None) -> None:
        if self.errors:
            raise DomainError.many(self.errors, status=status)

    def __bool__(self) -> bool:
        return bool(self.errors)
