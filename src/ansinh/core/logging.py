"""Logging filter that keeps personal data out of application logs.

Personal IDs (12 digits), legacy insurance numbers (10 digits) and health insurance card numbers
are masked in every log record, whatever code logged them. Names are never logged by our code.
"""

from __future__ import annotations

import logging
import re

_PATTERNS = [
    re.compile(r"(?<!\d)\d{12}(?!\d)"),  # personal ID
    re.compile(r"(?<!\d)\d{10}(?!\d)"),  # legacy social insurance number
    re.compile(r"\b[A-Z]{2}[1-5]\d{12}\b"),  # 15-character health insurance card
]


def redact(text: str) -> str:
    for pattern in _PATTERNS:
        text = pattern.sub(lambda m: m.group(0)[:2] + "*" * (len(m.group(0)) - 2), text)
    return text


_formatter = logging.Formatter()


class RedactPersonalData(logging.Filter):
    def filter(self, record: logging.LogRecord) -> bool:
        message = record.getMessage()
        redacted = redact(message)
        if redacted != message:
            record.msg, record.args = redacted, None
        # A traceback can quote personal data too (an exception message, a local value):
        # format it here, masked, so handlers print this text instead of formatting it again.
        if record.exc_info and not record.exc_text:
            record.exc_text = _formatter.formatException(record.exc_info)
        if record.exc_text:
            record.exc_text = redact(record.exc_text)
        return True
