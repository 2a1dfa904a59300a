"""Pushing signed receipts and results to the submitter's callback URL (đẩy kết quả).

A delivery is a row per submission and kind (``receipt`` or ``result``): the POST carries the
signed XML, is retried on the ``GATEWAY_CALLBACK_BACKOFF`` schedule (seconds) until the URL
answers 2xx, and gives up after the last step — the submitter can always poll the status API.
The body is the signed document itself, so the receiver checks our signature and needs no
shared secret. No personal data leaves in headers or URLs: only the dossier code and kind.
"""

from __future__ import annotations

import datetime as dt
import ipaddress
import logging
import time
import urllib.error
import urllib.parse
import urllib.request

from django.conf import settings
from django.db import IntegrityError, transaction
from django.utils import timezone

from ansinh.core.errors import DomainError
from ansinh.gateway.models import CallbackDelivery, Step, Submission, SubmissionEvent

log = logging.getLogger(__name__)

DEFAULT_BACKOFF = (0, 30, 120, 600, 1800, 3600, 4 * 3600, 12 * 3600)


def check_url(url: str) -> str:
    """A callback URL must be http(s); private and loopback addresses only where allowed
    (``GATEWAY_CALLBACK_ALLOW_PRIVATE``, on in development and tests), so the gateway cannot be
    used to reach the agency's internal network."""
    url = (url or "").strip()
    if not url:
        return ""
    parts = urllib.parse.urlsplit(url)
    bad = parts.scheme not in ("http", "https") or not parts.hostname or len(url) > 500
    if not bad and not getattr(settings, "GATEWAY_CALLBACK_ALLOW_PRIVATE", settings.DEBUG):
        try:
            address = ipaddress.ip_address(parts.hostname)
        except ValueError:
            address = None
        bad = parts.hostname == "localhost" or (
            address is not None and (address.is_private or address.is_loopback)
        )
    if bad:
        raise DomainError(
            "callback_url_invalid",
            "callback_url",
            "Địa chỉ nhận kết quả phải là một URL http(s) công khai, tối đa 500 ký tự.",
            "The callback URL must be a public http(s) URL of at most 500 characters.",
        )
    return url


def backoff() -> tuple[int, ...]:
    return tuple(getattr(settings, "GATEWAY_CALLBACK_BACKOFF", DEFAULT_BACKOFF))


def schedule(submission: Submission, kind: str) -> CallbackDelivery | None:
    """Create the delivery (once per submission and kind) and send it at once."""
    if not submission.callback_url:
        return None
    try:
        with transaction.atomic():
            delivery = CallbackDelivery.objects.create(
                submission=submission,
                kind=kind,
                url=submission.callback_url,
                next_attempt_at=timezone.now(),
            )
    except IntegrityError:
        return CallbackDelivery.objects.get(submission=submission, kind=kind)
    from ansinh.gateway import tasks

    tasks.deliver_callback.enqueue(delivery.pk)
    return delivery


def _body(delivery: CallbackDelivery) -> bytes:
    sub = delivery.submission
    data = sub.receipt_xml if delivery.kind == "receipt" else sub.result_xml
    return bytes(data or b"")


def deliver(delivery_id: int, *, now: dt.datetime | None = None) -> bool:
    """One attempt. True when the receiver took it (2xx)."""
    delivery = CallbackDelivery.objects.select_related("submission__dossier").get(pk=delivery_id)
    if delivery.delivered_at is not None:
        return True
    now = now or timezone.now()
    sub = delivery.submission
    request = urllib.request.Request(  # noqa: S310 - only http(s): check_url at submission
        delivery.url,
        data=_body(delivery),
        method="POST",
        headers={
            "Content-Type": "application/xml; charset=utf-8",
            "X-Ansinh-Kind": delivery.kind,
            "X-Ansinh-Dossier": sub.dossier.code if sub.dossier else "",
            "X-Ansinh-Transaction": sub.transaction_id,
        },
    )
    timeout = float(getattr(settings, "GATEWAY_CALLBACK_TIMEOUT", 10))
    status: int | None = None
    error = ""
    started = time.perf_counter()
    try:
        with urllib.request.urlopen(request, timeout=timeout) as response:  # noqa: S310 - http(s) only, checked at registration
            status = response.status
    except urllib.error.HTTPError as exc:
        status, error = exc.code, f"HTTP {exc.code}"
    except (urllib.error.URLError, OSError) as exc:
        error = type(exc).__name__
    ok = status is not None and 200 <= status < 300
    delivery.attempts += 1
    delivery.last_attempt_at = now
    delivery.last_status = status
    delivery.last_error = error[:300]
    steps = backoff()
    if ok:
        delivery.delivered_at = now
        delivery.next_attempt_at = None
    elif delivery.attempts < len(steps):
        delivery.next_attempt_at = now + dt.timedelta(seconds=steps[delivery.attempts])
    else:
        delivery.next_attempt_at = None  # given up; the status API still answers
    delivery.save()
    SubmissionEvent.objects.create(
        submission=sub,
        at=now,
        step=Step.CALLBACK_SENT if ok else Step.CALLBACK_FAILED,
        detail=f"{delivery.kind} attempt {delivery.attempts}: {status or error}"[:500],
    )
    log.info(
        "gateway callback %s %s attempt %s: %s in %.0f ms",
        delivery.pk,
        delivery.kind,
        delivery.attempts,
        status or error,
        (time.perf_counter() - started) * 1000,
    )
    return ok


def retry_due(now: dt.datetime) -> int:
    """Re-send every delivery whose next attempt is due."""
    due = list(
        CallbackDelivery.objects.filter(
            delivered_at__isnull=True, next_attempt_at__lte=now
        ).values_list("pk", flat=True)[:500]
    )
    for pk in due:
        deliver(pk, now=now)
    return len(due)
