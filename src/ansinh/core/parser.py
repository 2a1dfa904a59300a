"""Request parsing for the JSON API that refuses control characters in text.

A NUL byte cannot be stored in PostgreSQL text and no field of ours has a use for control
characters, so they are refused up front with a clear error naming the field — on SQLite and
PostgreSQL alike — instead of failing deep in the database."""

from __future__ import annotations

import json
import re
from typing import Any

from django.http import HttpRequest
from django.utils.datastructures import MultiValueDict
from ninja.parser import Parser

from ansinh.core.errors import DomainError

# C0 controls except tab, line feed and carriage return, plus DEL.
_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")


def _bad_character(field: str) -> DomainError:
    return DomainError(
        "invalid_character",
        field or None,
        "Dữ liệu chứa ký tự điều khiển không hợp lệ.",
        "The value contains an invalid control character.",
        status=422,
    )


def check_text(value: Any, path: str = "") -> None:
    """Raise if any string (or key) in a decoded JSON value holds a control character."""
    if isinstance(value, str):
        if _CONTROL.search(value):
            raise _bad_character(path)
    elif isinstance(value, dict):
        for key, item in value.items():
            sub = f"{path}.{key}" if path else str(key)
            check_text(key, sub)
            check_text(item, sub)
    elif isinstance(value, list):
        for i, item in enumerate(value):
            check_text(item, f"{path}[{i}]")


class StrictTextParser(Parser):
    def parse_body(self, request: HttpRequest) -> Any:
        try:
            data = json.loads(request.body)
        except (ValueError, UnicodeDecodeError) as exc:
            raise DomainError(
                "invalid_json",
                None,
                "Nội dung yêu cầu không phải JSON hợp lệ.",
                "The request body is not valid JSON.",
                status=400,
            ) from exc
        check_text(data)
        return data

    def parse_querydict(
        self, data: MultiValueDict, list_fields: list[str], request: HttpRequest
    ) -> dict[str, Any]:
        result = super().parse_querydict(data, list_fields, request)
        check_text(result)
        return result
