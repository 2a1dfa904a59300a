"""No personal data in application logs: the configured filter masks it."""

from __future__ import annotations

import io
import logging

from ansinh.core.logging import RedactPersonalData


def _configured_handler() -> logging.StreamHandler:
    handlers = [
        h
        for h in logging.getLogger().handlers
        if any(isinstance(f, RedactPersonalData) for f in h.filters)
    ]
    assert handlers, "settings.LOGGING must put RedactPersonalData on the root handler"
    return handlers[0]  # type: ignore[return-value]


def test_personal_id_is_masked_in_configured_logging() -> None:
    handler = _configured_handler()
    buffer = io.StringIO()
    old_stream = handler.setStream(buffer)
    try:
        logger = logging.getLogger("ansinh.test.logging")
        logger.warning("lookup of %s failed, legacy %s", "001090012345", "0123456789")
        try:
            raise ValueError("bad card DN4010123456789 for 079201001234")
        except ValueError:
            logger.exception("import row failed")
    finally:
        handler.setStream(old_stream)
    text = buffer.getvalue()
    assert "lookup of 00**********" in text
    assert "001090012345" not in text and "0123456789" not in text
    assert "DN4010123456789" not in text and "079201001234" not in text
    assert "ValueError" in text  # the traceback is kept, only masked


def test_other_numbers_are_left_alone() -> None:
    from ansinh.core.logging import redact

    assert redact("took 1234 ms, row 20260101123456") == "took 1234 ms, row 20260101123456"
