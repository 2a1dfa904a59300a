"""Periodic work of the centre side (huey): fetch the histories still pending (the insurance
side was down), read the re-employment feed, check monthly job-search reports and move claims
whose benefit starts or ends today."""

from __future__ import annotations

import logging

from huey import crontab
from huey.contrib.djhuey import db_periodic_task

log = logging.getLogger(__name__)


@db_periodic_task(crontab(minute="*/5"))
def retry_pending_histories() -> None:
    from ansinh.unemployment import services

    services.retry_pending_histories()


@db_periodic_task(crontab(minute="*/15"))
def poll_reemployment() -> None:
    from ansinh.unemployment import services

    services.poll_reemployment()


@db_periodic_task(crontab(hour="6", minute="30"))
def daily_claims() -> None:
    from ansinh.unemployment import services

    services.advance_claims()
    services.check_reports()
