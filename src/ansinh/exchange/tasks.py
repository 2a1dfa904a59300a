"""Background work of the exchange layer (huey through django-tasks): deliver a queued
message after its transaction commits, retry those whose back-off is due (every minute), and
prune nonces, the idempotency store and — per ``EXCHANGE_LOG_RETENTION_DAYS`` — the message
log (daily)."""

from __future__ import annotations

from django.utils import timezone
from django_tasks import task
from huey import crontab
from huey.contrib.djhuey import db_periodic_task


@task()
def deliver_outbox(outbox_id: int) -> str:
    from ansinh.exchange import outbox

    return outbox.deliver(outbox_id).state


@db_periodic_task(crontab(minute="*"))
def retry_outbox() -> None:
    from ansinh.exchange import outbox

    outbox.retry_due(timezone.now())


@db_periodic_task(crontab(hour="2", minute="15"))
def prune_exchange() -> None:
    from ansinh.exchange import log, server

    now = timezone.now()
    server.prune_nonces(now)
    server.prune_received(now)
    log.prune(now=now)
