"""Sending text messages (tin nhắn SMS) to applicants through a gateway.

The backend is chosen with ``ONESTOP_SMS_BACKEND`` (a dotted path), like Django's mail backends:

* :class:`LogBackend` (the default outside tests) sends nothing. It writes one line to the
  ``ansinh.sms`` logger with the masked number (``09******78``) and the message length only:
  the number and the text are personal data and logs must not hold them.
* :class:`LocmemBackend` (the test default) keeps messages in the module-level :data:`outbox`.
* :class:`HttpBackend` posts ``{"to": …, "text": …}`` as JSON to ``ONESTOP_SMS_URL`` with the
  bearer token ``ONESTOP_SMS_TOKEN``, which is the common shape of Vietnamese SMS brandname
  gateways' HTTP APIs; a provider with another shape gets its own subclass.

``send`` returns the provider's message id or raises :class:`SmsError`; callers record the
error on the notice instead of failing the step that caused it.
"""

from __future__ import annotations

import json
import logging
import urllib.error
import urllib.request
import uuid
from dataclasses import dataclass

from django.conf import settings
from django.utils.module_loading import import_string

logger = logging.getLogger("ansinh.sms")

DEFAULT_BACKEND = "ansinh.onestop.sms.LogBackend"


class SmsError(Exception):
    """The message was not accepted. The text never includes the number or the message."""


def mask(phone: str) -> str:
    """``0912345678`` → ``09******78``: enough to tell two numbers apart in a log, not enough
    to call anyone."""
    digits = "".join(ch for ch in phone if ch.isdigit() or ch == "+")
    if len(digits) <= 4:
        return "*" * len(digits)
    return digits[:2] + "*" * (len(digits) - 4) + digits[-2:]


class BaseSmsBackend:
    """A gateway: ``send`` one message to one number."""

    def send(self, phone: str, text: str) -> str:
        raise NotImplementedError


class LogBackend(BaseSmsBackend):
    """Development and demo: log that a message would go out, without its number or text."""

    def send(self, phone: str, text: str) -> str:
        message_id = f"log-{uuid.uuid4().hex[:12]}"
        logger.info("SMS %s to %s, %d characters (not sent)", message_id, mask(phone), len(text))
        return message_id


@dataclass(frozen=True)
class SentSms:
    phone: str
    text: str
    message_id: str


#: What :class:`LocmemBackend` sent, for tests (clear it in the test that reads it).
outbox: list[SentSms] = []


class LocmemBackend(BaseSmsBackend):
    """Tests: keep the messages in :data:`outbox`."""

    def send(self, phone: str, text: str) -> str:
        message_id = f"mem-{len(outbox) + 1}"
        outbox.append(SentSms(phone, text, message_id))
        return message_id


class HttpBackend(BaseSmsBackend):
    """A provider's HTTP API: POST JSON with a bearer token, any 2xx is accepted.

    The response may carry the provider's id as ``{"id": …}`` or ``{"message_id": …}``;
    without one we return ``"http-<status>"`` so that ``sent`` is still recorded.
    """

    def __init__(
        self, url: str | None = None, token: str | None = None, timeout: float | None = None
    ) -> None:
        self.url = url if url is not None else getattr(settings, "ONESTOP_SMS_URL", "")
        self.token = token if token is not None else getattr(settings, "ONESTOP_SMS_TOKEN", "")
        self.timeout = (
            timeout if timeout is not None else float(getattr(settings, "ONESTOP_SMS_TIMEOUT", 10))
        )

    def send(self, phone: str, text: str) -> str:
        if not self.url.startswith(("https://", "http://")):
            raise SmsError("ONESTOP_SMS_URL is not an http(s) URL")
        body = json.dumps({"to": phone, "text": text}, ensure_ascii=False).encode()
        request = urllib.request.Request(  # noqa: S310 - scheme checked above
            self.url,
            data=body,
            method="POST",
            headers={
                "Content-Type": "application/json; charset=utf-8",
                "Accept": "application/json",
                **({"Authorization": f"Bearer {self.token}"} if self.token else {}),
            },
        )
        try:
            with urllib.request.urlopen(request, timeout=self.timeout) as response:  # noqa: S310
                status = response.status
                raw = response.read(4096)
        except urllib.error.HTTPError as exc:
            raise SmsError(f"gateway answered HTTP {exc.code}") from None
        except (urllib.error.URLError, TimeoutError, OSError) as exc:
            reason = getattr(exc, "reason", exc)
            raise SmsError(f"gateway unreachable: {type(reason).__name__}") from None
        if not 200 <= status < 300:
            raise SmsError(f"gateway answered HTTP {status}")
        try:
            payload = json.loads(raw or b"{}")
        except ValueError:
            payload = {}
        if isinstance(payload, dict):
            for key in ("id", "message_id", "messageId"):
                if payload.get(key):
                    return str(payload[key])[:100]
        return f"http-{status}"


def get_backend(path: str | None = None) -> BaseSmsBackend:
    """The configured backend (``ONESTOP_SMS_BACKEND``), or the one at ``path``."""
    dotted = path or getattr(settings, "ONESTOP_SMS_BACKEND", DEFAULT_BACKEND)
    backend_class = import_string(dotted)
    return backend_class()
